"""Gold for usage and prices: cost per interval and hourly usage, rebuilt only for the dates that
new usage or prices can change.

Windows: a usage or price interval is at most one day long, so it can spill into the next date.
Cost for date D (usage intervals starting on D) needs prices starting D-1..D+1; hourly usage for
D needs cost rows starting on D-1 and D. Both tables are rebuilt for the same dates (the hourly
dates, a superset of the cost dates), so one run keeps the two consistent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import polars as pl

from transforms.cost import cost_per_interval, hourly_usage
from warehouse import delta
from warehouse.lake import Lake
from warehouse.registry import Table, table
from warehouse.stages.changes import Change

USAGE = table("silver.customer_usage")
PRICES = table("silver.energy_prices")
COST = table("gold.cost_per_interval")
HOURLY = table("gold.hourly_usage")
DAY = dt.timedelta(days=1)


def _spilling(frame: pl.DataFrame) -> set[dt.date]:
    """Dates (event_date) with an interval that ends after the next midnight."""
    if frame.is_empty():
        return set()
    midnight = (pl.col("event_date") + pl.duration(days=1)).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    late = frame.filter(pl.col("interval_end") > midnight)
    return set(late["event_date"].unique().to_list())


def _spills(change: Change, source: Table, dates: Iterable[dt.date]) -> set[dt.date]:
    """Dates whose intervals of `source` spill past midnight, before or after the change."""
    dates = set(dates)
    before = delta.read_partitions(change.lake, source, dates, columns=["event_date", "interval_end"])
    spilling = _spilling(before)
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
    return {COST.qualified: build_cost(lake, dates), HOURLY.qualified: build_hourly(lake, dates)}


def build_cost(lake: Lake, dates: Iterable[dt.date]) -> int:
    rows = 0
    for date in dates:
        usage = delta.read_partitions(lake, USAGE, [date]).lazy()
        prices = delta.read_partitions(lake, PRICES, [date - DAY, date, date + DAY]).lazy()
        frame = cost_per_interval(usage, prices).with_columns(date=pl.lit(date)).collect()
        delta.replace_partitions(lake, COST, frame, [date])
        rows += frame.height
    return rows


def build_hourly(lake: Lake, dates: Iterable[dt.date]) -> int:
    rows = 0
    for date in dates:
        cost = delta.read_partitions(lake, COST, [date - DAY, date]).lazy()
        frame = (
            hourly_usage(cost).filter(pl.col("hour_start").dt.date() == date).with_columns(date=pl.lit(date)).collect()
        )
        delta.replace_partitions(lake, HOURLY, frame, [date])
        rows += frame.height
    return rows
