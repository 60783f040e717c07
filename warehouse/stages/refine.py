"""Refine: bronze rows of the touched event dates are typed, validated by the dataset's suite,
split into quarantine and silver (deduplicated, latest ingest wins), and counted per file.

Each date is rebuilt from all of its bronze rows, so refining is deterministic and idempotent:
re-running a date, or a run killed between commits, converges to the same tables. Only the
partitions of the given dates are rewritten."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import polars as pl

from expectations.runner import RuleOutcome, validate
from transforms.dedupe import latest_wins
from warehouse import delta
from warehouse.datasets import Dataset
from warehouse.lake import Lake
from warehouse.registry import table

INGEST_LOG = table("ops.ingest_log")
FILE_COUNTS = table("ops.file_counts")


@dataclass
class DateOutcome:
    date: dt.date | None
    rows: int
    quarantined: int
    in_silver: int
    rules: list[RuleOutcome]
    gx_result: object

    @property
    def blocking_failures(self) -> list[str]:
        return [r.name for r in self.rules if r.kind == "dataset" and r.blocking and not r.success]


@dataclass
class RefineReport:
    source: str
    dates: list[DateOutcome] = field(default_factory=list)

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
    """Event dates of files landed but not yet refined."""
    log = (
        delta.scan(lake, INGEST_LOG)
        .filter((pl.col("source") == source) & (pl.col("status") == "landed"))
        .select("event_dates")
        .collect()
    )
    return {d for dates in log["event_dates"].to_list() for d in (dates or [])}


def refine(lake: Lake, ds: Dataset, dates: Iterable[dt.date | None], now: dt.datetime | None = None) -> RefineReport:
    now = now or dt.datetime.now(dt.UTC)
    report = RefineReport(ds.source)
    ordered = sorted(set(dates), key=lambda d: (d is not None, d or dt.date.min))
    hashes: set[str] = set()
    for date in ordered:
        outcome, touched = _refine_date(lake, ds, date)
        report.dates.append(outcome)
        hashes |= touched
    if hashes:
        _update_log(lake, ds, hashes, now)
    return report


def _refine_date(lake: Lake, ds: Dataset, date: dt.date | None) -> tuple[DateOutcome, set[str]]:
    raw = delta.read_partitions(lake, ds.bronze, [date])
    prepared = ds.prepare(raw.lazy()).collect()
    validation = validate(prepared, ds.suite)
    prepared = prepared.with_columns(failed_rules=validation.failed_rules)
    is_bad = pl.col("failed_rules").list.len() > 0

    bad = prepared.filter(is_bad)
    quarantine = bad.select(
        *[c for c in raw.columns if c != "_event_date"],
        "failed_rules",
        reason=pl.col("failed_rules").list.join(", "),
        event_date=pl.lit(date, dtype=pl.Date),
    )
    fates = latest_wins(prepared.filter(~is_bad).lazy(), list(ds.keys), list(ds.values)).collect()
    silver = fates.filter(pl.col("_fate") == "kept").with_columns(event_date=pl.lit(date, dtype=pl.Date))

    counts = (
        prepared.lazy()
        .join(fates.lazy().select("_file_hash", "_row_number", "_fate"), on=["_file_hash", "_row_number"], how="left")
        .group_by("_file_hash")
        .agg(
            rows=pl.len(),
            valid=(~is_bad).sum(),
            quarantined=is_bad.sum(),
            duplicate=(pl.col("_fate") == "duplicate").sum(),
            superseded=(pl.col("_fate") == "superseded").sum(),
            waiting=pl.lit(0, dtype=pl.Int64),
            in_silver=(pl.col("_fate") == "kept").sum(),
        )
        .rename({"_file_hash": "file_hash"})
        .with_columns(source=pl.lit(ds.source), event_date=pl.lit(date, dtype=pl.Date))
        .collect()
    )

    delta.replace_partitions(lake, ds.quarantine, quarantine, [date])
    if date is not None:
        delta.replace_partitions(lake, ds.silver, silver.select(_silver_columns(ds)), [date])
    date_sql = "event_date IS NULL" if date is None else f"event_date = '{date.isoformat()}'"
    delta.replace_where(lake, FILE_COUNTS, counts, f"source = '{ds.source}' AND {date_sql}")
    outcome = DateOutcome(
        date=date,
        rows=prepared.height,
        quarantined=bad.height,
        in_silver=silver.height,
        rules=validation.rules,
        gx_result=validation.result,
    )
    return outcome, set(counts["file_hash"].to_list())


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
        )
    )
    log = (
        delta.scan(lake, INGEST_LOG)
        .filter(
            (pl.col("source") == ds.source)
            & pl.col("file_hash").is_in(sorted(hashes))
            & pl.col("status").is_in(["landed", "refined"])
        )
        .drop("rows_valid", "rows_quarantined", "rows_duplicate", "rows_superseded", "rows_waiting")
        .join(totals, on="file_hash", how="left")
        .with_columns(status=pl.lit("refined"), refined_at=pl.lit(now, dtype=pl.Datetime("us", "UTC")))
        .collect()
    )
    delta.upsert(lake, INGEST_LOG, log)
