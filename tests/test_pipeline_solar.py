"""Solar generation batches through the spine on a local lake: quarantine rules, anomalies kept
as data, daily sums by hand, the site-range anomaly against numpy, and gold against an
independent computation over generated batches with re-drops and corrections."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import defaultdict
from typing import Any

import numpy as np
import polars as pl
import pytest

from tests.conftest import Drop
from transforms import solar
from warehouse import delta
from warehouse.generate.solar import batches
from warehouse.lake import Lake
from warehouse.registry import table
from warehouse.stages import land
from warehouse.stages.pipeline import process_pending

UTC = dt.UTC


def read(lake: Lake, name: str) -> pl.DataFrame:
    return delta.scan(lake, table(name)).collect()


def rec(site: Any, ts: Any, gen: Any, cons: Any) -> dict[str, Any]:
    return {"site_id": site, "timestamp": ts, "energy_generated_kwh": gen, "energy_consumed_kwh": cons}


def js(records: list[dict[str, Any]]) -> bytes:
    return json.dumps(records).encode()


def test_each_bad_kind_is_quarantined_with_its_rule_and_the_file_reconciles(lake: Lake, drop: Drop) -> None:
    good = rec("SITE_001", "2025-06-01T12:00:00Z", 151.2, 88.4)
    bad = {
        "no-site": (rec(None, "2025-06-01T12:05:00Z", 1, 1), ["site_id_present"]),
        "empty-site": (rec("", "2025-06-01T12:05:00Z", 1, 1), ["site_id_present"]),
        "bad-time": (rec("SITE_002", "noon", 1, 1), ["timestamp_parseable"]),
        "no-generated": (rec("SITE_003", "2025-06-01T12:05:00Z", None, 1), ["generated_numeric"]),
        "text-consumed": (rec("SITE_004", "2025-06-01T12:05:00Z", 1, "lots"), ["consumed_numeric"]),
        "nan": (rec("SITE_005", "2025-06-01T12:05:00Z", "NaN", 1), ["generated_numeric"]),
        "inf": (rec("SITE_006", "2025-06-01T12:05:00Z", 1, "inf"), ["consumed_within_bounds"]),
        "too-big": (rec("SITE_007", "2025-06-01T12:05:00Z", 10_001, 1), ["generated_within_bounds"]),
    }
    conflict = [rec("SITE_008", "2025-06-01T12:10:00Z", 5, 1), rec("SITE_008", "2025-06-01T12:10:00Z", 6, 1)]
    records = [good, *(r for r, _ in bad.values()), *conflict]
    drop("solar_readings", "batch_20250601_120000.json", js(records))
    process_pending(lake)

    silver = read(lake, "silver.solar_readings")
    assert silver.select("site_id", "generated_kwh", "consumed_kwh", "net_kwh").rows() == [
        ("SITE_001", 151.2, 88.4, pytest.approx(62.8))
    ]
    quarantine = read(lake, "quarantine.solar_readings").sort("_row_number")
    got = dict(zip(quarantine["_row_number"].to_list(), quarantine["failed_rules"].to_list(), strict=True))
    expected = {i + 1: rules for i, (_, rules) in enumerate(bad.values())}
    expected |= {len(bad) + 1: ["no_conflicting_duplicate"], len(bad) + 2: ["no_conflicting_duplicate"]}
    assert got == expected
    log = land.ingest_log(lake, "solar_readings").row(0, named=True)
    assert (log["rows_read"], log["rows_valid"], log["rows_quarantined"]) == (len(records), 1, len(records) - 1)


def test_negative_values_are_anomalies_in_silver_and_gold_and_daily_sums_by_hand(lake: Lake, drop: Drop) -> None:
    records = [
        rec("SITE_001", "2025-06-01T10:00:00Z", 100.0, 40.0),
        rec("SITE_001", "2025-06-01T10:05:00", 120.5, 45.5),  # naive: UTC
        rec("SITE_001", "2025-06-01T12:10:00+02:00", -3.0, 41.0),  # 10:10 UTC; negative generation
        rec("SITE_001", "2025-06-01T10:15:00Z", 80.0, -2.0),  # negative consumption
        rec("SITE_001", "2025-06-02T01:00:00+02:00", 0.0, 30.0),  # 23:00 UTC on the 1st
        rec("SITE_002", "2025-06-01T10:00:00Z", 50.0, 10.0),
    ]
    drop("solar_readings", "batch_20250601_100000.json", js(records))
    process_pending(lake)

    silver = read(lake, "silver.solar_readings").sort("site_id", "ts")
    flagged = silver.filter("is_anomaly").select("ts", "anomaly_reasons").rows()
    assert flagged == [
        (dt.datetime(2025, 6, 1, 10, 10, tzinfo=UTC), ["negative_generation"]),
        (dt.datetime(2025, 6, 1, 10, 15, tzinfo=UTC), ["negative_consumption"]),
    ]
    daily = {r["site_id"]: r for r in read(lake, "gold.solar_site_daily").iter_rows(named=True)}
    one = daily["SITE_001"]
    assert (one["date"], one["readings"], one["anomalies"]) == (dt.date(2025, 6, 1), 5, 2)
    assert one["generated_kwh"] == pytest.approx(100.0 + 120.5 + 0.0)
    assert one["consumed_kwh"] == pytest.approx(40.0 + 45.5 + 30.0)
    assert one["net_kwh"] == pytest.approx(220.5 - 115.5)
    assert (one["first_ts"], one["last_ts"]) == (
        dt.datetime(2025, 6, 1, 10, 0, tzinfo=UTC),
        dt.datetime(2025, 6, 1, 23, 0, tzinfo=UTC),
    )
    assert (daily["SITE_002"]["readings"], daily["SITE_002"]["net_kwh"]) == (1, 40.0)
    anomalies = read(lake, "gold.solar_anomalies").sort("ts")
    assert anomalies.select("site_id", "generated_kwh", "consumed_kwh").rows() == [
        ("SITE_001", -3.0, 41.0),
        ("SITE_001", 80.0, -2.0),
    ]

    # Rebuilding the date (a new reading arrives) keeps when each anomaly was first detected.
    first_seen = anomalies["detected_at"].to_list()
    drop("solar_readings", "batch_20250601_103000.json", js([rec("SITE_002", "2025-06-01T10:30:00Z", 1.0, 1.0)]))
    process_pending(lake)
    assert read(lake, "gold.solar_anomalies").sort("ts")["detected_at"].to_list() == first_seen
    assert read(lake, "gold.solar_site_daily").filter(site_id="SITE_002")["readings"].item() == 2


def test_generation_above_the_sites_own_range_is_flagged_against_numpy(lake: Lake, drop: Drop) -> None:
    rng = np.random.default_rng(7)
    start = dt.datetime(2025, 6, 1, tzinfo=UTC)
    history = []
    for day in range(solar.RANGE_DAYS):
        for k in range(30):  # 30 readings a day: 210 in the window, above the minimum of 100
            ts = start + dt.timedelta(days=day, hours=8, minutes=10 * k)
            history.append(rec("SITE_001", ts.isoformat(), round(float(rng.uniform(50, 100)), 3), 10.0))
    drop("solar_readings", "history.json", js(history))
    values = np.array([r["energy_generated_kwh"] for r in history])
    threshold = float(np.quantile(values, solar.RANGE_QUANTILE, method="linear")) * solar.RANGE_FACTOR
    day8 = start + dt.timedelta(days=solar.RANGE_DAYS, hours=12)
    probe = [
        rec("SITE_001", day8.isoformat(), round(threshold + 0.01, 3), 10.0),
        rec("SITE_001", (day8 + dt.timedelta(minutes=5)).isoformat(), round(threshold - 0.01, 3), 10.0),
        rec("SITE_002", day8.isoformat(), 10_000 - 1, 10.0),  # no history: never judged
    ]
    drop("solar_readings", "probe.json", js(probe))
    process_pending(lake)

    found = read(lake, "gold.solar_anomalies")
    assert found.select("site_id", "ts", "anomaly_reasons").rows() == [
        ("SITE_001", day8, [solar.RANGE_REASON]),
    ]
    # Silver holds row anomalies only; the range kind is judged in gold against earlier days.
    assert not read(lake, "silver.solar_readings")["is_anomaly"].any()
    daily = read(lake, "gold.solar_site_daily").filter(site_id="SITE_001", date=day8.date()).row(0, named=True)
    assert (daily["readings"], daily["anomalies"]) == (2, 1)
    assert daily["generated_kwh"] == pytest.approx(probe[1]["energy_generated_kwh"])


def _independent_daily(files: list[bytes]) -> dict[tuple[str, dt.date], tuple[int, float, float, int]]:
    """Latest file wins per (site, ts); sums over readings with no negative value."""
    latest: dict[tuple[str, str], tuple[float, float]] = {}
    for data in files:
        for r in json.loads(data):
            latest[(r["site_id"], r["timestamp"])] = (r["energy_generated_kwh"], r["energy_consumed_kwh"])
    out: dict[tuple[str, dt.date], list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0])
    for (site, ts), (gen, cons) in latest.items():
        day = out[(site, dt.datetime.fromisoformat(ts.replace("Z", "+00:00")).date())]
        day[0] += 1
        if gen < 0 or cons < 0:
            day[3] += 1
        else:
            day[1] += gen
            day[2] += cons
    return {k: (int(v[0]), v[1], v[2], int(v[3])) for k, v in out.items()}


def test_gold_equals_an_independent_computation_with_redrops_and_corrections(lake: Lake, drop: Drop) -> None:
    start = dt.datetime(2025, 6, 1, 22, 0, tzinfo=UTC)  # crosses midnight
    period = dt.timedelta(minutes=30)
    generated = list(batches(start, 8, period, sites=3, records=12, anomaly_rate=0.2, seed=3))
    sent: list[bytes] = []
    for relative, data in generated:
        drop("solar_readings", relative.split("/", 1)[1], data)
        sent.append(data)
    process_pending(lake)
    # The same batch again under another name: nothing changes.
    drop("solar_readings", "resend.json", generated[2][1])
    # A correction of three readings (a fault fixed, values changed) in a later file.
    fixed = json.loads(generated[5][1])[:3]
    for r in fixed:
        r["energy_generated_kwh"] = abs(r["energy_generated_kwh"]) + 1.5
        r["energy_consumed_kwh"] = abs(r["energy_consumed_kwh"])
    correction = js(fixed)
    drop("solar_readings", "correction.json", correction)
    process_pending(lake)
    sent.append(correction)

    want = _independent_daily(sent)
    gold = read(lake, "gold.solar_site_daily")
    got = {
        (r["site_id"], r["date"]): (r["readings"], r["generated_kwh"], r["consumed_kwh"], r["anomalies"])
        for r in gold.iter_rows(named=True)
    }
    assert got.keys() == want.keys() and len({d for _, d in want}) == 2
    for key, (n, gen, cons, bad) in want.items():
        assert got[key][0] == n and got[key][3] == bad, key
        assert math.isclose(got[key][1], gen, abs_tol=1e-9) and math.isclose(got[key][2], cons, abs_tol=1e-9), key
    total_bad = sum(v[3] for v in want.values())
    assert read(lake, "gold.solar_anomalies").height == total_bad > 0
    resend = land.ingest_log(lake, "solar_readings").filter(pl.col("path").str.ends_with("resend.json"))
    assert resend["status"].to_list() == ["duplicate"]


def test_documented_queries_answer(lake: Lake, drop: Drop) -> None:
    import re
    from pathlib import Path

    from warehouse import catalog

    start = dt.datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
    for relative, data in batches(start, 4, dt.timedelta(minutes=30), sites=2, records=10, anomaly_rate=0.3):
        drop("solar_readings", relative.split("/", 1)[1], data)
    process_pending(lake)
    catalog.publish(lake)
    queries = re.findall(r'gridlake sql "([^"]+)"', (Path(__file__).parents[1] / "docs" / "solar.md").read_text())
    assert len(queries) == 3
    readings, per_site, daily = (catalog.query(lake, q) for q in queries)
    # 5 readings per site per batch, 4 batches, all between 10:00 and 12:00.
    assert readings.height == 20 and readings["site_id"].unique().to_list() == ["SITE_001"]
    anomalies = read(lake, "gold.solar_anomalies")
    assert per_site["anomalies"].sum() == anomalies.height
    assert daily["readings"].sum() == 40
