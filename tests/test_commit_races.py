"""Two writers racing on the same table and the same date, without the lake locks (as two
machines sharing an S3 lake would): Delta's optimistic commits make the loser fail its commit,
and the write retries on the new version (warehouse/commits.py). Whatever the interleaving, the
date ends holding exactly one writer's rows: none lost, none doubled."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import polars as pl
import pytest

from tests.s3server import SeaweedS3
from warehouse import delta, parallel
from warehouse.lake import Lake
from warehouse.registry import table

DATE = dt.date(2020, 8, 5)
ROUNDS = 30


def _rows(writer: int, round_no: int) -> pl.DataFrame:
    """File counts of one source and date, as refine writes them; values tell the writer apart."""
    return pl.DataFrame(
        {
            "file_hash": [f"w{writer}-{i}" for i in range(3)],
            "event_date": [DATE] * 3,
            "source": ["customer_usage"] * 3,
            "rows": [writer * 1000 + round_no] * 3,
        }
    )


def _cost(writer: int, round_no: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": [str(c) for c in range(50)],
            "interval_start": [dt.datetime(2020, 8, 5, tzinfo=dt.UTC)] * 50,
            "usage_kwh": [float(writer * 1000 + round_no)] * 50,
            "date": [DATE] * 50,
        }
    )


def _write_many(lake: Lake, writer: int, start_at: float) -> int:
    counts, cost = table("ops.file_counts"), table("gold.cost_per_interval")
    time.sleep(max(0.0, start_at - time.time()))  # both start together, once both are up
    for round_no in range(ROUNDS):
        predicate = f"source = 'customer_usage' AND ({delta.partition_predicate('event_date', [DATE])})"
        delta.replace_where(lake, counts, _rows(writer, round_no), predicate)
        delta.replace_partitions_from(lake, cost, [_cost(writer, round_no)], [DATE])
    return writer


def _race(lake: Lake) -> None:
    # The tables exist first, as they do in a lake: the race is on commits, not on creation.
    delta.replace_where(lake, table("ops.file_counts"), _rows(9, 0), "true")
    delta.replace_partitions_from(lake, table("gold.cost_per_interval"), [_cost(9, 0)], [DATE])
    start_at = time.time() + 8
    assert sorted(parallel.spawned_map(_write_many, [(lake, 1, start_at), (lake, 2, start_at)])) == [1, 2]
    counts = delta.scan(lake, table("ops.file_counts")).collect()
    assert counts.height == 3, counts
    assert counts["rows"].n_unique() == 1 and counts["file_hash"].str.slice(0, 2).n_unique() == 1
    cost = delta.scan(lake, table("gold.cost_per_interval")).collect()
    assert cost.height == 50, f"{cost.height} rows: a stale replace left another writer's files"
    assert cost["usage_kwh"].n_unique() == 1


def test_racing_writers_on_a_local_lake(tmp_path: Path) -> None:
    _race(Lake.from_env(str(tmp_path / "lake")))


@pytest.mark.s3
def test_racing_writers_on_an_s3_lake(s3_server: SeaweedS3, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    _race(Lake.from_env(s3_server.new_prefix()))
