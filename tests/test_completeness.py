"""Completeness and gaps per series and day, against counts made here in plain Python: a grid of
the slots a cadence expects (zoneinfo for local days), the set of instants a file holds, and the
runs of slots missing from it. On generated usage and prices with holes made on purpose, a late
file that fills them, and the real park CSVs (whose own holes and DST days are kept)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from click.testing import CliRunner

from orchestration.cli import main
from tests.builders import DAY, prices_json, read, ts, usage_csv
from tests.conftest import REAL_DATA, Drop
from transforms.completeness import coverage, gaps, inferred_cadence, series_readings
from warehouse.lake import Lake
from warehouse.stages import gold_completeness
from warehouse.stages.pipeline import process_pending

UTC = dt.UTC


def grid(start: dt.datetime, end: dt.datetime, step: dt.timedelta) -> list[dt.datetime]:
    slots, t = [], start
    while t < end:
        slots.append(t)
        t += step
    return slots


def expected_rows(
    present: set[dt.datetime], start: dt.datetime, end: dt.datetime, step: dt.timedelta
) -> tuple[dict, list[tuple[dt.datetime, dt.datetime, int]]]:
    """(expected, present, missing) and each run of missing slots, counted slot by slot."""
    slots = grid(start, end, step)
    have = [s in present for s in slots]
    runs: list[tuple[dt.datetime, dt.datetime, int]] = []
    for slot, ok in zip(slots, have, strict=True):
        if ok:
            continue
        if runs and runs[-1][1] == slot:
            runs[-1] = (runs[-1][0], slot + step, runs[-1][2] + 1)
        else:
            runs.append((slot, slot + step, 1))
    counts = {"expected": len(slots), "present": sum(have), "missing": len(slots) - sum(have)}
    return counts, runs


def completeness_of(lake: Lake, source: str) -> dict[tuple[str, dt.date], dict]:
    frame = read(lake, "gold.completeness").filter(source=source)
    return {(r["series"], r["date"]): r for r in frame.iter_rows(named=True)}


def gaps_of(lake: Lake, source: str, series: str, date: dt.date) -> list[tuple[dt.datetime, dt.datetime, int]]:
    frame = read(lake, "gold.gaps").filter(source=source, series=series, date=date).sort("gap_start")
    return [(r["gap_start"], r["gap_end"], r["missing"]) for r in frame.iter_rows(named=True)]


def test_transform_counts_a_dst_day_and_infers_a_cadence() -> None:
    amsterdam = ZoneInfo("Europe/Amsterdam")
    day = dt.date(2024, 3, 31)  # 23 hours
    start = dt.datetime(2024, 3, 31, tzinfo=amsterdam).astimezone(UTC)
    end = dt.datetime(2024, 4, 1, tzinfo=amsterdam).astimezone(UTC)
    slots = grid(start, end, dt.timedelta(minutes=15))
    kept = [s for i, s in enumerate(slots) if i not in (0, 1, 40, 41, 42, len(slots) - 1)]
    silver = pl.LazyFrame({"park_name": ["P"] * len(kept), "ts_utc": kept, "event_date": [day] * len(kept)})
    zones = pl.LazyFrame({"park_name": ["P"], "timezone": ["Europe/Amsterdam"]})
    rows = series_readings(silver, ("park_name",), "ts_utc", 900, zones=zones)
    [got] = coverage(rows).collect().iter_rows(named=True)
    want, runs = expected_rows(set(kept), start, end, dt.timedelta(minutes=15))
    assert want["expected"] == 92
    assert {k: got[k] for k in want} == want
    assert got["coverage"] == pytest.approx(want["present"] / 92)
    assert [(r["gap_start"], r["gap_end"], r["missing"]) for r in gaps(rows).collect().iter_rows(named=True)] == runs

    # A series without a declared cadence: the most common spacing of the day (3 minutes here).
    three = [dt.datetime(2024, 6, 1, tzinfo=UTC) + dt.timedelta(minutes=3 * i) for i in range(100)]
    sparse = three[:50] + three[51:]  # one hole: one 6-minute spacing among 3-minute ones
    solar = pl.LazyFrame({"site_id": [7] * 99, "ts": sparse, "event_date": [dt.date(2024, 6, 1)] * 99})
    rows = series_readings(solar, ("site_id",), "ts", None)
    assert inferred_cadence(rows).collect()["cadence_s"].to_list() == [180]
    [got] = coverage(rows).collect().iter_rows(named=True)
    assert (got["series"], got["expected"], got["present"], got["missing"]) == ("7", 480, 99, 381)


USAGE_STEP = dt.timedelta(minutes=5)
DAY0 = dt.datetime.fromisoformat(DAY).replace(tzinfo=UTC)
DATE = DAY0.date()


def usage_rows(customer: int, minutes: list[int]) -> list[tuple]:
    return [(customer, ts(m), ts(m + 5), 0.5) for m in minutes]


def test_holes_in_usage_and_prices_then_a_late_file_closes_them(lake: Lake, drop: Drop) -> None:
    all_day = list(range(0, 24 * 60, 5))
    holes = set(range(60, 75, 5)) | set(range(600, 630, 5)) | {1430, 1435}  # 01:00-01:15, 10:00-10:30, last 10 min
    one = [m for m in all_day if m not in holes]
    two = all_day[:12]  # customer 2 reports only its first hour
    drop("customer_usage", "u.csv", usage_csv(usage_rows(1, one) + usage_rows(2, two)))
    price_minutes = [m for m in all_day if m not in range(300, 320, 5)]
    drop("energy_prices", "p.json", prices_json([(m, m + 5, 0.2) for m in price_minutes]))
    process_pending(lake)

    usage = completeness_of(lake, "customer_usage")
    end = DAY0 + dt.timedelta(days=1)
    for series, minutes in (("1", one), ("2", two)):
        present = {DAY0 + dt.timedelta(minutes=m) for m in minutes}
        want, runs = expected_rows(present, DAY0, end, USAGE_STEP)
        got = usage[(series, DATE)]
        assert {k: got[k] for k in want} == want, series
        assert got["coverage"] == pytest.approx(want["present"] / 288)
        assert got["cadence_seconds"] == 300
        assert (got["first"], got["last"]) == (min(present), max(present))
        assert gaps_of(lake, "customer_usage", series, DATE) == runs, series
    assert usage[("1", DATE)]["missing"] == 11 and usage[("2", DATE)]["present"] == 12
    prices = completeness_of(lake, "energy_prices")[("all", DATE)]
    assert (prices["expected"], prices["present"], prices["missing"]) == (288, 284, 4)
    assert gaps_of(lake, "energy_prices", "all", DATE) == [
        (DAY0 + dt.timedelta(hours=5), DAY0 + dt.timedelta(minutes=320), 4)
    ]
    warned = gold_completeness.below(lake, [DATE])
    assert set(zip(warned["source"], warned["series"], strict=True)) == {
        ("customer_usage", "1"),
        ("customer_usage", "2"),
        ("energy_prices", "all"),
    }

    # The same through `gridlake gaps`: a summary, the series-days with gaps, each gap.
    cli = CliRunner()
    out = cli.invoke(main, ["gaps", "customer_usage", "--lake", lake.root, "--format", "csv"])
    assert out.exit_code == 0, out.output
    listed = pl.read_csv(out.output.encode())
    assert listed["series"].cast(pl.String).to_list() == ["1", "2"] and listed["missing"].to_list() == [11, 276]
    out = cli.invoke(
        main, ["gaps", "customer_usage", "--lake", lake.root, "--series", "1", "--date", DAY], env={"COLUMNS": "120"}
    )
    assert out.exit_code == 0, out.output
    assert out.output.splitlines()[0] == (
        "customer_usage: 1 series-days, 1 with gaps; 11 of 288 expected readings missing (96.2 % present)"
    )
    assert "2020-08-05 10:00:00+00:00   2020-08-05 10:30:00+00:00         6" in out.output
    refused = cli.invoke(main, ["gaps", "hourly_usage", "--lake", lake.root])
    assert refused.exit_code == 2 and "no completeness contract for 'hourly_usage'" in refused.output

    # The missing readings arrive in a later file: the date is rebuilt and customer 1 is whole.
    drop("customer_usage", "late.csv", usage_csv(usage_rows(1, sorted(holes))))
    report = process_pending(lake)
    assert report.gold_dates("completeness") == [DATE]
    after = completeness_of(lake, "customer_usage")
    assert (after[("1", DATE)]["present"], after[("1", DATE)]["coverage"]) == (288, 1.0)
    assert gaps_of(lake, "customer_usage", "1", DATE) == []
    assert after[("2", DATE)] == usage[("2", DATE)]  # untouched series keep their numbers
    still = gold_completeness.below(lake, [DATE]).filter(source="customer_usage")["series"].to_list()
    assert still == ["2"]


REAL = REAL_DATA / "parks"
# Local days of the real files with their own holes: a late start, spring forward (with two
# missing hours besides the one that does not exist), a day that stops early on fall back, and
# the day after it.
REAL_DAYS = ("2020-01-01", "2020-03-29", "2020-06-10", "2020-10-25", "2020-10-26")
ZONES = {"Stadskanaal": "Europe/Bucharest", "Bemmel": "Europe/Vienna"}


def real_instants(park: str) -> dict[str, set[dt.datetime]]:
    """The UTC instants of a park file's lines, per local day (naive local times, first fold)."""
    zone = ZoneInfo(ZONES[park])
    out: dict[str, set[dt.datetime]] = {d: set() for d in REAL_DAYS}
    for line in (REAL / f"{park}.csv").read_text().splitlines()[1:]:
        if line[:10] in out:
            local = dt.datetime.fromisoformat(line.split(",")[0]).replace(tzinfo=zone)
            out[line[:10]].add(local.astimezone(UTC))
    return out


def test_real_park_files_completeness_and_gaps_by_local_day(lake: Lake, drop: Drop) -> None:
    drop("parks", "park_info.csv", (REAL / "park_info.csv").read_bytes())
    for park in ZONES:
        lines = (REAL / f"{park}.csv").read_text().splitlines()
        kept = [lines[0], *(line for line in lines[1:] if line[:10] in REAL_DAYS)]
        drop("park_readings", f"{park}.csv", ("\n".join(kept) + "\n").encode())
    process_pending(lake)

    got = completeness_of(lake, "park_readings")
    checked = 0
    for park, zone in ZONES.items():
        for day, present in real_instants(park).items():
            date = dt.date.fromisoformat(day)
            start = dt.datetime.combine(date, dt.time(), ZoneInfo(zone)).astimezone(UTC)
            end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(), ZoneInfo(zone)).astimezone(UTC)
            want, runs = expected_rows(present, start, end, dt.timedelta(minutes=15))
            row = got[(park, date)]
            assert {k: row[k] for k in want} == want, (park, day)
            assert gaps_of(lake, "park_readings", park, date) == runs, (park, day)
            checked += 1
    assert checked == 10
    # The days the real files are short on, as counted above.
    assert (
        got[("Stadskanaal", dt.date(2020, 3, 29))]["expected"],
        got[("Stadskanaal", dt.date(2020, 3, 29))]["present"],
    ) == (92, 84)
    assert got[("Stadskanaal", dt.date(2020, 10, 25))]["expected"] == 100
    assert got[("Bemmel", dt.date(2020, 6, 10))]["coverage"] == 1.0


def test_dates_are_read_in_chunks_within_the_row_budget() -> None:
    d = [dt.date(2020, 1, i) for i in range(1, 7)]
    rows = {d[0]: 40, d[1]: 50, d[2]: 20, d[3]: 150, d[4]: 10, d[5]: 90}
    # 40+50 fit 100, +20 would not; 150 is over the budget alone; 10+90 fit exactly.
    assert gold_completeness.chunks(list(reversed(d)), rows, 100) == [[d[0], d[1]], [d[2]], [d[3]], [d[4], d[5]]]
