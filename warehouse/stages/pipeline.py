"""The plan (warehouse/plan.py) without an orchestrator: the library path used by tests and the
benchmark. `gridlake run` and the Dagster sensors run the same stage functions through assets."""

from __future__ import annotations

import datetime as dt
import resource
from collections.abc import Sequence
from dataclasses import dataclass, field

from warehouse import catalog, parallel
from warehouse.datasets import DATASETS
from warehouse.lake import Lake
from warehouse.plan import GOLD
from warehouse.stages import backfill as backfill_plan
from warehouse.stages import gold, land, refine


@dataclass
class PipelineReport:
    landed: dict[str, land.LandReport] = field(default_factory=dict)
    refined: dict[str, refine.RefineReport] = field(default_factory=dict)
    gold: dict[str, gold.GoldReport] = field(default_factory=dict)
    # Per worker process of a parallel backfill: (peak RSS in bytes, CPU seconds). The workers
    # are forked by a fork server, not by this process, so its own rusage cannot see them.
    workers: list[tuple[int, float]] = field(default_factory=list)

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


def gold_queued(lake: Lake, report: PipelineReport, specs: list[str] | None = None) -> None:
    for spec in GOLD:
        if specs is not None and spec.name not in specs:
            continue
        result = gold.rebuild(lake, spec)
        if result.dates:
            report.gold.setdefault(spec.name, gold.GoldReport(spec.name)).merge(result)


def process_pending(lake: Lake, run_id: str = "library", publish: bool = False) -> PipelineReport:
    """Land every pending file, refine the dates it touched, rebuild queued gold (and publish)."""
    report = PipelineReport()
    land_all(lake, run_id, report)
    refine_pending(lake, run_id, report)
    gold_queued(lake, report)
    if publish:
        catalog.publish(lake)
    return report


def backfill(
    lake: Lake,
    start: dt.date,
    end: dt.date,
    run_id: str = "library",
    processes: int = 1,
    sources: Sequence[str] = (),
) -> PipelineReport:
    """Re-validate and rebuild silver and gold of `sources` (default: all) for the dates in
    [start, end] their data covers (warehouse/stages/backfill.py); `processes` > 1 splits the
    dates over that many spawned processes (warehouse/parallel.py)."""
    chosen = backfill_plan.plan(lake, start, end, sources)
    report = PipelineReport()
    # Tables refined whole first (reference data the per-date ones read), with change tracking.
    for source in chosen.whole:
        report.refined[source] = refine.refine(lake, DATASETS[source], [None], run_id=run_id)
    if processes <= 1 or len(chosen.dates) < 2:
        _refine_dated(lake, chosen.dated, run_id, report)
    else:
        calls = [(lake, run, chosen.dated, run_id) for run in parallel.split(chosen.dates, processes)]
        for part in parallel.spawned_map(_backfill_part, calls):
            for source, refined in part.refined.items():
                mine = report.refined.setdefault(source, refine.RefineReport(source))
                mine.batches += refined.batches
            for name, built in part.gold.items():
                report.gold.setdefault(name, gold.GoldReport(name)).merge(built)
            report.workers += part.workers
    backfill_plan.queue_range(lake, chosen, run_id)
    gold_queued(lake, report, chosen.gold_specs)
    return report


def _refine_dated(lake: Lake, dated: dict[str, list[dt.date]], run_id: str, report: PipelineReport) -> None:
    for ds in DATASETS.values():
        if dated.get(ds.source):
            report.refined[ds.source] = refine.refine(lake, ds, dated[ds.source], run_id=run_id, rebuild_gold=True)


def _backfill_part(lake: Lake, dates: list[dt.date], dated: dict[str, list[dt.date]], run_id: str) -> PipelineReport:
    """One process of a parallel backfill: its dates of every per-date source, then their
    date-partitioned gold (unpartitioned gold waits for every process)."""
    report = PipelineReport()
    mine = set(dates)
    _refine_dated(lake, {source: [d for d in held if d in mine] for source, held in dated.items()}, run_id, report)
    for spec in GOLD:
        if spec.partitioned and set(spec.inputs) & set(dated):
            queued = [d for d in gold.queued(lake, spec).dates if d in mine]
            if queued:
                report.gold[spec.name] = gold.rebuild(lake, spec, queued)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report.workers.append((usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime))
    return report
