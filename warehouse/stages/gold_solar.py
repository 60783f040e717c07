"""Gold for solar readings: daily figures per site and the anomalies, per UTC date.

A date's range anomalies (transforms/solar.py) are judged against the RANGE_DAYS days before it,
so a change of silver date D affects gold D and the RANGE_DAYS dates after it (those with
readings); building date D reads silver D - RANGE_DAYS .. D."""

from __future__ import annotations

import datetime as dt

import polars as pl

from transforms import solar
from warehouse import delta
from warehouse.lake import Lake
from warehouse.registry import table
from warehouse.stages.changes import Change

READINGS = table("silver.solar_readings")
DAILY = table("gold.solar_site_daily")
ANOMALIES = table("gold.solar_anomalies")


def affected(change: Change) -> set[dt.date]:
    if not change.dated:
        return set()
    dates = delta.scan(change.lake, READINGS).select("event_date").unique().collect()["event_date"].to_list()
    have = {d for d in dates if d is not None} | change.dated
    horizon = dt.timedelta(days=solar.RANGE_DAYS)
    return {d for d in have if any(c <= d <= c + horizon for c in change.dated)}


def readings_with_anomalies(lake: Lake, dates: list[dt.date]) -> pl.LazyFrame:
    """Silver readings of `dates` with every anomaly reason (row and range)."""
    wanted = sorted(set(dates))
    history_dates = sorted({d - dt.timedelta(days=k) for d in wanted for k in range(1, solar.RANGE_DAYS + 1)})
    day = delta.read_partitions(lake, READINGS, wanted).lazy()
    history = delta.read_partitions(lake, READINGS, history_dates).lazy()
    return solar.with_range_anomalies(day, history)


def build(lake: Lake, dates: list[dt.date], now: dt.datetime | None = None) -> dict[str, int]:
    now = now or dt.datetime.now(dt.UTC)
    readings = readings_with_anomalies(lake, dates).collect().lazy()
    daily = solar.site_daily(readings).collect()
    previous = delta.read_partitions(lake, ANOMALIES, dates).lazy()
    found = solar.anomalies(readings, previous, now).collect()
    delta.replace_partitions(lake, DAILY, daily, dates)
    delta.replace_partitions(lake, ANOMALIES, found, dates)
    return {DAILY.qualified: daily.height, ANOMALIES.qualified: found.height}
