"""All stages in order without an orchestrator: the library path used by tests and the benchmark.
Dagster runs the same stage functions through assets (orchestration/run.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from warehouse.datasets import DATASETS
from warehouse.lake import Lake
from warehouse.stages import gold, gold_parks, gold_sites, land, refine


@dataclass
class PipelineReport:
    landed: dict[str, land.LandReport] = field(default_factory=dict)
    refined: dict[str, refine.RefineReport] = field(default_factory=dict)
    cost_dates: list[dt.date] = field(default_factory=list)
    hourly_dates: list[dt.date] = field(default_factory=list)
    park_dates: list[dt.date] = field(default_factory=list)
    site_dates: list[dt.date] = field(default_factory=list)
    site_latest_rebuilt: bool = False


def process_pending(lake: Lake, run_id: str = "library") -> PipelineReport:
    report = PipelineReport()
    dates: dict[str, set[dt.date | None]] = {}
    for ds in DATASETS.values():
        report.landed[ds.source] = land.land(lake, ds, run_id)
        dates[ds.source] = refine.pending_dates(lake, ds.source)
        report.refined[ds.source] = refine.refine(lake, ds, dates[ds.source])
    report.cost_dates, report.hourly_dates = gold.affected_dates(
        lake, dates.get("customer_usage", set()), dates.get("energy_prices", set())
    )
    gold.build_cost(lake, report.cost_dates)
    gold.build_hourly(lake, report.hourly_dates)
    # Only dates whose silver readings changed: a re-sent identical file rebuilds no gold.
    report.park_dates = gold_parks.affected_dates(report.refined["park_readings"].changed_dates)
    gold_parks.build_park_daily(lake, report.park_dates)
    gold_parks.build_energy_type_daily(lake, report.park_dates)
    changed = {s: report.refined[s].changed_dates for s in ("sites", "site_configurations", "site_live_data")}
    report.site_dates = gold_sites.affected_dates(
        lake, changed["site_live_data"], configurations_changed=bool(changed["site_configurations"])
    )
    gold_sites.build_daily(lake, report.site_dates)
    if any(changed.values()):
        gold_sites.build_latest(lake)
        report.site_latest_rebuilt = True
    return report
