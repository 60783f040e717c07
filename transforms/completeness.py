"""Is a series complete? Per series and day: the slots its cadence expects, those with a reading,
and each run of missing slots as [start, end).

Input rows: `series` (text), `date`, `time` (a reading's UTC time), `day_start` and `day_end`
(the day's bounds in UTC: midnight to midnight, local midnight for series kept in local days, so
a day of 23 or 25 hours expects fewer or more slots), `cadence_s` (seconds between readings).
A reading counts once per distinct time; a series appears on the days it has a reading.

`series_readings` builds those rows from a silver frame and a completeness contract (the key
columns, the time column, the cadence, UTC or local days); a reading's day is the frame's `date`
column (silver's partition), so a local-day source's readings count towards their local day."""

from __future__ import annotations

import polars as pl

UTC = pl.Datetime("us", "UTC")
KEYS = ["series", "date"]
ALL = "all"


def series_name(key: tuple[str, ...]) -> pl.Expr:
    """A series' name: its key values joined by '|' ('all' for a source without a key)."""
    if not key:
        return pl.lit(ALL)
    return pl.concat_str([pl.col(k).cast(pl.String) for k in key], separator="|")


def _local_midnight(offset_days: int, tz: str) -> pl.Expr:
    midnight = (pl.col("date") + pl.duration(days=offset_days)).cast(pl.Datetime("us"))
    # Where clocks jump at midnight the day starts at 01:00 local.
    return pl.coalesce(
        (midnight + pl.duration(hours=h)).dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
        for h in (0, 1)
    ).dt.convert_time_zone("UTC")


def day_bounds(frame: pl.LazyFrame, timezones: list[str] | None = None) -> pl.LazyFrame:
    """Adds day_start and day_end (UTC) for each row's `date`: UTC midnights, or with
    `timezones`, the local midnights of the row's `timezone` column (rows of other or no
    timezone get null bounds, and so no completeness)."""
    if timezones is None:
        start = pl.col("date").cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        return frame.with_columns(day_start=start, day_end=start + pl.duration(days=1))
    parts = [
        frame.filter(pl.col("timezone") == tz).with_columns(
            day_start=_local_midnight(0, tz), day_end=_local_midnight(1, tz)
        )
        for tz in timezones
    ]
    other = frame.filter(~pl.col("timezone").is_in(timezones).fill_null(True))
    parts.append(other.with_columns(day_start=pl.lit(None, UTC), day_end=pl.lit(None, UTC)))
    return pl.concat(parts, how="vertical")


def series_readings(
    silver: pl.LazyFrame,
    key: tuple[str, ...],
    time: str,
    cadence_s: int | None,
    date: str = "event_date",
    zones: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """The rows `coverage` and `gaps` read, from silver rows carrying `key`, `time` and `date`.
    `cadence_s` None: each series-day's inferred cadence. `zones`: the key's timezone (columns
    `key` + `timezone`) for sources kept in local days."""
    named = silver if zones is None else silver.join(zones, on=list(key), how="left")
    timezone = pl.lit(None, pl.String) if zones is None else pl.col("timezone")
    rows = named.select(series=series_name(key), date=pl.col(date), time=pl.col(time), timezone=timezone)
    rows = rows.filter(pl.col("time").is_not_null() & pl.col("date").is_not_null())
    if zones is None:
        bounded = day_bounds(rows)
    else:
        timezones = zones.select("timezone").unique().collect()["timezone"].drop_nulls().sort().to_list()
        bounded = day_bounds(rows, timezones)
    if cadence_s is None:
        bounded = bounded.join(inferred_cadence(bounded), on=KEYS, how="inner")
    else:
        bounded = bounded.with_columns(cadence_s=pl.lit(cadence_s, pl.Int64))
    return bounded.filter(pl.col("day_start").is_not_null()).select(
        "series", "date", "time", "day_start", "day_end", "cadence_s"
    )


def _slots(span: pl.Expr, cadence: pl.Expr) -> pl.Expr:
    return (span.dt.total_seconds() // cadence).cast(pl.Int64)


def _in_day(readings: pl.LazyFrame, distinct: bool) -> pl.LazyFrame:
    """Readings within their day's bounds, once per time (`distinct`: the caller knows they are,
    as silver keyed by the series and the time is)."""
    within = readings.filter((pl.col("time") >= pl.col("day_start")) & (pl.col("time") < pl.col("day_end")))
    return within if distinct else within.unique(["series", "date", "time"])


def coverage(readings: pl.LazyFrame, distinct: bool = False) -> pl.LazyFrame:
    """One row per series and day: cadence_seconds, expected, present, missing, coverage, first,
    last."""
    return (
        _in_day(readings, distinct)
        .group_by(KEYS)
        .agg(
            cadence_seconds=pl.col("cadence_s").first(),
            expected=_slots(pl.col("day_end").first() - pl.col("day_start").first(), pl.col("cadence_s").first()),
            present=pl.len().cast(pl.Int64),
            first=pl.col("time").min(),
            last=pl.col("time").max(),
        )
        .with_columns(present=pl.min_horizontal("present", "expected"))
        .with_columns(
            missing=(pl.col("expected") - pl.col("present")).clip(lower_bound=0),
            coverage=pl.when(pl.col("expected") > 0).then(pl.col("present") / pl.col("expected")).otherwise(None),
        )
        .sort(KEYS)
    )


def gaps(readings: pl.LazyFrame, distinct: bool = False) -> pl.LazyFrame:
    """Every run of missing slots: series, date, gap_start, gap_end (exclusive), missing; the day's
    start and end count as edges, so a series that stops early has a gap to midnight."""
    within = _in_day(readings, distinct).select(*KEYS, "time", "day_start", "day_end", "cadence_s")
    # A series-day with a reading on every slot of its grid has no gap: only the others are
    # sorted (most series are complete most days, and sorting millions of rows is the cost).
    on_grid = ((pl.col("time") - pl.col("day_start")).dt.total_seconds() % pl.col("cadence_s")) == 0
    full = _slots(pl.col("day_end").first() - pl.col("day_start").first(), pl.col("cadence_s").first())
    whole = within.group_by(KEYS).agg(complete=(pl.len() == full) & on_grid.all()).filter("complete")
    times = within.join(whole, on=KEYS, how="anti").sort([*KEYS, "time"])
    # Sorted by series-day then time: a row's neighbour is in the same series-day unless the keys
    # change, where the day's own edge stands in for it (no window function over millions of rows).
    same_next = (pl.col("series") == pl.col("series").shift(-1)) & (pl.col("date") == pl.col("date").shift(-1))
    same_prev = (pl.col("series") == pl.col("series").shift(1)) & (pl.col("date") == pl.col("date").shift(1))
    step = pl.duration(seconds=pl.col("cadence_s"))
    after = times.select(
        *KEYS,
        "cadence_s",
        gap_start=pl.col("time") + step,
        gap_end=pl.when(same_next.fill_null(False)).then(pl.col("time").shift(-1)).otherwise(pl.col("day_end")),
    )
    before = times.filter(~same_prev.fill_null(False)).select(
        *KEYS, "cadence_s", gap_start=pl.col("day_start"), gap_end=pl.col("time")
    )
    return (
        pl.concat([before, after])
        .filter(pl.col("gap_end") > pl.col("gap_start"))
        .with_columns(missing=_slots(pl.col("gap_end") - pl.col("gap_start"), pl.col("cadence_s")))
        .filter(pl.col("missing") > 0)
        .select(*KEYS, "gap_start", "gap_end", "missing")
        .sort([*KEYS, "gap_start"])
    )


def inferred_cadence(readings: pl.LazyFrame) -> pl.LazyFrame:
    """Per series and day, the most common positive spacing of its readings in seconds (ties:
    the smaller); a series with a single reading that day gets none."""
    spacing = (
        readings.select(*KEYS, "time")
        .unique()
        .sort([*KEYS, "time"])
        .with_columns(cadence_s=(pl.col("time").diff().over(KEYS)).dt.total_seconds())
        .filter(pl.col("cadence_s") > 0)
    )
    return (
        spacing.group_by([*KEYS, "cadence_s"])
        .agg(n=pl.len())
        .sort([*KEYS, "n", "cadence_s"], descending=[False, False, True, False])
        .unique(KEYS, keep="first", maintain_order=True)
        .select(*KEYS, pl.col("cadence_s").cast(pl.Int64))
    )
