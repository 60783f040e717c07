"""Parks through the spine on a local lake, on copies of the real files in tests/data/real/parks.

Expected values are computed here with plain Python over the raw CSV lines (sums, counts) and
zoneinfo (length of a local day), independently of the Polars transforms."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from tests.conftest import REAL_DATA, Drop
from warehouse import catalog, delta
from warehouse.lake import Lake
from warehouse.registry import table
from warehouse.stages import land
from warehouse.stages.pipeline import process_pending

REAL = REAL_DATA / "parks"
DOCS = Path(__file__).parents[1] / "docs" / "parks.md"
TIMEZONES = {"Netterden": "Europe/Amsterdam", "Bemmel": "Europe/Vienna", "Stadskanaal": "Europe/Bucharest"}
SPRING_FORWARD = "2020-03-29"
NORMAL_DAY = "2020-06-10"


def real_lines(park: str, days: tuple[str, ...] | None = None) -> list[str]:
    """Data lines of a real readings file (no header), optionally only the given local days."""
    lines = (REAL / f"{park}.csv").read_text().splitlines()[1:]
    return [line for line in lines if line and (days is None or line[:10] in days)]


def csv(lines: list[str]) -> bytes:
    return ("\n".join(["datetime,MW", *lines]) + "\n").encode()


def day_minutes(day: str, tz: str) -> int:
    start = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), ZoneInfo(tz))
    end = start + dt.timedelta(days=1)  # wall-clock midnight of the next day
    return int((end.astimezone(dt.UTC) - start.astimezone(dt.UTC)).total_seconds() // 60)


def expected_stats(lines: list[str], day: str, tz: str) -> dict:
    mw = [float(line.split(",")[1]) for line in lines if line.startswith(day)]
    expected = day_minutes(day, tz) // 15
    return {
        "energy_mwh": sum(mw) * 15 / 60,
        "readings": len(mw),
        "expected_readings": expected,
        "completeness": len(mw) / expected,
        "negative_readings": sum(v < 0 for v in mw),
        "min_mw": min(mw),
        "max_mw": max(mw),
    }


def read(lake: Lake, name: str) -> pl.DataFrame:
    return delta.scan(lake, table(name)).collect()


def daily(lake: Lake) -> dict[tuple[str, str], dict]:
    return {
        (r["park_name"], r["date"].isoformat()): r for r in read(lake, "gold.park_daily_stats").iter_rows(named=True)
    }


def assert_reconciles(lake: Lake) -> None:
    """Every row read is quarantined, a duplicate, superseded, waiting or in silver."""
    log = land.ingest_log(lake).filter(pl.col("source").is_in(["parks", "park_readings"]), status="refined")
    counts = read(lake, "ops.file_counts").group_by("file_hash").agg(pl.col("in_silver").sum())
    joined = log.join(counts, on="file_hash", how="left")
    for r in joined.iter_rows(named=True):
        parts = r["rows_quarantined"] + r["rows_duplicate"] + r["rows_superseded"] + r["rows_waiting"]
        assert r["rows_read"] == parts + r["in_silver"], r["path"]
    for source in ("parks", "park_readings"):
        in_silver = joined.filter(source=source)["in_silver"].sum()
        assert in_silver == read(lake, f"silver.{source}").height


def test_real_days_energy_counts_and_completeness(lake: Lake, drop: Drop) -> None:
    days = (SPRING_FORWARD, NORMAL_DAY)
    netterden = real_lines("Netterden", days)
    bemmel = real_lines("Bemmel", (NORMAL_DAY,))
    drop("parks", "park_info.csv", (REAL / "park_info.csv").read_bytes())
    drop("park_readings", "Netterden.csv", csv(netterden))
    drop("park_readings", "Bemmel.csv", csv(bemmel))
    report = process_pending(lake)
    assert report.gold_dates("park_stats") == [dt.date(2020, 3, 29), dt.date(2020, 6, 10)]

    stats = daily(lake)
    for park, lines, day in (
        ("Netterden", netterden, SPRING_FORWARD),
        ("Netterden", netterden, NORMAL_DAY),
        ("Bemmel", bemmel, NORMAL_DAY),
    ):
        want = expected_stats(lines, day, TIMEZONES[park])
        got = stats[(park, day)]
        for name, value in want.items():
            assert got[name] == pytest.approx(value), (park, day, name)
    assert stats[("Netterden", SPRING_FORWARD)]["readings"] == 92
    assert stats[("Netterden", SPRING_FORWARD)]["expected_readings"] == 92
    assert stats[("Netterden", NORMAL_DAY)]["expected_readings"] == 96
    assert stats[("Bemmel", NORMAL_DAY)]["energy_type"] == "Solar"

    types = {
        (r["energy_type"], r["date"].isoformat()): r
        for r in read(lake, "gold.energy_type_daily_stats").rows(named=True)
    }
    solar = types[("Solar", NORMAL_DAY)]
    assert (solar["parks"], solar["readings"]) == (1, 96)
    assert solar["energy_mwh"] == pytest.approx(expected_stats(bemmel, NORMAL_DAY, "Europe/Vienna")["energy_mwh"])
    assert ("Solar", SPRING_FORWARD) not in types

    silver = read(lake, "silver.park_readings").filter(park_name="Netterden", event_date=dt.date(2020, 3, 29))
    # 02:00-02:45 does not exist on the spring-forward day: the file skips from 01:45 to 03:00.
    assert silver.sort("ts_utc")["ts_utc"].diff().drop_nulls().unique().to_list() == [dt.timedelta(minutes=15)]
    assert set(silver["interval_minutes"]) == {15}
    assert read(lake, "silver.parks").filter("is_current").height == 5
    assert_reconciles(lake)


def test_readings_wait_for_their_park_then_flow_through(lake: Lake, drop: Drop) -> None:
    lines = real_lines("Netterden", (NORMAL_DAY,))
    drop("park_readings", "Netterden.csv", csv(lines))
    drop("park_readings", "Nowhere.csv", csv(["2020-06-10 00:00:00,1.5", "2020-06-10 00:15:00,2.5"]))
    process_pending(lake)
    log = {Path(r["path"]).name: r for r in land.ingest_log(lake, "park_readings").iter_rows(named=True)}
    assert (log["Netterden.csv"]["status"], log["Netterden.csv"]["rows_waiting"]) == ("refined", 96)
    assert log["Nowhere.csv"]["rows_waiting"] == 2
    assert read(lake, "silver.park_readings").is_empty()
    assert read(lake, "quarantine.park_readings").is_empty()
    assert read(lake, "gold.park_daily_stats").is_empty()
    assert_reconciles(lake)

    drop("parks", "register.csv", b"park_name,timezone,energy_type\nNetterden,Europe/Amsterdam,wind\n")
    report = process_pending(lake)
    assert report.gold_dates("park_stats") == [dt.date(2020, 6, 10)]
    log = {Path(r["path"]).name: r for r in land.ingest_log(lake, "park_readings").iter_rows(named=True)}
    assert (log["Netterden.csv"]["rows_waiting"], log["Netterden.csv"]["rows_valid"]) == (0, 96)
    assert log["Nowhere.csv"]["rows_waiting"] == 2  # still no such park
    got = daily(lake)[("Netterden", NORMAL_DAY)]
    want = expected_stats(lines, NORMAL_DAY, "Europe/Amsterdam")
    assert (got["energy_type"], got["readings"]) == ("Wind", 96)
    assert got["energy_mwh"] == pytest.approx(want["energy_mwh"])
    assert_reconciles(lake)

    # Nothing moved since: the waiting rows are not refined again.
    assert "park_readings" not in process_pending(lake).refined


def test_bad_readings_are_quarantined_with_their_raw_text(lake: Lake, drop: Drop) -> None:
    drop("parks", "park_info.csv", b"park_name,timezone,energy_type\nNetterden,Europe/Amsterdam,Wind\n")
    rows = [
        "2020-03-29 01:45:00,1.0",  # fine
        "2020-03-29 02:30:00,2.0",  # inside the spring-forward gap
        "2020-03-29 03:00:00,abc",
        "2020-03-29 03:15:00,20000",
        "yesterday,1.0",
        "2020-03-29 03:30:00,-0.5",  # small negative: kept
        "2020-03-29 03:45:00,4.0",
        "2020-03-29 03:45:00,5.0",  # same instant, other value, same file
    ]
    drop("park_readings", "Netterden.csv", csv(rows))
    process_pending(lake)
    q = {r["datetime"]: r for r in read(lake, "quarantine.park_readings").iter_rows(named=True)}
    assert q["2020-03-29 02:30:00"]["failed_rules"] == ["local_time_exists"]
    assert (q["2020-03-29 03:00:00"]["MW"], q["2020-03-29 03:00:00"]["failed_rules"]) == ("abc", ["mw_numeric"])
    assert q["2020-03-29 03:15:00"]["failed_rules"] == ["mw_within_bounds"]
    assert q["yesterday"]["failed_rules"] == ["ts_parseable"]
    assert q["yesterday"]["event_date"] is None
    conflicting = read(lake, "quarantine.park_readings").filter(datetime="2020-03-29 03:45:00")
    assert sorted(conflicting["MW"]) == ["4.0", "5.0"]
    assert set(conflicting["failed_rules"].list.first()) == {"no_conflicting_duplicate"}
    silver = read(lake, "silver.park_readings").sort("ts_utc")
    assert silver["mw"].to_list() == [1.0, -0.5]
    assert daily(lake)[("Netterden", SPRING_FORWARD)]["negative_readings"] == 1
    log = land.ingest_log(lake, "park_readings").row(0, named=True)
    assert (log["rows_read"], log["rows_quarantined"], log["rows_valid"]) == (8, 6, 2)
    assert_reconciles(lake)


def test_register_keeps_history_of_changes(lake: Lake, drop: Drop) -> None:
    drop("parks", "a.csv", b"park_name,timezone,energy_type\nA,Europe/Amsterdam,Wind\nB,Europe/Vienna,Solar\n")
    process_pending(lake)
    drop("parks", "b.csv", b"park_name,timezone,energy_type\nA,Europe/Amsterdam,Solar\nB,Europe/Vienna,SOLAR\n")
    process_pending(lake)
    parks = read(lake, "silver.parks").sort("park_name", "valid_from")
    a = parks.filter(park_name="A")
    assert a["energy_type"].to_list() == ["Wind", "Solar"]
    assert a["is_current"].to_list() == [False, True]
    assert a["valid_to"][0] == a["valid_from"][1]
    assert parks.filter(park_name="B").height == 1  # same attributes again: no new version
    b_file = land.ingest_log(lake, "parks").filter(pl.col("path").str.ends_with("b.csv")).row(0, named=True)
    assert (b_file["rows_read"], b_file["rows_duplicate"]) == (2, 1)
    assert_reconciles(lake)


def test_redrop_with_corrected_values_replaces_and_recomputes_only_that_day(lake: Lake, drop: Drop) -> None:
    days = ("2020-06-10", "2020-06-11")
    lines = real_lines("Netterden", days)
    drop("parks", "park_info.csv", (REAL / "park_info.csv").read_bytes())
    drop("park_readings", "Netterden.csv", csv(lines))
    process_pending(lake)
    before = daily(lake)

    fixed = list(lines)
    index = next(i for i, line in enumerate(fixed) if line.startswith("2020-06-11 12:00"))
    old_mw = float(fixed[index].split(",")[1])
    fixed[index] = "2020-06-11 12:00:00,25.5"
    drop("park_readings", "Netterden.csv", csv(fixed))  # the same name, new content
    report = process_pending(lake)

    assert report.gold_dates("park_stats") == [dt.date(2020, 6, 11)]  # 06-10 came again unchanged
    after = daily(lake)
    assert after[("Netterden", "2020-06-10")] == before[("Netterden", "2020-06-10")]
    want = expected_stats(fixed, "2020-06-11", "Europe/Amsterdam")["energy_mwh"]
    assert after[("Netterden", "2020-06-11")]["energy_mwh"] == pytest.approx(want)
    assert want == pytest.approx(before[("Netterden", "2020-06-11")]["energy_mwh"] + (25.5 - old_mw) / 4)
    silver = read(lake, "silver.park_readings")
    assert silver.height == len(lines)
    noon = silver.filter(pl.col("ts_local") == dt.datetime(2020, 6, 11, 12))
    assert noon["mw"].to_list() == [25.5]

    log = land.ingest_log(lake, "park_readings").sort("landed_at")
    first, second = log.rows(named=True)
    assert (first["rows_superseded"], first["rows_duplicate"]) == (1, len(lines) - 1)
    assert (second["rows_valid"], second["rows_superseded"]) == (len(lines), 0)
    assert_reconciles(lake)


def doc_queries() -> list[str]:
    return re.findall(r'gridlake sql "([^"]+)"', DOCS.read_text())


def test_documented_queries_run_through_the_catalog(lake: Lake, drop: Drop) -> None:
    drop("parks", "park_info.csv", (REAL / "park_info.csv").read_bytes())
    drop("park_readings", "Netterden.csv", csv(real_lines("Netterden", (SPRING_FORWARD, NORMAL_DAY))))
    drop("park_readings", "Stadskanaal.csv", csv(real_lines("Stadskanaal", (NORMAL_DAY,))))
    process_pending(lake)
    catalog.publish(lake)
    queries = doc_queries()
    assert len(queries) == 4
    parks, readings, park_stats, type_stats = (catalog.query(lake, q) for q in queries)
    assert parks["park_name"].to_list() == sorted(TIMEZONES | {"Windskanaal": "", "Zwartenbergseweg": ""})
    assert readings.height == 92  # Netterden on the spring-forward day
    assert readings["energy_mwh"].sum() == pytest.approx(
        expected_stats(real_lines("Netterden", (SPRING_FORWARD,)), SPRING_FORWARD, "Europe/Amsterdam")["energy_mwh"]
    )
    assert set(zip(park_stats["park_name"], park_stats["readings"], strict=True)) == {
        ("Netterden", 92),
        ("Netterden", 96),
        ("Stadskanaal", 96),
    }
    assert set(type_stats["energy_type"]) == {"Wind", "Solar"}


@pytest.mark.e2e
def test_all_real_park_files_ingest_with_nothing_lost(lake: Lake, drop: Drop) -> None:
    """The whole real data set (about 104,000 readings, ~15 s): the slowest test of this file."""
    drop("parks", "park_info.csv", (REAL / "park_info.csv").read_bytes())
    lines = {park: real_lines(park) for park in TIMEZONES}
    for park in TIMEZONES:
        drop("park_readings", f"{park}.csv", (REAL / f"{park}.csv").read_bytes())
    process_pending(lake)

    log = land.ingest_log(lake, "park_readings")
    assert set(log["status"]) == {"refined"}
    by_name = {Path(r["path"]).stem: r for r in log.iter_rows(named=True)}
    for park, data in lines.items():
        assert by_name[park]["rows_read"] == len(data)
    assert_reconciles(lake)

    silver = read(lake, "silver.park_readings")
    quarantine = read(lake, "quarantine.park_readings")
    distinct = sum(len({line.split(",")[0] for line in data}) for data in lines.values())
    assert silver.height + quarantine.height == distinct
    gold = read(lake, "gold.park_daily_stats")
    assert gold["readings"].sum() == silver.height
    for park, data in lines.items():
        energy = sum(float(line.split(",")[1]) for line in data) / 4
        assert gold.filter(park_name=park)["energy_mwh"].sum() == pytest.approx(energy, rel=1e-9)
        assert gold.filter(park_name=park)["negative_readings"].sum() == sum(
            float(line.split(",")[1]) < 0 for line in data
        )
    netterden = {r["date"].isoformat(): r for r in gold.filter(park_name="Netterden").iter_rows(named=True)}
    assert (netterden["2020-03-29"]["readings"], netterden["2020-03-29"]["expected_readings"]) == (92, 92)
    assert (netterden["2021-03-28"]["readings"], netterden["2021-03-28"]["expected_readings"]) == (92, 92)
    assert "2020-10-25" not in netterden  # the file has no fall-back day (October stops on the 28th)
    # A fall-back day lasts 25 hours in Vienna: 100 readings expected, whatever was sent.
    bemmel = gold.filter(park_name="Bemmel", date=dt.date(2020, 10, 25)).row(0, named=True)
    sent = sum(line.startswith("2020-10-25") for line in lines["Bemmel"])
    assert (bemmel["readings"], bemmel["expected_readings"]) == (sent, 100)
