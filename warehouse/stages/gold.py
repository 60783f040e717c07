"""Gold from the queue: refine queues the gold dates its changes affect, a gold build rebuilds them
and removes exactly the queue rows it has covered.

The queue (ops.gold_queue) is what makes gold follow silver on every path and for any date:
refine appends one row per (gold spec, date) before it writes silver, so a run killed anywhere
between refine and gold leaves the work queued, and the next `gridlake run`, library run or gold
sensor tick does it. A row is ready once its source's silver table has moved past the version it
was queued at (the refine that queued it has written silver): a gold build running beside that
refine must not remove work it could not yet see. A build reads the ready rows first and removes
only those whose dates it rebuilt; rows queued while it ran stay for the next build. Rebuilding a
date twice is harmless (every gold write replaces whole partitions)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

import polars as pl

from warehouse import delta, locks
from warehouse.lake import Lake
from warehouse.plan import GOLD, GoldSpec, fed_by, silver_tables_of
from warehouse.registry import table
from warehouse.stages.changes import Change

QUEUE = table("ops.gold_queue")
BUILDS = table("ops.gold_builds")


@dataclass(frozen=True)
class Queued:
    """A spec's queued work: the dates to rebuild and the change ids behind each."""

    spec: GoldSpec
    rows: pl.DataFrame

    @property
    def dates(self) -> list[dt.date | None]:
        values = set(self.rows["date"].to_list())
        return sorted(values, key=lambda d: (d is not None, d or dt.date.min))

    def change_ids(self, dates: Iterable[dt.date | None]) -> list[str]:
        wanted = set(dates)
        return sorted({c for c, d in self.rows.select("change_id", "date").iter_rows() if d in wanted})

    def __bool__(self) -> bool:
        return not self.rows.is_empty()


@dataclass
class GoldReport:
    spec: str
    dates: list[dt.date | None] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    acknowledged: int = 0

    def merge(self, other: GoldReport) -> GoldReport:
        """Add another build of the same spec (other dates) to this report."""
        self.dates += [d for d in other.dates if d not in self.dates]
        for name, rows in other.rows.items():
            self.rows[name] = self.rows.get(name, 0) + rows
        self.acknowledged += other.acknowledged
        return self


def queue_rows(changes: Iterable[Change], run_id: str, now: dt.datetime | None = None) -> pl.DataFrame:
    """The queue rows for a set of changes: per change and dependent spec, the dates it affects."""
    now = now or dt.datetime.now(dt.UTC)
    rows = []
    for change in changes:
        change_id = uuid.uuid4().hex
        version = delta.version(change.lake, table(f"silver.{change.source}"))
        for spec in fed_by(change.source):
            for date in spec.affected(change):
                rows.append((spec.name, date, change.source, change_id, version, now, run_id))
    return pl.DataFrame(rows, schema=QUEUE.schema, orient="row")


def enqueue(lake: Lake, changes: Iterable[Change], run_id: str, now: dt.datetime | None = None) -> pl.DataFrame:
    rows = queue_rows(changes, run_id, now)
    if not rows.is_empty():
        delta.append(lake, QUEUE, rows)
    return rows


def _ready(lake: Lake, rows: pl.DataFrame) -> pl.DataFrame:
    """Rows whose refine has written silver: their source's table is past the queued version."""
    if rows.is_empty():
        return rows
    versions = {s: delta.version(lake, table(f"silver.{s}")) for s in rows["source"].unique().to_list()}
    current = pl.col("source").replace_strict(versions, default=None, return_dtype=pl.Int64)
    return rows.filter(
        current.is_not_null() & (pl.col("silver_version").is_null() | (current > pl.col("silver_version")))
    )


def queued(lake: Lake, spec: GoldSpec) -> Queued:
    rows = delta.scan(lake, QUEUE).filter(pl.col("gold") == spec.name).collect()
    return Queued(spec, _ready(lake, rows))


def queued_specs(lake: Lake, skip_runs: Iterable[str] = ()) -> list[Queued]:
    """Every spec with ready work, in plan order, leaving out rows queued by `skip_runs`."""
    rows = delta.scan(lake, QUEUE).filter(~pl.col("run_id").is_in(sorted(skip_runs))).collect()
    rows = _ready(lake, rows)
    return [Queued(spec, part) for spec in GOLD if not (part := rows.filter(pl.col("gold") == spec.name)).is_empty()]


def rebuild(lake: Lake, spec: GoldSpec, dates: Iterable[dt.date | None] | None = None) -> GoldReport:
    """Rebuild `dates` of a spec (default: every queued date) and acknowledge the queue rows
    that were there before the build started and whose dates it covered."""
    # Read to acknowledge under the spec's lock (its dates' locks when partitioned), taken before
    # the queue is read: a concurrent build waits, then finds its dates acknowledged or rebuilds
    # them from the newer silver.
    if not spec.partitioned:
        with locks.held(lake, [locks.lock_name("gold", spec.name)]):
            return _rebuild(lake, spec, dates)
    chosen = list(queued(lake, spec).dates if dates is None else dates)
    with locks.held(lake, [locks.lock_name("gold", spec.name, d) for d in set(chosen)]):
        return _rebuild(lake, spec, chosen)


def _rebuild(lake: Lake, spec: GoldSpec, dates: Iterable[dt.date | None] | None) -> GoldReport:
    work = queued(lake, spec)
    chosen = work.dates if dates is None else sorted(set(dates), key=lambda d: (d is not None, d or dt.date.min))
    report = GoldReport(spec.name, dates=list(chosen))
    if not chosen:
        return report
    build_dates = chosen if spec.partitioned else [None]
    # The versions read are taken before the build: a refine committing during it queues the
    # dates again, and the next build records the newer versions.
    inputs = {t.qualified: delta.version(lake, t) for t in silver_tables_of(spec)}
    report.rows = spec.build(lake, [d for d in build_dates if d is not None] if spec.partitioned else build_dates)
    record_build(lake, spec, chosen, inputs)
    report.acknowledged = acknowledge(lake, spec, work, chosen)
    return report


def record_build(lake: Lake, spec: GoldSpec, dates: Iterable[dt.date | None], inputs: dict[str, int | None]) -> None:
    """One ops.gold_builds row per date built: the silver versions read and gold versions written."""
    outputs = {t.qualified: delta.version(lake, t) for t in spec.tables}
    now = dt.datetime.now(dt.UTC)
    rows = [
        (spec.name, d, json.dumps(inputs, sort_keys=True), json.dumps(outputs, sort_keys=True), now)
        for d in (dates if spec.partitioned else [None])
    ]
    delta.append(lake, BUILDS, pl.DataFrame(rows, schema=BUILDS.schema, orient="row"))


def acknowledge(lake: Lake, spec: GoldSpec, work: Queued, dates: Iterable[dt.date | None]) -> int:
    dates = list(dates)
    ids = work.change_ids(dates)
    if not ids:
        return 0
    quoted = ", ".join(f"'{i}'" for i in ids)
    predicate = f"gold = '{spec.name}' AND change_id IN ({quoted}) AND ({delta.partition_predicate('date', dates)})"
    delta.delete_where(lake, QUEUE, predicate)
    return len(ids)
