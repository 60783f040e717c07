"""Refine: bronze rows of the touched event dates are typed, validated by the dataset's suite,
split into quarantine and silver (deduplicated, latest ingest wins), and counted per file.

Each date is rebuilt from all of its bronze rows, so refining is deterministic and idempotent:
re-running a date, or a run killed between commits, converges to the same tables. Only the
partitions of the given dates are rewritten.

Datasets with a reference table (park readings read the park register) get the current reference
as a second argument of `prepare`. Rows the dataset flags as waiting for reference data are not
validated: they stay in bronze, are counted as `waiting`, and their dates are refined again once
the reference table's Delta version moves. A register with `refine_scope="all"` is rebuilt whole
from its bronze, and with `history=True` its silver keeps every version of a key.

A dataset whose `prepare` explodes a bronze record into several rows (`element`: the battery
sites' columnar live data) has its rows identified by (file, record, element) and, once refined,
its files' `rows_read` counts those rows. With `silver_date`, silver and quarantine are
partitioned by that prepared date, and a whole-table refine reports the dates that changed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import polars as pl
from deltalake.schema import Field

from expectations.runner import RuleOutcome, validate
from transforms.dedupe import latest_wins
from warehouse import delta
from warehouse.datasets import Dataset, dataset
from warehouse.lake import Lake
from warehouse.registry import EVENT_DATE_RULE, Table, table

INGEST_LOG = table("ops.ingest_log")
FILE_COUNTS = table("ops.file_counts")


@dataclass
class DateOutcome:
    """One validation batch: a single date, or (datasets with `refine_batch_dates` > 1) a run
    of dates refined together; `date` is the first of `batch_dates`."""

    date: dt.date | None
    rows: int
    quarantined: int
    in_silver: int
    rules: list[RuleOutcome]
    gx_result: object
    waiting: int = 0
    batch_dates: list[dt.date | None] = field(default_factory=list)
    # Dates whose silver keys or values differ from before (lineage aside).
    changed: set[dt.date | None] = field(default_factory=set)

    @property
    def blocking_failures(self) -> list[str]:
        return [r.name for r in self.rules if r.kind == "dataset" and r.blocking and not r.success]


@dataclass
class RefineReport:
    source: str
    dates: list[DateOutcome] = field(default_factory=list)

    @property
    def changed_dates(self) -> set[dt.date | None]:
        return {c for d in self.dates for c in d.changed}

    @property
    def blocking_failures(self) -> dict[dt.date | None, list[str]]:
        return {d.date: d.blocking_failures for d in self.dates if d.blocking_failures}

    def rule_totals(self) -> dict[str, dict]:
        totals: dict[str, dict] = {}
        for d in self.dates:
            for r in d.rules:
                t = totals.setdefault(
                    r.name, {"kind": r.kind, "blocking": r.blocking, "evaluated": 0, "unexpected": 0, "success": True}
                )
                t["evaluated"] += r.evaluated or 0
                t["unexpected"] += r.unexpected or 0
                t["success"] = t["success"] and r.success
        for t in totals.values():
            t["unexpected_percent"] = 100.0 * t["unexpected"] / t["evaluated"] if t["evaluated"] else 0.0
        return totals


def pending_dates(lake: Lake, source: str) -> set[dt.date | None]:
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
    if ds.waiting and ds.reference:
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


def refine(lake: Lake, ds: Dataset, dates: Iterable[dt.date | None], now: dt.datetime | None = None) -> RefineReport:
    now = now or dt.datetime.now(dt.UTC)
    report = RefineReport(ds.source)
    ordered = sorted(set(dates), key=lambda d: (d is not None, d or dt.date.min))
    if not ordered:
        return report
    if ds.refine_scope == "all":
        ordered = [None]
    reference, ref_version = _reference(lake, ds)
    _add_missing_columns(lake, FILE_COUNTS)
    hashes: set[str] = set()
    for batch in _batches(ordered, ds.refine_batch_dates):
        outcome, touched = _refine_batch(lake, ds, batch, reference, ref_version)
        report.dates.append(outcome)
        hashes |= touched
    if hashes:
        _update_log(lake, ds, hashes, now)
    return report


def _add_missing_columns(lake: Lake, t: Table) -> None:
    """A lake written before a registry column existed gets it (null) before the next write."""
    existing = delta.open_table(lake, t)
    if existing is None:
        return
    present = {f.name for f in existing.schema().fields}
    missing = [c for c in t.columns if c.name not in present]
    if missing:
        arrow = pl.DataFrame(schema={c.name: c.dtype for c in missing}).to_arrow().schema
        existing.alter.add_columns([Field.from_arrow(f) for f in arrow])


def _batches(ordered: list[dt.date | None], size: int) -> list[list[dt.date | None]]:
    """Runs of at most `size` dates; the null date is always alone."""
    batches: list[list[dt.date | None]] = [[None]] if None in ordered else []
    dated = [d for d in ordered if d is not None]
    batches += [dated[i : i + size] for i in range(0, len(dated), max(size, 1))]
    return batches


def _reference(lake: Lake, ds: Dataset) -> tuple[pl.DataFrame | None, int | None]:
    """The reference frame prepare receives and the Delta version it was read at."""
    if ds.reference is None:
        return None, None
    ref_table = table(ds.reference.table)
    version = delta.version(lake, ref_table)
    return ds.reference.select(delta.scan(lake, ref_table)).collect(), version


def _refine_batch(
    lake: Lake, ds: Dataset, dates: list[dt.date | None], reference: pl.DataFrame | None, ref_version: int | None
) -> tuple[DateOutcome, set[str]]:
    whole = ds.refine_scope == "all"
    raw = delta.scan(lake, ds.bronze).collect() if whole else delta.read_partitions(lake, ds.bronze, dates)
    prepared = (ds.prepare(raw.lazy()) if reference is None else ds.prepare(raw.lazy(), reference.lazy())).collect()
    row_id = _row_id(ds)
    is_waiting = pl.col(ds.waiting) if ds.waiting else pl.lit(False)
    # Without reference data nothing waits, and a filter would copy the whole batch.
    checked = prepared.filter(~is_waiting) if ds.waiting else prepared
    waiting_rows = prepared.filter(is_waiting).select("_file_hash", "_event_date")
    rows_prepared = prepared.height
    del prepared
    validation = validate(checked, ds.suite)
    checked = checked.with_columns(failed_rules=validation.failed_rules)
    is_bad = pl.col("failed_rules").list.len() > 0
    if not whole:
        # A row with no event date in the lake's range has no partition to live in: unless a
        # suite rule already explains it, it is quarantined under the lake's own date rule.
        checked = checked.with_columns(
            failed_rules=pl.when(pl.col("_event_date").is_null() & ~is_bad)
            .then(pl.lit([EVENT_DATE_RULE], dtype=pl.List(pl.String)))
            .otherwise(pl.col("failed_rules"))
        )
    # Bronze rows carry their partition value, which is the date the rows are refined under
    # (unless the dataset dates its prepared rows itself).
    event_date = pl.col(ds.silver_date or "_event_date")

    bad = checked.filter(is_bad)
    quarantine = bad.select(
        *_quarantine_columns(ds, raw.columns, checked.columns),
        "failed_rules",
        reason=pl.col("failed_rules").list.join(", "),
        event_date=event_date,
    )
    # Only what silver and the counts need goes on: raw text stays behind with the bad rows.
    keep = {*_silver_columns(ds), *ds.keys, *ds.values, *row_id, "_event_date", "_ingested_at"}
    if ds.silver_date:
        keep.add(ds.silver_date)
    if ds.valid_from:
        keep.add(ds.valid_from)
    valid = checked.select([c for c in checked.columns if c in keep or c == "failed_rules"]).filter(~is_bad)
    if ds.history and ds.valid_from:
        fates = _versions_from(valid, list(ds.keys), list(ds.values), ds.valid_from)
    elif ds.history:
        fates = _versions(valid, list(ds.keys), list(ds.values))
    else:
        fates = latest_wins(valid.lazy(), list(ds.keys), list(ds.values)).collect()
    silver = fates.filter(pl.col("_fate") == "kept").with_columns(event_date=event_date)

    # Where every row went, per file and date: the fates of valid rows, then bad and waiting rows.
    outcomes = pl.concat(
        [
            fates.select("_file_hash", "_event_date", "_fate"),
            bad.select("_file_hash", "_event_date", _fate=pl.lit("quarantined")),
            waiting_rows.select("_file_hash", "_event_date", _fate=pl.lit("waiting")),
        ]
    )
    fate = pl.col("_fate")
    counts = (
        outcomes.lazy()
        .group_by("_file_hash", "_event_date")
        .agg(
            rows=pl.len(),
            valid=fate.is_in(["kept", "duplicate", "superseded"]).sum(),
            quarantined=(fate == "quarantined").sum(),
            duplicate=(fate == "duplicate").sum(),
            superseded=(fate == "superseded").sum(),
            waiting=(fate == "waiting").sum(),
            in_silver=(fate == "kept").sum(),
        )
        .rename({"_file_hash": "file_hash", "_event_date": "event_date"})
        .with_columns(source=pl.lit(ds.source), reference_version=pl.lit(ref_version, dtype=pl.Int64))
        .collect()
    )

    silver = silver.select(_silver_columns(ds))
    changed: set[dt.date | None] = set()
    if whole:
        quarantined_dates = set(delta.scan(lake, ds.quarantine).select("event_date").unique().collect()["event_date"])
        replaced = {None} | quarantined_dates | set(quarantine["event_date"].to_list())
        delta.replace_partitions(lake, ds.quarantine, quarantine, replaced)
        before = delta.scan(lake, ds.silver).collect()
        if ds.silver_date:
            changed = _changed_dates(before, silver, ds)
        elif _differs(before, silver, ds):
            changed.add(None)
        if changed:
            # Rewritten only on change: its Delta version tells dependants that it moved.
            delta.replace_where(lake, ds.silver, silver, "true")
        delta.replace_where(lake, FILE_COUNTS, counts, f"source = '{ds.source}'")
    else:
        delta.replace_partitions(lake, ds.quarantine, quarantine, dates)
        dated = [d for d in dates if d is not None]
        if dated:
            changed = set(dated)
            if ds.track_changes:
                before = delta.read_partitions(lake, ds.silver, dated)
                changed = {
                    d
                    for d in dated
                    if _differs(before.filter(pl.col("event_date") == d), silver.filter(pl.col("event_date") == d), ds)
                }
            delta.replace_partitions(lake, ds.silver, silver, dated)
        delta.replace_where(lake, FILE_COUNTS, counts, f"source = '{ds.source}' AND ({_dates_sql(dates)})")
    outcome = DateOutcome(
        date=dates[0],
        rows=rows_prepared,
        quarantined=bad.height,
        in_silver=silver.height,
        rules=validation.rules,
        gx_result=validation.result,
        waiting=waiting_rows.height,
        batch_dates=list(dates),
        changed=changed,
    )
    return outcome, set(counts["file_hash"].to_list())


def _row_id(ds: Dataset) -> list[str]:
    """Columns identifying one prepared row."""
    return ["_file_hash", "_row_number", *([ds.element] if ds.element else [])]


def _quarantine_columns(ds: Dataset, raw_columns: list[str], prepared_columns: list[str]) -> list[pl.Expr]:
    """The raw text of every source column, plus the quarantine table's own extra columns the
    prepared frame has (e.g. the element index and the readable array-length error)."""
    present = set(prepared_columns)
    exprs = []
    for c in raw_columns:
        if c == "_event_date":
            continue
        source = ds.raw_columns.get(c, c)
        # A field the producer added that prepare does not pass through stays in bronze only.
        exprs.append(pl.col(source).alias(c) if source in present else pl.lit(None, pl.String).alias(c))
    # Only columns of the quarantine table that bronze does not have: source fields stay as sent.
    taken = {*raw_columns, *ds.bronze.column_names, "failed_rules", "reason", "event_date"}
    exprs += [pl.col(c) for c in ds.quarantine.column_names if c not in taken and c in present]
    return exprs


def _dates_sql(dates: list[dt.date | None]) -> str:
    parts = []
    dated = [d for d in dates if d is not None]
    if dated:
        parts.append(f"event_date IN ({', '.join(repr(d.isoformat()) for d in dated)})")
    if None in dates:
        parts.append("event_date IS NULL")
    return " OR ".join(parts)


def _versions(valid: pl.DataFrame, keys: list[str], values: list[str]) -> pl.DataFrame:
    """History instead of latest-wins: in ingest order per key, a row whose values differ from
    the previous row's starts a version (`kept`); an unchanged repeat is a `duplicate`. A version
    is valid from its row's ingest time until the next version's."""
    ordered = valid.sort([*keys, "_ingested_at", "_row_number"])
    first = pl.int_range(pl.len()).over(keys) == 0
    differs = pl.any_horizontal([pl.col(v).ne_missing(pl.col(v).shift(1).over(keys)) for v in values])
    fated = ordered.with_columns(_fate=pl.when(first | differs).then(pl.lit("kept")).otherwise(pl.lit("duplicate")))
    kept = (
        fated.filter(pl.col("_fate") == "kept")
        .with_columns(valid_from=pl.col("_ingested_at"))
        .with_columns(valid_to=pl.col("valid_from").shift(-1).over(keys))
        .with_columns(is_current=pl.col("valid_to").is_null())
        .select("_file_hash", "_row_number", "valid_from", "valid_to", "is_current")
    )
    return fated.join(kept, on=["_file_hash", "_row_number"], how="left")


def _versions_from(valid: pl.DataFrame, keys: list[str], values: list[str], start: str) -> pl.DataFrame:
    """History ordered by each row's own start time (`start`), independent of ingest order:
    at the same key and start the latest ingest wins (earlier rows are duplicates or
    superseded); a winner equal to the version before it is a re-send (`duplicate`); every
    version is valid from its start until the next version's."""
    at = [*keys, start]
    ordered = valid.sort([*at, "_ingested_at", "_row_number"]).with_columns(
        _last_at=pl.int_range(pl.len()).over(at) == pl.len().over(at) - 1
    )
    winners = ordered.filter(pl.col("_last_at"))
    same_as_previous = pl.all_horizontal([pl.col(v).eq_missing(pl.col(v).shift(1).over(keys)) for v in values]) & (
        pl.int_range(pl.len()).over(keys) > 0
    )
    winners = winners.with_columns(_fate=pl.when(same_as_previous).then(pl.lit("duplicate")).otherwise(pl.lit("kept")))
    kept = (
        winners.filter(pl.col("_fate") == "kept")
        .with_columns(valid_to=pl.col(start).shift(-1).over(keys))
        .with_columns(is_current=pl.col("valid_to").is_null())
    )
    winning_values = winners.select(*at, _winner=pl.struct(values))
    losers = (
        ordered.filter(~pl.col("_last_at"))
        .join(winning_values, on=at, how="left")
        .with_columns(
            _fate=pl.when(pl.struct(values).eq_missing(pl.col("_winner")))
            .then(pl.lit("duplicate"))
            .otherwise(pl.lit("superseded"))
        )
        .drop("_winner")
    )
    fates = pl.concat([kept, winners.filter(pl.col("_fate") == "duplicate"), losers], how="diagonal")
    return fates.drop("_last_at").with_columns(valid_from=pl.col(start))


def _changed_dates(before: pl.DataFrame, after: pl.DataFrame, ds: Dataset) -> set[dt.date | None]:
    """Partitions whose silver content differs, lineage aside (keys are unique in silver)."""
    columns = [c for c in ds.silver.column_names if not c.startswith("_")]
    old, new = before.select(columns), after.select(columns)
    gone = old.join(new, on=columns, how="anti", nulls_equal=True)
    added = new.join(old, on=columns, how="anti", nulls_equal=True)
    return set(pl.concat([gone, added])["event_date"].to_list())


def _differs(before: pl.DataFrame, after: pl.DataFrame, ds: Dataset) -> bool:
    """Whether silver content changed, ignoring lineage (a later identical file wins too)."""
    columns = [c for c in ds.silver.column_names if not c.startswith("_")]
    if before.height != after.height:
        return True

    # Sorted row hashes: order-free and far cheaper than sorting the rows themselves.
    # Both sides in the registry's types first: a hash, unlike a comparison, sees a dtype change.
    def digest(frame: pl.DataFrame) -> pl.Series:
        typed = delta.conform(frame, ds.silver)
        return typed.select(pl.struct(columns).hash(seed=7)).to_series().sort()

    return not digest(before).equals(digest(after))


def _silver_columns(ds: Dataset) -> list[str]:
    return ds.silver.column_names


def _update_log(lake: Lake, ds: Dataset, hashes: set[str], now: dt.datetime) -> None:
    totals = (
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
    )
    exploded = ds.element is not None
    log = (
        delta.scan(lake, INGEST_LOG)
        .filter(
            (pl.col("source") == ds.source)
            & pl.col("file_hash").is_in(sorted(hashes))
            & pl.col("status").is_in(["landed", "refined"])
        )
        .drop("rows_valid", "rows_quarantined", "rows_duplicate", "rows_superseded", "rows_waiting")
        .join(totals, on="file_hash", how="left")
        # Exploded records: the log counts the rows validation saw (readings), like every other count.
        .with_columns(rows_read=pl.col("rows") if exploded else pl.col("rows_read"))
        .drop("rows")
        .with_columns(status=pl.lit("refined"), refined_at=pl.lit(now, dtype=pl.Datetime("us", "UTC")))
        .collect()
    )
    delta.upsert(lake, INGEST_LOG, log)
