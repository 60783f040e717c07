"""Tests for warehouse.generate.parks: format, DST-correct rows, plausible shapes.

Row counts per local day are recomputed independently with ``zoneinfo`` by
walking UTC in 15-minute steps.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from expectations.park_readings import SUITE as READINGS_SUITE
from expectations.parks import SUITE as PARKS_SUITE
from expectations.runner import validate
from transforms import history
from transforms.parks import park_daily_stats, prepare_park_readings, prepare_parks
from warehouse.datasets import History, LatestWins, dataset
from warehouse.generate.parks import generate_parks

START = date(2024, 3, 25)
DAYS = 14
LINE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},-?\d+\.\d{3}$")


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return dict(generate_parks(parks=4, start=START, days=DAYS, seed=7))


@pytest.fixture(scope="module")
def register(files: dict[str, bytes]) -> dict[str, dict[str, str]]:
    rows = csv.DictReader(io.StringIO(files["parks/park_info.csv"].decode()))
    return {row["park_name"]: row for row in rows}


def readings(content: bytes) -> list[tuple[str, float]]:
    lines = content.decode().splitlines()
    assert lines[0] == "datetime,MW"
    bad = [line for line in lines[1:] if not LINE.match(line)]
    assert bad == []
    return [(line[:19], float(line[20:])) for line in lines[1:]]


def expected_counts(tz: str) -> Counter[str]:
    """Rows per local date: 15-minute UTC instants whose local date is in range."""
    zone = ZoneInfo(tz)
    first, last = START, START + timedelta(days=DAYS - 1)
    instant = datetime(START.year, START.month, START.day, tzinfo=UTC) - timedelta(days=2)
    end = instant + timedelta(days=DAYS + 4)
    counts: Counter[str] = Counter()
    while instant < end:
        local_day = instant.astimezone(zone).date()
        if first <= local_day <= last:
            counts[local_day.isoformat()] += 1
        instant += timedelta(minutes=15)
    return counts


def test_files_and_register(files: dict[str, bytes], register: dict) -> None:
    assert next(iter(files)) == "parks/park_info.csv"
    assert set(files) == {"parks/park_info.csv"} | {f"park_readings/{name}.csv" for name in register}
    assert len(register) == 4
    assert {row["energy_type"] for row in register.values()} == {"Wind", "Solar"}
    for row in register.values():
        ZoneInfo(row["timezone"])  # raises for an unknown zone


def test_rows_per_local_day_follow_dst(files: dict[str, bytes], register: dict) -> None:
    seen_lengths: set[int] = set()
    for name, row in register.items():
        rows = readings(files[f"park_readings/{name}.csv"])
        got = Counter(ts[:10] for ts, _ in rows)
        assert got == expected_counts(row["timezone"]), name
        seen_lengths |= set(got.values())
    # The default window holds Europe's spring-forward and Adelaide's fall-back.
    assert seen_lengths == {92, 96, 100}


def test_dst_days_in_detail(files: dict[str, bytes], register: dict) -> None:
    assert register["Eemshaven"]["timezone"] == "Europe/Amsterdam"
    eems = [ts for ts, _ in readings(files["park_readings/Eemshaven.csv"])]
    spring = [ts[11:] for ts in eems if ts.startswith("2024-03-31")]
    assert len(spring) == 92
    assert spring[7:9] == ["01:45:00", "03:00:00"]  # 02:00-02:45 does not exist
    assert register["Bungala"]["timezone"] == "Australia/Adelaide"
    bung = [ts for ts, _ in readings(files["park_readings/Bungala.csv"])]
    fall = [ts[11:] for ts in bung if ts.startswith("2024-04-07")]
    assert len(fall) == 100
    # Clocks go back at 03:00 to 02:00: 02:00-02:45 twice, summer time first.
    quarter = ["00:00", "15:00", "30:00", "45:00"]
    assert fall[8:20] == [f"{h}:{q}" for h in ("02", "02", "03") for q in quarter]
    assert Counter(fall)["02:30:00"] == 2 and Counter(fall)["03:30:00"] == 1


def test_solar_zero_at_night_and_a_daily_bell(files: dict[str, bytes], register: dict) -> None:
    solar = [name for name, row in register.items() if row["energy_type"] == "Solar"]
    assert solar == ["Andasol", "Bungala"]
    for name in solar:
        rows = readings(files[f"park_readings/{name}.csv"])
        night = [mw for ts, mw in rows if int(ts[11:13]) in (0, 1, 2, 3, 4, 22, 23)]
        assert max(night) == 0.0 and min(night) > -0.1
        assert 0.0 in night and min(night) < 0  # exact zeros and small consumption
        by_day: dict[str, list[float]] = defaultdict(list)
        by_hour: dict[int, list[float]] = defaultdict(list)
        for ts, mw in rows:
            by_day[ts[:10]].append(mw)
            by_hour[int(ts[11:13])].append(mw)
        assert all(max(values) > 0.5 for values in by_day.values())
        # The mean day is a bell: rising all morning, falling all afternoon.
        profile = [sum(by_hour[h]) / len(by_hour[h]) for h in range(24)]
        peak = profile.index(max(profile))
        assert 11 <= peak <= 15, (name, peak)
        assert all(a < b for a, b in itertools.pairwise(profile[8 : peak + 1]))
        assert all(a > b for a, b in itertools.pairwise(profile[peak:19]))


def test_wind_is_noisy_capped_and_slightly_negative_when_idle(files: dict[str, bytes], register: dict) -> None:
    for name in ("Eemshaven", "Roscoe"):
        assert register[name]["energy_type"] == "Wind"
        values = [mw for _, mw in readings(files[f"park_readings/{name}.csv"])]
        capacity = max(values)
        assert 20 <= capacity <= 60
        assert len(set(values)) > len(values) / 3
        steps = [abs(b - a) for a, b in itertools.pairwise(values)]
        assert sum(steps) / len(steps) > 0.005 * capacity  # not a smooth curve
        negatives = [v for v in values if v < 0]
        assert negatives and min(negatives) > -0.01 * capacity
        # Weather swings: daily means differ.
        daily = [sum(values[i : i + 96]) / 96 for i in range(0, len(values) - 96, 96)]
        assert max(daily) - min(daily) > 0.2 * capacity


def test_generated_files_go_through_the_pipeline_cleanly(files: dict[str, bytes]) -> None:
    def bronze(path: str, content: bytes) -> pl.LazyFrame:
        frame = pl.read_csv(io.BytesIO(content), infer_schema=False)
        return frame.with_columns(
            _source_file=pl.lit(f"landing/{path}"),
            _file_hash=pl.lit("h"),
            _ingested_at=pl.lit(datetime(2024, 5, 1, tzinfo=UTC), dtype=pl.Datetime("us", "UTC")),
            _run_id=pl.lit("r"),
            _row_number=pl.int_range(pl.len(), dtype=pl.Int64),
        ).lazy()

    parks = prepare_parks(bronze("parks/park_info.csv", files["parks/park_info.csv"])).collect()
    assert validate(parks, PARKS_SUITE).quarantined_count == 0
    # The register and silver as refine builds them, from the strategies the datasets declare.
    parks_ds, readings_ds = dataset("parks"), dataset("park_readings")
    assert isinstance(parks_ds.silver, History) and readings_ds.reference is not None
    versions = history.versions(parks.lazy(), parks_ds.silver.keys, parks_ds.silver.values, parks_ds.row_id)
    register = readings_ds.reference.select(versions.filter(pl.col("_fate") == history.KEPT))
    frames = [bronze(p, c) for p, c in files.items() if p.startswith("park_readings/")]
    prepared = prepare_park_readings(pl.concat(frames), register).collect()
    result = validate(prepared, READINGS_SUITE)
    assert result.quarantined_count == 0 and result.blocking_failures == []
    assert isinstance(readings_ds.silver, LatestWins)
    fates = history.latest_wins(prepared.lazy(), readings_ds.silver.keys, readings_ds.silver.values)
    silver = fates.filter(pl.col("_fate") == history.KEPT)
    daily = park_daily_stats(silver, register).collect()
    assert daily.height == 4 * DAYS
    assert daily["completeness"].unique().to_list() == [1.0]
    assert sorted(daily["expected_readings"].unique().to_list()) == [92, 96, 100]


def test_deterministic_per_seed_and_more_parks_than_templates() -> None:
    a = dict(generate_parks(parks=2, start=START, days=1, seed=1))
    b = dict(generate_parks(parks=2, start=START, days=1, seed=1))
    c = dict(generate_parks(parks=2, start=START, days=1, seed=2))
    assert a == b
    assert a["park_readings/Eemshaven.csv"] != c["park_readings/Eemshaven.csv"]
    many = dict(generate_parks(parks=10, start=START, days=1))
    names = [row["park_name"] for row in csv.DictReader(io.StringIO(many["parks/park_info.csv"].decode()))]
    assert len(names) == len(set(names)) == 10
    assert len(many) == 11
