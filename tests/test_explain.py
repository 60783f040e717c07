"""`gridlake explain`: a cost row back to the exact usage and price rows, their files, hashes and
row numbers (checked here against bronze and the bytes written), through a correction (the
winning file kept, the earlier one superseded) and a bad re-send (quarantined with its rule)."""

from __future__ import annotations

import hashlib
import json

import polars as pl
import pytest
from click.testing import CliRunner

from orchestration.cli import main
from tests.builders import prices_json, read, ts, usage_csv
from tests.conftest import Drop
from warehouse import delta
from warehouse.explain import ExplainError, explain
from warehouse.lake import Lake
from warehouse.registry import table
from warehouse.stages.pipeline import process_pending

FIRST = usage_csv([(7, ts(0), ts(15), 9.0), (42, ts(0), ts(15), 1.0), (42, ts(15), ts(30), 2.0)])
CORRECTION = usage_csv([(42, ts(15), ts(30), 2.0), (42, ts(0), ts(15), 3.0)])
NEGATIVE = usage_csv([(42, ts(0), ts(15), -5.0), (8, ts(0), ts(15), 1.0), (9, ts(0), ts(15), 1.0)])
PRICES = prices_json([(0, 5, 0.1), (5, 10, 0.2), (10, 15, 0.3), (15, 30, 0.5)])


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def lineage(frame: pl.DataFrame) -> set[tuple]:
    return set(frame.select("_source_file", "_file_hash", "_row_number").iter_rows())


def test_a_cost_row_explained_through_a_correction(lake: Lake, drop: Drop) -> None:
    first = drop("customer_usage", "first.csv", FIRST)
    prices = drop("energy_prices", "prices.json", PRICES)
    process_pending(lake)
    correction = drop("customer_usage", "correction.csv", CORRECTION)
    process_pending(lake)
    negative = drop("customer_usage", "negative.csv", NEGATIVE)
    process_pending(lake)

    found = explain(lake, "gold.cost_per_interval", {"customer_id": "42", "interval_start": ts(0)})
    # 3 kWh over 15 minutes spread evenly over three 5-minute prices.
    assert found.row["usage_kwh"] == 3.0
    assert found.row["cost"] == pytest.approx(1.0 * 0.1 + 1.0 * 0.2 + 1.0 * 0.3)
    usage, price = found.inputs
    assert (usage.table, price.table) == ("silver.customer_usage", "silver.energy_prices")

    # The silver usage row: the correction's second data row (row numbers count from 0).
    [kept] = usage.rows.iter_rows(named=True)
    assert (kept["usage_kwh"], kept["_source_file"], kept["_file_hash"], kept["_row_number"]) == (
        3.0,
        correction,
        sha(CORRECTION),
        1,
    )
    # Its bronze rows, by hand: every raw row of the key, whatever its fate.
    raw = read(lake, "bronze.customer_usage").filter(customerId="42", intervalStart=ts(0))
    assert lineage(raw) == {(first, sha(FIRST), 1), (correction, sha(CORRECTION), 1), (negative, sha(NEGATIVE), 0)}
    fates = {(r["_source_file"], r["fate"]) for r in usage.bronze.iter_rows(named=True)}
    assert fates == {(correction, "kept"), (first, "superseded"), (negative, "quarantined")}
    assert lineage(usage.bronze) == lineage(raw)
    runs = dict(raw.select("_source_file", "_run_id").iter_rows())
    assert dict(usage.bronze.select("_source_file", "_run_id").iter_rows()) == runs
    [bad] = usage.bronze.filter(fate="quarantined").iter_rows(named=True)
    assert bad["usage_kwh"] == -5.0 and bad["failed_rules"] == ["usage_within_bounds"]
    assert "usage_within_bounds" in usage.rules

    # The three price rows it spans, rows 0-2 of the price file.
    assert price.rows.select("price_per_kwh", "_row_number").rows() == [(0.1, 0), (0.2, 1), (0.3, 2)]
    assert set(price.rows["_source_file"]) == {prices} and set(price.rows["_file_hash"]) == {sha(PRICES)}

    # The build that wrote it read the versions silver has now, and wrote gold's current version.
    assert found.build is not None
    assert found.build["read"]["silver.customer_usage"] == usage.version_read == usage.version_now
    assert found.build["wrote"]["gold.cost_per_interval"] == delta.version(lake, table("gold.cost_per_interval"))

    # An hour reads its intervals and every price they span.
    hour = explain(lake, "gold.hourly_usage", {"customer_id": "42", "hour_start": ts(0)})
    assert hour.inputs[0].rows["usage_kwh"].to_list() == [3.0, 2.0]
    assert hour.inputs[1].total == 4

    # The same through the CLI, for machines.
    cli = CliRunner()
    out = cli.invoke(
        main,
        [
            "explain",
            "--lake",
            lake.root,
            "--format",
            "json",
            "gold.cost_per_interval",
            "customer_id=42",
            f"interval_start={ts(0)}",
        ],
    )
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["row"]["cost"] == pytest.approx(0.6)
    assert {(b["_source_file"], b["fate"]) for b in doc["inputs"][0]["bronze"]} == fates
    text = cli.invoke(
        main,
        ["explain", "--lake", lake.root, "gold.cost_per_interval", "customer_id=42", "interval_start=2020-08-05 00:00"],
        env={"COLUMNS": "160"},
    )
    assert text.exit_code == 0, text.output
    assert "built by gold usage_cost for 2020-08-05" in text.output and "superseded" in text.output


def test_explain_says_what_is_wrong_with_a_request(lake: Lake, drop: Drop) -> None:
    drop("customer_usage", "first.csv", FIRST)
    drop("energy_prices", "prices.json", PRICES)
    process_pending(lake)
    with pytest.raises(ExplainError, match="keyed by customer_id, interval_start; missing interval_start"):
        explain(lake, "gold.cost_per_interval", {"customer_id": "42"})
    with pytest.raises(ExplainError, match=r"no row of gold\.cost_per_interval with customer_id=43"):
        explain(lake, "gold.cost_per_interval", {"customer_id": "43", "interval_start": ts(0)})
    with pytest.raises(ExplainError, match="interval_start='yesterday': not a Datetime"):
        explain(lake, "gold.cost_per_interval", {"customer_id": "42", "interval_start": "yesterday"})
    out = CliRunner().invoke(main, ["explain", "--lake", lake.root, "silver.customer_usage", "customer_id=42"])
    assert out.exit_code == 2 and "'silver.customer_usage' is not a gold table" in out.output
