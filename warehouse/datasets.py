"""What each landing source needs to go from raw file to silver: its tables, the fields a file
must carry, how to date a raw record, how to type it, the suite that checks it, and how silver
keeps a key that arrives more than once. Adding a dataset is adding an entry here (plus its
transform, suite and registry tables); refine follows the strategies below and needs no change.

Strategies:

* `silver`: `LatestWins(keys, values)`: one row per key, the latest ingest wins; or
  `History(keys, values, valid_from)`: every version of a key (valid_from / valid_to /
  is_current), ordered by ingest time or by a start time the rows carry (`valid_from`).
* `scope`: `PerDate(batch_dates, track_changes)`: each event date is rebuilt from its bronze
  partition (several dates per validation when days are small; with `track_changes` gold follows
  only dates whose silver content changed); or `Whole(silver_date)`: a small table rebuilt whole
  from all of its bronze, its silver partitioned by a prepared date column when it has one.
* `reference`: a silver table `prepare` receives (the park register for park readings); rows
  `prepare` flags in the `waiting` column stay in bronze until that table's version moves.
* `explode`: `prepare` turns one bronze record into several rows (a columnar live-data object
  into readings), numbered in the `element` column.

`series` is the completeness contract of a dated source (transforms/completeness.py): what one
series is (its key columns), the silver column of a reading's time, the cadence readings are
expected at, whether its days are local (the park's timezone, from the register) or UTC, and the
coverage under which the `series_complete` check warns.

`check_records` lets landing reject a whole file whose shape breaks the contract (with a readable
reason) before anything reaches bronze."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import polars as pl

from expectations import coin_prices as coin_suite
from expectations import customer_usage as usage_suite
from expectations import energy_prices as prices_suite
from expectations import park_readings as park_readings_suite
from expectations import parks as parks_suite
from expectations import site_configurations as site_configurations_suite
from expectations import site_live_data as site_live_data_suite
from expectations import sites as sites_suite
from expectations import solar_readings as solar_suite
from expectations.spec import Suite
from transforms import coins as coin_transforms
from transforms import history, site_shapes
from transforms import parks as parks_transforms
from transforms import sites as sites_transforms
from transforms import solar as solar_transforms
from transforms import usage as usage_transforms
from warehouse.registry import Table, table


@dataclass(frozen=True)
class LatestWins:
    """One silver row per key: the latest ingest wins."""

    keys: tuple[str, ...]
    values: tuple[str, ...]
    # Prepared columns over which rows of one file conflict when their values differ
    # (conflicting_duplicate), flagged after prepare (`Dataset.prepared`), and over each whole
    # piece of a date refined in pieces (warehouse/stages/pieces.py). None: prepare flags them.
    conflict_keys: tuple[str, ...] | None = None


@dataclass(frozen=True)
class History:
    """Every version of a key. `valid_from`: prepared column a version starts at (default: the
    ingest time); at the same start the latest ingest wins, and a version equal to the one
    before it is a re-send."""

    keys: tuple[str, ...]
    values: tuple[str, ...]
    valid_from: str | None = None


Silver = LatestWins | History


@dataclass(frozen=True)
class PerDate:
    """Each event date rebuilt on its own. `batch_dates`: dates validated and written together
    (fewer, larger commits for many small partitions). `track_changes`: compare the new silver
    of each date with the old, so gold follows only dates that changed."""

    batch_dates: int = 1
    track_changes: bool = False


@dataclass(frozen=True)
class Whole:
    """The whole table rebuilt at once. `silver_date`: prepared Date column silver and quarantine
    are partitioned by (rows carrying their own event date); else everything is undated."""

    silver_date: str | None = None


Scope = PerDate | Whole


@dataclass(frozen=True)
class Reference:
    """A silver table `prepare` needs: `select` turns its scan into the frame prepare receives.
    Rows `prepare` flags in the Boolean column `waiting` wait in bronze for it."""

    table: str
    select: Callable[[pl.LazyFrame], pl.LazyFrame]
    waiting: str


@dataclass(frozen=True)
class Explode:
    """`prepare` turns one bronze record into several rows, numbered in column `element`: a row
    is identified by (file, record, element), and a refined file's rows_read counts rows."""

    element: str


@dataclass(frozen=True)
class Series:
    """One series per distinct `key` (no key: the whole source is one series, named `all`);
    a reading every `cadence_s` seconds of `time` (None: each series' own cadence, inferred per
    day as the most common spacing of its readings). `local_days`: a day runs from local midnight
    to local midnight in the timezone of the register row of the same key (23 or 25 hours on
    clock-change days); else UTC days. `warn_below`: coverage under which a series-day warns."""

    key: tuple[str, ...]
    time: str
    cadence_s: int | None
    local_days: bool = False
    warn_below: float = 0.99


@dataclass(frozen=True)
class Dataset:
    source: str
    required_fields: tuple[str, ...]
    # Raw bronze columns -> event date (the bronze partition).
    event_date: Callable[[], pl.Expr]
    # Bronze -> typed frame with the helper columns the suite checks; with a `reference`, the
    # reference frame is the second argument. Conflicting duplicates are flagged after it where
    # `silver.conflict_keys` says how (`prepared`).
    prepare: Callable[..., pl.LazyFrame]
    suite: Suite
    silver: Silver
    scope: Scope = PerDate()
    reference: Reference | None = None
    explode: Explode | None = None
    # Raw source column -> prepared column that keeps its text, where prepare renames it.
    raw_columns: Mapping[str, str] = field(default_factory=dict)
    # Called by landing on the first chunk of a file (raw text columns): a returned text rejects
    # the whole file with that reason, before any row reaches bronze.
    check_records: Callable[[pl.DataFrame], str | None] | None = None
    # Completeness contract (dated sources only).
    series: Series | None = None

    @property
    def bronze(self) -> Table:
        return table(f"bronze.{self.source}")

    @property
    def quarantine(self) -> Table:
        return table(f"quarantine.{self.source}")

    @property
    def silver_table(self) -> Table:
        return table(f"silver.{self.source}")

    @property
    def per_date(self) -> bool:
        return isinstance(self.scope, PerDate)

    def prepared(self, bronze: pl.LazyFrame, reference: pl.LazyFrame | None = None) -> pl.LazyFrame:
        """Bronze typed by `prepare`, with its conflicting duplicates flagged."""
        frame = self.prepare(bronze) if reference is None else self.prepare(bronze, reference)
        return self.flag_conflicts(frame)

    def flag_conflicts(self, prepared: pl.LazyFrame) -> pl.LazyFrame:
        if isinstance(self.silver, LatestWins) and self.silver.conflict_keys is not None:
            return history.flag_conflicts(prepared, self.silver.conflict_keys, self.silver.values)
        return prepared

    @property
    def row_id(self) -> tuple[str, ...]:
        """Columns identifying one prepared row."""
        return ("_file_hash", "_row_number", *((self.explode.element,) if self.explode else ()))


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


COIN_RAW = _keep_raw(coin_transforms.RECORD_FIELDS)


def _prepare_coins(bronze: pl.LazyFrame) -> pl.LazyFrame:
    return coin_transforms.prepare_coins(_with_raw(bronze, COIN_RAW))


def _site_ids(sites: pl.LazyFrame) -> pl.LazyFrame:
    return sites.select("site_id")


def _shape_check(source: str) -> Callable[[pl.DataFrame], str | None]:
    return lambda frame: site_shapes.unsupported_shape_in_bronze(frame, source)


def _check_configurations(frame: pl.DataFrame) -> str | None:
    """The real producer's shape, then the contract's alternative fields (nested or flat)."""
    shape = site_shapes.unsupported_shape_in_bronze(frame, "site_configurations")
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


def _check_coin_shape(frame: pl.DataFrame) -> str | None:
    """Either shape, detected per file: records (pair, time, value) or a market snapshot."""
    shapes = (coin_transforms.RECORD_FIELDS, coin_transforms.SNAPSHOT_FIELDS)
    if any(all(c in frame.columns for c in shape) for shape in shapes):
        return None
    found = ", ".join(c for c in frame.columns if not c.startswith("_")) or "none"
    wanted = " or ".join("+".join(shape) for shape in shapes)
    return f"missing required column(s): {wanted} (found: {found})"


def undated() -> pl.Expr:
    """Event date of sources without one (registers, multi-day objects): the null partition."""
    return pl.lit(None, dtype=pl.Date)


# A too-precise row is quarantined by its own rule, not as a conflict of the row it was cut to:
# the flag is part of the conflict key of the sources that have it.
WITHIN_MICROSECONDS = "within_microseconds"

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
            silver=LatestWins(
                keys=("customer_id", "interval_start"),
                values=("interval_end", "usage_kwh"),
                conflict_keys=("customer_id", "interval_start", WITHIN_MICROSECONDS),
            ),
            series=Series(key=("customer_id",), time="interval_start", cadence_s=300),
        ),
        Dataset(
            source="energy_prices",
            required_fields=("intervalStart", "price"),
            event_date=usage_transforms.event_date,
            prepare=usage_transforms.prepare_prices,
            suite=prices_suite.SUITE,
            silver=LatestWins(
                keys=("interval_start",),
                values=("interval_end", "price_per_kwh"),
                conflict_keys=("interval_start", WITHIN_MICROSECONDS),
            ),
            series=Series(key=(), time="interval_start", cadence_s=300),
        ),
        Dataset(
            source="parks",
            required_fields=parks_transforms.PARK_SOURCE_COLUMNS,
            # The register has no event time: its rows live in the null partition.
            event_date=undated,
            prepare=parks_transforms.prepare_parks,
            suite=parks_suite.SUITE,
            silver=History(keys=("park_name",), values=("timezone", "energy_type")),
            scope=Whole(),
        ),
        Dataset(
            source="park_readings",
            required_fields=parks_transforms.READING_SOURCE_COLUMNS,
            event_date=_local_date,
            prepare=parks_transforms.prepare_park_readings,
            suite=park_readings_suite.SUITE,
            silver=LatestWins(
                keys=("park_name", "ts_utc"), values=("ts_local", "mw", "interval_minutes", "energy_type")
            ),
            # A park-day is ~96 rows: a month of days per validation keeps a year's file quick.
            scope=PerDate(batch_dates=31, track_changes=True),
            reference=Reference("silver.parks", _current_parks, waiting="awaits_park"),
            raw_columns=parks_transforms.RAW_READING_COLUMNS,
            series=Series(key=("park_name",), time="ts_utc", cadence_s=900, local_days=True),
        ),
        Dataset(
            source="sites",
            required_fields=sites_transforms.SITE_SOURCE_COLUMNS,
            event_date=undated,
            prepare=_prepare_sites,
            suite=sites_suite.SUITE,
            silver=LatestWins(keys=("site_id",), values=("name", "location")),
            scope=Whole(),
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
            silver=History(keys=("site_id",), values=sites_transforms.CONFIG_VALUE_COLUMNS, valid_from="valid_from"),
            scope=Whole(),
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
            silver=LatestWins(keys=("site_id", "dt_stamp"), values=sites_transforms.LIVE_VALUE_COLUMNS),
            scope=Whole(silver_date="_reading_date"),
            reference=Reference("silver.sites", _site_ids, waiting="awaits_site"),
            explode=Explode(element="_element_index"),
            raw_columns=LIVE_RAW,
            check_records=_shape_check("site_live_data"),
            series=Series(key=("site_id",), time="dt_stamp", cadence_s=600),
        ),
        Dataset(
            source="solar_readings",
            required_fields=solar_transforms.SOURCE_COLUMNS,
            event_date=solar_transforms.event_date,
            prepare=solar_transforms.prepare_solar,
            suite=solar_suite.SUITE,
            silver=LatestWins(
                keys=("site_id", "ts"),
                values=solar_transforms.VALUES,
                conflict_keys=("site_id", "ts", WITHIN_MICROSECONDS),
            ),
            # Sites report at their own cadence (the demo's every 3 minutes): inferred per day.
            series=Series(key=("site_id",), time="ts", cadence_s=None),
        ),
        Dataset(
            source="coin_prices",
            # Records or snapshot: checked by _check_coin_shape instead.
            required_fields=(),
            event_date=coin_transforms.event_date,
            prepare=_prepare_coins,
            suite=coin_suite.SUITE,
            silver=LatestWins(
                keys=("pair", "time"), values=("value",), conflict_keys=("pair", "time", WITHIN_MICROSECONDS)
            ),
            raw_columns=COIN_RAW,
            check_records=_check_coin_shape,
            series=Series(key=("pair",), time="time", cadence_s=60),
        ),
    )
}


def dataset(source: str) -> Dataset:
    try:
        return DATASETS[source]
    except KeyError:
        raise KeyError(f"unknown source {source!r}; known: {sorted(DATASETS)}") from None
