"""What a backfill of a date range does, decided once for the library (warehouse/stages/pipeline.py)
and Dagster (orchestration/run.py) paths: it rebuilds what its range covers, of the sources asked
(all by default), and nothing else.

* Sources refined per date: the range's dates their bronze holds (a date without data is not
  refined, so no empty partition appears), re-validated with their gold queued.
* Sources refined whole: a register (parks, sites, configurations) only when named, since it is
  not dated; a dated one (site live data) when its silver has dates in the range. Either is
  refined with ordinary change tracking: gold outside the range follows only a real change.
* Gold: what the re-validated dates affect, by each spec's own rule (warehouse/plan.py); for a
  dated source refined whole, the range's dates its silver holds, so a spec whose inputs are all
  refined whole (site daily stats) is rebuilt for the range too. Only specs fed by the backfill's
  sources are built."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from warehouse import delta
from warehouse.datasets import DATASETS, Dataset, Whole
from warehouse.lake import Lake
from warehouse.plan import GOLD, dates_between
from warehouse.stages import gold
from warehouse.stages.changes import Change


@dataclass(frozen=True)
class BackfillPlan:
    start: dt.date
    end: dt.date
    # Per-date sources: the dates to refine (each has bronze rows).
    dated: dict[str, list[dt.date]]
    # Whole sources to refine.
    whole: tuple[str, ...]

    @property
    def sources(self) -> list[str]:
        return [s for s in DATASETS if s in self.dated or s in self.whole]

    @property
    def dates(self) -> list[dt.date]:
        return sorted({d for dates in self.dated.values() for d in dates})

    @property
    def gold_specs(self) -> list[str]:
        """The gold specs the backfill rebuilds: those fed by its sources."""
        return [spec.name for spec in GOLD if set(spec.inputs) & set(self.sources)]


class UnknownSource(ValueError):
    pass


def plan(lake: Lake, start: dt.date, end: dt.date, sources: Iterable[str] = ()) -> BackfillPlan:
    asked = list(dict.fromkeys(sources))
    unknown = [s for s in asked if s not in DATASETS]
    if unknown:
        raise UnknownSource(f"unknown source(s) {', '.join(unknown)}; known: {', '.join(DATASETS)}")
    chosen = [ds for ds in DATASETS.values() if not asked or ds.source in asked]
    wanted = set(dates_between(start, end))
    dated: dict[str, list[dt.date]] = {}
    whole: list[str] = []
    for ds in chosen:
        if ds.per_date:
            held = sorted(wanted & delta.partition_dates(lake, ds.bronze))
            if held:
                dated[ds.source] = held
        elif ds.source in asked or (_silver_dated(ds) and wanted & delta.partition_dates(lake, ds.silver_table)):
            whole.append(ds.source)
    return BackfillPlan(start, end, dated, tuple(whole))


def _silver_dated(ds: Dataset) -> bool:
    return isinstance(ds.scope, Whole) and ds.scope.silver_date is not None


def queue_range(lake: Lake, backfill: BackfillPlan, run_id: str, now: dt.datetime | None = None) -> pl.DataFrame:
    """Queue the gold a dated source refined whole (site live data) feeds, for the range's dates
    its silver holds, as the specs' own rules for affected dates decide (sources refined per date
    queued theirs as they were re-validated). Ready at once: no silver version to wait for."""
    wanted = set(dates_between(backfill.start, backfill.end))
    changes = []
    for source in backfill.whole:
        silver = DATASETS[source].silver_table
        if not silver.partition_by:
            continue
        held = wanted & delta.partition_dates(lake, silver)
        if held:
            rows = delta.scan(lake, silver).filter(pl.col(silver.partition_by).is_in(sorted(held)))
            changes.append(Change(lake, source, frozenset(held), rows))
    queued = gold.queue_rows(changes, run_id, now).with_columns(silver_version=pl.lit(None, pl.Int64))
    if not queued.is_empty():
        delta.append(lake, gold.QUEUE, queued)
    return queued
