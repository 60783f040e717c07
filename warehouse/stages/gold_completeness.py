"""Gold for completeness: per dated source, series and day, the readings its contract expects,
those silver holds, and every gap (transforms/completeness.py; the contracts are `series` in
warehouse/datasets.py).

A gold date D is every source's day D: silver partition D of each source (park readings are
partitioned by park-local date, so their D is the local day). A change of any source queues its
dates, and a build recomputes all sources for those dates and replaces the dates whole, so a late
file that fills a gap raises the day's coverage at the next build. A change of the park register
(a park's timezone moves its day's bounds) queues every date with park readings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import polars as pl

from transforms.completeness import coverage, gaps, series_readings
from warehouse import delta
from warehouse.datasets import DATASETS, Dataset
from warehouse.lake import Lake
from warehouse.registry import table
from warehouse.stages.changes import Change

COMPLETENESS = table("gold.completeness")
GAPS = table("gold.gaps")
PARKS = table("silver.parks")
# Dates computed and committed together.
CHUNK_DATES = 31


def contracted() -> list[Dataset]:
    """The dated sources with a completeness contract, in plan order."""
    return [ds for ds in DATASETS.values() if ds.series is not None]


SOURCES = tuple(ds.source for ds in contracted())


def affected(change: Change) -> set[dt.date]:
    if change.source in SOURCES:
        return change.dated
    if change.source == PARKS.name and change.dates:
        return delta.partition_dates(change.lake, table("silver.park_readings"))
    return set()


def _zones(lake: Lake, ds: Dataset) -> pl.LazyFrame | None:
    """Timezone per key for sources kept in local days (the current park register)."""
    assert ds.series is not None
    if not ds.series.local_days:
        return None
    register = delta.scan(lake, PARKS).filter(pl.col("is_current")).select("park_name", "timezone").collect()
    return register.lazy()


def readings(lake: Lake, ds: Dataset, dates: list[dt.date], zones: pl.LazyFrame | None = None) -> pl.LazyFrame:
    """The source's completeness input rows for `dates` (`zones`: the register's, read if not given)."""
    contract = ds.series
    assert contract is not None
    silver = delta.read_partitions(
        lake, ds.silver_table, dates, columns=[*contract.key, contract.time, "event_date"]
    ).lazy()
    zones = zones if zones is not None else _zones(lake, ds)
    return series_readings(silver, contract.key, contract.time, contract.cadence_s, zones=zones)


def chunks(dates: list[dt.date], rows: dict[dt.date, int], budget: int) -> list[list[dt.date]]:
    """`dates` in order, cut into runs whose silver rows together stay within `budget` (a date
    over it alone): a month of 10,000 meters is 86 M readings, one day 2.9 M, while the real park
    files hold a thousand dates of a hundred readings each."""
    out: list[list[dt.date]] = []
    held = 0
    for date in sorted(dates):
        size = rows.get(date, 0)
        if out and held + size <= budget:
            out[-1].append(date)
            held += size
        else:
            out.append([date])
            held = size
    return out


def compute(lake: Lake, dates: list[dt.date]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """gold.completeness and gold.gaps rows of every contracted source for `dates`."""
    covered, missing = [], []
    for ds in contracted():
        assert ds.series is not None
        source = pl.lit(ds.source).alias("source")
        # Silver keyed by the series and the reading time holds each reading once.
        distinct = set(ds.silver.keys) == {*ds.series.key, ds.series.time}
        counts = delta.partition_rows(lake, ds.silver_table)
        held = [d for d in dates if counts.get(d)]
        if not held:
            continue
        zones = _zones(lake, ds)
        # The outputs (a row per series-day, a row per gap) are small; the input is read in
        # chunks of dates within the memory budget's rows.
        for chunk in chunks(held, counts, lake.piece_rows):
            rows = readings(lake, ds, chunk, zones)  # silver read once; the row columns stay lazy
            covered.append(coverage(rows, distinct).with_columns(source).collect())
            missing.append(gaps(rows, distinct).with_columns(source).collect())
    if not covered:
        return delta.empty(COMPLETENESS).select(COMPLETENESS.column_names), delta.empty(GAPS).select(GAPS.column_names)
    return (
        pl.concat(covered).select(COMPLETENESS.column_names),
        pl.concat(missing).select(GAPS.column_names),
    )


def build(lake: Lake, dates: list[dt.date]) -> dict[str, int]:
    rows = {COMPLETENESS.qualified: 0, GAPS.qualified: 0}
    ordered = sorted(set(dates))
    for i in range(0, len(ordered), CHUNK_DATES):
        chunk = ordered[i : i + CHUNK_DATES]
        covered, missing = compute(lake, chunk)
        delta.replace_partitions(lake, COMPLETENESS, covered, chunk)
        delta.replace_partitions(lake, GAPS, missing, chunk)
        rows[COMPLETENESS.qualified] += covered.height
        rows[GAPS.qualified] += missing.height
    return rows


def below(lake: Lake, dates: Iterable[dt.date]) -> pl.DataFrame:
    """Series-days of `dates` whose coverage is under their contract's `warn_below`."""
    thresholds = pl.DataFrame(
        {"source": list(SOURCES), "warn_below": [ds.series.warn_below for ds in contracted() if ds.series]}
    )
    return (
        delta.read_partitions(lake, COMPLETENESS, list(dates))
        .join(thresholds, on="source")
        .filter(pl.col("coverage") < pl.col("warn_below"))
        .sort("source", "date", "series")
    )
