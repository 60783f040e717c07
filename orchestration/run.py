"""`gridlake run` and `gridlake backfill`: all pending work, in-process, through Dagster, so the
runs, materializations and checks are recorded in the instance the UI shows."""

import datetime as dt
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from assets.catalog import duckdb_catalog
from assets.gold import GOLD_ASSETS
from assets.ingest import LAND_ASSETS, REFINE_ASSETS
from assets.parks import PARKS_GOLD_ASSETS
from assets.partitions import contiguous_ranges, range_tags
from assets.sites import SITES_GOLD_ASSETS
from orchestration.resources import LakeResource
from warehouse.datasets import DATASETS
from warehouse.lake import Lake
from warehouse.stages import gold, gold_parks, gold_sites, land, refine


@dataclass
class RunSummary:
    runs: list[tuple[str, bool]] = field(default_factory=list)
    failed_files: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(ok for _, ok in self.runs) and not self.failed_files and not self.blocked


QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def instance() -> dg.DagsterInstance:
    """The instance the UI reads: DAGSTER_HOME, else ./.dagster_home with the repo's settings."""
    if not os.environ.get("DAGSTER_HOME"):
        home = Path(".dagster_home").resolve()
        home.mkdir(exist_ok=True)
        if not (home / "dagster.yaml").exists() and Path("dagster.yaml").exists():
            shutil.copy("dagster.yaml", home / "dagster.yaml")
        os.environ["DAGSTER_HOME"] = str(home)
    return dg.DagsterInstance.get()


def _materialize(
    summary: RunSummary,
    label: str,
    assets: Sequence[dg.AssetsDefinition],
    lake_root: str | None,
    inst: dg.DagsterInstance,
    tags: dict[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    result = dg.materialize(
        assets,
        instance=inst,
        resources={"lake": LakeResource(root=lake_root)},
        tags=tags,
        run_config=QUIET,
        raise_on_error=False,
    )
    summary.runs.append((label, result.success))
    return result


def _refine_and_build(
    summary: RunSummary, lake: Lake, lake_root: str | None, inst: dg.DagsterInstance, by_source: dict[str, set]
) -> None:
    for ds, refine_asset in zip(DATASETS.values(), REFINE_ASSETS, strict=True):
        dates = by_source.get(ds.source, set())
        if ds.reference is not None:
            # Its reference table was refined just before: rows waiting for it are pending now.
            dates = by_source[ds.source] = dates | refine.pending_dates(lake, ds.source)
        dated = [d for d in dates if d is not None]
        ranges = contiguous_ranges(dated)
        if None in dates and not ranges:
            today = dt.datetime.now(dt.UTC).date()
            ranges = [(today, today)]
        for first, last in ranges:
            result = _materialize(
                summary, f"refine {ds.source} {first}..{last}", [refine_asset], lake_root, inst, range_tags(first, last)
            )
            blocked = _blocking_failures(result)
            if blocked:
                # As in a Dagster run, a failed blocking check keeps these dates out of gold.
                summary.blocked.append(f"{ds.source} {first}..{last}: {', '.join(blocked)}")
                by_source[ds.source] = {d for d in dates if d is None or not first <= d <= last}
    cost_dates, hourly_dates = gold.affected_dates(
        lake, by_source.get("customer_usage", set()), by_source.get("energy_prices", set())
    )
    cost_asset, hourly_asset = GOLD_ASSETS
    for first, last in contiguous_ranges(cost_dates):
        _materialize(summary, f"cost {first}..{last}", [cost_asset], lake_root, inst, range_tags(first, last))
    for first, last in contiguous_ranges(hourly_dates):
        _materialize(summary, f"hourly {first}..{last}", [hourly_asset], lake_root, inst, range_tags(first, last))
    for first, last in contiguous_ranges(gold_parks.affected_dates(by_source.get("park_readings", set()))):
        label = f"park stats {first}..{last}"
        _materialize(summary, label, PARKS_GOLD_ASSETS, lake_root, inst, range_tags(first, last))
    if any(by_source.get(source) for source in gold_sites.SOURCES):
        # Site sources are refined whole: every date with readings is rebuilt (see docs/sites.md).
        daily_asset, latest_asset = SITES_GOLD_ASSETS
        for first, last in contiguous_ranges(gold_sites.live_date_list(lake)):
            label = f"site stats {first}..{last}"
            _materialize(summary, label, [daily_asset], lake_root, inst, range_tags(first, last))
        _materialize(summary, "site latest", [latest_asset], lake_root, inst)


def _blocking_failures(result: dg.ExecuteInProcessResult) -> list[str]:
    return [
        e.check_name
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    ]


def run_pending(lake_root: str | None = None) -> RunSummary:
    """Land every pending file, refine the dates they touched, rebuild affected gold, publish."""
    lake = Lake.from_env(lake_root)
    inst = instance()
    summary = RunSummary()
    landed = _materialize(summary, "land", LAND_ASSETS, lake_root, inst)
    log = land.ingest_log(lake)
    summary.failed_files = log.filter(status="failed", run_id=landed.run_id)["error"].to_list()
    pending = {ds.source: refine.pending_dates(lake, ds.source) for ds in DATASETS.values()}
    _refine_and_build(summary, lake, lake_root, inst, pending)
    _materialize(summary, "publish", [duckdb_catalog], lake_root, inst)
    return summary


def backfill(start: dt.date, end: dt.date, lake_root: str | None = None) -> RunSummary:
    """Re-validate and rebuild silver and gold for every date in [start, end] from bronze."""
    lake = Lake.from_env(lake_root)
    inst = instance()
    summary = RunSummary()
    dates = {start + dt.timedelta(days=i) for i in range((end - start).days + 1)}
    _refine_and_build(summary, lake, lake_root, inst, {ds.source: dates for ds in DATASETS.values()})
    _materialize(summary, "publish", [duckdb_catalog], lake_root, inst)
    return summary
