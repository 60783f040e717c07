"""The table registry: every table gridlake writes, described once.

Writers, the DuckDB catalog, documentation and tests read this module; nothing else spells a
table's layer, columns, keys or partition column.
"""

from __future__ import annotations

import datetime as dt
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
    Column("_source_file", pl.String(), "Path of the landed file the row came from, relative to the lake root."),
    Column("_file_hash", pl.String(), "Id of the landing the row came from (ops.ingest_log.file_hash)."),
    Column("_ingested_at", UTC, "When the file was landed in bronze (UTC)."),
    Column("_run_id", pl.String(), "Run that landed the file."),
    Column("_row_number", pl.Int64(), "0-based position of the record in its file."),
)
LINEAGE_COLUMNS = tuple(c for c in INGEST_COLUMNS if c.name != "_run_id")
# Event dates the lake partitions by: earlier or later dates (a 1970 epoch, a year typo) go to the
# null partition and are quarantined by refine under EVENT_DATE_RULE.
EVENT_DATE_MIN = dt.date(2000, 1, 1)
EVENT_DATE_RULE = "event_date_in_range"


def event_date_max() -> dt.date:
    """Tomorrow (UTC): the last daily partition that exists."""
    return dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)


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

SOLAR_FIELDS = _raw(
    ("site_id", "Site identifier as sent, e.g. SITE_003."),
    ("timestamp", "Reading time as sent: ISO-8601 with Z or an offset, naive (= UTC), or epoch seconds."),
    ("energy_generated_kwh", "Energy generated in the reading's interval as sent, kWh."),
    ("energy_consumed_kwh", "Energy consumed in the reading's interval as sent, kWh."),
)
COIN_FIELDS = _raw(
    ("pair", "Records shape: <base>/<quote> as sent (lower-cased in silver)."),
    ("time", "Records shape: sample time as sent: epoch seconds or ISO-8601 (naive = UTC)."),
    ("value", "Records shape: price as sent."),
    ("id", "Snapshot shape: coin id as sent, e.g. bitcoin (the pair's base)."),
    ("symbol", "Snapshot shape: ticker symbol as sent, e.g. btc (kept, not used)."),
    ("current_price", "Snapshot shape: price in the quote currency as sent."),
    ("last_updated", "Snapshot shape: sample time as sent (ISO-8601)."),
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

SITE_FIELDS = _raw(
    ("id", 'Site id as sent: an integer or a string (1 and "1" are the same site).'),
    ("name", "Site name as sent."),
    ("location", "Site location as sent."),
)
SITE_CONFIGURATION_FIELDS = _raw(
    ("id", "Nested form: the site id as sent."),
    ("site", "Flat form: the site id as sent (wins over id when both are present)."),
    ("battery", "Nested form: the battery object as compact JSON (vendor, capacity_kwh, max_power_kw)."),
    ("production", "Nested form: the production object as compact JSON (pv, bio, cro: units, kwp)."),
    ("valid_from", "Start of the configuration as sent (ISO-8601, naive = UTC, or a date); else the ingest time."),
    ("battery_vendor", "Flat form: Tesla or KATL as sent."),
    ("battery_capacity_kwh", "Flat form: battery capacity as sent, kWh."),
    ("battery_max_power_kw", "Flat form: battery maximum power as sent, kW."),
    *(
        (
            f"production_{t}_{m}",
            f"Flat form: {t} production {'unit count' if m == 'units' else 'peak power, kWp'} as sent.",
        )
        for t in ("pv", "bio", "cro")
        for m in ("units", "kwp")
    ),
)
# The contract's "dt-stamp" field is kept in bronze and quarantine (open schema) but not listed
# here: the catalog comments columns by their bare name, which a hyphen breaks. The table
# descriptions say what it holds.
SITE_LIVE_FIELDS = _raw(
    ("site_id", "Site id as sent."),
    ("soc", "State of charge as sent, percent."),
    ("load_kwh", "Site load over the 10 minutes as sent, kWh."),
    ("net_load_kwh", "Net load (grid import) over the 10 minutes as sent, kWh."),
    ("pv_notification", "PV notification flags as sent (JSON booleans)."),
    ("bio_notification", "Bio notification flags as sent (JSON booleans)."),
    ("cro_notification", "CRO notification flags as sent (JSON booleans)."),
)
SITE_LIVE_QUARANTINE_FIELDS = _raw(
    ("site_id", "Site id of the reading's record, as sent."),
    ("soc", "The reading's soc as JSON text."),
    ("load_kwh", "The reading's load_kwh as JSON text."),
    ("net_load_kwh", "The reading's net_load_kwh as JSON text."),
    ("pv_notification", 'The reading\'s pv_notification as JSON text ("true" quoted is a string).'),
    ("bio_notification", "The reading's bio_notification as JSON text."),
    ("cro_notification", "The reading's cro_notification as JSON text."),
)
ELEMENT_INDEX = Column(
    "_element_index", pl.Int64(), "Position of the reading in its object's arrays (0 for row records)."
)
CONFIG_VALUE_COLUMNS = (
    Column("battery_vendor", pl.String(), "Battery vendor: Tesla or KATL."),
    Column("battery_capacity_kwh", pl.Float64(), "Battery capacity, kWh."),
    Column("battery_max_power_kw", pl.Float64(), "Battery maximum power, kW."),
    *(
        Column(name, dtype, doc)
        for t in ("pv", "bio", "cro")
        for name, dtype, doc in (
            (f"production_{t}_units", pl.Int64(), f"Number of {t} production units."),
            (f"production_{t}_kwp", pl.Float64(), f"Peak power of the {t} units, kWp (null when not sent)."),
        )
    ),
)
NOTIFICATION_COLUMNS = tuple(
    Column(f"{t}_notification", pl.Boolean(), f"The {t} production unit raised a notification.")
    for t in ("pv", "bio", "cro")
)
LIVE_VALUE_COLUMNS = (
    Column("soc", pl.Float64(), "State of charge, percent (0-100)."),
    Column("load_kwh", pl.Float64(), "Site load over the 10 minutes, kWh."),
    Column("net_load_kwh", pl.Float64(), "Net load (grid import) over the 10 minutes, kWh."),
    *NOTIFICATION_COLUMNS,
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
    bronze("sites", SITE_FIELDS, "Site register records exactly as landed (event date always null)."),
    bronze(
        "site_configurations",
        SITE_CONFIGURATION_FIELDS,
        "Site configuration records exactly as landed, nested or flat form (event date always null).",
    ),
    bronze(
        "site_live_data",
        SITE_LIVE_FIELDS,
        "Site live data exactly as landed: one row per columnar object (arrays as JSON text) or per "
        "row record; dt-stamp holds the reading timestamps as sent (naive = UTC); event date always "
        "null (an object may span several days).",
    ),
    quarantine("sites", SITE_FIELDS, "Site register records that failed validation."),
    quarantine("site_configurations", SITE_CONFIGURATION_FIELDS, "Site configurations that failed validation."),
    Table(
        name="site_live_data",
        layer="quarantine",
        columns=(
            *SITE_LIVE_QUARANTINE_FIELDS,
            *INGEST_COLUMNS,
            ELEMENT_INDEX,
            Column(
                "array_length_error",
                pl.String(),
                "Why the reading's columnar object was rejected (names the arrays and their lengths), else null.",
            ),
            Column("missing_columns", pl.String(), "Contract fields the file lacks, else null."),
            Column("failed_rules", pl.List(pl.String()), "Names of the expectations the reading failed."),
            Column("reason", pl.String(), "The failed expectations, readable."),
            Column("event_date", pl.Date(), "UTC date of the reading (null when unparseable); partition."),
        ),
        description=(
            "Live readings that failed validation, one row per reading with its values as JSON text "
            "(dt-stamp: the reading's timestamp, quoted); readings of sites not yet registered wait "
            "in bronze instead."
        ),
        partition_by="event_date",
        open_schema=True,
    ),
    Table(
        name="sites",
        layer="silver",
        columns=(
            Column("site_id", pl.String(), 'Site id as text (integral ids without leading zeros: 1, "1", "001" -> 1).'),
            Column("name", pl.String(), "Site name."),
            Column("location", pl.String(), "Site location."),
            *LINEAGE_COLUMNS,
            Column("event_date", pl.Date(), "Always null (the register has no event time); the shared partition."),
        ),
        description="Site register, one row per site; the latest ingest wins.",
        keys=("site_id",),
        partition_by="event_date",
    ),
    Table(
        name="site_configurations",
        layer="silver",
        columns=(
            Column("site_id", pl.String(), "Site id."),
            *CONFIG_VALUE_COLUMNS,
            Column("valid_from", UTC, "Start of this configuration: valid_from as sent, else the ingest time."),
            Column("valid_to", UTC, "Start of the site's next configuration; null while current."),
            Column("is_current", pl.Boolean(), "This is the site's configuration in force (the latest start)."),
            *LINEAGE_COLUMNS,
            Column("event_date", pl.Date(), "Always null; the shared partition."),
        ),
        description=(
            "Site configurations with history: one row per version, ordered by valid_from; a version "
            "equal to the one before it is a re-send, and each version ends where the next begins."
        ),
        keys=("site_id", "valid_from"),
        partition_by="event_date",
    ),
    Table(
        name="site_live_data",
        layer="silver",
        columns=(
            Column("site_id", pl.String(), "Site id (a registered site)."),
            Column("dt_stamp", UTC, "Reading time (UTC; naive stamps as sent are UTC)."),
            *LIVE_VALUE_COLUMNS,
            *LINEAGE_COLUMNS,
            ELEMENT_INDEX,
            Column("event_date", pl.Date(), "UTC date of dt_stamp; partition."),
        ),
        description="Validated 10-minute live readings, one row per site and dt_stamp; latest ingest wins.",
        keys=("site_id", "dt_stamp"),
        partition_by="event_date",
    ),
    Table(
        name="site_latest",
        layer="gold",
        columns=(
            Column("site_id", pl.String(), "Site id."),
            Column("name", pl.String(), "Site name (null if the register entry is gone)."),
            Column("location", pl.String(), "Site location."),
            Column("dt_stamp", UTC, "Time of the site's latest reading (UTC)."),
            *LIVE_VALUE_COLUMNS,
            *CONFIG_VALUE_COLUMNS,
            Column("configuration_valid_from", UTC, "Start of the current configuration (null: none yet)."),
        ),
        description="One row per site with readings: its latest live reading and current configuration.",
        keys=("site_id",),
    ),
    Table(
        name="site_daily_stats",
        layer="gold",
        columns=(
            Column("site_id", pl.String(), "Site id."),
            Column("date", pl.Date(), "UTC calendar date; partition."),
            Column("readings", pl.Int64(), "Readings in silver for the day (144 for a full day)."),
            Column("soc_min", pl.Float64(), "Lowest state of charge, percent."),
            Column("soc_avg", pl.Float64(), "Mean state of charge over the readings, percent."),
            Column("soc_max", pl.Float64(), "Highest state of charge, percent."),
            Column("load_kwh", pl.Float64(), "Load summed over the day, kWh."),
            Column("net_load_kwh", pl.Float64(), "Net load summed over the day, kWh."),
            Column("pv_notifications", pl.Int64(), "Readings with a pv notification."),
            Column("bio_notifications", pl.Int64(), "Readings with a bio notification."),
            Column("cro_notifications", pl.Int64(), "Readings with a cro notification."),
            Column("battery_vendor", pl.String(), "Battery vendor in force at the end of the day."),
            Column("battery_capacity_kwh", pl.Float64(), "Battery capacity in force at the end of the day, kWh."),
        ),
        description="Per site and UTC day: soc range and mean, load sums, notification counts, battery in force.",
        keys=("site_id", "date"),
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
    bronze("solar_readings", SOLAR_FIELDS, "Solar generation readings exactly as landed; partitioned by UTC date."),
    quarantine("solar_readings", SOLAR_FIELDS, "Solar records that cannot be readings (anomalies stay in silver)."),
    Table(
        name="solar_readings",
        layer="silver",
        columns=(
            Column("site_id", pl.String(), "Site identifier."),
            Column("ts", UTC, "Reading time (UTC)."),
            Column("generated_kwh", pl.Float64(), "Energy generated, kWh (negative: a meter fault, flagged)."),
            Column("consumed_kwh", pl.Float64(), "Energy consumed, kWh (negative: a meter fault, flagged)."),
            Column("net_kwh", pl.Float64(), "generated_kwh - consumed_kwh."),
            Column("is_anomaly", pl.Boolean(), "The reading has a row anomaly (see anomaly_reasons)."),
            Column(
                "anomaly_reasons",
                pl.List(pl.String()),
                "Row anomalies: negative_generation, negative_consumption (range anomalies are added in gold).",
            ),
            *LINEAGE_COLUMNS,
            Column("event_date", pl.Date(), "UTC date of ts; partition."),
        ),
        description="Validated solar readings, one row per site and time; latest ingest wins.",
        keys=("site_id", "ts"),
        partition_by="event_date",
    ),
    Table(
        name="solar_site_daily",
        layer="gold",
        columns=(
            Column("site_id", pl.String(), "Site identifier."),
            Column("date", pl.Date(), "UTC date; partition."),
            Column("readings", pl.Int64(), "Readings of the day in silver, anomalies included."),
            Column("generated_kwh", pl.Float64(), "Generation over readings without anomaly, kWh."),
            Column("consumed_kwh", pl.Float64(), "Consumption over readings without anomaly, kWh."),
            Column("net_kwh", pl.Float64(), "generated_kwh - consumed_kwh over readings without anomaly."),
            Column("anomalies", pl.Int64(), "Readings with an anomaly of either kind."),
            Column("first_ts", UTC, "First reading of the day."),
            Column("last_ts", UTC, "Last reading of the day."),
        ),
        description="Daily energy per solar site (UTC days); anomalous readings counted, not summed.",
        keys=("site_id", "date"),
        partition_by="date",
    ),
    Table(
        name="solar_anomalies",
        layer="gold",
        columns=(
            Column("site_id", pl.String(), "Site identifier."),
            Column("ts", UTC, "Reading time (UTC)."),
            Column("generated_kwh", pl.Float64(), "Energy generated, kWh."),
            Column("consumed_kwh", pl.Float64(), "Energy consumed, kWh."),
            Column(
                "anomaly_reasons",
                pl.List(pl.String()),
                "negative_generation, negative_consumption, generation_above_site_range.",
            ),
            Column("detected_at", UTC, "When a gold build first found the reading anomalous with these values."),
            Column("date", pl.Date(), "UTC date of ts; partition."),
        ),
        description="Every anomalous solar reading, with why and since when.",
        keys=("site_id", "ts"),
        partition_by="date",
    ),
    bronze("coin_prices", COIN_FIELDS, "Coin price samples exactly as landed (either shape); partitioned by UTC date."),
    quarantine("coin_prices", COIN_FIELDS, "Coin price samples that failed validation."),
    Table(
        name="coin_prices",
        layer="silver",
        columns=(
            Column("pair", pl.String(), "<base>/<quote>, lower case, e.g. bitcoin/usd."),
            Column("time", UTC, "Sample time (UTC): when the producer fetched the price."),
            Column("value", pl.Float64(), "Price of one base unit in the quote currency (> 0)."),
            *LINEAGE_COLUMNS,
            Column("event_date", pl.Date(), "UTC date of time; partition."),
        ),
        description=(
            "Validated coin prices, one row per pair and sample time; latest ingest wins. Raw history "
            "older than the retention window is purged by `gridlake maintain`."
        ),
        keys=("pair", "time"),
        partition_by="event_date",
    ),
    Table(
        name="coin_volatility",
        layer="gold",
        columns=(
            Column("pair", pl.String(), "<base>/<quote>."),
            Column("time", UTC, "Sample time (UTC) the statistics are for."),
            Column("value", pl.Float64(), "The pair's price at that time."),
            Column("stddev_24h", pl.Float64(), "Sample standard deviation (n-1) of prices in (time - 24 h, time]."),
            Column("mean_24h", pl.Float64(), "Mean price in the same window."),
            Column("samples", pl.Int64(), "Samples in the window (stddev needs 2)."),
            Column(
                "rank",
                pl.Int64(),
                "1 = most volatile pair sampled in the same UTC minute; ties by pair name; no stddev ranks last.",
            ),
            Column("date", pl.Date(), "UTC date of time; partition."),
        ),
        description="Rolling 24-hour volatility and rank of every pair at every sample time; kept beyond retention.",
        keys=("pair", "time"),
        partition_by="date",
    ),
    Table(
        name="coin_latest",
        layer="gold",
        columns=(
            Column("pair", pl.String(), "<base>/<quote>."),
            Column("time", UTC, "The pair's latest sample time (UTC)."),
            Column("value", pl.Float64(), "Latest price."),
            Column("stddev_24h", pl.Float64(), "stddev_24h at that time."),
            Column("mean_24h", pl.Float64(), "mean_24h at that time."),
            Column("samples", pl.Int64(), "Samples in the window at that time."),
            Column("rank", pl.Int64(), "Rank at that time (gold.coin_volatility)."),
        ),
        description="One row per pair: its latest sample with the volatility and rank at that time.",
        keys=("pair",),
    ),
    Table(
        name="completeness",
        layer="gold",
        columns=(
            Column("source", pl.String(), "Dated source the series belongs to (e.g. customer_usage)."),
            Column("series", pl.String(), "Key value(s) joined by '|' (e.g. a customer id); 'all' if none."),
            Column("date", pl.Date(), "The series' day (UTC; park-local for park readings); partition."),
            Column("cadence_seconds", pl.Int64(), "Seconds between expected readings (the contract's, or inferred)."),
            Column("expected", pl.Int64(), "Readings due: day length / cadence (92-100 on clock-change days)."),
            Column("present", pl.Int64(), "Distinct reading times in silver that day (at most expected)."),
            Column("missing", pl.Int64(), "expected - present."),
            Column("coverage", pl.Float64(), "present / expected."),
            Column("first", UTC, "First reading of the day (UTC)."),
            Column("last", UTC, "Last reading of the day (UTC)."),
        ),
        description=(
            "Per source, series and day: readings expected by the series' cadence, present in silver, "
            "missing, and coverage. A series has a row on the days it has a reading."
        ),
        keys=("source", "series", "date"),
        partition_by="date",
    ),
    Table(
        name="gaps",
        layer="gold",
        columns=(
            Column("source", pl.String(), "Dated source the series belongs to."),
            Column("series", pl.String(), "The series' key value(s) (as in gold.completeness)."),
            Column("date", pl.Date(), "The series' day; partition."),
            Column("gap_start", UTC, "First missing reading time (UTC)."),
            Column("gap_end", UTC, "End of the gap, exclusive: the next reading, or the end of the day."),
            Column("missing", pl.Int64(), "Readings missing in [gap_start, gap_end)."),
        ),
        description="Every run of missing readings of a series on a day, as [gap_start, gap_end).",
        keys=("source", "series", "gap_start"),
        partition_by="date",
    ),
    Table(
        name="ingest_log",
        layer="ops",
        columns=(
            Column("source", pl.String(), "Landing source."),
            Column("path", pl.String(), "Path of the file relative to the lake root, e.g. landing/<source>/f.csv."),
            Column(
                "file_hash",
                pl.String(),
                "Id of the landing (bronze _file_hash): the SHA-256 of the file's bytes when they first land; "
                "for bytes landed before (a path put back to earlier content), the SHA-256 of bytes, path, size "
                "and modification time.",
            ),
            Column("content_hash", pl.String(), "SHA-256 of the file's bytes."),
            Column("size_bytes", pl.Int64(), "File size."),
            Column("modified_at", UTC, "File modification time when it was seen."),
            Column(
                "status",
                pl.String(),
                "landed, refined, failed, or duplicate (content already in force: unchanged since its path "
                "landed, or the latest content of another path).",
            ),
            Column("error", pl.String(), "Why the file failed (file, row and rule), else null."),
            Column(
                "rows_read",
                pl.Int64(),
                "Records parsed from the file; for site_live_data, once refined, the readings its objects hold.",
            ),
            Column("rows_valid", pl.Int64(), "Records that passed validation."),
            Column("rows_quarantined", pl.Int64(), "Records sent to quarantine."),
            Column("rows_duplicate", pl.Int64(), "Exact duplicates dropped (same key, same values)."),
            Column("rows_superseded", pl.Int64(), "Valid records replaced by a later ingest."),
            Column("rows_waiting", pl.Int64(), "Records waiting for reference data (not validated yet)."),
            Column("event_dates", pl.List(pl.Date()), "Event dates the file touched (null: unparseable)."),
            Column("run_id", pl.String(), "Run that landed the file."),
            Column("landed_at", UTC, "When the file was landed."),
            Column("refined_at", UTC, "When its rows last went through validation."),
        ),
        description="One row per drop of a file seen: what was read, where every row went, and errors.",
        keys=("source", "path", "file_hash", "modified_at"),
    ),
    Table(
        name="file_counts",
        layer="ops",
        columns=(
            Column("source", pl.String(), "Landing source."),
            Column("file_hash", pl.String(), "SHA-256 of the file's bytes."),
            Column("event_date", pl.Date(), "Event date the counts are for."),
            Column("rows", pl.Int64(), "Bronze rows of the file on that date (site_live_data: readings)."),
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
    Table(
        name="gold_queue",
        layer="ops",
        columns=(
            Column("gold", pl.String(), "Gold spec (warehouse/plan.py) whose tables must be rebuilt."),
            Column("date", pl.Date(), "Gold date to rebuild (null: an unpartitioned gold table, rebuilt whole)."),
            Column("source", pl.String(), "Silver source whose change queued the rebuild."),
            Column("change_id", pl.String(), "Id shared by the rows one refine of one source queued."),
            Column(
                "silver_version",
                pl.Int64(),
                "Delta version of the source's silver table when queued (null: no table yet); the row is "
                "ready once the table is past it, i.e. once the refine that queued it has written silver.",
            ),
            Column("queued_at", UTC, "When refine queued the rebuild (before it wrote silver)."),
            Column("run_id", pl.String(), "Run that queued it."),
        ),
        description=(
            "Gold work not done yet: refine queues the gold dates its silver changes affect, and the "
            "gold build removes the rows it has rebuilt (what the gold sensor and `gridlake run` read)."
        ),
        keys=("gold", "date", "change_id"),
    ),
    Table(
        name="gold_builds",
        layer="ops",
        columns=(
            Column("gold", pl.String(), "Gold spec (warehouse/plan.py) that was built."),
            Column("date", pl.Date(), "Gold date built (null: an unpartitioned spec, built whole)."),
            Column("inputs", pl.String(), "JSON object: each silver table read -> its Delta version at build time."),
            Column("outputs", pl.String(), "JSON object: each gold table written -> its Delta version after."),
            Column("built_at", UTC, "When the build finished."),
        ),
        description="One row per gold spec and date built: the table versions it read and wrote (what explain shows).",
        keys=("gold", "date", "built_at"),
    ),
    Table(
        name="alerts",
        layer="ops",
        columns=(
            Column("alert_id", pl.String(), "Stable id of the alert: a hash of site_id and ts."),
            Column("site_id", pl.String(), "Site of the anomalous reading."),
            Column("ts", UTC, "Reading time of the anomaly (UTC)."),
            Column(
                "anomaly_reasons",
                pl.List(pl.String()),
                "The anomaly's reasons in gold.solar_anomalies when it was recorded.",
            ),
            Column("detected_at", UTC, "When gold first found the reading anomalous (gold.solar_anomalies)."),
            Column("alerted_at", UTC, "When the alert was recorded here (once per anomaly, ever)."),
            Column(
                "webhook_status",
                pl.String(),
                "sent (the webhook answered 2xx), failed (retried on the next evaluation), or "
                "not_configured (no GRIDLAKE_ALERT_WEBHOOK; sent once one is set).",
            ),
            Column("attempts", pl.Int64(), "Webhook POSTs tried for the alert (0 while not configured)."),
            Column("last_error", pl.String(), "Latest failed POST's error (kept after a later success), else null."),
            Column("sent_at", UTC, "When the webhook accepted the alert (UTC); null until sent."),
        ),
        description=(
            "One row per solar anomaly (gold.solar_anomalies) alerted: recorded once, and its webhook "
            "delivery (the solar_anomaly_alerts sensor posts one JSON body per site)."
        ),
        keys=("site_id", "ts"),
    ),
    Table(
        name="maintenance",
        layer="ops",
        columns=(
            Column("at", UTC, "When the action was committed."),
            Column("run_id", pl.String(), "Run (or `cli`) that maintained the lake."),
            Column("table_name", pl.String(), "Qualified table, e.g. silver.coin_prices."),
            Column(
                "action",
                pl.String(),
                "purge (retention), hold (a purge held back for rollups not built yet), optimize (compaction), "
                "configure (table settings given to a table made before them) or vacuum.",
            ),
            Column(
                "horizon",
                pl.Date(),
                "purge: first event date kept; older dates are gone and never refined again. hold: the date "
                "the purge was held back to (else null).",
            ),
            Column("rows_removed", pl.Int64(), "purge: rows deleted."),
            Column(
                "files_removed", pl.Int64(), "Data files removed from the table (optimize, purge) or deleted (vacuum)."
            ),
            Column("files_added", pl.Int64(), "Data files written (optimize: the compacted files)."),
            Column("version", pl.Int64(), "Table version after the action (null: nothing committed)."),
            Column("note", pl.String(), "hold: which rollups still read the rows past retention (else null)."),
        ),
        description="What `gridlake maintain` did to each table: retention purges, compactions, vacuums.",
    ),
)

TABLES: dict[str, Table] = {t.qualified: t for t in _TABLES}


def table(qualified: str) -> Table:
    try:
        return TABLES[qualified]
    except KeyError:
        raise KeyError(f"unknown table {qualified!r}; known: {sorted(TABLES)}") from None
