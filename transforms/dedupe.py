"""Latest-ingest-wins deduplication that also says what happened to every losing row."""

from __future__ import annotations

import polars as pl

ORDER = ("_ingested_at", "_row_number")


def latest_wins(valid: pl.LazyFrame, keys: list[str], values: list[str]) -> pl.LazyFrame:
    """Mark each valid row `kept`, `duplicate` (same key and values as the row kept) or
    `superseded` (same key, different values, replaced by a later ingest) in column `_fate`.
    The winner per key is the latest `_ingested_at`, then the highest `_row_number`."""
    ranked = valid.with_columns(
        _is_last=(pl.struct(list(ORDER)).rank("ordinal", descending=True).over(keys) == 1),
    )
    winner_values = pl.struct(values).filter(pl.col("_is_last")).first().over(keys)
    return ranked.with_columns(
        _fate=pl.when(pl.col("_is_last"))
        .then(pl.lit("kept"))
        .when(pl.struct(values) == winner_values)
        .then(pl.lit("duplicate"))
        .otherwise(pl.lit("superseded"))
    ).drop("_is_last")
