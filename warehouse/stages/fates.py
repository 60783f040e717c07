"""The row steps of refine, on frames: prepare → validate → fates → counts. Where every bronze row
of a batch goes (quarantine, waiting, silver as kept, or counted as duplicate / superseded) is
decided here; warehouse/stages/refine.py reads bronze and writes the results, in one piece or,
for a large date, in many (warehouse/stages/pieces.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from transforms import history
from warehouse.datasets import Dataset, History, LatestWins
from warehouse.registry import EVENT_DATE_RULE

if TYPE_CHECKING:
    from expectations.runner import RowCheck, Validation

IS_BAD = pl.col("failed_rules").list.len() > 0


@dataclass
class Refined:
    """A batch's results: silver and quarantine rows (in memory, or lazily over spilled pieces),
    counts per file and date, and the validation."""

    silver: pl.DataFrame | pl.LazyFrame
    quarantine: pl.DataFrame | pl.LazyFrame
    counts: pl.DataFrame
    validation: Validation
    rows: int
    quarantined: int
    in_silver: int
    waiting: int

    def silver_frame(self) -> pl.DataFrame:
        return self.silver if isinstance(self.silver, pl.DataFrame) else self.silver.collect()


def refine_frame(
    ds: Dataset, raw: pl.DataFrame, reference: pl.DataFrame | None, ref_version: int | None, part_rows: int
) -> Refined:
    """Every step on one in-memory batch; `part_rows`: rows the share rules judge at once."""
    checked, waiting = prepare(ds, raw, reference)
    checked, validation = validate(ds, checked, part_rows)
    bad = checked.filter(IS_BAD)
    quarantine = quarantine_rows(ds, bad, raw.columns, checked.columns)
    labelled = fates(ds, checked.filter(~IS_BAD))
    silver = silver_rows(ds, labelled)
    return Refined(
        silver=silver,
        quarantine=quarantine,
        counts=counts(ds, labelled, bad, waiting, ref_version),
        validation=validation,
        rows=checked.height + waiting.height,
        quarantined=bad.height,
        in_silver=silver.height,
        waiting=waiting.height,
    )


def prepare(ds: Dataset, raw: pl.DataFrame, reference: pl.DataFrame | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Typed rows to validate, and the (file, date) of rows that wait for reference data."""
    lazy = raw.lazy()
    prepared = ds.prepared(lazy, None if reference is None else reference.lazy()).collect()
    if ds.reference is None:
        # Nothing waits, and a filter would copy the whole batch.
        return prepared, prepared.clear().select("_file_hash", "_event_date")
    waits = pl.col(ds.reference.waiting)
    return prepared.filter(~waits), prepared.filter(waits).select("_file_hash", "_event_date")


def validate(ds: Dataset, checked: pl.DataFrame, part_rows: int) -> tuple[pl.DataFrame, Validation]:
    """Run the suite; a per-date dataset's share rules are judged on each date's rows."""
    # Great Expectations takes seconds to import: only runs that validate pay for it.
    from expectations.runner import validate as run_suite

    groups = checked.get_column("_event_date") if ds.per_date else None
    validation = run_suite(checked, ds.suite, groups=groups, part_rows=part_rows)
    return with_failures(ds, checked, validation.failed_rules), validation


def check_piece(ds: Dataset, checked: pl.DataFrame) -> tuple[pl.DataFrame, RowCheck]:
    """The row rules on one piece of a batch (the date-level rules are judged once all pieces
    are checked: expectations.runner.combine)."""
    from expectations.runner import check_rows

    check = check_rows(checked, ds.suite)
    return with_failures(ds, checked, check.failed_rules), check


def with_failures(ds: Dataset, checked: pl.DataFrame, failed_rules: pl.Series) -> pl.DataFrame:
    """`failed_rules` on every row. A row with no event date in the lake's range has no
    partition to live in: unless a suite rule already explains it, it is quarantined under the
    lake's own date rule."""
    checked = checked.with_columns(failed_rules=failed_rules)
    if ds.per_date:
        undated = pl.col("_event_date").is_null() & (pl.col("failed_rules").list.len() == 0)
        checked = checked.with_columns(
            failed_rules=pl.when(undated)
            .then(pl.lit([EVENT_DATE_RULE], dtype=pl.List(pl.String)))
            .otherwise(pl.col("failed_rules"))
        )
    return checked


def silver_date(ds: Dataset) -> pl.Expr:
    """Bronze rows carry their partition value, which is the date silver is partitioned by,
    unless the dataset dates its prepared rows itself."""
    column = getattr(ds.scope, "silver_date", None)
    return pl.col(column or "_event_date")


def fates(ds: Dataset, valid: pl.DataFrame) -> pl.DataFrame:
    """Label every valid row kept / duplicate / superseded by the dataset's silver strategy.
    Only what silver and the counts need goes on: raw text stays behind with the bad rows."""
    strategy = ds.silver
    keep = {*ds.silver_table.column_names, *strategy.keys, *strategy.values, *ds.row_id, "_event_date", "_ingested_at"}
    column = getattr(ds.scope, "silver_date", None)
    if column:
        keep.add(column)
    if isinstance(strategy, History) and strategy.valid_from:
        keep.add(strategy.valid_from)
    valid = valid.select([c for c in valid.columns if c in keep])
    match strategy:
        case LatestWins(keys, values):
            return history.latest_wins(valid.lazy(), keys, values).collect()
        case History(keys, values, None):
            return history.versions(valid.lazy(), keys, values, ds.row_id).collect()
        case History(keys, values, str() as start):
            return history.versions_from(valid.lazy(), keys, values, start).collect()
    raise TypeError(f"unknown silver strategy {strategy!r}")


def silver_rows(ds: Dataset, labelled: pl.DataFrame) -> pl.DataFrame:
    kept = labelled.filter(pl.col("_fate") == history.KEPT).with_columns(event_date=silver_date(ds))
    return kept.select(ds.silver_table.column_names)


def counts(
    ds: Dataset, labelled: pl.DataFrame, bad: pl.DataFrame, waiting: pl.DataFrame, ref_version: int | None
) -> pl.DataFrame:
    """Where every row went, per file and date: the fates of valid rows, then bad and waiting rows."""
    outcomes = pl.concat(
        [
            labelled.select("_file_hash", "_event_date", "_fate"),
            bad.select("_file_hash", "_event_date", _fate=pl.lit("quarantined")),
            waiting.select("_file_hash", "_event_date", _fate=pl.lit("waiting")),
        ]
    )
    fate = pl.col("_fate")
    return (
        outcomes.lazy()
        .group_by("_file_hash", "_event_date")
        .agg(
            rows=pl.len(),
            valid=fate.is_in([history.KEPT, history.DUPLICATE, history.SUPERSEDED]).sum(),
            quarantined=(fate == "quarantined").sum(),
            duplicate=(fate == history.DUPLICATE).sum(),
            superseded=(fate == history.SUPERSEDED).sum(),
            waiting=(fate == "waiting").sum(),
            in_silver=(fate == history.KEPT).sum(),
        )
        .rename({"_file_hash": "file_hash", "_event_date": "event_date"})
        .with_columns(source=pl.lit(ds.source), reference_version=pl.lit(ref_version, dtype=pl.Int64))
        .collect()
    )


def quarantine_rows(ds: Dataset, bad: pl.DataFrame, raw_columns: list[str], prepared: list[str]) -> pl.DataFrame:
    """The raw text of every source column, plus the quarantine table's own extra columns the
    prepared frame has (e.g. the element index and the readable array-length error)."""
    present = set(prepared)
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
    return bad.select(*exprs, "failed_rules", reason=pl.col("failed_rules").list.join(", "), event_date=silver_date(ds))
