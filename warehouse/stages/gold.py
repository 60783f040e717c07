"""Gold for usage and prices: cost per interval and hourly usage, rebuilt only for the dates
that new usage or prices can change.

Windows: a usage or price interval is at most one day long, so it can spill into the next
date. cost for date D (usage intervals starting on D) needs prices starting D-1..D+1; hourly
usage for D needs cost rows starting on D-1 and D."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import polars as pl

from transforms.cost import cost_per_interval, hourly_usage
from warehouse import delta
from warehouse.lake import Lake
from warehouse.registry import table

USAGE = table("silver.customer_usage")
PRICES = table("silver.energy_prices")
COST = table("gold.cost_per_interval")
HOURLY = table("gold.hourly_usage")
DAY = dt.timedelta(days=1)


def _spills(lake: Lake, source: object, date: dt.date) -> bool:
    """Whether any interval starting on `date` ends after midnight."""
    midnight = dt.datetime.combine(date + DAY, dt.time(), dt.UTC)
    ends = delta.read_partitions(lake, source, [date], columns=["interval_end"])  # type: ignore[arg-type]
    return bool(ends.height and ends["interval_end"].max() > midnight)


def affected_dates(
    lake: Lake, usage_dates: Iterable[dt.date | None], price_dates: Iterable[dt.date | None]
) -> tuple[list[dt.date], list[dt.date]]:
    """(cost dates, hourly dates) to rebuild after the given silver dates changed."""
    usage = {d for d in usage_dates if d is not None}
    prices = {d for d in price_dates if d is not None}
    cost = set(usage) | prices
    cost |= {p - DAY for p in prices if _spills(lake, USAGE, p - DAY)}
    cost |= {p + DAY for p in prices if _spills(lake, PRICES, p)}
    hourly = cost | {c + DAY for c in cost if _spills(lake, USAGE, c)}
    return sorted(cost), sorted(hourly)


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
