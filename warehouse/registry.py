"""The table registry: every table gridlake writes, described once.

Writers, the DuckDB catalog, documentation and tests read this module; nothing else spells a
table's layer, columns, keys or partition column.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

UTC = pl.Datetime("us", "UTC")
LAYERS = ("bronze", "silver", "gold", "quarantine", "ops")


@dataclass(frozen=True)
class Column:
    name: str
    dtype: pl.DataType
    description: str


@dataclass(frozen=True)
class Table:
    name: str
    layer: str
    columns: tuple[Column, ...]
    description: str
    keys: tuple[str, ...] = ()
    partition_by: str | None = None
    # Bronze keeps whatever extra fields a producer sends, so its schema may grow.
    open_schema: bool = False

    @property
    def qualified(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def schema(self) -> pl.Schema:
        return pl.Schema({c.name: c.dtype for c in self.columns})

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


INGEST_COLUMNS = (
    Column("_source_file", pl.String(), "Path of the landed file the row came from."),
    Column("_file_hash", pl.String(), "SHA-256 of the landed file's bytes."),
    Column("_ingested_at", UTC, "When the file was landed in bronze (UTC)."),
    Column("_run_id", pl.String(), "Run that landed the file."),
    Column("_row_number", pl.Int64(), "0-based position of the record in its file."),
)
LINEAGE_COLUMNS = tuple(c for c in INGEST_COLUMNS if c.name != "_run_id")
EVENT_DATE = Column("_event_date", pl.Date(), "Event date parsed at landing (null if unparseable); bronze partition.")


def _raw(*names_and_docs: tuple[str, str]) -> tuple[Column, ...]:
    return tuple(Column(n, pl.String(), d) for n, d in names_and_docs)


def bronze(name: str, fields: tuple[Column, ...], description: str) -> Table:
    return Table(
        name=name,
        layer="bronze",
        columns=(*fields, *INGEST_COLUMNS, EVENT_DATE),
        description=description,
        partition_by=EVENT_DATE.name,
        open_schema=True,
    )


def quarantine(name: str, fields: tuple[Column, ...], description: str) -> Table:
    return Table(
        name=name,
        layer="quarantine",
        columns=(
            *fields,
            *INGEST_COLUMNS,
            Column("failed_rules", pl.List(pl.String()), "Names of the expectations the row failed."),
            Column("reason", pl.String(), "The failed expectations, readable."),
            Column("event_date", pl.Date(), "Event date (null when unparseable); partition."),
        ),
        description=description,
        partition_by="event_date",
        open_schema=True,
    )


USAGE_FIELDS = _raw(
    ("customerId", "Customer identifier as sent (integer or string)."),
    ("intervalStart", "Interval start as sent: ISO-8601 with Z or offset, or epoch seconds."),
    ("intervalEnd", "Interval end as sent (optional; default start + 5 minutes)."),
    ("usage", "Energy used in the interval as sent, kWh."),
)
PRICE_FIELDS = _raw(
    ("intervalStart", "Interval start as sent."),
    ("intervalEnd", "Interval end as sent (optional; default start + 5 minutes)."),
    ("price", "Price as sent, currency per kWh."),
)

_TABLES: tuple[Table, ...] = (
    bronze("customer_usage", USAGE_FIELDS, "Meter usage records exactly as landed."),
    bronze("energy_prices", PRICE_FIELDS, "Energy price records exactly as landed."),
    quarantine("customer_usage", USAGE_FIELDS, "Usage records that failed validation."),
    quarantine("energy_prices", PRICE_FIELDS, "Price records that failed validation."),
    Table(
        name="customer_usage",
        layer="silver",
        columns=(
            Column("customer_id", pl.String(), "Customer identifier."),
            Column("interval_start", UTC, "Interval start (UTC)."),
            Column("interval_end", UTC, "Interval end (UTC)."),
            Column("usage_kwh", pl.Float64(), "Energy used in the interval, kWh."),
            *LINEAGE_COLUMNS,
            Column("event_date", pl.Date(), "UTC date of interval_start; partition."),
        ),
        description="Validated usage, one row per customer and interval; latest ingest wins.",
        keys=("customer_id", "interval_start"),
        partition_by="event_date",
    ),
    Table(
        name="energy_prices",
        layer="silver",
        columns=(
            Column("interval_start", UTC, "Interval start (UTC)."),
            Column("interval_end", UTC, "Interval end (UTC)."),
            Column("price_per_kwh", pl.Float64(), "Price, currency per kWh (may be negative)."),
            *LINEAGE_COLUMNS,
            Column("event_date", pl.Date(), "UTC date of interval_start; partition."),
        ),
        description="Validated prices, one row per interval; latest ingest wins.",
        keys=("interval_start",),
        partition_by="event_date",
    ),
    Table(
        name="cost_per_interval",
        layer="gold",
        columns=(
            Column("customer_id", pl.String(), "Customer identifier."),
            Column("interval_start", UTC, "Usage interval start (UTC)."),
            Column("interval_end", UTC, "Usage interval end (UTC)."),
            Column("usage_kwh", pl.Float64(), "Energy used, kWh."),
            Column("price_per_kwh", pl.Float64(), "cost / usage; null while any part is unpriced."),
            Column("cost", pl.Float64(), "Usage priced piece by piece; null while unpriced."),
            Column("date", pl.Date(), "UTC date of interval_start; partition."),
        ),
        description="Cost of every usage interval, usage spread evenly over the price intervals it spans.",
        keys=("customer_id", "interval_start"),
        partition_by="date",
    ),
    Table(
        name="hourly_usage",
        layer="gold",
        columns=(
            Column("customer_id", pl.String(), "Customer identifier."),
            Column("hour_start", UTC, "Hour start (UTC)."),
            Column("usage_kwh", pl.Float64(), "Usage in the hour, kWh."),
            Column("cost", pl.Float64(), "Cost in the hour; null if any part lacks a price."),
            Column("intervals", pl.Int64(), "Usage intervals contributing to the hour."),
            Column("is_complete", pl.Boolean(), "Usage covers the whole hour."),
            Column("date", pl.Date(), "UTC date of hour_start; partition."),
        ),
        description="Usage and cost per customer and hour.",
        keys=("customer_id", "hour_start"),
        partition_by="date",
    ),
    Table(
        name="ingest_log",
        layer="ops",
        columns=(
            Column("source", pl.String(), "Landing source."),
            Column("path", pl.String(), "Path of the file when it was landed."),
            Column("file_hash", pl.String(), "SHA-256 of the file's bytes."),
            Column("size_bytes", pl.Int64(), "File size."),
            Column("modified_at", UTC, "File modification time when it was seen."),
            Column("status", pl.String(), "landed, refined or failed."),
            Column("error", pl.String(), "Why the file failed (file, row and rule), else null."),
            Column("rows_read", pl.Int64(), "Records parsed from the file."),
            Column("rows_valid", pl.Int64(), "Records that passed validation."),
            Column("rows_quarantined", pl.Int64(), "Records sent to quarantine."),
            Column("rows_duplicate", pl.Int64(), "Exact duplicates dropped (same key, same values)."),
            Column("rows_superseded", pl.Int64(), "Valid records replaced by a later ingest."),
            Column("rows_waiting", pl.Int64(), "Valid records waiting for reference data."),
            Column("event_dates", pl.List(pl.Date()), "Event dates the file touched (null: unparseable)."),
            Column("run_id", pl.String(), "Run that landed the file."),
            Column("landed_at", UTC, "When the file was landed."),
            Column("refined_at", UTC, "When its rows last went through validation."),
        ),
        description="One row per landed file: what was read, where every row went, and errors.",
        keys=("source", "file_hash", "path"),
    ),
    Table(
        name="file_counts",
        layer="ops",
        columns=(
            Column("source", pl.String(), "Landing source."),
            Column("file_hash", pl.String(), "SHA-256 of the file's bytes."),
            Column("event_date", pl.Date(), "Event date the counts are for."),
            Column("rows", pl.Int64(), "Bronze rows of the file on that date."),
            Column("valid", pl.Int64(), "Rows that passed validation."),
            Column("quarantined", pl.Int64(), "Rows quarantined."),
            Column("duplicate", pl.Int64(), "Exact duplicates dropped."),
            Column("superseded", pl.Int64(), "Valid rows replaced by a later ingest."),
            Column("waiting", pl.Int64(), "Valid rows waiting for reference data."),
            Column("in_silver", pl.Int64(), "Rows of the file now in silver."),
        ),
        description="Where each file's rows went, per event date; rebuilt with each date.",
        keys=("source", "file_hash", "event_date"),
    ),
)

TABLES: dict[str, Table] = {t.qualified: t for t in _TABLES}


def table(qualified: str) -> Table:
    try:
        return TABLES[qualified]
    except KeyError:
        raise KeyError(f"unknown table {qualified!r}; known: {sorted(TABLES)}") from None
