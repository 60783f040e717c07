"""Gold for battery sites: the latest state of every site, and daily statistics per site and
UTC day, rebuilt only for the days whose inputs changed.

Silver live data is partitioned by the UTC date of each reading, so gold date D reads silver
partition D; the configuration history supplies the battery in force at the end of each day,
so a configuration change rebuilds every day that has readings (the history is small, and a
change may move a version's end to any later day)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import polars as pl

from transforms.sites import site_daily_stats, site_latest
from warehouse import delta
from warehouse.lake import Lake
from warehouse.registry import table
from warehouse.stages.changes import Change

SITES = table("silver.sites")
CONFIGURATIONS = table("silver.site_configurations")
LIVE = table("silver.site_live_data")
LATEST = table("gold.site_latest")
DAILY = table("gold.site_daily_stats")
# Dates computed and committed together (a site-day is one small row per site).
CHUNK_DATES = 92


def affected_daily(change: Change) -> set[dt.date]:
    """Daily dates to rebuild: the live dates that changed; every date with readings when the
    configuration history changed (a version's end may move to any later day)."""
    if change.source == LIVE.name:
        return change.dated
    if change.source == CONFIGURATIONS.name and change.dates:
        return set(live_date_list(change.lake))
    return set()


def affected_latest(change: Change) -> set[None]:
    """site_latest reads all three silver tables and is rebuilt whole after any change."""
    return {None} if change.dates else set()


def build_daily_dates(lake: Lake, dates: list[dt.date]) -> dict[str, int]:
    return {DAILY.qualified: build_daily(lake, dates)}


def build_latest_table(lake: Lake, dates: list[None]) -> dict[str, int]:
    return {LATEST.qualified: build_latest(lake)}


def live_date_list(lake: Lake) -> list[dt.date]:
    """Every UTC date with readings in silver."""
    frame = delta.scan(lake, LIVE).select("event_date").unique().collect()
    return sorted(d for d in frame["event_date"].to_list() if d is not None)


def build_latest(lake: Lake) -> int:
    """Rebuild gold.site_latest whole: one row per site with readings."""
    frame = site_latest(delta.scan(lake, SITES), delta.scan(lake, CONFIGURATIONS), delta.scan(lake, LIVE)).collect()
    delta.replace_where(lake, LATEST, frame, "true")
    return frame.height


def build_daily(lake: Lake, dates: Iterable[dt.date]) -> int:
    configurations = delta.scan(lake, CONFIGURATIONS).collect().lazy()
    rows = 0
    ordered = sorted(set(dates))
    for i in range(0, len(ordered), CHUNK_DATES):
        chunk = ordered[i : i + CHUNK_DATES]
        live = delta.read_partitions(lake, LIVE, chunk).lazy()
        frame = site_daily_stats(live, configurations).collect()
        delta.replace_partitions(lake, DAILY, frame, chunk)
        rows += frame.height
    return rows


def latest_sample(lake: Lake) -> pl.DataFrame:
    return delta.scan(lake, LATEST).head(5).collect()
