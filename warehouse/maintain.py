"""Table maintenance (`gridlake maintain`, the daily `maintain_lake` schedule): table settings,
retention purges, compaction of small files and vacuum, each recorded in ops.maintenance.

* **Configure**: a table made before its settings existed (`delta.CONFIGURATION`: a checkpoint
  every 10 commits) gets them.
* **Purge** (sources in warehouse/retention.py): bronze and silver dates before the horizon are
  deleted; gold, quarantine and the ops counts are kept, so every gold row and every file's
  reconciliation survive. The horizon never passes a date with files still waiting to be refined,
  nor a date a queued gold rollup (volatility, completeness) still has to read: raw rows are
  rolled up before they are deleted, and a `hold` action says which rollups held the purge.
* **Optimize**: a table with a partition (or, unpartitioned, a table) of at least `min_files`
  data files is compacted (delta-rs `optimize.compact`); minute files make many.
* **Vacuum**: data files no version newer than `vacuum_hours` references are deleted. The
  retention is at least 7 days unless forced: a reader or writer that started on an older version
  may still need a file, and deleting it under them loses data. Expired log entries (older than
  the table's log retention, 30 days by default) are cleaned up with it.

Purge and optimize are ordinary Delta commits: old versions still hold the purged rows until a
vacuum past their retention deletes the files, which is also where time travel stops."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

import polars as pl
import pyarrow as pa

from warehouse import delta, retention
from warehouse.lake import Lake
from warehouse.plan import GOLD
from warehouse.registry import TABLES, Table, table
from warehouse.stages import refine

MIN_VACUUM_HOURS = 7 * 24
DEFAULT_MIN_FILES = 8
MAINTENANCE = table("ops.maintenance")
QUEUE = table("ops.gold_queue")


class RetentionTooShort(ValueError):
    pass


@dataclass(frozen=True)
class Action:
    table_name: str
    action: str
    rows_removed: int = 0
    files_removed: int = 0
    files_added: int = 0
    horizon: dt.date | None = None
    version: int | None = None
    note: str | None = None


@dataclass
class MaintenanceReport:
    actions: list[Action] = field(default_factory=list)

    def of(self, action: str) -> list[Action]:
        return [a for a in self.actions if a.action == action]

    def frame(self) -> pl.DataFrame:
        schema = {k: v for k, v in MAINTENANCE.schema.items() if k not in ("at", "run_id")}
        return pl.DataFrame([asdict(a) for a in self.actions], schema=schema).select(list(schema))


def maintain(
    lake: Lake,
    run_id: str = "cli",
    vacuum_hours: int = MIN_VACUUM_HOURS,
    force: bool = False,
    min_files: int = DEFAULT_MIN_FILES,
    now: dt.datetime | None = None,
) -> MaintenanceReport:
    """Purge, compact and vacuum every table; returns (and records) what was done."""
    if vacuum_hours < MIN_VACUUM_HOURS and not force:
        raise RetentionTooShort(
            f"vacuum retention {vacuum_hours} h is under {MIN_VACUUM_HOURS} h (7 days): files a running "
            "reader or writer still needs could be deleted (--force, or force=True, to do it anyway)"
        )
    report = MaintenanceReport()

    def done(actions: list[Action]) -> None:
        # Recorded as soon as they are committed: a run killed later keeps what it did.
        record(lake, MaintenanceReport(actions), run_id, now)
        report.actions += actions

    for t in TABLES.values():
        if delta.configure(lake, t):
            done([Action(t.qualified, "configure", note=", ".join(f"{k}={v}" for k, v in delta.CONFIGURATION.items()))])
    for source in retention.RETENTION:
        done(purge(lake, source))
    for t in TABLES.values():
        done(optimize(lake, t, min_files))
    for t in TABLES.values():
        done(vacuum(lake, t, vacuum_hours, force))
    return report


def window_horizon(lake: Lake, source: str) -> dt.date | None:
    """The date of (newest sample - window): where the retention window alone would purge to."""
    policy = retention.RETENTION[source]
    silver = table(f"silver.{source}")
    newest = delta.scan(lake, silver).select(pl.col(policy.time_column).max()).collect().item()
    if newest is None:
        return None
    return (newest - policy.window(lake.settings)).date()


def rollups_waiting(lake: Lake, source: str) -> dict[str, dt.date]:
    """Per gold rollup (its first table) built from `source` with dates still queued: the first raw date its queued
    work reads (a day before its first queued date: a rolling 24-hour figure of day D reads D-1)."""
    if not delta.exists(lake, QUEUE):
        return {}
    fed = {spec.name: spec.tables[0].qualified for spec in GOLD if source in spec.inputs and spec.partitioned}
    firsts = (
        delta.scan(lake, QUEUE)
        .filter(pl.col("gold").is_in(list(fed)) & pl.col("date").is_not_null())
        .group_by("gold")
        .agg(pl.col("date").min())
        .collect()
    )
    return {fed[name]: first - dt.timedelta(days=1) for name, first in firsts.iter_rows()}


def purge_horizon(lake: Lake, source: str) -> dt.date | None:
    """The first date to keep: the retention window's horizon, held back to the earliest date
    still waiting to be refined and to the first date rollups not yet rebuilt still read."""
    horizon = window_horizon(lake, source)
    if horizon is None:
        return None
    pending = [d for d in refine.pending_dates(lake, source) if d is not None]
    return min([horizon, *pending, *rollups_waiting(lake, source).values()])


def purge(lake: Lake, source: str) -> list[Action]:
    horizon = purge_horizon(lake, source)
    previous = retention.horizon(lake, source)
    actions = []
    window = window_horizon(lake, source)
    if horizon is not None and window is not None and horizon < window:
        # Said, not silent: the rows the window would drop stay until their rollups are built.
        waiting = rollups_waiting(lake, source)
        held = {name: d for name, d in waiting.items() if d < window}
        if held:
            actions.append(Action(f"silver.{source}", "hold", horizon=horizon, note=_held_note(source, window, held)))
    if horizon is None or (previous is not None and horizon <= previous):
        return actions
    for t in (table(f"bronze.{source}"), table(f"silver.{source}")):
        actions.append(_delete_before(lake, t, horizon))
    return actions


def _held_note(source: str, window: dt.date, held: dict[str, dt.date]) -> str:
    names = ", ".join(f"{name} (reads from {d})" for name, d in sorted(held.items()))
    return (
        f"{source}: rows before {window} are past retention but kept until these gold rollups are "
        f"rebuilt from them: {names}; run `gridlake run` first"
    )


def _delete_before(lake: Lake, t: Table, horizon: dt.date) -> Action:
    existing = delta.open_table(lake, t)
    assert t.partition_by
    if existing is None:
        return Action(t.qualified, "purge", horizon=horizon)
    metrics = existing.delete(f"{t.partition_by} < '{horizon.isoformat()}'")
    return Action(
        t.qualified,
        "purge",
        rows_removed=int(metrics.get("num_deleted_rows", 0)),
        files_removed=int(metrics.get("num_removed_files", 0)),
        files_added=int(metrics.get("num_added_files", 0)),
        horizon=horizon,
        version=existing.version(),
    )


def files_per_partition(lake: Lake, t: Table) -> int:
    """The most data files any one partition (or the unpartitioned table) has."""
    existing = delta.open_table(lake, t)
    if existing is None:
        return 0
    actions = pl.DataFrame(pa.table(existing.get_add_actions(flatten=True)))
    if actions.is_empty():
        return 0
    column = f"partition.{t.partition_by}"
    if not t.partition_by or column not in actions.columns:
        return actions.height
    return int(actions.group_by(column).len()["len"].max())  # type: ignore[arg-type]


def optimize(lake: Lake, t: Table, min_files: int = DEFAULT_MIN_FILES) -> list[Action]:
    if files_per_partition(lake, t) < min_files:
        return []
    existing = delta.open_table(lake, t)
    assert existing is not None
    metrics = existing.optimize.compact()
    removed = int(metrics.get("numFilesRemoved", 0))
    if not removed:
        return []
    return [
        Action(
            t.qualified,
            "optimize",
            files_removed=removed,
            files_added=int(metrics.get("numFilesAdded", 0)),
            version=existing.version(),
        )
    ]


def vacuum(lake: Lake, t: Table, hours: int = MIN_VACUUM_HOURS, force: bool = False) -> list[Action]:
    existing = delta.open_table(lake, t)
    if existing is None:
        return []
    deleted = existing.vacuum(retention_hours=hours, dry_run=False, enforce_retention_duration=not force)
    existing.cleanup_metadata()
    return [Action(t.qualified, "vacuum", files_removed=len(deleted))] if deleted else []


def record(lake: Lake, report: MaintenanceReport, run_id: str, now: dt.datetime | None = None) -> None:
    if not report.actions:
        return
    at = now or dt.datetime.now(dt.UTC)
    frame = report.frame().with_columns(at=pl.lit(at, dtype=pl.Datetime("us", "UTC")), run_id=pl.lit(run_id))
    delta.add_missing_columns(lake, MAINTENANCE)
    delta.append(lake, MAINTENANCE, frame)
