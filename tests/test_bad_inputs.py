"""The bad-input corpus: files of every kind producers get wrong, dropped into one lake together
with good files and landed and refined in one run. Each file has one expected fate, checked in
the ingest log and the quarantine table: rejected whole (an error naming the file and the
reason), some rows quarantined (by the rule named), or accepted. The good files are unaffected,
and every landed file reconciles: rows read = valid + quarantined + duplicate + superseded +
waiting. Choices made here are documented in docs/reliability.md."""

from __future__ import annotations

import gzip
import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from tests.builders import prices_json, ts, usage_csv
from warehouse import delta
from warehouse.lake import Lake
from warehouse.registry import table
from warehouse.stages import land
from warehouse.stages.pipeline import process_pending

HEADER = "customerId,intervalStart,intervalEnd,usage\n"
GOOD = usage_csv([(1, ts(0), ts(5), 1.0), (2, ts(0), ts(5), 2.0)])


@dataclass(frozen=True)
class Case:
    source: str
    name: str
    data: bytes
    # "rejected" (error contains `detail`), "quarantined" (`rows` rows, rule `detail`), "accepted" (`rows` valid)
    fate: str
    detail: str = ""
    rows: int = 0


def _zip(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("usage.csv", data)
    return buffer.getvalue()


def _usage(*lines: str) -> bytes:
    return (HEADER + "".join(line + "\n" for line in lines)).encode()


def _coins(records: str) -> bytes:
    return records.encode()


T0, T5 = ts(0), ts(5)
CASES = [
    # Encodings and bytes.
    Case("customer_usage", "utf16.csv", GOOD.decode().encode("utf-16"), "rejected", "UTF-16"),
    Case(
        "customer_usage",
        "latin1.csv",
        _usage(f"caf\xe9,{T0},{T5},1.0").decode().encode("latin-1"),
        "rejected",
        "line 2: bytes are not valid UTF-8",
    ),
    Case("customer_usage", "nul.csv", _usage(f"1\x00,{T0},{T5},1.0"), "rejected", "line 2: a NUL byte"),
    Case("customer_usage", "junk.csv", bytes(range(256)) * 20, "rejected", "not valid UTF-8"),
    Case("customer_usage", "bom.csv", b"\xef\xbb\xbf" + usage_csv([(5, ts(30), ts(35), 1.0)]), "accepted", rows=1),
    Case(
        "customer_usage", "crlf.csv", usage_csv([(6, ts(30), ts(35), 1.0)]).replace(b"\n", b"\r\n"), "accepted", rows=1
    ),
    # Compression.
    Case("customer_usage", "truncated.csv.gz", gzip.compress(GOOD * 50)[:60], "rejected", "corrupt or truncated gzip"),
    Case("customer_usage", "zipped.csv.gz", _zip(GOOD), "rejected", "named .gz but is not gzip-compressed"),
    Case("customer_usage", "good.csv.gz", gzip.compress(usage_csv([(13, ts(50), ts(55), 1.0)])), "accepted", rows=1),
    # JSON shapes.
    Case(
        "energy_prices",
        "dupkeys.json",
        f'[{{"intervalStart": "{T0}", "intervalEnd": "{T5}", "price": 1, "price": 2}}]'.encode(),
        "rejected",
        "key 'price' twice",
    ),
    Case(
        "energy_prices",
        "dupkeys.ndjson",
        f'{{"intervalStart": "{T0}", "intervalEnd": "{T5}", "price": 1, "price": 2}}\n'.encode(),
        "rejected",
        "line 1: the key 'price' appears twice",
    ),
    Case("energy_prices", "nested.json", b"[" * 100_000 + b"]" * 100_000, "rejected", "nested too deeply"),
    Case("energy_prices", "number.json", b"42", "rejected", "record 0 is a JSON int, not an object"),
    Case(
        "energy_prices",
        "broken.ndjson",
        (json.dumps({"intervalStart": T0, "intervalEnd": T5, "price": 1.0}) + "\n{broken\n").encode(),
        "rejected",
        "line 2: not valid JSON",
    ),
    Case(
        "energy_prices",
        "strnum.json",
        json.dumps([{"intervalStart": ts(10), "intervalEnd": ts(15), "price": "0.25"}]).encode(),
        "accepted",
        rows=1,
    ),
    Case(
        "customer_usage",
        "oneline.json",
        json.dumps(
            [
                {
                    "customerId": 200 + i % 100,
                    "intervalStart": ts(5 * (i // 100)),
                    "intervalEnd": ts(5 * (i // 100) + 5),
                    "usage": 0.5,
                }
                for i in range(28_800)
            ]
        ).encode(),
        "accepted",
        rows=28_800,
    ),
    # Numbers and times.
    Case(
        "customer_usage",
        "inf.csv",
        _usage(f"1,{ts(60)},{ts(65)},1e400", f"2,{ts(60)},{ts(65)},1.0"),
        "quarantined",
        "usage_within_bounds",
        1,
    ),
    Case(
        "customer_usage",
        "negative.csv",
        _usage(f"11,{ts(40)},{ts(45)},-5", f"12,{ts(40)},{ts(45)},1.0"),
        "quarantined",
        "usage_within_bounds",
        1,
    ),
    Case(
        "customer_usage",
        "leap_second.csv",
        _usage(f"1,2020-08-05T23:59:60Z,{ts(1440)},1.0", f"2,{ts(70)},{ts(75)},1.0"),
        "quarantined",
        "interval_end_after_start",
        1,
    ),
    Case(
        "customer_usage",
        "nanoseconds.csv",
        _usage(f"1,2020-08-05T00:10:00.123456789Z,{ts(15)},1.0", f"2,{ts(80)},{ts(85)},1.0"),
        "quarantined",
        "interval_whole_minutes",
        1,
    ),
    Case(
        "customer_usage",
        "end_before_start.csv",
        _usage(f"9,{ts(40)},{ts(35)},1.0", f"10,{ts(40)},{ts(45)},1.0"),
        "quarantined",
        "interval_end_after_start",
        1,
    ),
    Case(
        "customer_usage",
        "offset.csv",
        _usage("8,2020-08-05T02:30:00+02:00,2020-08-05T02:35:00+02:00,1.0"),
        "accepted",
        rows=1,
    ),
    Case(
        "coin_prices",
        "millis.json",
        _coins(
            '[{"pair":"btc/usd","time":1596585600000,"value":1.0},{"pair":"eth/usd","time":1596585600,"value":2.0}]'
        ),
        "quarantined",
        "time_parseable",
        1,
    ),
    Case(
        "coin_prices",
        "nan.json",
        _coins('[{"pair":"a/usd","time":1596585600,"value":NaN},{"pair":"b/usd","time":1596585600,"value":2.0}]'),
        "quarantined",
        "value_numeric",
        1,
    ),
    # CSV layout.
    Case(
        "customer_usage",
        "quoted_newline.csv",
        _usage(f'"1\n2",{ts(90)},{ts(95)},1.0', f"3,{ts(90)},{ts(95)},1.0"),
        "accepted",
        rows=2,
    ),
    Case(
        "customer_usage",
        "semicolons.csv",
        GOOD.decode().replace(",", ";").encode(),
        "rejected",
        "missing required column(s)",
    ),
    Case("customer_usage", "header_only.csv", HEADER.encode(), "accepted", rows=0),
    Case("customer_usage", "empty.csv", b"", "rejected", "file is empty"),
    Case(
        "customer_usage",
        "duplicate_header.csv",
        (HEADER.strip() + ",usage\n" + f"1,{T0},{T5},1.0,2.0\n").encode(),
        "rejected",
        "usage appear more than once",
    ),
    Case(
        "customer_usage",
        "missing_column.csv",
        f"customerId,intervalStart,intervalEnd\n1,{T0},{T5}\n".encode(),
        "rejected",
        "missing required column(s) usage",
    ),
    Case(
        "customer_usage",
        "wide.csv",
        (
            HEADER.strip()
            + ","
            + ",".join(f"x{i}" for i in range(5000))
            + "\n"
            + f"1,{ts(20)},{ts(25)},1.0,"
            + ",".join("0" * 5000)
            + "\n"
        ).encode(),
        "accepted",
        rows=1,
    ),
    Case(
        "customer_usage",
        "extra_column.csv",
        f"customerId,intervalStart,intervalEnd,usage,note\n7,{ts(30)},{ts(35)},1.0,hi\n".encode(),
        "accepted",
        rows=1,
    ),
    # Names.
    Case("customer_usage", "with spaces.csv", usage_csv([(3, ts(100), ts(105), 1.0)]), "accepted", rows=1),
    Case("customer_usage", "ünïcødé_日本.csv", usage_csv([(4, ts(100), ts(105), 1.0)]), "accepted", rows=1),
]


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Lake, pl.DataFrame]:
    root = tmp_path_factory.mktemp("corpus") / "lake"
    lake = Lake.from_env(str(root))
    for case in CASES:
        path = root / "landing" / case.source / case.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(case.data)
    (root / "landing" / "energy_prices" / "prices.json").write_bytes(
        prices_json([(m, m + 5, 0.2) for m in range(0, 1440, 5)])
    )
    # Not files a run may read: a link out of the lake, and a pipe (opening it would block).
    (root.parent / "outside.csv").write_bytes(GOOD)
    os.symlink(root.parent / "outside.csv", root / "landing" / "customer_usage" / "link_out.csv")
    os.symlink(root / "landing" / "customer_usage" / "bom.csv", root / "landing" / "customer_usage" / "link_in.csv")
    os.mkfifo(root / "landing" / "customer_usage" / "pipe.csv")
    process_pending(lake)
    log = delta.scan(lake, table("ops.ingest_log")).collect()
    return lake, log.with_columns(name=pl.col("path").str.split("/").list.last())


def test_the_corpus_has_thirty_kinds() -> None:
    assert len(CASES) + 3 >= 30
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_file_meets_its_fate(landed: tuple[Lake, pl.DataFrame], case: Case) -> None:
    lake, log = landed
    row = log.filter(pl.col("name") == case.name).to_dicts()
    assert len(row) == 1, f"{case.name}: {len(row)} log rows"
    entry = row[0]
    quarantine = delta.scan(lake, table(f"quarantine.{case.source}")).collect()
    mine = quarantine.filter(pl.col("_source_file") == entry["path"])
    if case.fate == "rejected":
        assert entry["status"] == "failed", entry
        assert entry["error"].startswith(entry["path"] + ": "), entry["error"]
        assert case.detail in entry["error"], entry["error"]
        bronze = delta.scan(lake, table(f"bronze.{case.source}")).filter(pl.col("_source_file") == entry["path"])
        assert bronze.collect().is_empty()
        return
    assert entry["status"] == "refined", entry
    silver = delta.scan(lake, table(f"silver.{case.source}")).filter(pl.col("_source_file") == entry["path"])
    in_silver = silver.collect().height
    # The documented reconciliation, with the silver rows counted in silver itself.
    parts = ("rows_quarantined", "rows_duplicate", "rows_superseded", "rows_waiting")
    assert entry["rows_read"] == sum(entry[p] for p in parts) + in_silver, entry
    if case.fate == "quarantined":
        assert entry["rows_quarantined"] == mine.height == case.rows, entry
        assert all(case.detail in rules for rules in mine["failed_rules"].to_list()), mine["failed_rules"]
    else:
        assert entry["rows_quarantined"] == 0 and mine.is_empty(), mine
        assert entry["rows_valid"] == entry["rows_read"] == case.rows, entry
        if case.name == "strnum.json":
            # The price sent as text is valid; prices.json, dropped later, supersedes it.
            assert entry["rows_superseded"] == 1


def test_links_out_of_the_lake_and_pipes_are_refused_links_inside_followed(landed: tuple[Lake, pl.DataFrame]) -> None:
    _, log = landed
    by_name = {r["name"]: r for r in log.to_dicts()}
    assert by_name["link_out.csv"]["status"] == "failed"
    assert "outside the lake root: not followed" in by_name["link_out.csv"]["error"]
    assert by_name["pipe.csv"]["status"] == "failed"
    assert "not a regular file" in by_name["pipe.csv"]["error"]
    # A link to a file in the lake is read: the same content as bom.csv, so a duplicate.
    assert by_name["link_in.csv"]["status"] == "duplicate"


def test_good_files_are_unaffected(landed: tuple[Lake, pl.DataFrame]) -> None:
    lake, log = landed
    prices = log.filter(pl.col("name") == "prices.json").row(0, named=True)
    assert (prices["status"], prices["rows_valid"]) == ("refined", 288)
    gold = delta.scan(lake, table("gold.cost_per_interval")).collect()
    # Customer 200-299's 28,800 readings of the one-line JSON all priced at 0.2.
    assert gold.filter(pl.col("customer_id").cast(pl.String).str.starts_with("2")).height >= 28_800


def _usage_landing(tmp_path: Path) -> tuple[Lake, Path]:
    """A fresh lake and its customer_usage landing folder."""
    folder = tmp_path / "lake" / "landing" / "customer_usage"
    folder.mkdir(parents=True)
    return Lake.from_env(str(tmp_path / "lake")), folder


def test_a_file_still_growing_is_left_for_a_later_run_then_landed_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake, folder = _usage_landing(tmp_path)
    growing = folder / "growing.csv"
    growing.write_bytes(_usage(f"1,{T0},{T5},1.0"))
    (folder / "other.csv").write_bytes(usage_csv([(2, T0, T5, 2.0)]))
    real_hash = land.file_hash

    def appending_hash(lake: Lake, path: str) -> str:
        digest = real_hash(lake, path)
        if path.endswith("growing.csv"):
            with open(lake.fs_path(lake.uri(path)), "ab") as f:  # the producer writes more while the run reads
                f.write(f"3,{T0},{T5},3.0\n".encode())
        return digest

    monkeypatch.setattr(land, "file_hash", appending_hash)
    process_pending(lake)
    log = delta.scan(lake, table("ops.ingest_log")).collect()
    assert log["path"].str.ends_with("other.csv").to_list() == [True]
    assert delta.scan(lake, table("bronze.customer_usage")).collect().height == 1
    monkeypatch.setattr(land, "file_hash", real_hash)
    process_pending(lake)
    log = delta.scan(lake, table("ops.ingest_log")).sort("path").collect()
    assert log.select("status", "rows_read").rows() == [("refined", 2), ("refined", 1)]


def test_a_file_deleted_after_listing_is_skipped_and_the_rest_lands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake, folder = _usage_landing(tmp_path)
    (folder / "a_gone.csv").write_bytes(usage_csv([(1, T0, T5, 1.0)]))
    (folder / "b_stays.csv").write_bytes(usage_csv([(2, T0, T5, 2.0)]))
    real_list = land.list_landing

    def list_then_delete(lake: Lake, source: str) -> list[land.LandingFile]:
        listed = real_list(lake, source)
        (folder / "a_gone.csv").unlink(missing_ok=True)
        return listed

    monkeypatch.setattr(land, "list_landing", list_then_delete)
    process_pending(lake)
    log = delta.scan(lake, table("ops.ingest_log")).collect()
    assert [Path(p).name for p in log["path"]] == ["b_stays.csv"]
    assert log["status"].to_list() == ["refined"]


def test_an_unreadable_file_is_rejected_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lake, folder = _usage_landing(tmp_path)
    (folder / "locked.csv").write_bytes(usage_csv([(1, T0, T5, 1.0)]))
    (folder / "open.csv").write_bytes(usage_csv([(2, T0, T5, 2.0)]))
    if os.geteuid() != 0:
        (folder / "locked.csv").chmod(0)
    else:
        # root reads any file: refuse it the way the kernel refuses another user.
        real_hash = land.file_hash

        def denied(lake: Lake, path: str) -> str:
            if path.endswith("locked.csv"):
                raise PermissionError(13, "Permission denied", path)
            return real_hash(lake, path)

        monkeypatch.setattr(land, "file_hash", denied)
    process_pending(lake)
    log = {Path(r["path"]).name: r for r in delta.scan(lake, table("ops.ingest_log")).collect().to_dicts()}
    assert log["locked.csv"]["status"] == "failed"
    assert "locked.csv: cannot be read: Permission denied" in log["locked.csv"]["error"]
    assert log["open.csv"]["status"] == "refined"
