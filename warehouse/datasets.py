"""What each landing source needs to go from raw file to silver: its tables, the fields a file
must carry, how to date a raw record, how to type it, the suite that checks it, and the keys
that deduplicate it. Adding a dataset is adding an entry here (plus its transform and suite).

Two optional hooks serve datasets that depend on others. `reference` names a silver table that
`prepare` receives as a second argument (the park register for park readings); rows the dataset
flags in its `waiting` column wait in bronze until that table changes. `refine_scope="all"` marks
a small register refined whole, and `history=True` keeps every version of a key in silver
(valid_from / valid_to / is_current) instead of only the latest.

For the battery sites: `check_records` lets landing reject a whole file whose shape breaks the
contract (with a readable reason) before anything reaches bronze; `element` marks a `prepare`
that explodes one bronze record into many rows (a columnar live-data object into readings);
`valid_from` orders history by a column of the record instead of the ingest time; and
`silver_date` partitions silver by a prepared column (the reading's UTC date) instead of the
bronze partition."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from expectations import customer_usage as usage_suite
from expectations import energy_prices as prices_suite
from expectations import park_readings as park_readings_suite
from expectations import parks as parks_suite
from expectations import site_configurations as site_configurations_suite
from expectations import site_live_data as site_live_data_suite
from expectations import sites as sites_suite
from expectations.spec import Suite
from transforms import parks as parks_transforms
from transforms import sites as sites_transforms
from transforms import usage as usage_transforms
from warehouse.registry import Table, table


@dataclass(frozen=True)
class Reference:
    """A silver table `prepare` needs: `select` turns its scan into the frame prepare receives."""

    table: str
    select: Callable[[pl.LazyFrame], pl.LazyFrame]


@dataclass(frozen=True)
class Dataset:
    source: str
    required_fields: tuple[str, ...]
    # Raw bronze columns -> event date (the bronze and silver partition).
    event_date: Callable[[], pl.Expr]
    # Bronze -> typed frame with the helper columns the suite checks; with a `reference`, the
    # reference frame is the second argument.
    prepare: Callable[..., pl.LazyFrame]
    suite: Suite
    keys: tuple[str, ...]
    values: tuple[str, ...]
    reference: Reference | None = None
    # Boolean column of the prepared frame: true for rows that wait for reference data.
    waiting: str | None = None
    # "date": each event date is rebuilt on its own; "all": the whole table is rebuilt at once.
    refine_scope: Literal["date", "all"] = "date"
    history: bool = False
    # Dates validated and written together: fewer, larger commits for many small partitions.
    refine_batch_dates: int = 1
    # Raw source column -> prepared column that keeps its text, where prepare renames it.
    raw_columns: Mapping[str, str] = field(default_factory=dict)
    # Called by landing on the first chunk of a file (raw text columns): a returned text rejects
    # the whole file with that reason, before any row reaches bronze.
    check_records: Callable[[pl.DataFrame], str | None] | None = None
    # Prepared column numbering the rows one bronze record explodes into. With it a row is
    # identified by (file, record, element), and a refined file's rows_read counts prepared rows.
    element: str | None = None
    # With `history`: prepared column a version starts at (default: the ingest time). At the
    # same start the latest ingest wins; a version equal to the one before it is a re-send.
    valid_from: str | None = None
    # Prepared Date column silver (and quarantine) is partitioned by, instead of the bronze
    # partition; for `refine_scope="all"` datasets whose rows carry their own event date.
    silver_date: str | None = None
    # Date-scoped datasets whose gold follows changed dates only: refine compares the new silver
    # of each date with the old (a read of the old partitions, skipped for everyone else).
    track_changes: bool = False

    @property
    def bronze(self) -> Table:
        return table(f"bronze.{self.source}")

    @property
    def quarantine(self) -> Table:
        return table(f"quarantine.{self.source}")

    @property
    def silver(self) -> Table:
        return table(f"silver.{self.source}")


def _local_date() -> pl.Expr:
    """The naive local date of a reading: the date part of its text (no timezone needed)."""
    return pl.col("datetime").str.strip_chars().str.slice(0, 10).str.strptime(pl.Date, "%Y-%m-%d", strict=False)


def _current_parks(register: pl.LazyFrame) -> pl.LazyFrame:
    return register.filter(pl.col("is_current")).select(parks_transforms.PARK_SOURCE_COLUMNS)


def _keep_raw(columns: tuple[str, ...]) -> dict[str, str]:
    return {c: f"_raw_{c}" for c in columns}


def _with_raw(bronze: pl.LazyFrame, columns: Mapping[str, str]) -> pl.LazyFrame:
    """Copies of the source columns prepare replaces, so quarantine keeps the text as sent."""
    names = bronze.collect_schema().names()
    return bronze.with_columns(pl.col(c).alias(copy) for c, copy in columns.items() if c in names)


SITE_RAW = _keep_raw(("name", "location"))
# The flat form's columns and valid_from are replaced by typed values in prepare.
CONFIG_RAW = _keep_raw(("valid_from", *sites_transforms.CONFIG_VALUE_COLUMNS))
LIVE_RAW = {f: f"{f.replace('-', '_')}_raw" for f in sites_transforms.LIVE_SOURCE_COLUMNS}


def _prepare_sites(bronze: pl.LazyFrame) -> pl.LazyFrame:
    return sites_transforms.prepare_sites(_with_raw(bronze, SITE_RAW))


def _prepare_configurations(bronze: pl.LazyFrame) -> pl.LazyFrame:
    return sites_transforms.prepare_site_configurations(_with_raw(bronze, CONFIG_RAW))


def _prepare_live(bronze: pl.LazyFrame, sites: pl.LazyFrame) -> pl.LazyFrame:
    # Only readings that are otherwise well formed wait for their site: a record without a site
    # id, or an object whose arrays do not line up, is quarantined at once.
    waits = (
        pl.col("site_id").is_not_null()
        & ~pl.col("site_known")
        & pl.col("array_length_error").is_null()
        & pl.col("missing_columns").is_null()
    )
    return sites_transforms.explode_site_live_data(bronze, sites).with_columns(
        awaits_site=waits, _reading_date=pl.col("dt_stamp").dt.date()
    )


def _site_ids(sites: pl.LazyFrame) -> pl.LazyFrame:
    return sites.select("site_id")


def _shape_check(source: str) -> Callable[[pl.DataFrame], str | None]:
    return lambda frame: sites_transforms.unsupported_shape_in_bronze(frame, source)


def _check_configurations(frame: pl.DataFrame) -> str | None:
    """The real producer's shape, then the contract's alternative fields (nested or flat)."""
    shape = sites_transforms.unsupported_shape_in_bronze(frame, "site_configurations")
    if shape:
        return shape
    groups = (
        ("site", "id"),
        ("battery", "battery_vendor+battery_capacity_kwh+battery_max_power_kw"),
        ("production", "+".join(f"production_{t}_units" for t in sites_transforms.PRODUCTION_TYPES)),
    )
    missing = [
        " or ".join(alternatives)
        for alternatives in groups
        if not any(all(c in frame.columns for c in alt.split("+")) for alt in alternatives)
    ]
    if not missing:
        return None
    found = ", ".join(c for c in frame.columns if not c.startswith("_")) or "none"
    return f"missing required column(s) {'; '.join(missing)} (found: {found})"


def undated() -> pl.Expr:
    """Event date of sources without one (registers, multi-day objects): the null partition."""
    return pl.lit(None, dtype=pl.Date)


# Order matters: a reference table's dataset comes before the datasets that read it.
DATASETS: dict[str, Dataset] = {
    d.source: d
    for d in (
        Dataset(
            source="customer_usage",
            required_fields=("customerId", "intervalStart", "usage"),
            event_date=usage_transforms.event_date,
            prepare=usage_transforms.prepare_usage,
            suite=usage_suite.SUITE,
            keys=("customer_id", "interval_start"),
            values=("interval_end", "usage_kwh"),
        ),
        Dataset(
            source="energy_prices",
            required_fields=("intervalStart", "price"),
            event_date=usage_transforms.event_date,
            prepare=usage_transforms.prepare_prices,
            suite=prices_suite.SUITE,
            keys=("interval_start",),
            values=("interval_end", "price_per_kwh"),
        ),
        Dataset(
            source="parks",
            required_fields=parks_transforms.PARK_SOURCE_COLUMNS,
            # The register has no event time: its rows live in the null partition.
            event_date=undated,
            prepare=parks_transforms.prepare_parks,
            suite=parks_suite.SUITE,
            keys=("park_name",),
            values=("timezone", "energy_type"),
            refine_scope="all",
            history=True,
        ),
        Dataset(
            source="park_readings",
            required_fields=parks_transforms.READING_SOURCE_COLUMNS,
            event_date=_local_date,
            prepare=parks_transforms.prepare_park_readings,
            suite=park_readings_suite.SUITE,
            keys=("park_name", "ts_utc"),
            values=("ts_local", "mw", "interval_minutes", "energy_type"),
            reference=Reference("silver.parks", _current_parks),
            waiting="awaits_park",
            raw_columns=parks_transforms.RAW_READING_COLUMNS,
            # A park-day is ~96 rows: a month of days per validation keeps a year's file quick.
            refine_batch_dates=31,
            track_changes=True,
        ),
        Dataset(
            source="sites",
            required_fields=sites_transforms.SITE_SOURCE_COLUMNS,
            event_date=undated,
            prepare=_prepare_sites,
            suite=sites_suite.SUITE,
            keys=("site_id",),
            values=("name", "location"),
            refine_scope="all",
            raw_columns=SITE_RAW,
            check_records=_shape_check("sites"),
        ),
        Dataset(
            source="site_configurations",
            # Nested or flat form: checked by _check_configurations instead.
            required_fields=(),
            event_date=undated,
            prepare=_prepare_configurations,
            suite=site_configurations_suite.SUITE,
            keys=("site_id",),
            values=sites_transforms.CONFIG_VALUE_COLUMNS,
            refine_scope="all",
            history=True,
            valid_from="valid_from",
            raw_columns=CONFIG_RAW,
            check_records=_check_configurations,
        ),
        Dataset(
            source="site_live_data",
            required_fields=sites_transforms.LIVE_SOURCE_COLUMNS,
            # One bronze record is an object of many readings, possibly over several UTC days:
            # bronze is not dated, and silver is partitioned by each reading's UTC date.
            event_date=undated,
            prepare=_prepare_live,
            suite=site_live_data_suite.SUITE,
            keys=("site_id", "dt_stamp"),
            values=sites_transforms.LIVE_VALUE_COLUMNS,
            reference=Reference("silver.sites", _site_ids),
            waiting="awaits_site",
            refine_scope="all",
            raw_columns=LIVE_RAW,
            check_records=_shape_check("site_live_data"),
            element="_element_index",
            silver_date="_reading_date",
        ),
    )
}


def dataset(source: str) -> Dataset:
    try:
        return DATASETS[source]
    except KeyError:
        raise KeyError(f"unknown source {source!r}; known: {sorted(DATASETS)}") from None
