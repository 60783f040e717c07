"""Tests for transforms.parks and the parks / park_readings suites.

Expected values are computed independently: plain Python over the raw CSV
text of copies of real days (tests/data/real/parks), or by hand for
synthetic edge cases (DST fall-back, gaps, duplicates). Silver and the
register prepare receives are built as refine builds them: transforms.history
with the keys and values warehouse.datasets declares.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from expectations.park_readings import SUITE as READINGS_SUITE
from expectations.parks import SUITE as PARKS_SUITE
from expectations.runner import validate
from tests.conftest import REAL_DATA
from transforms import history
from transforms.parks import (
    energy_type_daily_stats,
    infer_cadence,
    park_daily_stats,
    prepare_park_readings,
    prepare_parks,
)
from warehouse.datasets import History, LatestWins, dataset

REALDATA = REAL_DATA / "parks"
PARKS = dataset("parks")
READINGS = dataset("park_readings")
T_INGEST = datetime(2024, 6, 1, 12, tzinfo=UTC)
LINEAGE = ("_source_file", "_file_hash", "_ingested_at", "_run_id", "_row_number")


# ---------------------------------------------------------------- helpers


def bronze(
    rows: Sequence[Mapping[str, str | None]],
    source_file: str,
    ingested_at: datetime = T_INGEST,
    columns: tuple[str, ...] | None = None,
) -> pl.LazyFrame:
    """A bronze frame as ingestion builds it: String source columns plus lineage."""
    if columns is None:
        columns = tuple(rows[0])
    data: dict[str, list] = {c: [r.get(c) for r in rows] for c in columns}
    frame = pl.DataFrame(data, schema={c: pl.String for c in columns})
    return frame.with_columns(
        _source_file=pl.lit(source_file),
        _file_hash=pl.lit(f"hash-{source_file}-{ingested_at.isoformat()}"),
        _ingested_at=pl.lit(ingested_at, dtype=pl.Datetime("us", "UTC")),
        _run_id=pl.lit("run-1"),
        _row_number=pl.int_range(pl.len(), dtype=pl.Int64),
    ).lazy()


def readings_file(park: str, rows: list[tuple[str, str]], ingested_at: datetime = T_INGEST) -> pl.LazyFrame:
    return bronze(
        [{"datetime": t, "MW": v} for t, v in rows],
        f"landing/park_readings/{park}.csv",
        ingested_at,
        columns=("datetime", "MW"),
    )


def current_register(valid_parks: pl.LazyFrame) -> pl.LazyFrame:
    """The register prepare receives: silver parks (the dataset's History strategy), read
    through the readings' Reference."""
    strategy = PARKS.silver
    assert isinstance(strategy, History) and strategy.valid_from is None
    versions = history.versions(valid_parks, strategy.keys, strategy.values, PARKS.row_id)
    reference = READINGS.reference
    assert reference is not None and reference.table == PARKS.silver_table.qualified
    return reference.select(versions.filter(pl.col("_fate") == history.KEPT))


def silver_of(valid: pl.LazyFrame) -> pl.LazyFrame:
    """Silver readings from valid prepared rows (the dataset's LatestWins strategy), by park and
    instant."""
    strategy = READINGS.silver
    assert isinstance(strategy, LatestWins)
    fates = history.latest_wins(valid, strategy.keys, strategy.values)
    return fates.filter(pl.col("_fate") == history.KEPT).sort("park_name", "ts_utc")


def register(*parks: tuple[str, str, str]) -> pl.LazyFrame:
    rows = [{"park_name": p, "timezone": tz, "energy_type": et} for p, tz, et in parks]
    return current_register(prepare_parks(bronze(rows, "landing/parks/parks.csv")))


AMSTERDAM_PARK = register(("Fb", "Europe/Amsterdam", "Wind"))


def grid(day: str, start: str, count: int, step: int = 15) -> list[str]:
    t0 = datetime.fromisoformat(f"{day} {start}")
    return [(t0 + timedelta(minutes=step * i)).strftime("%Y-%m-%d %H:%M:%S") for i in range(count)]


def validated(prepared: pl.LazyFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(valid rows, quarantined rows with failed_rules) of known parks."""
    frame = prepared.filter(~pl.col("awaits_park")).collect()
    result = validate(frame, READINGS_SUITE)
    frame = frame.with_columns(result.failed_rules)
    return (
        frame.filter(result.passed_mask).drop("failed_rules"),
        frame.filter(~result.passed_mask),
    )


def failed_rules_at(quarantined: pl.DataFrame, local: str) -> set[str]:
    rows = quarantined.filter(pl.col("datetime_raw") == local)["failed_rules"].to_list()
    return {rule for row in rows for rule in row}


# ------------------------------------------------------- copies of real days


def real_rows(name: str) -> list[tuple[str, str]]:
    path = REALDATA / f"{name}.csv"
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        assert next(reader) == ["datetime", "MW"]
        return [(row[0], row[1]) for row in reader]


def real_slice(name: str, days: set[str]) -> list[tuple[str, str]]:
    """Rows of the given local days, in file order (out-of-order rows stay put)."""
    return [row for row in real_rows(name) if row[0][:10] in days]


def real_register() -> pl.LazyFrame:
    path = REALDATA / "park_info.csv"
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return current_register(prepare_parks(bronze(rows, "landing/parks/park_info.csv")))


def python_daily(rows: list[tuple[str, str]]) -> dict[str, dict[str, float]]:
    """Daily sums in plain Python: 15-minute readings, MWh = MW / 4."""
    by_day: dict[str, list[float]] = defaultdict(list)
    for ts, value in rows:
        by_day[ts[:10]].append(float(value))
    return {
        day: {
            "energy_mwh": sum(values) / 4,
            "readings": len(values),
            "avg_mw": sum(values) / len(values),
            "min_mw": min(values),
            "max_mw": max(values),
            "negative_readings": sum(v < 0 for v in values),
        }
        for day, values in by_day.items()
    }


# Day lengths are facts about the zones (checked against a calendar):
# 2020-03-29 is the EU spring-forward day (23 h), 2020-10-25 fall-back (25 h).
REAL_DAYS = {
    "Netterden": ({"2020-03-12", "2020-03-29"}, {"2020-03-12": 96, "2020-03-29": 92}),
    "Bemmel": (
        {"2020-03-29", "2020-07-22", "2020-07-23", "2020-10-25"},
        {"2020-03-29": 92, "2020-07-22": 96, "2020-07-23": 96, "2020-10-25": 100},
    ),
    "Stadskanaal": (
        {"2020-03-29", "2020-07-22", "2020-07-23"},
        {"2020-03-29": 92, "2020-07-22": 96, "2020-07-23": 96},
    ),
}


@pytest.fixture(scope="module")
def real_days() -> dict[str, object]:
    slices = {name: real_slice(name, days) for name, (days, _) in REAL_DAYS.items()}
    parks = real_register()
    bronze_frames = [readings_file(name, rows) for name, rows in slices.items()]
    prepared = prepare_park_readings(pl.concat(bronze_frames), parks)
    valid, quarantined = validated(prepared)
    silver = silver_of(valid.lazy())
    daily = park_daily_stats(silver, parks).collect()
    return {
        "slices": slices,
        "prepared": prepared.collect(),
        "quarantined": quarantined,
        "silver": silver.collect(),
        "daily": daily,
        "by_type": energy_type_daily_stats(daily.lazy()).collect(),
    }


def test_real_slices_have_the_oddities_we_test(real_days: dict) -> None:
    slices = real_days["slices"]
    for name in ("Bemmel", "Stadskanaal"):
        july = [ts for ts, _ in slices[name] if ts.startswith("2020-07")]
        assert july != sorted(july), f"{name} July rows should be out of order"
    netterden = [ts for ts, _ in slices["Netterden"] if ts.startswith("2020-03-29")]
    assert "2020-03-29 01:45:00" in netterden and "2020-03-29 03:00:00" in netterden
    assert not any(ts.startswith("2020-03-29 02") for ts in netterden)


def test_real_days_pass_validation_and_reach_silver(real_days: dict) -> None:
    assert real_days["quarantined"].height == 0
    rows_in = sum(len(rows) for rows in real_days["slices"].values())
    assert real_days["prepared"].height == rows_in
    silver = real_days["silver"]
    # Every column of the silver table (event_date comes from bronze), in the registry's type.
    contract = {c: t for c, t in READINGS.silver_table.schema.items() if c != "event_date"}
    assert {c: silver.schema[c] for c in contract} == contract
    assert silver.height == rows_in
    assert silver["interval_minutes"].unique().to_list() == [15]
    for park in REAL_DAYS:
        instants = silver.filter(pl.col("park_name") == park)["ts_utc"]
        assert instants.null_count() == 0 and instants.n_unique() == instants.len()


def test_real_days_daily_stats_match_plain_python(real_days: dict) -> None:
    daily = real_days["daily"]
    checked = 0
    for park, (days, expected_readings) in REAL_DAYS.items():
        expected = python_daily(real_days["slices"][park])
        assert set(expected) == days
        for day in sorted(days):
            row = daily.filter((pl.col("park_name") == park) & (pl.col("date") == date.fromisoformat(day))).row(
                0, named=True
            )
            want = expected[day]
            assert row["readings"] == want["readings"], (park, day)
            assert row["negative_readings"] == want["negative_readings"], (park, day)
            assert row["energy_mwh"] == pytest.approx(want["energy_mwh"], abs=1e-9)
            assert row["avg_mw"] == pytest.approx(want["avg_mw"], abs=1e-12)
            assert row["min_mw"] == want["min_mw"]
            assert row["max_mw"] == want["max_mw"]
            assert row["expected_readings"] == expected_readings[day], (park, day)
            assert row["completeness"] == pytest.approx(want["readings"] / expected_readings[day])
            checked += 1
    assert checked == daily.height == 9


def test_real_days_known_values(real_days: dict) -> None:
    """A few numbers read straight off the files (see SOURCES.md)."""
    daily = real_days["daily"].with_columns(pl.col("date").cast(pl.String))

    def row(park: str, day: str) -> dict:
        return daily.filter((pl.col("park_name") == park) & (pl.col("date") == day)).row(0, named=True)

    spring = row("Netterden", "2020-03-29")
    assert (spring["readings"], spring["expected_readings"], spring["completeness"]) == (
        92,
        92,
        1.0,
    )
    assert row("Netterden", "2020-03-12")["max_mw"] == 14.184  # the file's maximum
    # Bemmel lacks 02:00-02:45 (DST) plus two more hours on the spring day.
    bemmel = row("Bemmel", "2020-03-29")
    assert (bemmel["readings"], bemmel["expected_readings"]) == (84, 92)
    assert row("Bemmel", "2020-10-25")["readings"] == 8
    assert row("Bemmel", "2020-10-25")["expected_readings"] == 100
    assert row("Bemmel", "2020-03-29")["energy_type"] == "Solar"


def test_real_days_utc_instants(real_days: dict) -> None:
    silver = real_days["silver"]

    def utc(park: str, local: str) -> datetime:
        ts_local = datetime.fromisoformat(local)
        hit = silver.filter((pl.col("park_name") == park) & (pl.col("ts_local") == ts_local))
        return hit["ts_utc"].item()

    # Amsterdam: CET (+1) before the jump, CEST (+2) after.
    assert utc("Netterden", "2020-03-29 01:45:00") == datetime(2020, 3, 29, 0, 45, tzinfo=UTC)
    assert utc("Netterden", "2020-03-29 03:00:00") == datetime(2020, 3, 29, 1, 0, tzinfo=UTC)
    # Bucharest is two hours ahead of Amsterdam.
    assert utc("Stadskanaal", "2020-07-22 12:00:00") == datetime(2020, 7, 22, 9, tzinfo=UTC)
    assert utc("Bemmel", "2020-07-22 12:00:00") == datetime(2020, 7, 22, 10, tzinfo=UTC)


def test_real_days_energy_type_rollup(real_days: dict) -> None:
    by_type = real_days["by_type"].filter(pl.col("date") == date(2020, 3, 29))
    solar = by_type.filter(pl.col("energy_type") == "Solar").row(0, named=True)
    slices = real_days["slices"]
    solar_rows = [
        float(v) for name in ("Bemmel", "Stadskanaal") for ts, v in slices[name] if ts.startswith("2020-03-29")
    ]
    assert solar["parks"] == 2
    assert solar["readings"] == len(solar_rows) == 168
    assert solar["energy_mwh"] == pytest.approx(sum(solar_rows) / 4, abs=1e-9)
    assert solar["completeness"] == pytest.approx(168 / (92 + 92))
    wind = by_type.filter(pl.col("energy_type") == "Wind").row(0, named=True)
    assert (wind["parks"], wind["readings"], wind["completeness"]) == (1, 92, 1.0)


def test_whole_netterden_file_reconciles() -> None:
    rows = real_rows("Netterden")
    parks = real_register()
    prepared = prepare_park_readings(readings_file("Netterden", rows), parks)
    valid, quarantined = validated(prepared)
    silver = silver_of(valid.lazy()).collect()
    daily = park_daily_stats(silver.lazy(), parks).collect()

    assert len(rows) == 40_504
    assert len(rows) == silver.height + quarantined.height
    assert quarantined.height == 0
    assert daily["readings"].sum() == silver.height
    assert daily["energy_mwh"].sum() == pytest.approx(sum(float(v) for _, v in rows) / 4)
    assert daily["negative_readings"].sum() == sum(float(v) < 0 for _, v in rows) == 6_319
    assert daily.height == len({ts[:10] for ts, _ in rows})
    expected = dict(zip(daily["date"].cast(pl.String), daily["expected_readings"], strict=True))
    assert expected["2020-03-29"] == expected["2021-03-28"] == 92
    assert "2020-10-25" not in expected  # the fall-back day is missing from the file
    assert set(expected.values()) == {92, 96}
    # Gaps in this file are whole days (outages are zeros), so every day present is complete.
    assert daily["completeness"].min() == 1.0


# ---------------------------------------------------------- synthetic cases


def fall_back_rows(twice: bool) -> list[tuple[str, str]]:
    """2020-10-25 in Amsterdam; MW = row index so every row is distinct."""
    times = grid("2020-10-25", "00:00", 12)  # 00:00 .. 02:45 (summer)
    if twice:
        times += grid("2020-10-25", "02:00", 4)  # 02:00 .. 02:45 (winter)
    times += grid("2020-10-25", "03:00", 84)  # 03:00 .. 23:45
    return [(t, str(i)) for i, t in enumerate(times)]


def test_fall_back_hour_twice_first_is_summer_time() -> None:
    rows = fall_back_rows(twice=True)
    valid, quarantined = validated(prepare_park_readings(readings_file("Fb", rows), AMSTERDAM_PARK))
    assert quarantined.height == 0
    silver = silver_of(valid.lazy()).collect()
    assert silver.height == 100
    # 00:00 local (CEST, +2) is 22:00 UTC the day before; then every 15 minutes.
    start = datetime(2020, 10, 24, 22, tzinfo=UTC)
    assert silver["ts_utc"].to_list() == [start + timedelta(minutes=15 * i) for i in range(100)]
    assert silver["mw"].to_list() == [float(i) for i in range(100)]
    two = silver.filter(pl.col("ts_local") == datetime(2020, 10, 25, 2))
    assert two["ts_utc"].to_list() == [
        datetime(2020, 10, 25, 0, tzinfo=UTC),
        datetime(2020, 10, 25, 1, tzinfo=UTC),
    ]
    daily = park_daily_stats(silver.lazy(), AMSTERDAM_PARK).collect().row(0, named=True)
    assert daily["expected_readings"] == daily["readings"] == 100
    assert daily["completeness"] == 1.0
    assert daily["energy_mwh"] == pytest.approx(sum(range(100)) / 4)


def test_fall_back_hour_once_is_summer_time() -> None:
    rows = fall_back_rows(twice=False)
    valid, quarantined = validated(prepare_park_readings(readings_file("Fb", rows), AMSTERDAM_PARK))
    assert quarantined.height == 0
    silver = silver_of(valid.lazy()).collect()
    at = silver.filter(pl.col("ts_local") == datetime(2020, 10, 25, 2, 30))
    assert at["ts_utc"].item() == datetime(2020, 10, 25, 0, 30, tzinfo=UTC)
    daily = park_daily_stats(silver.lazy(), AMSTERDAM_PARK).collect().row(0, named=True)
    assert (daily["readings"], daily["expected_readings"]) == (96, 100)
    assert daily["completeness"] == pytest.approx(0.96)


def test_repeated_hour_in_two_files_latest_ingest_wins_per_instant() -> None:
    first = readings_file("Fb", fall_back_rows(twice=True))
    later_rows = [(t, str(float(v) + 1000)) for t, v in fall_back_rows(twice=True)[8:16]]
    later = readings_file("Fb", later_rows, T_INGEST + timedelta(hours=1))
    valid, quarantined = validated(prepare_park_readings(pl.concat([first, later]), AMSTERDAM_PARK))
    assert quarantined.height == 0
    silver = silver_of(valid.lazy()).collect()
    assert silver.height == 100
    replaced = silver.filter(pl.col("mw") >= 1000)
    # Rows 8..15: 02:00-02:45 summer, then 02:00-02:45 winter, each replaced in place.
    assert replaced["mw"].to_list() == [float(i) + 1000 for i in range(8, 16)]
    assert replaced["ts_utc"].to_list() == [
        datetime(2020, 10, 25, 0, tzinfo=UTC) + timedelta(minutes=15 * i) for i in range(8)
    ]
    assert replaced["_ingested_at"].unique().to_list() == [T_INGEST + timedelta(hours=1)]


def test_nonexistent_local_time_is_flagged() -> None:
    rows = [
        ("2020-03-29 01:45:00", "1.0"),
        ("2020-03-29 02:30:00", "2.0"),  # clocks jump 02:00 -> 03:00
        ("2020-03-29 03:00:00", "3.0"),
    ]
    prepared = prepare_park_readings(readings_file("Fb", rows), AMSTERDAM_PARK).collect()
    flags = dict(zip(prepared["datetime_raw"], prepared["local_time_exists"], strict=True))
    assert flags == {
        "2020-03-29 01:45:00": True,
        "2020-03-29 02:30:00": False,
        "2020-03-29 03:00:00": True,
    }
    valid, quarantined = validated(prepared.lazy())
    assert failed_rules_at(quarantined, "2020-03-29 02:30:00") == {"local_time_exists"}
    assert valid.height == 2


def test_conflicting_duplicates_are_flagged_identical_ones_collapse() -> None:
    rows = [
        ("2020-06-01 10:00:00", "1.5"),
        ("2020-06-01 10:00:00", "1.7"),  # same instant, different value
        ("2020-06-01 10:15:00", "2.0"),
        ("2020-06-01 10:15:00", "2.0"),  # harmless repeat
        ("2020-06-01 10:30:00", "3.0"),
    ]
    valid, quarantined = validated(prepare_park_readings(readings_file("Fb", rows), AMSTERDAM_PARK))
    assert quarantined["datetime_raw"].to_list() == ["2020-06-01 10:00:00"] * 2
    assert failed_rules_at(quarantined, "2020-06-01 10:00:00") == {"no_conflicting_duplicate"}
    silver = silver_of(valid.lazy()).collect()
    assert silver["mw"].to_list() == [2.0, 3.0]


def test_different_values_in_two_files_are_a_correction_not_a_conflict() -> None:
    first = readings_file("Fb", [("2020-06-01 10:00:00", "1.5"), ("2020-06-01 10:15:00", "9")])
    later = readings_file("Fb", [("2020-06-01 10:00:00", "1.7")], T_INGEST + timedelta(days=1))
    valid, quarantined = validated(prepare_park_readings(pl.concat([first, later]), AMSTERDAM_PARK))
    assert quarantined.height == 0
    silver = silver_of(valid.lazy()).collect()
    assert silver["mw"].to_list() == [1.7, 9.0]
    # The correction is one reading; it keeps the park's 15-minute cadence.
    assert silver["energy_mwh"].to_list() == pytest.approx([1.7 / 4, 9.0 / 4])


def test_unknown_park_waits() -> None:
    rows = [("2020-06-01 10:00:00", "1.0"), ("2020-06-01 10:15:00", "1.0")]
    prepared = prepare_park_readings(
        pl.concat([readings_file("Fb", rows), readings_file("Newpark", rows)]),
        AMSTERDAM_PARK,
    ).collect()
    new = prepared.filter(pl.col("park_name") == "Newpark")
    assert new["park_known"].to_list() == [False, False]
    assert new["awaits_park"].to_list() == [True, True]
    assert new["ts_utc"].null_count() == 2 and new["energy_type"].null_count() == 2
    # Not judged until the park arrives, so nothing would quarantine them.
    assert new["local_time_exists"].all() and not new["conflicting_duplicate"].any()
    known = prepared.filter(pl.col("park_name") == "Fb")
    assert known["park_known"].all() and not known["awaits_park"].any()
    assert known["energy_type"].to_list() == ["Wind", "Wind"]
    # Once the register has it, the same bronze rows are picked up.
    later_register = register(("Fb", "Europe/Amsterdam", "Wind"), ("Newpark", "Asia/Tokyo", "solar"))
    again = prepare_park_readings(readings_file("Newpark", rows), later_register).collect()
    assert again["park_known"].all()
    assert again["energy_type"].to_list() == ["Solar", "Solar"]
    assert sorted(again["ts_utc"].to_list()) == [
        datetime(2020, 6, 1, 1, tzinfo=UTC),
        datetime(2020, 6, 1, 1, 15, tzinfo=UTC),
    ]


def test_cadence_ignores_gaps() -> None:
    # 15-minute data with a 2-hour hole, a missing day and a lonely last row.
    times = (
        grid("2020-06-01", "00:00", 8)
        + grid("2020-06-01", "04:00", 8)
        + grid("2020-06-03", "00:00", 4)
        + ["2020-06-03 18:00:00"]
    )
    rows = [(t, "2.0") for t in times]
    prepared = prepare_park_readings(readings_file("Fb", rows), AMSTERDAM_PARK).collect()
    assert prepared["interval_minutes"].unique().to_list() == [15]
    assert prepared["energy_mwh"].unique().to_list() == [0.5]
    # An explicit cadence overrides the inference.
    prepared = prepare_park_readings(readings_file("Fb", rows), AMSTERDAM_PARK, cadence_minutes={"Fb": 30}).collect()
    assert prepared["energy_mwh"].unique().to_list() == [1.0]


def test_infer_cadence_mode_and_ties() -> None:
    t0 = datetime(2020, 1, 1)
    offsets = {
        "hourly": [0, 60, 120, 180, 195],  # 60 x3, 15 x1
        "tie": [0, 30, 40, 70, 80],  # 30 x2, 10 x2 -> the smaller
        "single": [0],
    }
    frame = pl.LazyFrame(
        {
            "park_name": [p for p, offs in offsets.items() for _ in offs],
            "ts_local": [t0 + timedelta(minutes=m) for offs in offsets.values() for m in offs],
        }
    )
    got = dict(infer_cadence(frame).collect().iter_rows())
    assert got == {"hourly": 60, "tie": 10}


def test_parsing_and_bounds_rules() -> None:
    rows = [
        ("2020-06-01 10:00:00", "1.25"),
        ("2020-06-01T10:15:00", "-0.07"),  # ISO T, small negative: valid
        ("2020-06-01 10:30", "12"),  # no seconds
        (" 2020-06-01 10:45:00 ", " 3.0 "),
        ("2020/06/01 11:00:00", "1"),
        ("2020-06-01 11:15:00", "abc"),
        ("2020-06-01 11:30:00", ""),
        ("2020-06-01 11:45:00", "nan"),
        ("2020-06-01 12:00:00", "inf"),
        ("2020-06-01 12:15:00", "20000"),
        ("2020-06-01 12:30:00", "-5000"),
        ("2020-06-01 12:45:00", "9999.5"),
    ]
    valid, quarantined = validated(prepare_park_readings(readings_file("Fb", rows), AMSTERDAM_PARK))
    reasons = {r["datetime_raw"]: r["failed_rules"] for r in quarantined.iter_rows(named=True)}
    assert reasons == {
        "2020/06/01 11:00:00": ["ts_parseable"],
        "2020-06-01 11:15:00": ["mw_numeric"],
        "2020-06-01 11:30:00": ["mw_numeric"],
        "2020-06-01 11:45:00": ["mw_finite"],
        "2020-06-01 12:00:00": ["mw_finite", "mw_within_bounds"],
        "2020-06-01 12:15:00": ["mw_within_bounds"],
        "2020-06-01 12:30:00": ["mw_within_bounds"],
    }
    assert valid.sort("ts_local")["mw"].to_list() == [1.25, -0.07, 12.0, 3.0, 9999.5]
    assert valid["ts_local"].sort().to_list() == [
        datetime(2020, 6, 1, 10) + timedelta(minutes=15 * i) for i in (0, 1, 2, 3, 11)
    ]


def test_park_name_column_overrides_file_stem() -> None:
    rows = [
        {"park_name": "Fb", "datetime": "2020-06-01 10:00:00", "MW": "1"},
        {"park_name": " Other ", "datetime": "2020-06-01 10:00:00", "MW": "2"},
        {"park_name": "", "datetime": "2020-06-01 10:15:00", "MW": "3"},
    ]
    parks = register(("Fb", "Europe/Amsterdam", "Wind"), ("Other", "UTC", "Solar"))
    prepared = prepare_park_readings(bronze(rows, "landing/park_readings/mixed.csv"), parks)
    out = prepared.collect().sort("_row_number")
    assert out["park_name"].to_list() == ["Fb", "Other", None]
    assert out["ts_utc"].to_list()[:2] == [
        datetime(2020, 6, 1, 8, tzinfo=UTC),
        datetime(2020, 6, 1, 10, tzinfo=UTC),
    ]
    assert out["park_name_present"].to_list() == [True, True, False]
    # A nameless row cannot wait for its park: it is quarantined.
    assert out["awaits_park"].to_list() == [False, False, False]
    _, quarantined = validated(prepared)
    assert quarantined["failed_rules"].to_list() == [["park_name_present"]]


def test_missing_source_column_fails_the_dataset_rule() -> None:
    frame = bronze([{"datetime": "2020-06-01 10:00:00"}], "landing/park_readings/Fb.csv")
    prepared = prepare_park_readings(frame, AMSTERDAM_PARK).collect()
    result = validate(prepared, READINGS_SUITE)
    assert result.blocking_failures == ["required_columns_present"]


# ------------------------------------------------------------------- parks


def test_prepare_parks_types_and_flags() -> None:
    rows = [
        {"park_name": "A", "timezone": "Europe/Amsterdam", "energy_type": "wind"},
        {"park_name": "B", "timezone": " Asia/Tokyo ", "energy_type": "SOLAR"},
        {"park_name": "C", "timezone": "Mars/Olympus", "energy_type": "Wind"},
        {"park_name": "D", "timezone": "Factory", "energy_type": "Wind"},
        {"park_name": "E", "timezone": "UTC", "energy_type": "Hydro"},
        {"park_name": " ", "timezone": "UTC", "energy_type": "Wind"},
        {"park_name": "F", "timezone": "UTC", "energy_type": "Wind"},
        {"park_name": "F", "timezone": "UTC", "energy_type": "Solar"},
        {"park_name": "G", "timezone": "UTC", "energy_type": "wind"},
        {"park_name": "G", "timezone": "UTC", "energy_type": "Wind"},  # same after casing
    ]
    prepared = prepare_parks(bronze(rows, "landing/parks/p.csv")).collect()
    assert prepared["energy_type"].to_list()[:2] == ["Wind", "Solar"]
    assert prepared["timezone"][1] == "Asia/Tokyo"
    result = validate(prepared, PARKS_SUITE)
    reasons = dict(
        zip(
            prepared["_row_number"].to_list(),
            result.failed_rules.to_list(),
            strict=True,
        )
    )
    assert reasons == {
        0: [],
        1: [],
        2: ["timezone_valid"],
        3: ["timezone_valid"],
        4: ["energy_type_valid"],
        5: ["park_name_present"],
        6: ["no_conflicting_duplicate"],
        7: ["no_conflicting_duplicate"],
        8: [],
        9: [],
    }
    assert result.blocking_failures == []


def test_parks_missing_column_blocks() -> None:
    frame = bronze([{"park_name": "A", "timezone": "UTC"}], "landing/parks/p.csv")
    result = validate(prepare_parks(frame).collect(), PARKS_SUITE)
    assert result.blocking_failures == ["required_columns_present"]
    assert result.failed_rules.to_list() == [["energy_type_valid"]]


def test_later_register_file_replaces_attributes() -> None:
    first = bronze(
        [
            {"park_name": "A", "timezone": "Europe/Amsterdam", "energy_type": "Wind"},
            {"park_name": "B", "timezone": "UTC", "energy_type": "Solar"},
        ],
        "landing/parks/v1.csv",
    )
    second = bronze(
        [{"park_name": "A", "timezone": "Europe/Vienna", "energy_type": "solar"}],
        "landing/parks/v2.csv",
        T_INGEST + timedelta(days=1),
    )
    current = current_register(prepare_parks(pl.concat([second, first]))).collect()
    assert current.sort("park_name").rows() == [("A", "Europe/Vienna", "Solar"), ("B", "UTC", "Solar")]


# -------------------------------------------------------------- gold details


def test_daily_stats_by_park_local_date_and_energy_type() -> None:
    parks = register(
        ("Ams", "Europe/Amsterdam", "Wind"),
        ("Tok", "Asia/Tokyo", "Wind"),
        ("Sun", "Europe/Amsterdam", "Solar"),
    )
    # Both parks report 23:45 and 00:00 local on 2020-06-01/02: local dates
    # decide the day, not UTC.
    rows = [("2020-06-01 23:45:00", "4.0"), ("2020-06-02 00:00:00", "-0.5")]
    frames = [readings_file(p, rows) for p in ("Ams", "Tok")]
    frames.append(readings_file("Sun", [("2020-06-01 12:00:00", "8")]))
    prepared = prepare_park_readings(pl.concat(frames), parks)
    valid, quarantined = validated(prepared)
    assert quarantined.height == 0
    daily = park_daily_stats(silver_of(valid.lazy()), parks).collect()
    assert daily.select("park_name", "date", "readings", "negative_readings").rows() == [
        ("Ams", date(2020, 6, 1), 1, 0),
        ("Ams", date(2020, 6, 2), 1, 1),
        ("Sun", date(2020, 6, 1), 1, 0),
        ("Tok", date(2020, 6, 1), 1, 0),
        ("Tok", date(2020, 6, 2), 1, 1),
    ]
    assert daily["expected_readings"].unique().to_list() == [96]
    by_type = energy_type_daily_stats(daily.lazy()).collect()
    assert by_type.rows() == [
        ("Solar", date(2020, 6, 1), 1, 2.0, 1, 96, 1 / 96),
        ("Wind", date(2020, 6, 1), 2, 2.0, 2, 192, 2 / 192),
        ("Wind", date(2020, 6, 2), 2, -0.25, 2, 192, 2 / 192),
    ]


def test_bronze_helper_matches_ingest_shape() -> None:
    frame = readings_file("Fb", [("2020-06-01 10:00:00", "1")]).collect()
    assert frame.columns == ["datetime", "MW", *LINEAGE]


def test_stacked_bronze_with_and_without_park_name_column() -> None:
    named = bronze(
        [{"park_name": "Other", "datetime": "2020-06-01 10:00:00", "MW": "2"}],
        "landing/park_readings/mixed.csv",
    )
    stem = readings_file("Fb", [("2020-06-01 10:00:00", "1")])
    parks = register(("Fb", "Europe/Amsterdam", "Wind"), ("Other", "UTC", "Solar"))
    prepared = prepare_park_readings(pl.concat([named, stem], how="diagonal"), parks).collect()
    assert sorted(zip(prepared["park_name"], prepared["mw"], strict=True)) == [("Fb", 1.0), ("Other", 2.0)]
