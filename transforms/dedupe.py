"""Duplicate handling shared by every dataset: conflicting duplicates inside one file, and
latest-ingest-wins deduplication that says what happened to every losing row.

Keys are almost always unique, so both first find the rows whose key hash occurs more than once
(one hash pass, no sort) and do the exact per-key work on those rows only. A hash collision just
sends a few unique rows down the exact path, which treats them correctly."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

ORDER = ("_ingested_at", "_row_number")


def _maybe_repeated(keys: Sequence[str]) -> pl.Expr:
    return pl.struct(list(keys)).hash().is_duplicated()


def flag_conflicts(
    frame: pl.LazyFrame, keys: Sequence[str], values: Sequence[str], name: str = "conflicting_duplicate"
) -> pl.LazyFrame:
    """`name` is True where the same key appears more than once in one file with different
    values (exact repeats are not conflicts: they are counted as duplicates later)."""
    group = ["_file_hash", *keys]
    conflicting = (
        frame.filter(_maybe_repeated(group))
        .group_by(group)
        .agg((pl.struct(list(values)).n_unique() > 1).alias(name))
        .filter(pl.col(name))
    )
    return frame.join(conflicting, on=group, how="left", nulls_equal=True).with_columns(pl.col(name).fill_null(False))


def latest_wins(valid: pl.LazyFrame, keys: Sequence[str], values: Sequence[str]) -> pl.LazyFrame:
    """Mark each valid row `kept`, `duplicate` (same key and values as the row kept) or
    `superseded` (same key, different values, replaced by a later ingest) in column `_fate`.
    The winner per key is the latest `_ingested_at`, then the highest `_row_number`."""
    repeated = _maybe_repeated(keys)
    singles = valid.filter(~repeated).with_columns(_fate=pl.lit("kept"))
    ranked = valid.filter(repeated).sort([*keys, *ORDER])
    is_last = ~pl.all_horizontal([pl.col(k).eq_missing(pl.col(k).shift(-1)) for k in keys])
    winner = pl.struct(list(values)).last().over(list(keys))
    multi = ranked.with_columns(
        _fate=pl.when(is_last)
        .then(pl.lit("kept"))
        .when(pl.struct(list(values)).eq_missing(winner))
        .then(pl.lit("duplicate"))
        .otherwise(pl.lit("superseded"))
    )
    return pl.concat([singles, multi])
