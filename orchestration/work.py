"""The runs the plan calls for right now, as one list both entry points follow: the sensors turn
each item into a RunRequest for the daemon, `gridlake run` materializes it in-process.

Refine: one item per pending source (per contiguous key range of its calendar for sources refined
per date). A refine run carries the gold specs the source feeds on the same calendar (and the
unpartitioned ones), which rebuild the run's dates refine queued: one run, not two, from landed
to gold. Gold: one item per gold spec with ready queued dates (per key range), for what a refine
run could not carry (dates outside its range, other calendars, gold skipped by a blocking check).
A table is queryable when the run that created it ends: every read through the catalog
(`catalog.read_only`) brings its views up to date first (warehouse/catalog.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import dagster as dg

from assets.gold import GOLD_ASSETS
from assets.ingest import REFINE_ASSETS
from assets.partitions import new_keys, range_tags, runs_for
from assets.solar_report import solar_report
from orchestration.retries import WORK_TAG, work_tag
from warehouse.datasets import DATASETS, Dataset
from warehouse.lake import Lake
from warehouse.plan import GOLD, GoldSpec, calendar_of, fed_by
from warehouse.stages import gold, land, refine

REFINE_BY_SOURCE = dict(zip(DATASETS, REFINE_ASSETS, strict=True))
GOLD_BY_SPEC = {spec.name: a for spec, a in zip(GOLD, GOLD_ASSETS, strict=True)}
# Reports refreshed after a spec's gold, in the runs that rebuild it (unpartitioned: rewritten whole).
REPORTS_BY_SPEC: dict[str, tuple[dg.AssetsDefinition, ...]] = {"solar": (solar_report,)}
# Existing keys of a calendar (the Dagster instance holds them).
Keys = Callable[[str], Sequence[str]]


@dataclass(frozen=True)
class Work:
    label: str
    assets: tuple[dg.AssetsDefinition, ...]
    # Partition keys the run covers, contiguous in the calendar's order; empty: unpartitioned.
    keys: tuple[str, ...]
    calendar: str | None
    # Identifies the work: the same pending content gives the same fingerprint, and its runs carry
    # it as a tag, so a failed run is requested again on a schedule (orchestration/retries.py).
    fingerprint: str
    tags: dict[str, str] = field(default_factory=dict)
    run_config: dict = field(default_factory=dict)

    @property
    def selection(self) -> list[dg.AssetKey]:
        return [k for a in self.assets for k in a.keys]

    @property
    def run_tags(self) -> dict[str, str]:
        return {**self.tags, **(range_tags(self.keys) if self.keys else {}), WORK_TAG: work_tag(self.fingerprint)}

    def run_request(self, attempt: int = 0) -> dg.RunRequest:
        """The request for the work's `attempt`-th run (Dagster never reuses a run key)."""
        return dg.RunRequest(
            run_key=f"{self.fingerprint}:{attempt}",
            asset_selection=self.selection,
            tags=self.run_tags,
            run_config=self.run_config,
        )


def _digest(*parts: object) -> str:
    return hashlib.sha256("\n".join(map(str, parts)).encode()).hexdigest()[:16]


def refine_work(
    lake: Lake, ds: Dataset, keys: Keys, rebuild: Sequence[dt.date] = (), *, backfill: bool = False
) -> tuple[list[Work], dict[str, list[str]]]:
    """The refine runs a source needs (its pending dates, plus `rebuild`: dates re-validated
    with their gold queued whatever changed), and the calendar keys to add first.

    `backfill` (warehouse/stages/backfill.py): only `rebuild` is refined (a source refined whole
    is refined once, with ordinary change tracking), and only gold partitioned like the source
    is carried (an unpartitioned gold table read before a sibling's silver commit would be stale;
    the backfill builds those once every refine is done)."""
    if backfill:
        dates: set[dt.date | None] = set(rebuild) if ds.per_date else {None}
    else:
        dates = refine.pending_dates(lake, ds.source) | set(rebuild)
    if not dates:
        return [], {}
    landed = land.ingest_log(lake, ds.source).filter(status="landed")["file_hash"].sort().to_list()
    fingerprint = _digest(*landed, *sorted(map(str, dates)))
    asset = REFINE_BY_SOURCE[ds.source]
    cal = calendar_of(ds)
    carry = (cal,) if backfill else (cal, None)
    carried = [GOLD_BY_SPEC[s.name] for s in fed_by(ds.source) if s.calendar in carry]
    reports = [r for s in fed_by(ds.source) if s.calendar in carry for r in REPORTS_BY_SPEC.get(s.name, ())]
    assets = (asset, *carried, *reports)
    tags = {"gridlake/source": ds.source, "gridlake/stage": "refine"}
    ops: dict = {g.op.name: {"config": {"queued_only": True}} for g in carried}
    if rebuild and ds.per_date:
        ops[asset.op.name] = {"config": {"rebuild_gold": True}}
    config = {"ops": ops} if ops else {}
    if cal is None:
        label, key = f"refine {ds.source}", f"refine:{ds.source}:{fingerprint}"
        return [Work(label, assets, (), None, key, tags, config)], {}
    existing = list(keys(cal))
    dated = {d for d in dates if d is not None}
    if not dated:
        # Only rows without a usable event date: any run of the source refines them
        # (refine.run_dates), so run the calendar's last key (or today's, on a calendar with none).
        dated = {dt.date.fromisoformat(existing[-1])} if existing else {dt.datetime.now(dt.UTC).date()}
    work = [
        Work(
            f"refine {ds.source} {run[0]}..{run[-1]}",
            assets,
            tuple(run),
            cal,
            f"refine:{ds.source}:{run[0]}:{run[-1]}:{fingerprint}",
            tags,
            config,
        )
        for run in runs_for(existing, dated)
    ]
    return work, {cal: new_keys(existing, dated)}


def gold_work(queued: gold.Queued, keys: Keys) -> tuple[list[Work], dict[str, list[str]]]:
    """The gold runs a spec's ready queue rows call for, and the calendar keys to add first."""
    spec: GoldSpec = queued.spec
    assets = (GOLD_BY_SPEC[spec.name], *REPORTS_BY_SPEC.get(spec.name, ()))
    tags = {"gridlake/gold": spec.name, "gridlake/stage": "gold"}
    if spec.calendar is None:
        fingerprint = _digest(*queued.change_ids(queued.dates))
        return [Work(f"gold {spec.name}", assets, (), None, f"gold:{spec.name}:{fingerprint}", tags)], {}
    existing = list(keys(spec.calendar))
    work = []
    for run in runs_for(existing, queued.dates):
        fingerprint = _digest(*queued.change_ids(dt.date.fromisoformat(k) for k in run))
        label = f"gold {spec.name} {run[0]}..{run[-1]}"
        work.append(
            Work(label, assets, tuple(run), spec.calendar, f"gold:{spec.name}:{run[0]}:{run[-1]}:{fingerprint}", tags)
        )
    return work, {spec.calendar: new_keys(existing, queued.dates)}
