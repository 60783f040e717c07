"""Wind and solar parks: register and readings from bronze to typed rows, and
the gold tables built from silver.

Pure Polars, LazyFrame in and out. Bronze holds every source field as raw text
plus the ingest columns ``_source_file``, ``_file_hash``, ``_ingested_at``,
``_run_id`` and ``_row_number``. Which rows of a key silver keeps is not
decided here: ``warehouse/datasets.py`` declares each source's keys, values
and strategy, and ``transforms/history.py`` applies them.

Rules (the data contract, with the choices it leaves open):

* **Park name.** A readings row belongs to the park in its ``park_name``
  column when the file has one, otherwise to the stem of ``_source_file``
  (``landing/park_readings/Bemmel.csv`` -> ``Bemmel``). A file "has" the
  column when any of its rows has a name there, so stacked bronze of files
  with and without the column works; a blank name in such a file is
  quarantined (``park_name_present``).
* **Timestamps** are naive local times in the park's timezone, written
  ``YYYY-MM-DD HH:MM:SS``; ``YYYY-MM-DDTHH:MM:SS`` and both forms without
  seconds are accepted too.
* **Unknown parks.** Readings of a park that is not (yet) in the register are
  not quarantined: ``park_known`` is false and ``awaits_park`` true, the
  caller leaves them in bronze and prepares them again once the park arrives.
  Their timezone-dependent checks are not judged (they pass) until then.
* **Nonexistent local times** (inside a spring-forward gap) have no UTC
  instant: ``ts_utc`` is null and ``local_time_exists`` false (quarantined).
* **Ambiguous local times** (the repeated hour when clocks go back). Within
  one landed file (same ``_source_file`` and ``_ingested_at``), the first
  occurrence of a park's local time (by ``_row_number``) is summer time (the
  earlier UTC instant) and every later occurrence winter time. A local time
  that occurs **once** is taken as summer time, the earlier instant; this is
  also what Python's ``zoneinfo`` does by default (``fold=0``). A file that
  carries only the winter half of the hour therefore lands one hour early;
  send both halves (or the whole day) to be exact.
* **Conflicting duplicates.** Two rows of one file for the same park and the
  same UTC instant with different MW are both quarantined
  (``conflicting_duplicate``). Identical repeats are harmless and collapse in
  silver. The two halves of a repeated hour are different instants, so they
  never conflict. Across files there is no conflict: the latest ingest wins.
* **Bounds.** ``MW_MIN <= mw <= MW_MAX`` (-1,000 to 10,000 MW). The largest
  single wind or solar parks are a few GW, so anything beyond 10 GW is a unit
  or parsing error; a park's own consumption at night is a tiny fraction of
  its capacity, so -1 GW is far beyond any real negative reading. Small
  negative values are valid: they are kept and counted per day.
* **Cadence.** ``interval_minutes`` is the park's reading cadence: the value
  given in ``cadence_minutes`` for that park, else the most common positive
  spacing between consecutive distinct local timestamps of that park in the
  frame given (ties -> the smaller spacing), else ``DEFAULT_CADENCE_MINUTES``
  (a park with a single reading). It is never the gap to the next reading, so
  gaps do not stretch intervals. ``energy_mwh = mw * interval_minutes / 60``.
* **Expected readings** per park-local day are the length of that day in the
  park's timezone divided by the cadence: 92, 96 or 100 for 15-minute data in
  a zone with daylight saving time. Daily stats take the register (for the
  timezone) as a second argument; a day only has a row when it has readings.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Mapping

import polars as pl

MW_MIN = -1_000.0
MW_MAX = 10_000.0
DEFAULT_CADENCE_MINUTES = 15
ENERGY_TYPES = ("Wind", "Solar")

PARK_SOURCE_COLUMNS = ("park_name", "timezone", "energy_type")
READING_SOURCE_COLUMNS = ("datetime", "MW")
# Where prepared readings keep the raw text of each source column.
RAW_READING_COLUMNS = {"datetime": "datetime_raw", "MW": "mw_raw"}

_TS_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
)
_TS_LOCAL = pl.Datetime("us")
_TS_UTC = pl.Datetime("us", "UTC")
# Columns that identify one landed file inside a bronze frame.
_FILE_KEY = ("_source_file", "_ingested_at")


@functools.cache
def valid_timezones() -> frozenset[str]:
    """IANA names known to both zoneinfo and Polars ("Factory" etc. are not)."""
    probe = pl.Series([0], dtype=_TS_LOCAL)
    valid = set()
    for tz in zoneinfo.available_timezones():
        try:
            probe.dt.replace_time_zone(tz)
        except Exception:  # Polars rejects a few zoneinfo files
            continue
        valid.add(tz)
    return frozenset(valid)


def _names(frame: pl.LazyFrame) -> list[str]:
    return frame.collect_schema().names()


def _text(name: str, names: list[str]) -> pl.Expr:
    """Stripped raw text of a source column; empty text and absence are null."""
    if name not in names:
        return pl.lit(None, pl.String)
    text = pl.col(name).cast(pl.String).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def _file_key(names: list[str]) -> list[str]:
    return [c for c in _FILE_KEY if c in names]


def prepare_parks(bronze: pl.LazyFrame) -> pl.LazyFrame:
    """Typed park register rows plus the helper columns the parks suite checks.

    Typed columns (replacing the raw source columns of the same name, which
    are only written when the source has them, so a missing column fails
    ``required_columns_present``): ``park_name`` and ``timezone`` (stripped),
    ``energy_type`` (``Wind``/``Solar`` from any casing; other text is kept
    as given). Helpers: ``park_name_present``, ``timezone_valid``,
    ``energy_type_valid``, ``conflicting_duplicate`` (the same park twice in
    one file with different attributes). All other columns pass through.
    """
    names = _names(bronze)
    name = _text("park_name", names)
    tz = _text("timezone", names)
    raw_type = _text("energy_type", names)
    lowered = raw_type.str.to_lowercase()
    energy = (
        pl.when(lowered == "wind")
        .then(pl.lit("Wind"))
        .when(lowered == "solar")
        .then(pl.lit("Solar"))
        .otherwise(raw_type)
    )
    typed = {"park_name": name, "timezone": tz, "energy_type": energy}
    frame = bronze.with_columns(**{col: expr for col, expr in typed.items() if col in names}).with_columns(
        park_name_present=name.is_not_null(),
        timezone_valid=tz.is_in(sorted(valid_timezones())).fill_null(False),
        energy_type_valid=energy.is_in(ENERGY_TYPES).fill_null(False),
    )
    attributes = pl.struct(tz.alias("timezone"), energy.alias("energy_type"))
    conflicting = (attributes.n_unique().over(name, *_file_key(names)) > 1) & (name.is_not_null())
    return frame.with_columns(conflicting_duplicate=conflicting.fill_null(False))


def _register(parks: pl.LazyFrame) -> pl.DataFrame:
    """One row per park with a usable timezone (the register is small)."""
    return (
        parks.select(
            pl.col("park_name").cast(pl.String),
            pl.col("timezone").cast(pl.String),
            pl.col("energy_type").cast(pl.String),
        )
        .filter(pl.col("timezone").is_in(sorted(valid_timezones())))
        .unique(subset=["park_name"], keep="last", maintain_order=True)
        .collect()
    )


def infer_cadence(readings: pl.LazyFrame) -> pl.LazyFrame:
    """Most common positive spacing in whole minutes between consecutive
    distinct ``ts_local`` values per park (ties -> the smaller spacing).

    Takes ``park_name`` and ``ts_local``; returns ``park_name``,
    ``interval_minutes``. Parks with fewer than two distinct timestamps are
    absent.
    """
    spacing = (
        readings.select("park_name", "ts_local")
        .drop_nulls()
        .unique()
        .sort("park_name", "ts_local")
        .select(
            "park_name",
            interval_minutes=(pl.col("ts_local").diff().over("park_name").dt.total_seconds() // 60),
        )
        .filter(pl.col("interval_minutes") > 0)
    )
    return (
        spacing.group_by("park_name", "interval_minutes")
        .agg(_n=pl.len())
        .sort(["park_name", "_n", "interval_minutes"], descending=[False, True, False])
        .unique(subset=["park_name"], keep="first", maintain_order=True)
        .select("park_name", pl.col("interval_minutes").cast(pl.Int64))
    )


def _parse_local(text: pl.Expr) -> pl.Expr:
    return pl.coalesce([text.str.strptime(_TS_LOCAL, fmt, strict=False) for fmt in _TS_FORMATS])


def _to_utc(frame: pl.LazyFrame, timezones: list[str], ambiguous: pl.Expr) -> pl.LazyFrame:
    """Add ``ts_utc`` from ``ts_local`` and the row's ``timezone``.

    ``replace_time_zone`` needs a literal zone, so the frame is split by
    timezone and each part converted on its own rows only.
    """

    def localise(tz: str) -> pl.Expr:
        return (
            pl.col("ts_local")
            .dt.replace_time_zone(tz, ambiguous=ambiguous, non_existent="null")
            .dt.convert_time_zone("UTC")
        )

    parts = [frame.filter(pl.col("timezone") == tz).with_columns(ts_utc=localise(tz)) for tz in timezones]
    unzoned = frame.filter(~pl.col("timezone").is_in(timezones).fill_null(False))
    parts.append(unzoned.with_columns(ts_utc=pl.lit(None, _TS_UTC)))
    return pl.concat(parts, how="vertical")


def prepare_park_readings(
    bronze: pl.LazyFrame,
    parks: pl.LazyFrame,
    cadence_minutes: Mapping[str, int] | None = None,
) -> pl.LazyFrame:
    """Typed readings plus the helper columns the readings suite checks.

    ``parks`` is the current register (``park_name``, ``timezone``,
    ``energy_type``; one row per park: the current versions of silver parks).

    Adds ``park_name``, ``ts_local`` (naive), ``mw`` (Float64), ``park_known``,
    ``awaits_park``, ``energy_type``, ``timezone``, ``ts_utc``,
    ``interval_minutes``, ``energy_mwh`` and the helpers ``park_name_present``,
    ``ts_parseable``, ``mw_numeric``, ``mw_finite``, ``local_time_exists``,
    ``conflicting_duplicate``. The raw text of ``datetime`` and ``MW`` is kept
    as ``datetime_raw`` and ``mw_raw`` (only when the source has the column, so
    a missing one fails ``required_columns_present``); GX matches column names
    case-insensitively, so ``MW`` next to ``mw`` would be read as the text.
    Ingest columns pass through; row order is not preserved. See the module
    docstring for the rules.
    """
    names = _names(bronze)
    file_key = _file_key(names)
    stem = pl.col("_source_file").str.split("/").list.last().str.replace(r"\.[^.]*$", "")
    park = stem
    if "park_name" in names:
        # Bronze of several files may be stacked with the column null-filled for
        # files that lack it: a file names its parks when any row does.
        named = _text("park_name", names)
        file_has_names = named.is_not_null().any().over(*file_key) if file_key else named.is_not_null().any()
        park = pl.when(file_has_names).then(named).otherwise(stem)
    ts_text = _text("datetime", names)
    ts_local = _parse_local(ts_text)
    mw = _text("MW", names).cast(pl.Float64, strict=False)
    # Typed columns go in first so the register join and windows use them.
    frame = bronze.with_columns(park_name=park, ts_local=ts_local, mw=mw).rename(
        {c: RAW_READING_COLUMNS[c] for c in READING_SOURCE_COLUMNS if c in names}
    )

    register = _register(parks)
    frame = frame.drop([c for c in ("timezone", "energy_type") if c in names]).join(
        register.lazy().with_columns(_known=pl.lit(True)),
        on="park_name",
        how="left",
    )

    # First occurrence of a local time in a file -> summer time; later ones
    # -> winter time (identical instant unless the time is ambiguous).
    occurrence = pl.int_range(pl.len()).over("park_name", "ts_local", *file_key, order_by="_row_number")
    ambiguous = pl.when(occurrence == 0).then(pl.lit("earliest")).otherwise(pl.lit("latest"))
    frame = _to_utc(frame, register["timezone"].unique().sort().to_list(), ambiguous)

    inferred = infer_cadence(frame).rename({"interval_minutes": "_inferred"})
    override = pl.lit(None, pl.Int64)
    if cadence_minutes:
        override = pl.col("park_name").replace_strict(dict(cadence_minutes), default=None, return_dtype=pl.Int64)
    frame = frame.join(inferred, on="park_name", how="left").with_columns(
        interval_minutes=pl.coalesce(override, pl.col("_inferred"), pl.lit(DEFAULT_CADENCE_MINUTES, pl.Int64))
    )

    known = pl.col("_known").fill_null(False)
    ts_ok = pl.col("ts_local").is_not_null()
    # Same park, file and instant (the local time when it has no instant):
    # the two halves of a repeated hour fall into different groups.
    conflicting = (pl.col("mw").n_unique().over("park_name", *file_key, "ts_local", "ts_utc") > 1) & ts_ok & known
    return frame.with_columns(
        park_known=known,
        awaits_park=~known & pl.col("park_name").is_not_null(),
        energy_mwh=pl.col("mw") * pl.col("interval_minutes") / 60.0,
        park_name_present=pl.col("park_name").is_not_null(),
        ts_parseable=ts_ok,
        mw_numeric=pl.col("mw").is_not_null(),
        # Non-numeric text is reported by mw_numeric only.
        mw_finite=pl.col("mw").is_finite().fill_null(True),
        local_time_exists=~(known & ts_ok & pl.col("ts_utc").is_null()),
        conflicting_duplicate=conflicting.fill_null(False),
    ).drop("_known", "_inferred")


def _day_minutes(days: pl.LazyFrame, timezones: list[str]) -> pl.LazyFrame:
    """Length in minutes of each (timezone, date) local day."""

    def start(offset_days: int, tz: str) -> pl.Expr:
        midnight = (pl.col("date") + pl.duration(days=offset_days)).cast(_TS_LOCAL)
        # Where clocks jump at midnight the day starts at 01:00 local.
        return pl.coalesce(
            (midnight + pl.duration(hours=h)).dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
            for h in (0, 1)
        )

    parts = [
        days.filter(pl.col("timezone") == tz).with_columns(
            _day_minutes=(start(1, tz) - start(0, tz)).dt.total_minutes()
        )
        for tz in timezones
    ]
    unzoned = days.filter(~pl.col("timezone").is_in(timezones).fill_null(False))
    parts.append(unzoned.with_columns(_day_minutes=pl.lit(None, pl.Int64)))
    return pl.concat(parts, how="vertical")


def park_daily_stats(silver: pl.LazyFrame, parks: pl.LazyFrame) -> pl.LazyFrame:
    """Per park and park-local calendar day (``date`` of ``ts_local``).

    ``parks`` is the current register; it provides the timezone for the
    length of each local day and the current ``energy_type`` (silver's value
    is the fallback). ``expected_readings`` = day length // cadence (the
    day's most common ``interval_minutes``); ``completeness`` = readings /
    expected_readings. Parks missing from the register get null expected
    readings and completeness.
    """
    register = _register(parks)
    daily = (
        silver.with_columns(date=pl.col("ts_local").dt.date())
        .group_by("park_name", "date")
        .agg(
            _silver_type=pl.col("energy_type").last(),
            energy_mwh=pl.col("energy_mwh").sum(),
            avg_mw=pl.col("mw").mean(),
            min_mw=pl.col("mw").min(),
            max_mw=pl.col("mw").max(),
            readings=pl.len().cast(pl.Int64),
            _cadence=pl.col("interval_minutes").mode().min(),
            negative_readings=(pl.col("mw") < 0).sum().cast(pl.Int64),
        )
        .join(
            register.lazy().rename({"energy_type": "_register_type"}),
            on="park_name",
            how="left",
        )
    )
    timezones = register["timezone"].unique().sort().to_list()
    expected = pl.col("_day_minutes") // pl.col("_cadence")
    return (
        _day_minutes(daily, timezones)
        .with_columns(
            energy_type=pl.coalesce("_register_type", "_silver_type"),
            expected_readings=expected.cast(pl.Int64),
        )
        .select(
            "park_name",
            "energy_type",
            "date",
            "energy_mwh",
            "avg_mw",
            "min_mw",
            "max_mw",
            "readings",
            "expected_readings",
            completeness=pl.col("readings") / pl.col("expected_readings"),
            negative_readings=pl.col("negative_readings"),
        )
        .sort("park_name", "date")
    )


def energy_type_daily_stats(park_daily: pl.LazyFrame) -> pl.LazyFrame:
    """Per energy type and park-local date, over the parks with readings.

    ``completeness`` = sum of readings / sum of expected readings of those
    parks; ``expected_readings`` is kept so the ratio can be recomputed.
    """
    return (
        park_daily.group_by("energy_type", "date")
        .agg(
            parks=pl.col("park_name").n_unique().cast(pl.Int64),
            energy_mwh=pl.col("energy_mwh").sum(),
            readings=pl.col("readings").sum(),
            expected_readings=pl.col("expected_readings").sum(),
        )
        .with_columns(completeness=pl.col("readings") / pl.col("expected_readings"))
        .sort("energy_type", "date")
    )
