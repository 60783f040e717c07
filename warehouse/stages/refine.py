"""Refine: bronze rows of the touched event dates are typed, validated by the dataset's suite,
split into quarantine and silver, and counted per file. Each batch goes through the same steps:
read → prepare → validate → fates → counts → queue gold → write.

Each date is rebuilt from all of its bronze rows, so refining is deterministic and idempotent:
re-running a date, or a run killed between commits, converges to the same tables. Only the
partitions of the given dates are rewritten. How a batch is chosen, how silver keeps a key and
how rows wait for reference data come from the dataset's strategies (warehouse/datasets.py).

Gold work is queued (ops.gold_queue) before silver is written: a crash after the silver write
cannot lose it. Dates whose blocking checks fail are not queued, so their gold is left as it was."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

from warehouse import delta, locks, retention
from warehouse.datasets import Dataset, PerDate, dataset
from warehouse.lake import Lake
from warehouse.registry import table
from warehouse.stages import fates, gold, pieces
from warehouse.stages.changes import Change
from warehouse.stages.fates import Refined

if TYPE_CHECKING:
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResult

    from expectations.runner import RuleOutcome, Validation

INGEST_LOG = table("ops.ingest_log")
FILE_COUNTS = table("ops.file_counts")
# Merges of one file's log row before its counts hold still (see _update_log).
LOG_SETTLE_ATTEMPTS = 20
Day = dt.date | None


@dataclass(frozen=True)
class RuleTotal:
    """One rule summed over a run's batches (what an asset check reports)."""

    name: str
    kind: str
    blocking: bool
    evaluated: int
    unexpected: int
    success: bool

    @property
    def unexpected_percent(self) -> float:
        return 100.0 * self.unexpected / self.evaluated if self.evaluated else 0.0


@dataclass(frozen=True)
class BatchOutcome:
    """One validation batch: a single date, a run of dates (`PerDate(batch_dates > 1)`), or the
    whole table."""

    dates: tuple[Day, ...]
    rows: int
    quarantined: int
    in_silver: int
    waiting: int
    rules: tuple[RuleOutcome, ...]
    gx_result: ExpectationSuiteValidationResult
    # Dates held back from gold, with the blocking rules they failed.
    blocked: dict[Day, tuple[str, ...]]
    # Dates whose silver keys or values differ from before (lineage aside).
    changed: frozenset[Day]
    # Gold dates queued, per gold spec.
    queued: dict[str, tuple[Day, ...]]


@dataclass
class RefineReport:
    source: str
    batches: list[BatchOutcome] = field(default_factory=list)

    @property
    def changed_dates(self) -> set[Day]:
        return {c for b in self.batches for c in b.changed}

    @property
    def blocked(self) -> dict[Day, tuple[str, ...]]:
        return {d: rules for b in self.batches for d, rules in b.blocked.items()}

    @property
    def rows(self) -> int:
        return sum(b.rows for b in self.batches)

    @property
    def quarantined(self) -> int:
        return sum(b.quarantined for b in self.batches)

    @property
    def in_silver(self) -> int:
        return sum(b.in_silver for b in self.batches)

    def rule_totals(self) -> dict[str, RuleTotal]:
        totals: dict[str, RuleTotal] = {}
        for b in self.batches:
            for r in b.rules:
                t = totals.get(r.name)
                totals[r.name] = RuleTotal(
                    name=r.name,
                    kind=r.kind,
                    blocking=r.blocking,
                    evaluated=(t.evaluated if t else 0) + (r.evaluated or 0),
                    unexpected=(t.unexpected if t else 0) + (r.unexpected or 0),
                    success=(t.success if t else True) and r.success,
                )
        return totals


def run_dates(lake: Lake, ds: Dataset, dates: Iterable[Day]) -> list[Day]:
    """What a refine run of `dates` refines: those dates, plus the rows without a usable event
    date (no partition of their own: every run of the source takes them) and, for a source
    refined whole, its one undated batch. The Dagster side of the same rule: a run for undated
    rows alone goes to the calendar's last key (orchestration/work.py)."""
    out = list(dates)
    if None not in out and (not ds.per_date or None in pending_dates(lake, ds.source)):
        out.append(None)
    return out


def pending_dates(lake: Lake, source: str) -> set[Day]:
    """Event dates of files landed but not yet refined, plus dates with rows waiting for
    reference data refined against an older version of the reference table."""
    log = (
        delta.scan(lake, INGEST_LOG)
        .filter((pl.col("source") == source) & (pl.col("status") == "landed"))
        .select("event_dates")
        .collect()
    )
    dates = {d for dates in log["event_dates"].to_list() for d in (dates or [])}
    ds = dataset(source)
    if ds.reference:
        current = delta.version(lake, table(ds.reference.table))
        if current is not None:
            counts = delta.scan(lake, FILE_COUNTS)
            # Counts written before the column existed were refined against no known version.
            recorded = pl.col("reference_version") if "reference_version" in counts.collect_schema() else pl.lit(None)
            stale = recorded.is_null() | (recorded != current)
            waiting = (
                counts.filter((pl.col("source") == source) & (pl.col("waiting") > 0) & stale)
                .select("event_date")
                .unique()
                .collect()
            )
            dates |= set(waiting["event_date"].to_list())
    return dates


def refine(
    lake: Lake,
    ds: Dataset,
    dates: Iterable[Day],
    now: dt.datetime | None = None,
    run_id: str = "library",
    rebuild_gold: bool = False,
) -> RefineReport:
    """Refine the given dates (all of a `Whole` dataset at once). `rebuild_gold` queues gold for
    every refined date, changed or not (a backfill)."""
    now = now or dt.datetime.now(dt.UTC)
    report = RefineReport(ds.source)
    # Dates a retention purge left behind have no bronze: rebuilding them would lose what
    # their files were counted as (warehouse/retention.py).
    horizon = retention.horizon(lake, ds.source)
    wanted = {d for d in dates if d is None or horizon is None or d >= horizon}
    if not wanted:
        return report
    reference, ref_version = reference_of(lake, ds)
    delta.add_missing_columns(lake, FILE_COUNTS)
    hashes: set[str] = set()
    for batch in _batches(ds, wanted):
        outcome, touched = _refine_batch(lake, ds, batch, reference, ref_version, run_id, rebuild_gold)
        report.batches.append(outcome)
        hashes |= touched
    if hashes:
        _update_log(lake, ds, hashes, now)
    return report


def _batches(ds: Dataset, dates: set[Day]) -> list[tuple[Day, ...]]:
    """Per-date datasets: runs of at most `batch_dates` dates, the null date alone. Whole
    datasets: one batch."""
    if not isinstance(ds.scope, PerDate):
        return [(None,)]
    size = max(ds.scope.batch_dates, 1)
    dated = sorted(d for d in dates if d is not None)
    batches: list[tuple[Day, ...]] = [(None,)] if None in dates else []
    return batches + [tuple(dated[i : i + size]) for i in range(0, len(dated), size)]


def reference_of(lake: Lake, ds: Dataset) -> tuple[pl.DataFrame | None, int | None]:
    """The reference frame prepare receives and the Delta version it was read at."""
    if ds.reference is None:
        return None, None
    ref_table = table(ds.reference.table)
    version = delta.version(lake, ref_table)
    return ds.reference.select(delta.scan(lake, ref_table)).collect(), version


def _refine_batch(
    lake: Lake,
    ds: Dataset,
    dates: tuple[Day, ...],
    reference: pl.DataFrame | None,
    ref_version: int | None,
    run_id: str,
    rebuild_gold: bool,
) -> tuple[BatchOutcome, set[str]]:
    # Read to write under the dates' locks: a concurrent refine of a date waits, then redoes it
    # from the bronze it finds (warehouse/locks.py).
    names = [locks.lock_name("refine", ds.source, d or "whole") for d in dates]
    with locks.held(lake, names), pieces.workspace() as spill:
        if pieces.wanted(lake, ds, dates):
            # A date too large for the memory budget: refined in pieces spilled to disk.
            result = pieces.refine_in_pieces(lake, ds, dates, ref_version, spill)
        else:
            raw = (
                delta.read_partitions(lake, ds.bronze, dates) if ds.per_date else delta.scan(lake, ds.bronze).collect()
            )
            result = fates.refine_frame(ds, raw, reference, ref_version, lake.settings.late_part_rows)
        changed = _changed(lake, ds, dates, result, rebuild_gold)
        blocked = _blocked(ds, dates, result.validation)
        # A per-date batch holds back its blocked dates; a whole table is one batch, held back whole.
        unblocked = frozenset(changed - set(blocked) if ds.per_date or not blocked else ())
        silver = result.silver.lazy()
        queued = gold.enqueue(lake, [Change(lake, ds.source, unblocked, silver)] if unblocked else [], run_id)
        _write(lake, ds, dates, result, changed)
    outcome = BatchOutcome(
        dates=dates,
        rows=result.rows,
        quarantined=result.quarantined,
        in_silver=result.in_silver,
        waiting=result.waiting,
        rules=tuple(result.validation.rules),
        gx_result=result.validation.result,
        blocked=blocked,
        changed=frozenset(changed),
        queued={name: tuple(part["date"].to_list()) for (name,), part in queued.group_by("gold", maintain_order=True)},
    )
    return outcome, set(result.counts["file_hash"].to_list())


def _blocked(ds: Dataset, dates: tuple[Day, ...], validation: Validation) -> dict[Day, tuple[str, ...]]:
    """Dates whose blocking checks failed. Rows with no event date are quarantined and counted,
    but never a blocking batch of their own."""
    if not ds.per_date:
        return {None: tuple(validation.blocking_failures)} if validation.blocking_failures else {}
    failures = {d: tuple(validation.blocking_failures_of(d)) for d in dates if d is not None}
    return {d: rules for d, rules in failures.items() if rules}


def _changed(lake: Lake, ds: Dataset, dates: tuple[Day, ...], result: Refined, rebuild_gold: bool) -> set[Day]:
    """Dates whose silver this batch changes. Per-date datasets without change tracking count
    every refined date as changed (comparing would mean reading the old partitions)."""
    if ds.per_date:
        dated = [d for d in dates if d is not None]
        if rebuild_gold or not (isinstance(ds.scope, PerDate) and ds.scope.track_changes):
            return set(dated)
        before = delta.read_partitions(lake, ds.silver_table, dated)
        silver = result.silver_frame()
        return {d for d in dated if _differs(_on(before, d), _on(silver, d), ds)}
    before = delta.scan(lake, ds.silver_table).collect()
    silver = result.silver_frame()
    if getattr(ds.scope, "silver_date", None):
        changed = _changed_dates(before, silver, ds)
        return changed | set(silver["event_date"].unique().to_list()) if rebuild_gold else changed
    return {None} if rebuild_gold or _differs(before, silver, ds) else set()


def _on(frame: pl.DataFrame, date: dt.date) -> pl.DataFrame:
    return frame.filter(pl.col("event_date") == date)


def _write(lake: Lake, ds: Dataset, dates: tuple[Day, ...], result: Refined, changed: set[Day]) -> None:
    if ds.per_date:
        delta.replace_partitions(lake, ds.quarantine, result.quarantine, dates)
        dated = [d for d in dates if d is not None]
        if dated:
            delta.replace_partitions(lake, ds.silver_table, result.silver, dated)
        scope = delta.partition_predicate("event_date", dates)
        delta.replace_where(lake, FILE_COUNTS, result.counts, f"source = '{ds.source}' AND ({scope})")
        return
    quarantine = result.quarantine if isinstance(result.quarantine, pl.DataFrame) else result.quarantine.collect()
    old = delta.scan(lake, ds.quarantine).select("event_date").unique().collect()["event_date"]
    delta.replace_partitions(lake, ds.quarantine, quarantine, {None, *old, *quarantine["event_date"]})
    if changed:
        # Rewritten only on change: its Delta version tells dependants that it moved.
        delta.replace_where(lake, ds.silver_table, result.silver_frame(), "true")
    delta.replace_where(lake, FILE_COUNTS, result.counts, f"source = '{ds.source}'")


def _content_columns(ds: Dataset) -> list[str]:
    return [c for c in ds.silver_table.column_names if not c.startswith("_")]


def _changed_dates(before: pl.DataFrame, after: pl.DataFrame, ds: Dataset) -> set[Day]:
    """Partitions whose silver content differs, lineage aside (keys are unique in silver)."""
    columns = _content_columns(ds)
    old, new = before.select(columns), after.select(columns)
    gone = old.join(new, on=columns, how="anti", nulls_equal=True)
    added = new.join(old, on=columns, how="anti", nulls_equal=True)
    return set(pl.concat([gone, added])["event_date"].to_list())


def _differs(before: pl.DataFrame, after: pl.DataFrame, ds: Dataset) -> bool:
    """Whether silver content changed, ignoring lineage (a later identical file wins too)."""
    if before.height != after.height:
        return True
    columns = _content_columns(ds)

    # Sorted row hashes: order-free and far cheaper than sorting the rows themselves.
    # Both sides in the registry's types first: a hash, unlike a comparison, sees a dtype change.
    def digest(frame: pl.DataFrame) -> pl.Series:
        typed = delta.conform(frame, ds.silver_table)
        return typed.select(pl.struct(columns).hash(seed=7)).to_series().sort()

    return not digest(before).equals(digest(after))


def _update_log(lake: Lake, ds: Dataset, hashes: set[str], now: dt.datetime) -> None:
    """The files' row counts in the ingest log, summed from the file counts. Two tables, no
    transaction across them: a run refining other dates of the same files can commit its counts
    after these were summed, and its log merge can land before this one. So the sums are read
    again after the merge and the merge redone until they held still; whichever merge lands
    last was checked against counts at least as new as itself."""
    for _ in range(LOG_SETTLE_ATTEMPTS):
        totals = _file_totals(lake, ds, hashes)
        log = (
            delta.scan(lake, INGEST_LOG)
            .filter(
                (pl.col("source") == ds.source)
                & pl.col("file_hash").is_in(sorted(hashes))
                & pl.col("status").is_in(["landed", "refined"])
            )
            .drop("rows_valid", "rows_quarantined", "rows_duplicate", "rows_superseded", "rows_waiting")
            .join(totals.lazy(), on="file_hash", how="left")
            # Exploded records: the log counts the rows validation saw (readings), like every other count.
            .with_columns(rows_read=pl.col("rows") if ds.explode else pl.col("rows_read"))
            .drop("rows")
            .with_columns(status=pl.lit("refined"), refined_at=pl.lit(now, dtype=pl.Datetime("us", "UTC")))
            .collect()
        )
        delta.upsert(lake, INGEST_LOG, log)
        if _file_totals(lake, ds, hashes).equals(totals):
            return
    raise RuntimeError(f"ingest log of {ds.source}: file counts kept changing over {LOG_SETTLE_ATTEMPTS} merges")


def _file_totals(lake: Lake, ds: Dataset, hashes: set[str]) -> pl.DataFrame:
    return (
        delta.scan(lake, FILE_COUNTS)
        .filter((pl.col("source") == ds.source) & pl.col("file_hash").is_in(sorted(hashes)))
        .group_by("file_hash")
        .agg(
            rows_valid=pl.col("valid").sum(),
            rows_quarantined=pl.col("quarantined").sum(),
            rows_duplicate=pl.col("duplicate").sum(),
            rows_superseded=pl.col("superseded").sum(),
            rows_waiting=pl.col("waiting").sum(),
            rows=pl.col("rows").sum(),
        )
        .sort("file_hash")
        .collect()
    )
