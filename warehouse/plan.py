"""The one plan every path follows: the order of the stages, and for each gold spec which silver
sources it reads, which gold dates a change of them affects, and how its tables are rebuilt.

The library path (warehouse/stages/pipeline.py), `gridlake run` and `gridlake backfill`
(orchestration/run.py), the Dagster assets, sensors and jobs, and the benchmark all read this
module, so the operated path and the tested path cannot decide differently.

Stages: land every source (DATASETS order) → refine every source with pending dates (DATASETS
order: a reference table is refined before the datasets that read it) → rebuild every gold spec
with queued dates (GOLD order) → publish the DuckDB catalog. Refine queues gold work in
ops.gold_queue as it writes silver (see warehouse/stages/gold.py), so a run killed between refine
and gold leaves the work queued, not lost.

A gold spec's `calendar` names the Dagster partitions its dates live in; a dated silver source
shares the calendar of the specs it feeds, so one backfill can select silver and gold together
(completeness, which reads every dated source, has a calendar of its own)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from warehouse.datasets import DATASETS, Dataset
from warehouse.lake import Lake
from warehouse.registry import Table, table
from warehouse.stages import gold_coins, gold_completeness, gold_parks, gold_sites, gold_solar, gold_usage_cost
from warehouse.stages.changes import Change

STAGES = ("land", "refine", "gold", "publish")


@dataclass(frozen=True)
class GoldCheck:
    """A check on the spec's first table after a build: the rows of the built dates that fail
    it (none: passed). It warns and never blocks."""

    name: str
    description: str
    failing: Callable[[Lake, list], pl.DataFrame]


@dataclass(frozen=True)
class GoldSpec:
    name: str
    # Dagster partitions of its dates; None: unpartitioned tables, rebuilt whole.
    calendar: str | None
    # Silver sources whose changes it follows.
    inputs: tuple[str, ...]
    # Built in this order, for the same dates.
    tables: tuple[Table, ...]
    # Gold dates a change of one input affects ({None} for an unpartitioned spec).
    affected: Callable[[Change], set]
    # Rebuild the given dates; rows written per table.
    build: Callable[[Lake, list], dict[str, int]]
    description: str
    check: GoldCheck | None = None
    # Reads sources of several calendars (completeness): its dates live in its own calendar, and
    # the sources it reads keep the calendar of their other specs.
    spans: bool = False

    @property
    def partitioned(self) -> bool:
        return self.calendar is not None


GOLD: tuple[GoldSpec, ...] = (
    GoldSpec(
        name="usage_cost",
        calendar="energy",
        inputs=("customer_usage", "energy_prices"),
        tables=(gold_usage_cost.COST, gold_usage_cost.HOURLY),
        affected=gold_usage_cost.affected,
        build=gold_usage_cost.build,
        description="Cost per interval and hourly usage from silver usage and prices.",
    ),
    GoldSpec(
        name="park_stats",
        calendar="parks",
        inputs=("parks", "park_readings"),
        tables=(gold_parks.PARK_DAILY, gold_parks.TYPE_DAILY),
        affected=gold_parks.affected,
        build=gold_parks.build,
        description="Daily stats per park and per energy type from silver park readings and the register.",
    ),
    GoldSpec(
        name="site_daily",
        calendar="sites",
        inputs=("site_configurations", "site_live_data"),
        tables=(gold_sites.DAILY,),
        affected=gold_sites.affected_daily,
        build=gold_sites.build_daily_dates,
        description="Daily stats per battery site from silver live data and the configuration in force.",
    ),
    GoldSpec(
        name="site_latest",
        calendar=None,
        inputs=("sites", "site_configurations", "site_live_data"),
        tables=(gold_sites.LATEST,),
        affected=gold_sites.affected_latest,
        build=gold_sites.build_latest_table,
        description="The latest reading and current configuration of every battery site.",
    ),
    GoldSpec(
        name="solar",
        calendar="solar",
        inputs=("solar_readings",),
        tables=(gold_solar.DAILY, gold_solar.ANOMALIES),
        affected=gold_solar.affected,
        build=gold_solar.build,
        description="Daily energy per solar site and every anomalous reading, by UTC date.",
    ),
    GoldSpec(
        name="coins",
        calendar="coins",
        inputs=("coin_prices",),
        tables=(gold_coins.VOLATILITY, gold_coins.LATEST),
        affected=gold_coins.affected,
        build=gold_coins.build,
        description="Rolling 24-hour volatility and rank per coin pair and sample time, and each pair's latest.",
    ),
    GoldSpec(
        name="completeness",
        calendar="completeness",
        inputs=("parks", *gold_completeness.SOURCES),
        tables=(gold_completeness.COMPLETENESS, gold_completeness.GAPS),
        affected=gold_completeness.affected,
        build=gold_completeness.build,
        description="Per dated source, series and day: expected, present and missing readings, and every gap.",
        spans=True,
        check=GoldCheck(
            name="series_complete",
            description="Every series-day built has at least its contract's coverage (warn_below).",
            failing=gold_completeness.below,
        ),
    ),
)
GOLD_BY_NAME = {g.name: g for g in GOLD}


def gold_spec(name: str) -> GoldSpec:
    try:
        return GOLD_BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown gold spec {name!r}; known: {sorted(GOLD_BY_NAME)}") from None


def fed_by(source: str) -> list[GoldSpec]:
    """The gold specs that follow a silver source."""
    return [g for g in GOLD if source in g.inputs]


def calendar_of(ds: Dataset) -> str | None:
    """Dagster partitions of a dataset's silver: the calendar of the dated gold it feeds (a
    per-date source feeding no dated gold gets its own); None for sources refined whole."""
    if not ds.per_date:
        return None
    calendars = {g.calendar for g in fed_by(ds.source) if g.calendar and not g.spans}
    if len(calendars) > 1:
        raise ValueError(f"{ds.source} feeds gold of several calendars: {sorted(calendars)}")
    return calendars.pop() if calendars else ds.source


def calendars() -> list[str]:
    names = [calendar_of(ds) for ds in DATASETS.values()] + [g.calendar for g in GOLD]
    return sorted({c for c in names if c})


def silver_tables_of(spec: GoldSpec) -> list[Table]:
    return [table(f"silver.{source}") for source in spec.inputs]


def dates_between(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
