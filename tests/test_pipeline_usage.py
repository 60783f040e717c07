"""The usage/price spine on a local lake: hand-checked values, quarantine rules, reconciliation,
idempotency and recovery. Expected numbers are worked out by hand in each test."""

from __future__ import annotations

import gzip
import json

import polars as pl
import pytest

from tests.builders import FIVE_MIN_PRICES, prices_json, read, ts, usage_csv, with_settings
from tests.conftest import Drop
from warehouse import delta
from warehouse.datasets import dataset
from warehouse.lake import Lake
from warehouse.registry import table
from warehouse.stages import land, refine
from warehouse.stages.pipeline import process_pending


def gold_cost(lake: Lake) -> dict[tuple[str, str], tuple[float | None, float | None]]:
    frame = read(lake, "gold.cost_per_interval")
    return {
        (r["customer_id"], r["interval_start"].strftime("%H:%M")): (r["cost"], r["price_per_kwh"])
        for r in frame.iter_rows(named=True)
    }


def test_hand_checked_cost_and_hourly(lake: Lake, drop: Drop) -> None:
    drop(
        "customer_usage",
        "u.csv",
        usage_csv(
            [
                (1, ts(0), ts(5), 1.0),  # priced at 0.1 -> cost 0.1
                (1, ts(5), ts(10), 2.0),  # at 0.2 -> 0.4
                (1, ts(10), ts(40), 3.0),  # 30 min over prices 0.3..0.8, 0.5 kWh each -> 0.5*3.3 = 1.65
                ("A", ts(0), None, 4.0),  # no end: 5 minutes; at 0.1 -> 0.4
                ("A", ts(55), ts(65), 1.0),  # crosses the hour; 00:55 priced 1.2, 01:00 unpriced -> null
            ]
        ),
    )
    drop("energy_prices", "p.json", prices_json(FIVE_MIN_PRICES))
    process_pending(lake)

    cost = gold_cost(lake)
    assert cost[("1", "00:00")] == pytest.approx((0.1, 0.1))
    assert cost[("1", "00:05")] == pytest.approx((0.4, 0.2))
    assert cost[("1", "00:10")][0] == pytest.approx(1.65)
    assert cost[("1", "00:10")][1] == pytest.approx(1.65 / 3.0)
    assert cost[("A", "00:00")] == pytest.approx((0.4, 0.1))
    assert cost[("A", "00:55")] == (None, None)

    hourly = {
        (r["customer_id"], r["hour_start"].hour): r for r in read(lake, "gold.hourly_usage").iter_rows(named=True)
    }
    h = hourly[("1", 0)]
    assert (h["usage_kwh"], h["intervals"], h["is_complete"]) == (pytest.approx(6.0), 3, False)
    assert h["cost"] == pytest.approx(0.1 + 0.4 + 1.65)
    # The 00:55-01:05 interval is split in time: 0.5 kWh in each hour; hour 0 lacks part of a price.
    assert hourly[("A", 0)]["usage_kwh"] == pytest.approx(4.5)
    assert hourly[("A", 0)]["cost"] is None
    assert hourly[("A", 1)]["usage_kwh"] == pytest.approx(0.5)


BAD_USAGE = {
    "customer_id_present": ("", ts(0), ts(5), 1),
    "interval_start_parseable": (7, "yesterday", ts(5), 1),
    "interval_end_parseable": (7, ts(10), "soon", 1),
    "interval_end_after_start": (7, ts(20), ts(20), 1),
    "interval_whole_minutes": (7, ts(25), "2020-08-05T00:27:30Z", 1),
    "interval_at_most_one_day": (7, ts(30), "2020-08-06T00:31:00Z", 1),
    "usage_numeric": (7, ts(35), ts(40), "abc"),
    "usage_within_bounds": (7, ts(40), ts(45), -1),
}


def test_each_rule_quarantines_with_its_name_and_counts_reconcile(lake: Lake, drop: Drop) -> None:
    good = [(1, ts(m), ts(m + 5), 0.5) for m in range(0, 60, 5)]
    exact_dup = [good[0]]
    conflicting = [(2, ts(0), ts(5), 1.0), (2, ts(0), ts(5), 2.0)]
    special = [(8, ts(0), ts(5), "NaN"), (8, ts(5), ts(10), "inf")]
    drop("customer_usage", "bad.csv", usage_csv(good + exact_dup + list(BAD_USAGE.values()) + conflicting + special))
    drop("energy_prices", "p.json", prices_json([(0, 5, 25.0), (5, 10, -0.5)]))
    process_pending(lake)

    q = read(lake, "quarantine.customer_usage")
    by_row = {r["_row_number"]: r["failed_rules"] for r in q.iter_rows(named=True)}
    first_bad = len(good) + 1
    for offset, rule in enumerate(BAD_USAGE):
        assert rule in by_row[first_bad + offset], (rule, by_row.get(first_bad + offset))
    assert by_row[first_bad + len(BAD_USAGE)] == ["no_conflicting_duplicate"]
    assert by_row[first_bad + len(BAD_USAGE) + 1] == ["no_conflicting_duplicate"]
    assert by_row[first_bad + len(BAD_USAGE) + 2] == ["usage_numeric"]  # NaN
    assert by_row[first_bad + len(BAD_USAGE) + 3] == ["usage_within_bounds"]  # inf
    assert "yesterday" in q["intervalStart"].to_list()  # quarantine keeps the raw text

    log = land.ingest_log(lake, "customer_usage").row(0, named=True)
    rows = len(good) + 1 + len(BAD_USAGE) + len(conflicting) + len(special)
    assert log["rows_read"] == rows
    assert log["rows_quarantined"] == len(BAD_USAGE) + 2 + 2
    assert log["rows_duplicate"] == 1
    silver = read(lake, "silver.customer_usage")
    assert silver.height == len(good)
    assert log["rows_read"] == (
        log["rows_quarantined"] + log["rows_duplicate"] + log["rows_superseded"] + log["rows_waiting"] + silver.height
    )
    prices_q = read(lake, "quarantine.energy_prices")
    assert prices_q["failed_rules"].to_list() == [["price_within_bounds"]]
    assert read(lake, "silver.energy_prices")["price_per_kwh"].to_list() == [-0.5]


def test_redrop_and_same_records_under_another_name(lake: Lake, drop: Drop) -> None:
    content = usage_csv([(1, ts(m), ts(m + 5), 1.0) for m in range(0, 30, 5)])
    drop("customer_usage", "a.csv", content)
    drop("energy_prices", "p.json", prices_json(FIVE_MIN_PRICES))
    process_pending(lake)
    before = read(lake, "gold.cost_per_interval").sort("interval_start")

    drop("customer_usage", "copy-of-a.csv", content)  # same bytes, other name
    report = process_pending(lake)
    assert report.landed["customer_usage"].landed == []
    assert [r.status for r in report.landed["customer_usage"].duplicates] == ["duplicate"]
    assert read(lake, "bronze.customer_usage").height == 6

    # Same records, different bytes (NDJSON, gzip): they land, but silver and gold do not change.
    records = "\n".join(
        json.dumps({"customerId": 1, "intervalStart": ts(m), "intervalEnd": ts(m + 5), "usage": 1.0})
        for m in range(0, 30, 5)
    )
    drop("customer_usage", "again.ndjson.gz", gzip.compress(records.encode()))
    process_pending(lake)
    assert read(lake, "bronze.customer_usage").height == 12
    assert read(lake, "silver.customer_usage").height == 6
    after = read(lake, "gold.cost_per_interval").sort("interval_start")
    assert after.select("interval_start", "cost").equals(before.select("interval_start", "cost"))
    first = land.ingest_log(lake, "customer_usage").filter(path="landing/customer_usage/a.csv")
    assert first["rows_duplicate"].to_list() == [6]  # the later file's identical rows won


def test_later_file_with_corrected_values_supersedes(lake: Lake, drop: Drop) -> None:
    drop("customer_usage", "a.csv", usage_csv([(1, ts(0), ts(5), 1.0), (1, ts(5), ts(10), 1.0)]))
    process_pending(lake)
    drop("customer_usage", "b.csv", usage_csv([(1, ts(5), ts(10), 9.0)]))
    process_pending(lake)
    silver = read(lake, "silver.customer_usage").sort("interval_start")
    assert silver["usage_kwh"].to_list() == [1.0, 9.0]
    a = land.ingest_log(lake, "customer_usage").filter(pl.col("path").str.ends_with("a.csv")).row(0, named=True)
    assert (a["rows_read"], a["rows_superseded"]) == (2, 1)


def test_usage_before_price_fills_cost_later(lake: Lake, drop: Drop) -> None:
    drop("customer_usage", "u.csv", usage_csv([(1, ts(0), ts(5), 2.0)]))
    process_pending(lake)
    assert gold_cost(lake)[("1", "00:00")] == (None, None)
    drop("energy_prices", "p.json", prices_json([(0, 5, 0.25)]))
    process_pending(lake)
    assert gold_cost(lake)[("1", "00:00")] == pytest.approx((0.5, 0.25))


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.csv", b"", "file is empty"),
        ("not.json", b"hello, world", "not valid JSON"),
        (
            "truncated.ndjson",
            b'{"customerId": 1, "intervalStart": "2020-08-05T00:00:00Z", "usage": 1}\n{"customerId": 2, "inte',
            "line 2: not valid JSON",
        ),
        ("missing.csv", b"customerId,intervalStart\n1,2020-08-05T00:00:00Z\n", "missing required column(s) usage"),
        (
            "latin1.csv",
            b"customerId,intervalStart,usage\nJos\xe9,2020-08-05T00:00:00Z,1\n",
            "line 2: bytes are not valid UTF-8",
        ),
    ],
)
def test_unreadable_files_fail_alone_with_a_clear_error(
    lake: Lake, drop: Drop, name: str, data: bytes, reason: str
) -> None:
    bad = drop("customer_usage", name, data)
    drop("customer_usage", "good.csv", usage_csv([(1, ts(0), ts(5), 1.0)]))
    report = process_pending(lake).landed["customer_usage"]
    assert [r.path for r in report.failed] == [bad]
    assert bad in report.failed[0].error and reason in report.failed[0].error
    log = land.ingest_log(lake, "customer_usage")
    assert log.filter(status="failed")["error"].to_list() == [report.failed[0].error]
    assert read(lake, "silver.customer_usage").height == 1


def test_extra_columns_kept_in_bronze_ignored_downstream(lake: Lake, drop: Drop) -> None:
    drop("customer_usage", "x.csv", b"customerId,intervalStart,usage,meterSerial\n1,2020-08-05T00:00:00Z,1.5,M-77\n")
    process_pending(lake)
    assert read(lake, "bronze.customer_usage")["meterSerial"].to_list() == ["M-77"]
    assert "meterSerial" not in read(lake, "silver.customer_usage").columns


def test_large_file_is_streamed_in_chunks_and_resumes(lake: Lake, drop: Drop, monkeypatch: pytest.MonkeyPatch) -> None:
    lake = with_settings(lake, read_chunk_bytes=16 << 10, bronze_commit_rows=500)  # commit every few chunks
    lines = [
        json.dumps({"customerId": c, "intervalStart": ts(m), "usage": 0.25})
        for m in range(0, 60, 5)
        for c in range(300)
    ]
    drop("customer_usage", "big.ndjson.gz", gzip.compress("\n".join(lines).encode()))
    ds = dataset("customer_usage")
    calls = {"n": 0}
    original = delta.append

    def flaky_append(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:
            raise OSError("connection reset")  # the run dies while landing chunk 4
        return original(*args, **kwargs)

    monkeypatch.setattr(delta, "append", flaky_append)
    with pytest.raises(OSError):
        land.land(lake, ds, "run-1")
    assert 0 < read(lake, "bronze.customer_usage").height < len(lines)
    monkeypatch.setattr(delta, "append", original)
    process_pending(lake)
    bronze = read(lake, "bronze.customer_usage")
    assert bronze.height == len(lines)
    assert bronze["_row_number"].n_unique() == len(lines)
    assert delta.transaction_version(lake, ds.bronze, f"customer_usage:{bronze['_file_hash'][0]}") > 4
    assert read(lake, "silver.customer_usage").height == len(lines)


def test_refine_killed_between_commits_converges(lake: Lake, drop: Drop, monkeypatch: pytest.MonkeyPatch) -> None:
    drop("customer_usage", "u.csv", usage_csv([(c, ts(0), ts(5), 1.0) for c in range(10)] + [("", ts(0), ts(5), 1)]))
    ds = dataset("customer_usage")
    land.land(lake, ds, "r1")

    def boom(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr(refine, "_update_log", boom)
    with pytest.raises(RuntimeError):
        refine.refine(lake, ds, refine.pending_dates(lake, "customer_usage"))
    monkeypatch.undo()
    process_pending(lake)
    process_pending(lake)  # and once more: nothing changes
    assert read(lake, "silver.customer_usage").height == 10
    assert read(lake, "quarantine.customer_usage").height == 1
    log = land.ingest_log(lake, "customer_usage").row(0, named=True)
    assert (log["status"], log["rows_valid"], log["rows_quarantined"]) == ("refined", 10, 1)


def test_file_rejected_after_its_first_chunk_leaves_nothing_behind(
    lake: Lake, drop: Drop, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first chunks are committed, then rolled back.
    lake = with_settings(lake, read_chunk_bytes=1500, bronze_commit_rows=10)
    good_lines = usage_csv([(c, ts(0), ts(5), 1.0) for c in range(100)])
    drop("customer_usage", "late-bad-bytes.csv", good_lines + b"7,2020-08-05T00:00:00Z,\xff\n")
    report = process_pending(lake).landed["customer_usage"]
    assert "bytes are not valid UTF-8" in report.failed[0].error
    assert read(lake, "bronze.customer_usage").height == 0
    assert delta.version(lake, table("bronze.customer_usage")) >= 2  # appended, then deleted
    assert read(lake, "silver.customer_usage").height == 0


def test_latest_ingest_wins_between_files_of_one_run(lake: Lake, drop: Drop) -> None:
    import os
    import time

    first = drop("customer_usage", "b-first.csv", usage_csv([(1, ts(5), ts(10), 1.0)]))
    os.utime(lake.fs_path(lake.uri(first)), (time.time() - 60, time.time() - 60))
    # Dropped later (newer mtime) but sorts first by name, and the key sits at a higher row number.
    drop("customer_usage", "a-second.csv", usage_csv([(2, ts(0), ts(5), 1.0), (1, ts(5), ts(10), 7.0)]))
    process_pending(lake)
    silver = read(lake, "silver.customer_usage").filter(customer_id="1")
    assert silver["usage_kwh"].to_list() == [7.0]


def test_header_only_csv_is_logged_and_done(lake: Lake, drop: Drop) -> None:
    drop("customer_usage", "header.csv", b"customerId,intervalStart,usage\n")
    process_pending(lake)
    row = land.ingest_log(lake, "customer_usage").row(0, named=True)
    assert (row["status"], row["rows_read"], row["rows_valid"]) == ("refined", 0, 0)


def test_event_dates_outside_the_partition_range_are_quarantined(lake: Lake, drop: Drop) -> None:
    drop(
        "customer_usage",
        "odd-dates.csv",
        usage_csv(
            [
                (1, "0", "300", 1.0),  # epoch 0: 1970-01-01, a plausible producer bug
                (1, "2999-01-01T00:00:00Z", "2999-01-01T00:05:00Z", 1.0),
                (1, ts(0), ts(5), 1.0),
            ]
        ),
    )
    process_pending(lake)
    q = read(lake, "quarantine.customer_usage")
    assert q["failed_rules"].to_list() == [["event_date_in_range"], ["event_date_in_range"]]
    assert q["event_date"].is_null().all()
    assert read(lake, "silver.customer_usage").height == 1
    log = land.ingest_log(lake, "customer_usage").row(0, named=True)
    assert (log["status"], log["rows_quarantined"], log["rows_valid"]) == ("refined", 2, 1)
