"""Coin prices sampled every minute: typing either producer shape, and the rolling 24-hour
volatility and rank per pair.

Two shapes, told apart per record by the fields it carries:

* records: ``{"pair": "bitcoin/usd", "time": 1733300000, "value": 97012.5}``;
* a market snapshot as a price API returns it: ``{"id": "bitcoin", "symbol": "btc",
  "current_price": 97012.5, "last_updated": "2024-12-04T08:13:20.123Z"}``: the pair is
  ``<id>/<quote>``, the quote currency coming from a ``vs_<quote>`` token in the file name
  (``markets_vs_eur_20241204T0813.json``), else ``usd``; the time is ``last_updated``.

Pairs are lower-cased and stripped. Times are epoch seconds or ISO-8601 (``Z``, an offset, or
naive = UTC), converted to UTC: the sample time, carried through to every statistic.

Volatility (:func:`volatility`): for each sample of a pair at time t, the sample standard
deviation (n - 1) and mean of the pair's values with time in (t - 24 h, t], and n. It is one
pass of a time-based rolling window per pair (O(n), no self-join); values are first shifted by
the pair's first value in the frame, which leaves the statistics unchanged and keeps the rolling
sums from losing precision on a quiet pair with a large price. Rank: among the pairs sampled in
the same UTC minute (a snapshot's ``last_updated`` differs by seconds from coin to coin), 1 is
the largest stddev; equal stddevs are ordered by pair name, and samples without a stddev (fewer
than 2 in the window) come after all others."""

from __future__ import annotations

import datetime as dt

import polars as pl

from transforms.timestamps import parse_utc_naive_is_utc, within_microseconds

RECORD_FIELDS = ("pair", "time", "value")
SNAPSHOT_FIELDS = ("id", "current_price", "last_updated")
DEFAULT_QUOTE = "usd"
WINDOW = dt.timedelta(hours=24)
_QUOTE_IN_NAME = r"(?i)(?:^|[^a-z0-9])vs[_-]([a-z0-9]+)"
_PAIR = r"^[^/\s]+/[^/\s]+$"
VOLATILITY_COLUMNS = ("pair", "time", "value", "stddev_24h", "mean_24h", "samples", "rank")


def _text(name: str, schema: pl.Schema) -> pl.Expr:
    if name not in schema:
        return pl.lit(None, dtype=pl.String)
    stripped = pl.col(name).cast(pl.String).str.strip_chars()
    return pl.when(stripped == "").then(None).otherwise(stripped)


def _quote(schema: pl.Schema) -> pl.Expr:
    name = _text("_source_file", schema).str.split("/").list.last()
    return name.str.extract(_QUOTE_IN_NAME, 1).str.to_lowercase().fill_null(DEFAULT_QUOTE)


def _is_snapshot(schema: pl.Schema) -> pl.Expr:
    """A record without a pair that has a coin id is a snapshot record."""
    return _text("pair", schema).is_null() & _text("id", schema).is_not_null()


def _raw_time(schema: pl.Schema) -> pl.Expr:
    return pl.when(_is_snapshot(schema)).then(_text("last_updated", schema)).otherwise(_text("time", schema))


def event_date() -> pl.Expr:
    """Bronze partition: the UTC date of the sample time (either shape)."""
    # Landing calls this on raw chunks whose columns vary: read the fields that exist.
    return pl.struct(pl.all()).map_batches(_event_date_of, return_dtype=pl.Date)


def _event_date_of(rows: pl.Series) -> pl.Series:
    frame = rows.struct.unnest()
    schema = frame.schema
    return frame.select(parse_utc_naive_is_utc(_raw_time(schema)).dt.date()).to_series()


def prepare_coins(bronze: pl.LazyFrame) -> pl.LazyFrame:
    """Typed samples (pair, time, value) and the helper columns of the suite."""
    schema = bronze.collect_schema()
    snapshot = _is_snapshot(schema)
    pair = (
        pl.when(snapshot)
        .then(pl.concat_str(_text("id", schema), pl.lit("/"), _quote(schema)))
        .otherwise(_text("pair", schema))
        .str.to_lowercase()
    )
    raw_value = pl.when(snapshot).then(_text("current_price", schema)).otherwise(_text("value", schema))
    typed = bronze.with_columns(
        pair=pair,
        time=parse_utc_naive_is_utc(_raw_time(schema)),
        within_microseconds=within_microseconds(_raw_time(schema)),
        value=raw_value.cast(pl.Float64, strict=False),
    ).with_columns(pair_well_formed=pl.col("pair").str.contains(_PAIR))
    return typed


def volatility(samples: pl.LazyFrame) -> pl.LazyFrame:
    """Per sample: value, stddev_24h, mean_24h, samples and rank (see the module docstring).

    ``samples`` holds (pair, time, value), one row per pair and time, covering at least the 24
    hours before every time whose statistics are wanted; the caller keeps the times it needs."""
    shifted = pl.col("value") - pl.col("value").first().over("pair")
    stats = (
        samples.select("pair", "time", "value")
        .sort("pair", "time")
        .with_columns(_shifted=shifted)
        .with_columns(
            stddev_24h=pl.col("_shifted").rolling_std_by("time", "24h", closed="right").over("pair"),
            mean_24h=(pl.col("_shifted").rolling_mean_by("time", "24h", closed="right") + pl.col("value").first()).over(
                "pair"
            ),
            samples=pl.col("_shifted")
            .is_not_null()
            .cast(pl.Int64)
            .rolling_sum_by("time", "24h", closed="right")
            .over("pair"),
        )
        .with_columns(
            # Fewer than 2 samples has no sample stddev (Polars gives null for n = 1 already).
            stddev_24h=pl.when(pl.col("samples") >= 2).then(pl.col("stddev_24h")).otherwise(None)
        )
        .drop("_shifted")
    )
    return rank(stats)


def rank(stats: pl.LazyFrame) -> pl.LazyFrame:
    """1 = largest stddev_24h among the samples of the same UTC minute; ties by pair (then time);
    null stddevs last."""
    minute = pl.col("time").dt.truncate("1m").alias("_minute")
    return (
        stats.with_columns(minute)
        .sort(["_minute", "stddev_24h", "pair", "time"], descending=[False, True, False, False], nulls_last=True)
        .with_columns(rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("_minute"))
        .drop("_minute")
        .select(VOLATILITY_COLUMNS)
    )


def latest(current: pl.LazyFrame, rebuilt: pl.LazyFrame) -> pl.LazyFrame:
    """One row per pair, the latest sample: `current` (the table as it was) updated with rows of
    rebuilt dates. A rebuilt row wins over a current one at the same time (its statistics are
    the newer), and a later time wins over an earlier one."""
    columns = list(VOLATILITY_COLUMNS)
    both = pl.concat(
        [current.select(columns).with_columns(_new=pl.lit(0)), rebuilt.select(columns).with_columns(_new=pl.lit(1))]
    )
    return both.sort("pair", "time", "_new").group_by("pair", maintain_order=True).last().drop("_new").sort("pair")
