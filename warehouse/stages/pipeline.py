"""The plan (warehouse/plan.py) without an orchestrator: the library path used by tests and the
benchmark. `gridlake run` and the Dagster sensors run the same stage functions through assets."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from warehouse import catalog
from warehouse.datasets import DATASETS
from warehouse.lake import Lake
from warehouse.plan import GOLD, dates_between
from warehouse.stages import gold, land, refine


@dataclass
class PipelineReport:
    landed: dict[str, land.LandReport] = field(default_factory=dict)
    refined: dict[str, refine.RefineReport] = field(default_factory=dict)
    gold: dict[str, gold.GoldReport] = field(default_factory=dict)

    def gold_dates(self, spec: str) -> list[dt.date | None]:
        report = self.gold.get(spec)
        return report.dates if report else []


def land_all(lake: Lake, run_id: str, report: PipelineReport) -> None:
    for ds in DATASETS.values():
        report.landed[ds.source] = land.land(lake, ds, run_id)


def refine_pending(lake: Lake, run_id: str, report: PipelineReport, rebuild: list[dt.date] | None = None) -> None:
    """Every source's pending dates (plus `rebuild`, whose gold is queued whatever changed), in
    plan order: a reference table is refined before the datasets that wait for it."""
    for ds in DATASETS.values():
        dates = refine.pending_dates(lake, ds.source) | set(rebuild or ())
        if dates:
            report.refined[ds.source] = refine.refine(lake, ds, dates, run_id=run_id, rebuild_gold=bool(rebuild))


def gold_queued(lake: Lake, report: PipelineReport) -> None:
    for spec in GOLD:
        result = gold.rebuild(lake, spec)
        if result.dates:
            report.gold[spec.name] = result


def process_pending(lake: Lake, run_id: str = "library", publish: bool = False) -> PipelineReport:
    """Land every pending file, refine the dates it touched, rebuild queued gold (and publish)."""
    report = PipelineReport()
    land_all(lake, run_id, report)
    refine_pending(lake, run_id, report)
    gold_queued(lake, report)
    if publish:
        catalog.publish(lake)
    return report


def backfill(lake: Lake, start: dt.date, end: dt.date, run_id: str = "library") -> PipelineReport:
    """Re-validate and rebuild silver and gold for every date in [start, end] from bronze."""
    report = PipelineReport()
    refine_pending(lake, run_id, report, rebuild=dates_between(start, end))
    gold_queued(lake, report)
    return report
