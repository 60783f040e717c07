"""Battery sites: register, configurations and 10-minute live data from bronze to typed rows, and
the gold tables built from silver.

Pure Polars, LazyFrame in and out (the producer's unsupported shapes are recognised in
``transforms/site_shapes.py``). Bronze holds every top-level JSON field as text: scalars as
their JSON text with strings unquoted (``1`` -> ``"1"``, ``"Tesla"`` -> ``"Tesla"``), objects and
arrays as compact JSON text, plus the ingest columns ``_source_file``, ``_file_hash``,
``_ingested_at``, ``_run_id`` and ``_row_number``. Which rows of a key silver keeps is not
decided here: ``warehouse/datasets.py`` declares each source's keys, values and strategy, and
``transforms/history.py`` applies them.

Rules (the data contract, with the choices it leaves open):

* **Site ids** are text. ``1``, ``"1"``, ``"001"`` and ``1.0`` are the same site ``"1"``; any
  other text is kept as sent (stripped), so 128-bit ids stay exact. A blank id, or an array or
  object where the id should be, is no id.
* **Configurations** come nested (``id`` + ``battery{}`` + ``production{pv,bio,cro}``) or flat
  (``site`` + ``battery_*`` + ``production_*_units/_kwp``), numbers as JSON numbers or numeric
  strings. ``site`` wins over ``id`` when a record has both (a flat record may carry its own
  ``id``). Vendor is matched case-insensitively and written ``Tesla``/``KATL``. Units must be
  given for all three production types (0 when there is none); kwp is optional, but must be a
  number when given. ``valid_from`` is ISO-8601 (naive = UTC) or a date; absent, the ingest time.
* **Live data** is one columnar object per site (an array per field, parallel), or row-oriented
  records (one scalar per field); both can share a file. A columnar object whose fields are not
  all flat arrays of one common, non-zero length is rejected as a whole: each of its rows carries
  ``array_length_error``, e.g. ``arrays differ in length: dt-stamp=2, soc=3, ...``.
* **Timestamps.** ``dt-stamp`` is ``YYYY-MM-DD HH:MM:SS`` (``T`` separator and fractions
  accepted). A naive stamp is UTC; a ``Z`` or numeric offset is honoured and converted to UTC.
* **Notifications** must be JSON booleans. Inside an array the JSON type is known, so ``"true"``
  (a string), ``1`` and ``null`` are rejected. For row-oriented records bronze has already
  unquoted strings, so there ``"true"`` and ``true`` cannot be told apart and both are accepted;
  ``1``/``0`` are still rejected.
* **Numbers** (soc, loads, capacities) may be JSON numbers or numeric strings. ``NaN`` and
  infinities survive parsing so that the suites reject them.
* **Unknown sites** are not an error: ``site_known`` (when a sites frame is given) is false and
  the caller leaves the rows waiting in bronze until the site arrives.
* **Conflicting duplicates.** Within one landed file, two records for the same key (site; site
  and ``valid_from``; site and ``dt_stamp``) with different values are both quarantined
  (``conflicting_duplicate``). Identical repeats are harmless. Across files the latest ingest
  wins in silver; configurations keep every version, ordered by ``valid_from``.
* **Daily statistics** use UTC days; the battery vendor and capacity of a day are the
  configuration in force at the end of that day (the last instant before the next midnight).
* **The real producer shape** is rejected, not ingested: records
  are wrapped in an object keyed by position (``{"live_data": {"1": {...}}}``), the live data
  uses a ``"dt - stamp"`` key and ``03/05/2023, 21:37:00`` stamps whose day/month order cannot
  be known, and its two readings share one timestamp with different values. Guessing would
  silently put readings on the wrong day. All three files are rejected, not only the live data:
  the wrapper is the same contract breach in each, and a producer is better told once, for every
  file, than half-ingested. ``transforms/site_shapes.py`` gives the specific error for the whole
  file.
  Should such a file reach the transforms anyway, nothing of it passes: the required columns
  are missing (``required_columns_present`` fails, naming the columns the file has instead) and
  every row fails ``site_id_present``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import polars as pl

from transforms.ids import normalise_id

UTC = pl.Datetime("us", "UTC")
VENDORS = ("Tesla", "KATL")
PRODUCTION_TYPES = ("pv", "bio", "cro")
NOTIFICATIONS = ("pv_notification", "bio_notification", "cro_notification")

SITE_SOURCE_COLUMNS = ("id", "name", "location")
LIVE_ARRAY_FIELDS = ("dt-stamp", "soc", "load_kwh", "net_load_kwh", *NOTIFICATIONS)
LIVE_SOURCE_COLUMNS = ("site_id", *LIVE_ARRAY_FIELDS)
_FLAT_BATTERY = ("battery_vendor", "battery_capacity_kwh", "battery_max_power_kw")
_FLAT_UNITS = tuple(f"production_{t}_units" for t in PRODUCTION_TYPES)
_FLAT_KWP = tuple(f"production_{t}_kwp" for t in PRODUCTION_TYPES)
CONFIG_SOURCE_COLUMNS = ("id", "site", "battery", "production", "valid_from", *_FLAT_BATTERY, *_FLAT_UNITS, *_FLAT_KWP)

CONFIG_VALUE_COLUMNS = (
    "battery_vendor",
    "battery_capacity_kwh",
    "battery_max_power_kw",
    *(f"production_{t}_{m}" for t in PRODUCTION_TYPES for m in ("units", "kwp")),
)
LIVE_VALUE_COLUMNS = ("soc", "load_kwh", "net_load_kwh", *NOTIFICATIONS)
SITE_COLUMNS = ("site_id", "name", "location")

# Columns that identify one landed file inside a bronze frame.
_FILE_KEY = ("_source_file", "_ingested_at")

# JSON string literals (captured content) and the non-standard number literals Python's json
# writes for NaN and infinities. Both are rewritten into strings that start with _MARK, so that
# after decoding a List(String) an element still says whether it was a JSON string.
_MARK = "\x1f"
_STRING_OR_SPECIAL = r'"((?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*)"|(NaN|-?Infinity)'
_SCALAR = r'(?:""|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)'
# A flat JSON array once every string literal has been replaced by "": decoding it as
# List(String) can then never fail, whatever a producer sent.
_FLAT_ARRAY = rf"^\[\s*(?:{_SCALAR}\s*(?:,\s*{_SCALAR}\s*)*)?\]$"
_ZONED_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%#z"
_NAIVE_FORMAT = "%Y-%m-%dT%H:%M:%S%.f"


# --------------------------------------------------------------------------- shared helpers


def _names(frame: pl.LazyFrame) -> list[str]:
    return frame.collect_schema().names()


def _raw(name: str, names: Sequence[str]) -> pl.Expr:
    """Raw text of a source column, or null when the file has no such column."""
    if name not in names:
        return pl.lit(None, pl.String)
    return pl.col(name).cast(pl.String)


def _text(name: str, names: Sequence[str]) -> pl.Expr:
    """Stripped raw text; blank text and absence are null."""
    return _blank_to_null(_raw(name, names).str.strip_chars())


def _blank_to_null(text: pl.Expr) -> pl.Expr:
    return pl.when(text == "").then(None).otherwise(text)


def _number(text: pl.Expr) -> pl.Expr:
    # Non-numeric text (including JSON booleans) becomes null; "NaN"/"Infinity" stay NaN/inf.
    return text.str.strip_chars().cast(pl.Float64, strict=False)


def _file_key(names: Sequence[str]) -> list[str]:
    return [c for c in _FILE_KEY if c in names]


def normalise_site_id(text: pl.Expr) -> pl.Expr:
    """Canonical site id text: the one id rule of transforms/ids.py."""
    return normalise_id(text)


def parse_timestamp(text: pl.Expr, *, allow_date: bool = False) -> pl.Expr:
    """``YYYY-MM-DD[ T]HH:MM:SS[.f][Z|+HH:MM]`` as UTC; naive text is UTC. Null if unparseable."""
    t = text.str.strip_chars().str.replace(r"^(\d{4}-\d{2}-\d{2}) ", "${1}T")
    attempts = [
        t.str.strptime(UTC, _ZONED_FORMAT, strict=False),
        t.str.strptime(pl.Datetime("us"), _NAIVE_FORMAT, strict=False).dt.replace_time_zone("UTC"),
    ]
    if allow_date:
        attempts.append(
            t.str.strptime(pl.Date, "%Y-%m-%d", strict=False).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        )
    return pl.coalesce(attempts)


def similar_column(column: str, names: Iterable[str]) -> str | None:
    """A column spelled differently (case, spaces, punctuation) from a required one."""
    key = re.sub(r"[^a-z0-9]", "", column.lower())
    for name in names:
        if name != column and re.sub(r"[^a-z0-9]", "", name.lower()) == key:
            return name
    return None


def _missing_columns(names: Sequence[str], groups: Sequence[Sequence[Sequence[str]]]) -> str | None:
    """Readable list of required columns the frame lacks, or None.

    Each group is satisfied when every column of any one of its alternatives is present.
    """
    source = [n for n in names if not n.startswith("_")]
    missing = []
    for alternatives in groups:
        if any(all(c in names for c in alt) for alt in alternatives):
            continue
        if len(alternatives) > 1:
            missing.append(" or ".join("+".join(alt) for alt in alternatives))
            continue
        for column in (c for c in alternatives[0] if c not in names):
            found = similar_column(column, source)
            missing.append(f"{column} (found {found!r})" if found else column)
    if not missing:
        return None
    found_text = ", ".join(source) if source else "none"
    return f"missing required columns: {', '.join(missing)}; the file has: {found_text}"


def _with_site_known(frame: pl.LazyFrame, sites: pl.LazyFrame | None) -> pl.LazyFrame:
    if sites is None:
        return frame
    known = sites.select(pl.col("site_id").cast(pl.String)).drop_nulls().unique().with_columns(site_known=pl.lit(True))
    return frame.join(known, on="site_id", how="left", maintain_order="left").with_columns(
        pl.col("site_known").fill_null(False)
    )


# --------------------------------------------------------------------------- sites


def prepare_sites(bronze: pl.LazyFrame) -> pl.LazyFrame:
    """Typed site register rows plus the helper columns the sites suite checks.

    Adds ``site_id`` (from ``id``, see :func:`normalise_site_id`); ``name`` and ``location``
    are replaced by their stripped text (null when blank). Helpers (never null):
    ``site_id_present``, ``name_not_empty``, ``location_not_empty``, ``conflicting_duplicate``
    (the same site twice in one file with a different name or location) and
    ``missing_columns`` (text naming absent required columns, else null). Other columns pass
    through.
    """
    names = _names(bronze)
    site_id = normalise_site_id(_raw("id", names))
    frame = bronze.with_columns(
        site_id=site_id,
        name=_text("name", names),
        location=_text("location", names),
        missing_columns=pl.lit(_missing_columns(names, [[("id",)], [("name",)], [("location",)]]), pl.String),
    ).with_columns(
        site_id_present=pl.col("site_id").is_not_null(),
        name_not_empty=pl.col("name").is_not_null(),
        location_not_empty=pl.col("location").is_not_null(),
    )
    attributes = pl.struct("name", "location")
    conflicting = (attributes.n_unique().over("site_id", *_file_key(names)) > 1) & pl.col("site_id").is_not_null()
    return frame.with_columns(conflicting_duplicate=conflicting.fill_null(False))


# --------------------------------------------------------------------------- configurations


def prepare_site_configurations(bronze: pl.LazyFrame, sites: pl.LazyFrame | None = None) -> pl.LazyFrame:
    """Typed configuration rows (nested or flat form) plus the helper columns its suite checks.

    Adds ``site_id``, ``battery_vendor``, ``battery_capacity_kwh``, ``battery_max_power_kw``,
    ``production_{pv,bio,cro}_{units,kwp}`` (Float64; units are checked to be whole) and
    ``valid_from`` (UTC; the ingest time when absent, null when given but unparseable); flat
    source columns of the same names are replaced. Helpers: ``units_whole_numbers``,
    ``production_kwp_numeric`` (every kwp given is a number), ``conflicting_duplicate``,
    ``missing_columns`` and, when ``sites`` is given, ``site_known`` (not a quarantine rule).
    """
    names = _names(bronze)
    battery = _raw("battery", names)
    production = _raw("production", names)

    def pick(nested: pl.Expr, path: str, flat: str) -> pl.Expr:
        # json_path_match yields null (never an error) for malformed or differently shaped JSON.
        return pl.coalesce(_blank_to_null(nested.str.json_path_match(path).str.strip_chars()), _text(flat, names))

    vendor_text = pick(battery, "$.vendor", "battery_vendor")
    lowered = vendor_text.str.to_lowercase()
    vendor = (
        pl.when(lowered == "tesla")
        .then(pl.lit("Tesla"))
        .when(lowered == "katl")
        .then(pl.lit("KATL"))
        .otherwise(vendor_text)
    )

    typed: dict[str, pl.Expr] = {
        "site_id": normalise_site_id(pl.coalesce(_text("site", names), _text("id", names))),
        "battery_vendor": vendor,
        "battery_capacity_kwh": _number(pick(battery, "$.capacity_kwh", "battery_capacity_kwh")),
        "battery_max_power_kw": _number(pick(battery, "$.max_power_kw", "battery_max_power_kw")),
    }
    kwp_given = []
    for t in PRODUCTION_TYPES:
        for measure in ("units", "kwp"):
            column = f"production_{t}_{measure}"
            text = pick(production, f"$.{t}.{measure}", column)
            typed[column] = _number(text)
            if measure == "kwp":
                kwp_given.append(text.is_null() | _number(text).is_not_null())

    valid_from_text = _text("valid_from", names)
    ingested = pl.col("_ingested_at").cast(UTC) if "_ingested_at" in names else pl.lit(None, UTC)
    typed["valid_from"] = (
        pl.when(valid_from_text.is_null()).then(ingested).otherwise(parse_timestamp(valid_from_text, allow_date=True))
    )
    groups: list[list[Sequence[str]]] = [
        [("site",), ("id",)],
        [("battery",), _FLAT_BATTERY],
        [("production",), _FLAT_UNITS],
    ]
    units = [pl.col(f"production_{t}_units") for t in PRODUCTION_TYPES]
    frame = bronze.with_columns(
        **typed, missing_columns=pl.lit(_missing_columns(names, groups), pl.String)
    ).with_columns(
        units_whole_numbers=pl.all_horizontal(
            [(u.is_null() | u.is_nan() | (u == u.floor())).fill_null(True) for u in units]
        ),
        production_kwp_numeric=pl.all_horizontal(kwp_given).fill_null(True),
    )
    values = pl.struct(list(CONFIG_VALUE_COLUMNS))
    conflicting = (values.n_unique().over("site_id", "valid_from", *_file_key(names)) > 1) & pl.col(
        "site_id"
    ).is_not_null()
    frame = frame.with_columns(conflicting_duplicate=conflicting.fill_null(False))
    return _with_site_known(frame, sites)


# --------------------------------------------------------------------------- live data


def _array_parts(raw: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(is_array, is_flat_array, decoded List(String) with JSON strings marked by _MARK)."""
    stripped = raw.str.strip_chars()
    is_array = stripped.str.starts_with("[").fill_null(False)
    flat = is_array & stripped.str.replace_all(_STRING_OR_SPECIAL, '""').str.contains(_FLAT_ARRAY)
    marked = stripped.str.replace_all(_STRING_OR_SPECIAL, '"\\u001f${1}${2}"')
    decoded = pl.when(flat).then(marked).otherwise(None).str.json_decode(pl.List(pl.String))
    return is_array, flat.fill_null(False), decoded


def _length_error(raws: dict[str, pl.Expr], flats: dict[str, pl.Expr], lengths: dict[str, pl.Expr]) -> pl.Expr:
    """Readable reason a columnar object is rejected, or null when its arrays line up."""
    fields = list(raws)
    all_flat = pl.all_horizontal([flats[f] for f in fields])
    longest = pl.max_horizontal([lengths[f] for f in fields])
    shortest = pl.min_horizontal([lengths[f] for f in fields])
    ok = all_flat & (longest == shortest) & (longest > 0)
    detail = pl.concat_str(
        [
            pl.lit(f"{f}=")
            + pl.when(raws[f].is_null())
            .then(pl.lit("missing"))
            .when(~raws[f].str.strip_chars().str.starts_with("["))
            .then(pl.lit("not an array"))
            .when(~flats[f])
            .then(pl.lit("not a flat array of JSON values"))
            .otherwise(lengths[f].cast(pl.String))
            for f in fields
        ],
        separator=", ",
    )
    prefix = (
        pl.when(all_flat & (longest == 0))
        .then(pl.lit("arrays are empty: "))
        .when(all_flat)
        .then(pl.lit("arrays differ in length: "))
        .otherwise(pl.lit("every field of a columnar object must be an array of one length: "))
    )
    return pl.when(ok).then(None).otherwise(prefix + detail)


def _element_json(value: pl.Expr) -> pl.Expr:
    """The JSON text of an exploded element (strings quoted again, so "true" != true)."""
    text = value.str.strip_prefix(_MARK)
    escaped = text.str.replace_all("\\", "\\\\", literal=True).str.replace_all('"', '\\"', literal=True)
    return pl.when(value.str.starts_with(_MARK)).then('"' + escaped + '"').otherwise(value)


def explode_site_live_data(bronze: pl.LazyFrame, sites: pl.LazyFrame | None = None) -> pl.LazyFrame:
    """One typed row per reading from columnar objects and row-oriented records.

    Output: ``site_id``, ``dt_stamp`` (UTC), ``soc``, ``load_kwh``, ``net_load_kwh`` (Float64),
    the three notifications (Boolean; null unless a JSON boolean), the element's JSON text in
    ``<field>_raw`` (``site_id_raw``, ``dt_stamp_raw``, ``soc_raw``, ...), ``_element_index``
    (position in the object's arrays; 0 for row-oriented records), the helpers
    ``array_length_error``, ``conflicting_duplicate``, ``missing_columns`` and, when ``sites``
    is given, ``site_known``. Ingest columns (``_*``) pass through; the wide source columns are
    dropped. Rows keep the bronze order, elements in array order.
    """
    names = _names(bronze)
    raws = {f: _raw(f, names) for f in LIVE_ARRAY_FIELDS}
    parts = {f: _array_parts(raws[f]) for f in LIVE_ARRAY_FIELDS}
    flats = {f: parts[f][1] for f in LIVE_ARRAY_FIELDS}
    lengths = {f: parts[f][2].list.len() for f in LIVE_ARRAY_FIELDS}
    columnar = pl.any_horizontal([parts[f][0] for f in LIVE_ARRAY_FIELDS])
    longest = pl.max_horizontal([lengths[f] for f in LIVE_ARRAY_FIELDS]).fill_null(0)
    count = pl.when(columnar).then(pl.max_horizontal(longest, 1)).otherwise(1)
    positions = pl.int_ranges(0, pl.col("_n"))
    empty = pl.lit([], pl.List(pl.String))
    elements = {
        f: pl.when(pl.col("_columnar"))
        .then(parts[f][2].fill_null(empty))
        .otherwise(pl.concat_list(raws[f]))
        .list.gather(positions, null_on_oob=True)
        for f in LIVE_ARRAY_FIELDS
    }
    keep = [c for c in names if c.startswith("_") and c not in LIVE_ARRAY_FIELDS]
    element_cols = [f"_e_{f}" for f in LIVE_ARRAY_FIELDS]
    exploded = (
        bronze.with_columns(_columnar=columnar, _n=count)
        .select(
            *keep,
            site_id_raw=_raw("site_id", names),
            array_length_error=pl.when(pl.col("_columnar")).then(_length_error(raws, flats, lengths)).otherwise(None),
            _element_index=positions,
            **{f"_e_{f}": elements[f] for f in LIVE_ARRAY_FIELDS},
        )
        .explode(["_element_index", *element_cols])
    )

    def value(field: str) -> pl.Expr:
        return pl.col(f"_e_{field}").str.strip_prefix(_MARK)

    def boolean(field: str) -> pl.Expr:
        element = pl.col(f"_e_{field}")
        return pl.when(element.is_in(["true", "false"])).then(element == "true").otherwise(None)

    typed = exploded.with_columns(
        site_id=normalise_site_id(pl.col("site_id_raw")),
        dt_stamp=parse_timestamp(value("dt-stamp")),
        soc=_number(value("soc")),
        load_kwh=_number(value("load_kwh")),
        net_load_kwh=_number(value("net_load_kwh")),
        **{n: boolean(n) for n in NOTIFICATIONS},
        **{f"{f.replace('-', '_')}_raw": _element_json(pl.col(f"_e_{f}")) for f in LIVE_ARRAY_FIELDS},
        _element_index=pl.col("_element_index").cast(pl.Int64),
        missing_columns=pl.lit(_missing_columns(names, [[(c,)] for c in LIVE_SOURCE_COLUMNS]), pl.String),
    ).drop(element_cols)
    key_ok = pl.col("site_id").is_not_null() & pl.col("dt_stamp").is_not_null()
    conflicting = (
        pl.struct(list(LIVE_VALUE_COLUMNS)).n_unique().over("site_id", "dt_stamp", *_file_key(names)) > 1
    ) & key_ok
    frame = typed.with_columns(conflicting_duplicate=conflicting.fill_null(False))
    return _with_site_known(frame, sites)


# --------------------------------------------------------------------------- gold


def site_latest(sites: pl.LazyFrame, configs: pl.LazyFrame, live: pl.LazyFrame) -> pl.LazyFrame:
    """One row per site with a live reading: its latest reading, register entry and current
    configuration (null fields when the site has none), plus ``configuration_valid_from``.

    ``sites`` is silver sites, ``configs`` the configuration history (``is_current``), ``live``
    silver live data."""
    latest = (
        live.select("site_id", "dt_stamp", *LIVE_VALUE_COLUMNS)
        .sort("site_id", "dt_stamp")
        .unique(subset=["site_id"], keep="last", maintain_order=True)
    )
    current = configs.filter(pl.col("is_current")).select(
        "site_id", *CONFIG_VALUE_COLUMNS, pl.col("valid_from").alias("configuration_valid_from")
    )
    register = sites.select(SITE_COLUMNS)
    return (
        latest.join(register, on="site_id", how="left")
        .join(current, on="site_id", how="left")
        .select(
            *SITE_COLUMNS,
            "dt_stamp",
            *LIVE_VALUE_COLUMNS,
            *CONFIG_VALUE_COLUMNS,
            "configuration_valid_from",
        )
        .sort("site_id")
    )


def site_daily_stats(live: pl.LazyFrame, configs: pl.LazyFrame) -> pl.LazyFrame:
    """Per site and UTC day: reading count, soc min/avg/max, load and net load sums,
    notification counts, and the battery vendor and capacity in force at the end of the day."""
    daily = (
        live.with_columns(date=pl.col("dt_stamp").dt.date())
        .group_by("site_id", "date")
        .agg(
            readings=pl.len().cast(pl.Int64),
            soc_min=pl.col("soc").min(),
            soc_avg=pl.col("soc").mean(),
            soc_max=pl.col("soc").max(),
            load_kwh=pl.col("load_kwh").sum(),
            net_load_kwh=pl.col("net_load_kwh").sum(),
            **{n.replace("_notification", "_notifications"): pl.col(n).sum().cast(pl.Int64) for n in NOTIFICATIONS},
        )
        .with_columns(
            _day_end=pl.col("date").cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
            + pl.duration(days=1, microseconds=-1)
        )
        .sort("_day_end")
    )
    versions = configs.select("site_id", pl.col("valid_from").cast(UTC), "battery_vendor", "battery_capacity_kwh").sort(
        "valid_from"
    )
    return (
        # Both sides are sorted on the key above; Polars cannot verify that within "by" groups.
        daily.join_asof(
            versions,
            left_on="_day_end",
            right_on="valid_from",
            by="site_id",
            strategy="backward",
            check_sortedness=False,
        )
        .drop("_day_end", "valid_from")
        .sort("site_id", "date")
    )
