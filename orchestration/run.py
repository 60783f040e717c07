"""`gridlake run` and `gridlake backfill`: the plan's stages, in-process, through Dagster, so the
runs, materializations and checks are recorded in the instance the UI shows. The runs are the
ones the sensors would request (orchestration/work.py), one stage after the other."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import dagster as dg
import polars as pl

from assets.catalog import duckdb_catalog
from assets.ingest import LAND_ASSETS
from assets.partitions import new_keys
from orchestration.instance import instance
from orchestration.launcher import process_tags
from orchestration.resources import lake_for
from orchestration.work import Work, gold_work, refine_work
from warehouse import delta, parallel
from warehouse.datasets import DATASETS
from warehouse.lake import Lake
from warehouse.plan import GOLD, calendar_of
from warehouse.registry import table
from warehouse.stages import backfill as backfill_plan
from warehouse.stages import gold, land

Echo = Callable[[str], None]


def _silent(_: str) -> None:
    pass


@dataclass
class RunSummary:
    runs: list[tuple[str, bool]] = field(default_factory=list)
    failed_files: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    # Why a run failed, by its label: the innermost error's message (e.g. "OSError: [Errno 28]
    # No space left on device: '<path>'"), not the run's ~250 lines of tracebacks.
    causes: dict[str, str] = field(default_factory=dict)
    # The landing run of this invocation (its files are the ones the closing lines count).
    land_run_id: str | None = None
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def ok(self) -> bool:
        return all(ok for _, ok in self.runs) and not self.failed_files and not self.blocked


# Dagster's own console lines stay out of the command's output: each run's outcome, with the
# cause of a failure, is printed as it ends (the full events are in the instance, for the UI).
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def line(label: str, ok: bool, cause: str | None = None) -> str:
    return f"{'ok    ' if ok else 'FAILED'} {label}{f': {cause}' if cause else ''}"


BACKFILL = "gridlake backfill"


def job_name(command: str, label: str) -> str:
    """The Dagster job a CLI run appears under: the command and the work's first two words, e.g.
    gridlake_run__refine_customer_usage for "refine customer_usage 2020-08-05..2020-08-06"."""
    what = "_".join(label.split()[:2])
    return re.sub(r"\W", "_", f"{command.replace(' ', '_')}__{what}")


class _Runner:
    def __init__(self, lake_root: str | None, echo: Echo = _silent, command: str = "gridlake run") -> None:
        self.lake_root = lake_root
        self.lake = Lake.from_env(lake_root)
        self.instance = instance()
        self.summary = RunSummary()
        self.echo, self.command = echo, command

    def materialize(
        self,
        label: str,
        assets: Sequence[dg.AssetsDefinition],
        tags: dict[str, str] | None = None,
        run_config: dict | None = None,
    ) -> dg.ExecuteInProcessResult:
        # dg.materialize, with a job named for the command and the work instead of
        # "__ephemeral_asset_job__", so the UI's run list says what each run was.
        name = job_name(self.command, label)
        defs = dg.Definitions(
            jobs=[dg.define_asset_job(name)], assets=list(assets), resources={"lake": lake_for(self.lake_root)}
        )
        result = defs.resolve_job_def(name).execute_in_process(
            instance=self.instance,
            tags={**(tags or {}), **process_tags(), "gridlake/command": self.command},
            run_config={**QUIET, **(run_config or {})},
            raise_on_error=False,
        )
        self.summary.runs.append((label, result.success))
        if not result.success:
            self.summary.causes[label] = failure_cause(result)
        self.echo(line(label, result.success, self.summary.causes.get(label)))
        return result

    def run(self, work: list[Work], keys: dict[str, list[str]]) -> None:
        for cal, new in keys.items():
            if new:
                self.instance.add_dynamic_partitions(cal, new)
        for item in work:
            result = self.materialize(item.label, item.assets, item.run_tags, item.run_config)
            self.summary.blocked += _blocked(item, result)

    def land(self) -> None:
        landed = self.materialize("land", LAND_ASSETS)
        log = land.ingest_log(self.lake)
        self.summary.failed_files = log.filter(status="failed", run_id=landed.run_id)["error"].to_list()
        self.summary.land_run_id = landed.run_id

    def refine(self) -> None:
        """Every source's pending work, in plan order: a reference table is refined before the
        datasets that wait for it."""
        for ds in DATASETS.values():
            self.run(*refine_work(self.lake, ds, self.instance.get_dynamic_partitions))

    def refine_backfill(self, sources: Sequence[str], dated: dict[str, list[dt.date]]) -> None:
        """A backfill's refine runs (warehouse/stages/backfill.py), in plan order."""
        for ds in DATASETS.values():
            if ds.source in sources:
                rebuild = dated.get(ds.source, [])
                self.run(*refine_work(self.lake, ds, self.instance.get_dynamic_partitions, rebuild, backfill=True))

    def gold(self, specs: Sequence[str] | None = None) -> None:
        for spec in GOLD:
            if specs is not None and spec.name not in specs:
                continue
            work = gold.queued(self.lake, spec)
            if work:
                self.run(*gold_work(work, self.instance.get_dynamic_partitions))

    def publish(self) -> None:
        self.materialize("publish", [duckdb_catalog])


def failure_cause(result: dg.ExecuteInProcessResult) -> str:
    """The innermost error of the run's first failure, on one line."""
    for event in result.all_events:
        data = event.event_specific_data
        error = getattr(data, "error", None)
        if event.is_failure and error is not None:
            while error.cause is not None:
                error = error.cause
            # delta-rs chains its causes over indented "↳" lines: one line, in their order.
            lines = [" ".join(line.replace("↳", " ").split()) for line in error.message.splitlines()]
            text = "; ".join(line for line in lines if line)
            return (text[:400] + "…" if len(text) > 400 else text) or error.cls_name or "unknown error"
    return "the run failed (see the Dagster UI)"


def _built(row: dict) -> str:
    if row["first"] is None:
        return str(row["gold"])
    dates = row["date"]
    return f"{row['gold']} {row['first']}..{row['last']} ({dates} date{'s' if dates > 1 else ''})"


def _blocked(item: Work, result: dg.ExecuteInProcessResult) -> list[str]:
    """`<run label>: <rule> (dates)` for each failed blocking check: as in a Dagster run, those
    dates are kept out of gold."""
    out = []
    for e in result.get_asset_check_evaluations():
        if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR:
            dates = e.metadata.get("blocked_dates")
            detail = f" ({dates.value})" if dates is not None and dates.value != "none" else ""
            out.append(f"{item.label}: {e.check_name}{detail}")
    return out


def closing(lake: Lake, summary: RunSummary) -> list[str]:
    """What a `gridlake run` did and what is left: files landed, rejected (with reasons) and
    duplicate; rows quarantined; rejected files still in landing/; what to do next."""
    log = land.ingest_log(lake)
    mine = log.filter(run_id=summary.land_run_id) if summary.land_run_id else log.clear()
    counts = {s: mine.filter(status=s).height for s in ("refined", "landed", "failed", "duplicate")}
    landed = counts["refined"] + counts["landed"]
    out = [
        f"files: {landed} landed, {counts['failed']} rejected, {counts['duplicate']} duplicate"
        + ("" if mine.height else " (no new files in landing/)")
    ]
    quarantined = int(mine["rows_quarantined"].fill_null(0).sum() or 0)
    if landed:
        out.append(f"rows: {int(mine['rows_read'].sum() or 0)} read, {quarantined} quarantined")
    latest = log.sort("landed_at").group_by("source", "path", maintain_order=True).last()
    stuck = latest.filter(status="failed")
    for row in stuck.iter_rows(named=True):
        out.append(f"still in landing/ (rejected, replace it to land it): {row['error']}")
    # Every gold build of this invocation, also those a refine run carried (ops.gold_builds).
    builds = (
        delta.scan(lake, table("ops.gold_builds"))
        .filter(pl.col("built_at") >= summary.started)
        .group_by("gold")
        .agg(pl.col("date").min().alias("first"), pl.col("date").max().alias("last"), pl.col("date").n_unique())
        .collect()
    )
    order = {spec.name: i for i, spec in enumerate(GOLD)}
    built = sorted(builds.iter_rows(named=True), key=lambda r: order.get(r["gold"], len(order)))
    if built:
        out.append("gold rebuilt: " + "; ".join(_built(r) for r in built))
    if not summary.ok:
        out.append("next: fix what failed above, then run `gridlake run` again")
    elif landed:
        out.append('next: gridlake sql "select * from gold.hourly_usage limit 5"  (gridlake tables lists every table)')
    return out


def run_pending(lake_root: str | None = None, echo: Echo = _silent) -> RunSummary:
    """Land every pending file, refine the dates they touched, rebuild queued gold, publish."""
    runner = _Runner(lake_root, echo)
    runner.land()
    runner.refine()
    runner.gold()
    runner.publish()
    return runner.summary


def backfill(
    start: dt.date,
    end: dt.date,
    lake_root: str | None = None,
    processes: int = 1,
    sources: Sequence[str] = (),
    echo: Echo = _silent,
) -> RunSummary:
    """Re-validate and rebuild silver and gold of `sources` (default: all) for the dates in
    [start, end] their data covers (warehouse/stages/backfill.py). `processes` > 1 splits the
    dates over that many spawned processes, each running its own Dagster runs; each run's line
    is echoed as it ends (a process's, when the process ends)."""
    runner = _Runner(lake_root, echo, command=BACKFILL)
    chosen = backfill_plan.plan(runner.lake, start, end, sources)
    refined = ", ".join(chosen.dated) or "no dated source"
    gold_specs = ", ".join(chosen.gold_specs) or "none"
    echo(f"backfill {start}..{end}: {len(chosen.dates)} date(s) of {refined}; gold: {gold_specs}")
    # Tables refined whole first: the per-date ones read them.
    runner.refine_backfill(chosen.whole, {})
    if processes > 1 and len(chosen.dates) > 1:
        _add_keys(runner, chosen)
        calls = [(lake_root, run, chosen.dated) for run in parallel.split(chosen.dates, processes)]
        for part in parallel.spawned_map(_backfill_part, calls):
            for label, ok in part.runs:
                echo(line(label, ok, part.causes.get(label)))
            runner.summary.runs += part.runs
            runner.summary.blocked += part.blocked
            runner.summary.causes |= part.causes
    else:
        runner.refine_backfill(list(chosen.dated), chosen.dated)
    backfill_plan.queue_range(runner.lake, chosen, run_id="cli-backfill")
    runner.gold(chosen.gold_specs)
    runner.publish()
    return runner.summary


def _add_keys(runner: _Runner, chosen: backfill_plan.BackfillPlan) -> None:
    """Every calendar key of the backfill, added once before the processes start (two adding
    keys to one calendar at once could race)."""
    for source, dates in chosen.dated.items():
        cal = calendar_of(DATASETS[source])
        if cal is not None:
            new = new_keys(list(runner.instance.get_dynamic_partitions(cal)), set(dates))
            if new:
                runner.instance.add_dynamic_partitions(cal, new)


def _backfill_part(lake_root: str | None, dates: list[dt.date], dated: dict[str, list[dt.date]]) -> RunSummary:
    """One process of a parallel backfill: refine runs of its dates, carrying their gold."""
    runner = _Runner(lake_root, command=BACKFILL)
    mine = {source: [d for d in held if d in set(dates)] for source, held in dated.items()}
    runner.refine_backfill(list(mine), {s: d for s, d in mine.items() if d})
    return runner.summary
