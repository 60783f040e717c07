"""Silver from valid rows: what happens to every row when the same key arrives more than once.

Three ways to keep a key's history, each labelling every valid row in column `_fate`:

* `latest_wins`: one row per key; the latest ingest wins (`kept`), a loser with the winner's
  values is a `duplicate`, one with other values is `superseded`.
* `versions`: every change of a key's values is a version, in ingest order; a version is valid
  from its ingest time until the next one's.
* `versions_from`: versions ordered by a start time the rows carry themselves, whatever order
  they arrived in.

Plus `flag_conflicts`, the rule that one file cannot say two different things about one key.

Keys are almost always unique, so latest-wins and the conflict flag first find the rows whose key
hash occurs more than once (one hash pass, no sort) and do the exact per-key work on those rows
only. A hash collision just sends a few unique rows down the exact path, which treats them
correctly. Pure Polars: frames in, frames out."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

# Which of two rows of one key arrived later: the later ingest, then the later row of its file.
ORDER = ("_ingested_at", "_row_number")
KEPT, DUPLICATE, SUPERSEDED = "kept", "duplicate", "superseded"


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


def latest_wins(
    valid: pl.LazyFrame, keys: Sequence[str], values: Sequence[str], order: Sequence[str] = ORDER
) -> pl.LazyFrame:
    """Mark each valid row `kept`, `duplicate` (same key and values as the row kept) or
    `superseded` (same key, different values, replaced by a later ingest) in column `_fate`.
    The winner per key is the last by `order` (latest `_ingested_at`, then `_row_number`)."""
    repeated = _maybe_repeated(keys)
    singles = valid.filter(~repeated).with_columns(_fate=pl.lit(KEPT))
    ranked = valid.filter(repeated).sort([*keys, *order])
    is_last = ~pl.all_horizontal([pl.col(k).eq_missing(pl.col(k).shift(-1)) for k in keys])
    winner = pl.struct(list(values)).last().over(list(keys))
    multi = ranked.with_columns(
        _fate=pl.when(is_last)
        .then(pl.lit(KEPT))
        .when(pl.struct(list(values)).eq_missing(winner))
        .then(pl.lit(DUPLICATE))
        .otherwise(pl.lit(SUPERSEDED))
    )
    return pl.concat([singles, multi])


def versions(
    valid: pl.LazyFrame,
    keys: Sequence[str],
    values: Sequence[str],
    row_id: Sequence[str] = ("_file_hash", "_row_number"),
) -> pl.LazyFrame:
    """History in ingest order: per key, a row whose values differ from the previous row's
    starts a version (`kept`); an unchanged repeat is a `duplicate`. A version is valid from
    its row's ingest time (`valid_from`) until the next version's (`valid_to`, null while
    `is_current`)."""
    keys = list(keys)
    ordered = valid.sort([*keys, *ORDER])
    first = pl.int_range(pl.len()).over(keys) == 0
    differs = pl.any_horizontal([pl.col(v).ne_missing(pl.col(v).shift(1).over(keys)) for v in values])
    fated = ordered.with_columns(_fate=pl.when(first | differs).then(pl.lit(KEPT)).otherwise(pl.lit(DUPLICATE)))
    kept = (
        fated.filter(pl.col("_fate") == KEPT)
        .with_columns(valid_from=pl.col("_ingested_at"))
        .with_columns(valid_to=pl.col("valid_from").shift(-1).over(keys))
        .with_columns(is_current=pl.col("valid_to").is_null())
        .select(*row_id, "valid_from", "valid_to", "is_current")
    )
    return fated.join(kept, on=list(row_id), how="left")


def versions_from(valid: pl.LazyFrame, keys: Sequence[str], values: Sequence[str], start: str) -> pl.LazyFrame:
    """History ordered by each row's own start time (`start`), independent of ingest order:
    at the same key and start the latest ingest wins (earlier rows are duplicates or
    superseded); a winner equal to the version before it is a re-send (`duplicate`); every
    version is valid from its start until the next version's."""
    keys = list(keys)
    at = [*keys, start]
    ordered = valid.sort([*at, *ORDER]).with_columns(_last_at=pl.int_range(pl.len()).over(at) == pl.len().over(at) - 1)
    winners = ordered.filter(pl.col("_last_at"))
    same_as_previous = pl.all_horizontal([pl.col(v).eq_missing(pl.col(v).shift(1).over(keys)) for v in values]) & (
        pl.int_range(pl.len()).over(keys) > 0
    )
    winners = winners.with_columns(_fate=pl.when(same_as_previous).then(pl.lit(DUPLICATE)).otherwise(pl.lit(KEPT)))
    kept = (
        winners.filter(pl.col("_fate") == KEPT)
        .with_columns(valid_to=pl.col(start).shift(-1).over(keys))
        .with_columns(is_current=pl.col("valid_to").is_null())
    )
    winning_values = winners.select(*at, _winner=pl.struct(list(values)))
    losers = (
        ordered.filter(~pl.col("_last_at"))
        .join(winning_values, on=at, how="left", nulls_equal=True)
        .with_columns(
            _fate=pl.when(pl.struct(list(values)).eq_missing(pl.col("_winner")))
            .then(pl.lit(DUPLICATE))
            .otherwise(pl.lit(SUPERSEDED))
        )
        .drop("_winner")
    )
    fates = pl.concat([kept, winners.filter(pl.col("_fate") == DUPLICATE), losers], how="diagonal")
    return fates.drop("_last_at").with_columns(valid_from=pl.col(start))
