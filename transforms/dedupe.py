"""Duplicate handling shared by every dataset: conflicting duplicates inside one file, and
latest-ingest-wins deduplication that says what happened to every losing row.

Both sort once by key and find multi-row groups by comparing neighbours; the per-group window
work then runs only on those rows, which in real drops are a tiny fraction."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

ORDER = ("_ingested_at", "_row_number")


def _same_as(keys: Sequence[str], offset: int) -> pl.Expr:
    return pl.all_horizontal([pl.col(k).eq_missing(pl.col(k).shift(offset)) for k in keys])


def _split_groups(frame: pl.LazyFrame, keys: Sequence[str], order: Sequence[str]) -> pl.LazyFrame:
    return frame.sort([*keys, *order]).with_columns(
        _single=~_same_as(keys, 1) & ~_same_as(keys, -1),
        _is_last=~_same_as(keys, -1),
    )


def flag_conflicts(
    frame: pl.LazyFrame, keys: Sequence[str], values: Sequence[str], name: str = "conflicting_duplicate"
) -> pl.LazyFrame:
    """`name` is True where the same key appears more than once in one file with different
    values (exact repeats are not conflicts: they are counted as duplicates later)."""
    group = ["_file_hash", *keys]
    split = _split_groups(frame, group, ["_row_number"])
    singles = split.filter(pl.col("_single")).with_columns(pl.lit(False).alias(name))
    multi = split.filter(~pl.col("_single")).with_columns(
        (pl.struct(list(values)).n_unique().over(group) > 1).alias(name)
    )
    return pl.concat([singles, multi]).drop("_single", "_is_last")


def latest_wins(valid: pl.LazyFrame, keys: Sequence[str], values: Sequence[str]) -> pl.LazyFrame:
    """Mark each valid row `kept`, `duplicate` (same key and values as the row kept) or
    `superseded` (same key, different values, replaced by a later ingest) in column `_fate`.
    The winner per key is the latest `_ingested_at`, then the highest `_row_number`."""
    split = _split_groups(valid, keys, ORDER)
    singles = split.filter(pl.col("_single")).with_columns(_fate=pl.lit("kept"))
    winner = pl.struct(list(values)).filter(pl.col("_is_last")).first().over(list(keys))
    multi = split.filter(~pl.col("_single")).with_columns(
        _fate=pl.when(pl.col("_is_last"))
        .then(pl.lit("kept"))
        .when(pl.struct(list(values)).eq_missing(winner))
        .then(pl.lit("duplicate"))
        .otherwise(pl.lit("superseded"))
    )
    return pl.concat([singles, multi]).drop("_single", "_is_last")
