"""Gold for parks: daily stats per park and per energy type, rebuilt only for the park-local
dates whose silver readings changed.

Silver readings are partitioned by park-local date, so gold date D reads silver partition D and
nothing else; the register supplies each park's timezone (the length of its local day) and its
current energy type."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import polars as pl

from transforms.parks import PARK_SOURCE_COLUMNS, energy_type_daily_stats, park_daily_stats
from warehouse import delta
from warehouse.lake import Lake
from warehouse.registry import table
from warehouse.stages.changes import Change

PARKS = table("silver.parks")
READINGS = table("silver.park_readings")
PARK_DAILY = table("gold.park_daily_stats")
TYPE_DAILY = table("gold.energy_type_daily_stats")
# Dates computed and committed together (a park-day is one small row per park).
CHUNK_DATES = 92


def current_register(lake: Lake) -> pl.LazyFrame:
    return delta.scan(lake, PARKS).filter(pl.col("is_current")).select(PARK_SOURCE_COLUMNS)


def affected(change: Change) -> set[dt.date]:
    """Gold dates to rebuild: changed reading dates (a park-local day is its own silver
    partition); after a register change, every date with readings, because gold takes each
    park's energy type and timezone (the length of its day) from the current register."""
    if change.source == READINGS.name:
        return change.dated
    if change.source == PARKS.name and change.dates:
        dates = delta.scan(change.lake, READINGS).select("event_date").unique().collect()["event_date"]
        return {d for d in dates.to_list() if d is not None}
    return set()


def build(lake: Lake, dates: list[dt.date]) -> dict[str, int]:
    return {
        PARK_DAILY.qualified: build_park_daily(lake, dates),
        TYPE_DAILY.qualified: build_energy_type_daily(lake, dates),
    }


def _chunks(dates: Iterable[dt.date]) -> list[list[dt.date]]:
    ordered = sorted(set(dates))
    return [ordered[i : i + CHUNK_DATES] for i in range(0, len(ordered), CHUNK_DATES)]


def build_park_daily(lake: Lake, dates: Iterable[dt.date]) -> int:
    register = current_register(lake).collect().lazy()
    rows = 0
    for chunk in _chunks(dates):
        silver = delta.read_partitions(lake, READINGS, chunk).lazy()
        frame = park_daily_stats(silver, register).collect()
        delta.replace_partitions(lake, PARK_DAILY, frame, chunk)
        rows += frame.height
    return rows


def build_energy_type_daily(lake: Lake, dates: Iterable[dt.date]) -> int:
    rows = 0
    for chunk in _chunks(dates):
        parks = delta.read_partitions(lake, PARK_DAILY, chunk).lazy()
        frame = energy_type_daily_stats(parks).collect()
        delta.replace_partitions(lake, TYPE_DAILY, frame, chunk)
        rows += frame.height
    return rows
