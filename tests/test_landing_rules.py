"""Which drops land (docs/reliability.md): a path's newest content always lands, content already in
force is a duplicate, and every drop gets an ingest-log row of its own. Checked on the sequences a
producer makes: put back, touched, copied, copied after a change; plus files with no records and a
lake moved to another folder."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import polars as pl

from tests.builders import ts, usage_csv
from tests.conftest import Drop
from warehouse import catalog, delta
from warehouse.lake import Lake
from warehouse.registry import table
from warehouse.stages import land
from warehouse.stages.pipeline import process_pending

V1 = usage_csv([(1, ts(0), ts(5), 1.0), (2, ts(0), ts(5), 1.0)])
V2 = usage_csv([(1, ts(0), ts(5), 10.0)])
F, G = "landing/customer_usage/f.csv", "landing/customer_usage/g.csv"


def silver(lake: Lake) -> dict[str, float]:
    frame = delta.scan(lake, table("silver.customer_usage")).collect()
    return dict(zip(frame["customer_id"], frame["usage_kwh"], strict=True))


def log(lake: Lake) -> pl.DataFrame:
    return land.ingest_log(lake, "customer_usage").sort("landed_at")


def touch(lake: Lake, path: str, seconds_later: float) -> None:
    """A new modification time, as a producer rewriting or touching the file gives it."""
    local = lake.fs_path(lake.uri(path))
    later = time.time() + seconds_later
    os.utime(local, (later, later))


def assert_reconciles(lake: Lake) -> None:
    """Every refined landing: rows read = where they went, from its own file counts."""
    counts = delta.scan(lake, table("ops.file_counts")).collect().group_by("file_hash").agg(pl.col("rows").sum())
    refined = log(lake).filter(status="refined").join(counts, on="file_hash", how="left")
    assert refined.height and (refined["rows_read"] == refined["rows"]).all(), refined
    sums = refined.select(pl.col("rows_read") == pl.sum_horizontal("rows_valid", "rows_quarantined", "rows_waiting"))
    assert sums.to_series().all()


def test_a_path_put_back_to_earlier_content_lands_again_and_wins(lake: Lake, drop: Drop) -> None:
    drop("customer_usage", "f.csv", V1)
    process_pending(lake)
    drop("customer_usage", "f.csv", V2)
    touch(lake, F, 10)
    process_pending(lake)
    assert silver(lake) == {"1": 10.0, "2": 1.0}
    drop("customer_usage", "f.csv", V1)
    touch(lake, F, 20)
    report = process_pending(lake)
    assert [r.path for r in report.landed["customer_usage"].landed] == [F]
    assert silver(lake) == {"1": 1.0, "2": 1.0}  # what the producer sent last
    rows = log(lake)
    assert rows["status"].to_list() == ["refined"] * 3
    first, _, again = rows.rows(named=True)
    assert first["content_hash"] == again["content_hash"] and first["file_hash"] != again["file_hash"]
    assert again["rows_read"] == 2 and (again["rows_valid"], again["rows_superseded"]) == (2, 0)
    # The put-back holds the first landing's values again: those rows are now its duplicates.
    assert (first["rows_valid"], first["rows_duplicate"], first["rows_superseded"]) == (2, 2, 0)
    assert delta.scan(lake, table("bronze.customer_usage")).collect().height == 5
    assert_reconciles(lake)


def test_a_touched_file_is_a_duplicate_and_its_first_record_survives(lake: Lake, drop: Drop) -> None:
    drop("customer_usage", "f.csv", V1)
    process_pending(lake)
    original = log(lake).row(0, named=True)
    for later in (10, 20):
        touch(lake, F, later)
        report = process_pending(lake)
        assert report.landed["customer_usage"].landed == []
    rows = log(lake)
    assert rows["status"].to_list() == ["refined", "duplicate", "duplicate"]
    assert rows["error"].to_list()[1:] == ["unchanged since it landed"] * 2
    assert rows.row(0, named=True) == original
    assert delta.scan(lake, table("bronze.customer_usage")).collect().height == 2
    assert_reconciles(lake)


def test_the_same_content_under_a_second_name_is_a_duplicate(lake: Lake, drop: Drop) -> None:
    drop("customer_usage", "f.csv", V1)
    process_pending(lake)
    drop("customer_usage", "g.csv", V1)
    process_pending(lake)
    second = log(lake).row(1, named=True)
    assert (second["path"], second["status"]) == (G, "duplicate")
    assert second["error"] == f"same content as {F}, already landed"
    assert silver(lake) == {"1": 1.0, "2": 1.0}


def test_earlier_content_under_a_second_name_after_a_change_lands_and_wins(lake: Lake, drop: Drop) -> None:
    drop("customer_usage", "f.csv", V1)
    process_pending(lake)
    drop("customer_usage", "f.csv", V2)
    touch(lake, F, 10)
    process_pending(lake)
    drop("customer_usage", "g.csv", V1)
    touch(lake, G, 20)
    process_pending(lake)
    assert log(lake).select("path", "status").rows() == [(F, "refined"), (F, "refined"), (G, "refined")]
    assert silver(lake) == {"1": 1.0, "2": 1.0}
    assert_reconciles(lake)


def test_an_empty_json_array_is_done_like_a_header_only_csv(lake: Lake, drop: Drop) -> None:
    drop("customer_usage", "header.csv", b"customerId,intervalStart,usage\n")
    drop("customer_usage", "empty.json", b"[]")
    report = process_pending(lake)
    assert report.landed["customer_usage"].failed == []
    rows = log(lake).sort("path")
    assert rows.select("path", "status", "rows_read", "rows_valid", "rows_quarantined").rows() == [
        ("landing/customer_usage/empty.json", "refined", 0, 0, 0),
        ("landing/customer_usage/header.csv", "refined", 0, 0, 0),
    ]


def test_a_moved_lake_recognises_its_files_and_answers_queries(lake: Lake, drop: Drop, tmp_path: Path) -> None:
    drop("customer_usage", "f.csv", V1)
    process_pending(lake, publish=True)
    moved = Lake.from_env(str(tmp_path / "elsewhere" / "lake"))
    shutil.copytree(lake.root, moved.root)
    shutil.rmtree(lake.root)
    report = process_pending(moved, publish=True)
    assert report.landed["customer_usage"].landed == report.landed["customer_usage"].duplicates == []
    assert log(moved)["path"].to_list() == [F]
    assert catalog.query(moved, "SELECT count(*) AS n FROM silver.customer_usage")["n"].to_list() == [2]


def test_a_table_whose_first_write_died_is_a_table_that_does_not_exist(lake: Lake, drop: Drop) -> None:
    # What a first commit killed by a full disk or a kill -9 leaves: an empty log folder.
    for name in ("bronze.customer_usage", "silver.customer_usage", "gold.hourly_usage", "ops.ingest_log"):
        t = table(name)
        Path(lake.fs_path(lake.table_uri(t)), "_delta_log").mkdir(parents=True)
        assert not delta.exists(lake, t)
    drop("customer_usage", "f.csv", V1)
    process_pending(lake, publish=True)
    assert silver(lake) == {"1": 1.0, "2": 1.0}
    assert catalog.query(lake, "SELECT count(*) AS n FROM gold.hourly_usage")["n"].to_list() == [2]


def test_json_numbers_stay_as_sent_in_bronze_and_ids_follow_one_rule(lake: Lake, drop: Drop) -> None:
    record = '{"customerId": %s, "intervalStart": "2020-08-05T00:%s:00Z", "usage": %s}'
    drop("customer_usage", "array.json", f"[{record % ('7.0', '00', '1e2')}]".encode())
    lines = record % ("7e0", "00", "1E2") + "\n" + record % ("7.00", "10", "0.50") + "\n"
    drop("customer_usage", "lines.ndjson", lines.encode())
    drop("customer_usage", "table.csv", b"customerId,intervalStart,usage\n007,2020-08-05T00:05:00Z,2.50\n")
    process_pending(lake)
    bronze = delta.scan(lake, table("bronze.customer_usage")).collect().sort("_source_file", "_row_number")
    assert bronze.select("customerId", "usage").rows() == [
        ("7.0", "1e2"), ("7e0", "1E2"), ("7.00", "0.50"), ("007", "2.50")
    ]  # fmt: skip
    # Every way of writing 7 is customer 7: at 00:00 the two files agree, so one row.
    frame = delta.scan(lake, table("silver.customer_usage")).collect().sort("interval_start")
    assert frame.select("customer_id", "usage_kwh").rows() == [("7", 100.0), ("7", 2.5), ("7", 0.5)]


def test_a_timestamp_finer_than_a_microsecond_is_quarantined_by_its_own_rule(lake: Lake, drop: Drop) -> None:
    rows = [
        (1, "2020-08-05T00:00:00Z", "2020-08-05T00:05:00Z", 1.0),
        (1, "2020-08-05T00:00:00.000000001Z", "2020-08-05T00:05:00Z", 2.0),  # a distinct reading
        (2, "2020-08-05T00:00:00Z", "2020-08-05T00:05:00.000000001Z", 3.0),  # not whole minutes
        (3, "2020-08-05T00:00:00.123456000Z", "2020-08-05T00:05:00.123456Z", 4.0),  # zeros past µs: fine
    ]
    drop("customer_usage", "ns.csv", usage_csv(rows))
    process_pending(lake)
    quarantine = delta.scan(lake, table("quarantine.customer_usage")).collect().sort("_row_number")
    assert quarantine.select("customerId", "failed_rules").rows() == [
        ("1", ["timestamp_within_microseconds"]),
        ("2", ["timestamp_within_microseconds"]),
    ]
    # The whole-second reading of customer 1 is not taken for a conflicting duplicate.
    assert silver(lake) == {"1": 1.0, "3": 4.0}
