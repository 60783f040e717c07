"""The `usage_cost` gold spec (warehouse/plan.py; Dagster calendar `energy`): cost per interval and
hourly usage from usage and prices, rebuilt only for the dates that new usage or prices can change.

Windows: a usage or price interval is at most one day long, so it can spill into the next date.
Cost for date D (usage intervals starting on D) needs prices starting D-1..D+1; hourly usage for
D needs cost rows starting on D-1 and D. Both tables are rebuilt for the same dates (the hourly
dates, a superset of the cost dates), so one run keeps the two consistent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

import polars as pl

from transforms.cost import cost_per_interval, hourly_from_partials, hourly_partials
from warehouse import delta, memory
from warehouse.lake import Lake
from warehouse.registry import Table, table
from warehouse.stages.changes import Change

USAGE = table("silver.customer_usage")
PRICES = table("silver.energy_prices")
COST = table("gold.cost_per_interval")
HOURLY = table("gold.hourly_usage")
DAY = dt.timedelta(days=1)


def _spilling(frame: pl.LazyFrame) -> set[dt.date]:
    """Dates (event_date) with an interval that ends after the next midnight."""
    midnight = (pl.col("event_date") + pl.duration(days=1)).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    late = frame.filter(pl.col("interval_end") > midnight).select("event_date").unique()
    return set(late.collect(engine="streaming")["event_date"].to_list())


def _spills(change: Change, source: Table, dates: Iterable[dt.date]) -> set[dt.date]:
    """Dates whose intervals of `source` spill past midnight, before or after the change.
    Both sides are scanned lazily, two columns at a time: a large date is never held whole."""
    dates = set(dates)
    if not dates:
        return set()
    before = delta.scan(change.lake, source).filter(pl.col("event_date").is_in(sorted(dates)))
    spilling = _spilling(before.select("event_date", "interval_end"))
    if change.source == source.name:
        spilling |= _spilling(change.after.select("event_date", "interval_end"))
    return spilling & dates


def affected(change: Change) -> set[dt.date]:
    """Gold dates to rebuild after a change of usage or price dates:

    cost = changed usage ∪ changed prices, plus P-1 for a price date P when usage of P-1 spills
    into P, plus P+1 when prices of P spill into P+1; hourly = cost, plus C+1 when usage of C
    spills into C+1. Spills are looked for in the old and the new silver: an interval that used
    to cross midnight leaves rows behind in the next date's gold as surely as a new one adds them."""
    changed = change.dated
    usage = changed if change.source == USAGE.name else set()
    prices = changed if change.source == PRICES.name else set()
    cost = usage | prices
    cost |= _spills(change, USAGE, {p - DAY for p in prices})
    cost |= {p + DAY for p in _spills(change, PRICES, prices)}
    return cost | {c + DAY for c in _spills(change, USAGE, cost)}


def build(lake: Lake, dates: list[dt.date]) -> dict[str, int]:
    """Cost, then hourly usage, date by date in ascending order: hourly of D reads the cost of
    D - 1 just rebuilt. A date's usage is priced in chunks of `Lake.piece_rows` rows, streamed
    into the cost partition, and hourly usage is summed from the chunks' partial sums, so memory
    follows the chunk size, not the size of the date."""
    rows = {COST.qualified: 0, HOURLY.qualified: 0}
    for date in sorted(set(dates)):
        cost_rows, hourly_rows = build_date(lake, date)
        rows[COST.qualified] += cost_rows
        rows[HOURLY.qualified] += hourly_rows
    return rows


def build_date(lake: Lake, date: dt.date) -> tuple[int, int]:
    prices = delta.read_partitions(lake, PRICES, [date - DAY, date, date + DAY]).lazy()
    usage = delta.scan(lake, USAGE).filter(pl.col("event_date") == date)
    partials: list[pl.DataFrame] = []
    priced = 0

    def costs() -> Iterator[pl.DataFrame]:
        nonlocal priced
        for chunk in usage.collect_batches(chunk_size=lake.piece_rows):
            cost = cost_per_interval(chunk.lazy(), prices).with_columns(date=pl.lit(date)).collect()
            partials.append(hourly_partials(cost.lazy()).collect())
            priced += cost.height
            yield cost
            del cost
            memory.release()

    delta.replace_partitions_from(lake, COST, costs(), [date])
    # Intervals of the day before that run past midnight put usage in this day's first hours.
    midnight = dt.datetime.combine(date, dt.time(), dt.UTC)
    spilled = delta.scan(lake, COST).filter((pl.col("date") == date - DAY) & (pl.col("interval_end") > midnight))
    partials.append(hourly_partials(spilled).collect())
    hourly = (
        hourly_from_partials(pl.concat(partials).lazy())
        .filter(pl.col("hour_start").dt.date() == date)
        .with_columns(date=pl.lit(date))
        .collect()
    )
    delta.replace_partitions(lake, HOURLY, hourly, [date])
    return priced, hourly.height
