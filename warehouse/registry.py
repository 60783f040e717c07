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

PARK_FIELDS = _raw(
    ("park_name", "Park name as sent (unique per park)."),
    ("timezone", "IANA timezone of the park as sent, e.g. Europe/Amsterdam."),
    ("energy_type", "Wind or Solar as sent (any casing)."),
)
PARK_READING_FIELDS = _raw(
    ("datetime", "Naive local timestamp in the park's timezone as sent, e.g. 2020-03-01 00:00:00."),
    ("MW", "Average power over the interval as sent, MW."),
    ("park_name", "Park name when the file has the column (optional; else the file's stem)."),
)

_TABLES: tuple[Table, ...] = (
    bronze("customer_usage", USAGE_FIELDS, "Meter usage records exactly as landed."),
    bronze("energy_prices", PRICE_FIELDS, "Energy price records exactly as landed."),
    quarantine("customer_usage", USAGE_FIELDS, "Usage records that failed validation."),
    quarantine("energy_prices", PRICE_FIELDS, "Price records that failed validation."),
    bronze("parks", PARK_FIELDS, "Park register records exactly as landed (event date always null)."),
    bronze(
        "park_readings",
        PARK_READING_FIELDS,
        "Park readings exactly as landed; partitioned by the naive local date of datetime.",
    ),
    quarantine("parks", PARK_FIELDS, "Park register records that failed validation."),
    quarantine(
        "park_readings",
        PARK_READING_FIELDS,
        "Park readings that failed validation (readings of parks not yet registered wait in bronze instead).",
    ),
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
        name="parks",
        layer="silver",
        columns=(
            Column("park_name", pl.String(), "Park name."),
            Column("timezone", pl.String(), "IANA timezone of the park's local timestamps."),
            Column("energy_type", pl.String(), "Wind or Solar."),
            Column("valid_from", UTC, "Ingest time of the file that introduced this version."),
            Column("valid_to", UTC, "Ingest time of the next version of the park; null while current."),
            Column("is_current", pl.Boolean(), "This is the park's current version."),
            *LINEAGE_COLUMNS,
            Column("event_date", pl.Date(), "Always null (the register has no event time); the shared partition."),
        ),
        description=(
            "Park register with history: one row per version of a park's attributes (a later file "
            "with different attributes starts a new version); is_current marks the register in force."
        ),
        keys=("park_name", "valid_from"),
        # Partitioned like every silver table, so per-date readers work; all rows are in the null one.
        partition_by="event_date",
    ),
    Table(
        name="park_readings",
        layer="silver",
        columns=(
            Column("park_name", pl.String(), "Park name."),
            Column("energy_type", pl.String(), "Wind or Solar (the park's register entry when refined)."),
            Column("ts_local", pl.Datetime("us"), "Interval start, naive local time of the park."),
            Column("ts_utc", UTC, "Interval start (UTC)."),
            Column(
                "interval_minutes",
                pl.Int64(),
                "The park's reading cadence, minutes (never the gap to the next row).",
            ),
            Column("mw", pl.Float64(), "Average power over the interval, MW (small negatives are real)."),
            Column("energy_mwh", pl.Float64(), "mw x interval_minutes / 60, MWh."),
            *LINEAGE_COLUMNS,
            Column("event_date", pl.Date(), "Park-local date of ts_local; partition."),
        ),
        description="Validated park readings, one row per park and instant; latest ingest wins.",
        keys=("park_name", "ts_utc"),
        partition_by="event_date",
    ),
    Table(
        name="park_daily_stats",
        layer="gold",
        columns=(
            Column("park_name", pl.String(), "Park name."),
            Column("energy_type", pl.String(), "Wind or Solar (current register)."),
            Column("date", pl.Date(), "The park's local calendar date; partition."),
            Column("energy_mwh", pl.Float64(), "Energy produced in the local day, MWh."),
            Column("avg_mw", pl.Float64(), "Mean of the day's readings, MW."),
            Column("min_mw", pl.Float64(), "Lowest reading, MW."),
            Column("max_mw", pl.Float64(), "Highest reading, MW."),
            Column("readings", pl.Int64(), "Readings in silver for the day."),
            Column("expected_readings", pl.Int64(), "Length of the local day / cadence (92, 96 or 100 for 15 min)."),
            Column("completeness", pl.Float64(), "readings / expected_readings."),
            Column("negative_readings", pl.Int64(), "Readings below zero (the park's own consumption)."),
        ),
        description="Energy, power range and completeness per park and park-local day.",
        keys=("park_name", "date"),
        partition_by="date",
    ),
    Table(
        name="energy_type_daily_stats",
        layer="gold",
        columns=(
            Column("energy_type", pl.String(), "Wind or Solar."),
            Column("date", pl.Date(), "Park-local calendar date; partition."),
            Column("parks", pl.Int64(), "Parks of this type with readings on the date."),
            Column("energy_mwh", pl.Float64(), "Energy summed over those parks, MWh."),
            Column("readings", pl.Int64(), "Readings summed over those parks."),
            Column("expected_readings", pl.Int64(), "Expected readings summed over those parks."),
            Column("completeness", pl.Float64(), "readings / expected_readings over those parks."),
        ),
        description="park_daily_stats rolled up per energy type and park-local date.",
        keys=("energy_type", "date"),
        partition_by="date",
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
            Column(
                "reference_version",
                pl.Int64(),
                "Delta version of the dataset's reference table the rows were refined against (null: none).",
            ),
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
