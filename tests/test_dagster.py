"""The Dagster layer against a real instance: definitions load, the drop sensor keys runs by
content, and `run_pending` records materializations and asset checks the UI shows."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from assets.keys import asset_key
from orchestration.definitions import defs
from orchestration.resources import lake_for
from orchestration.run import run_pending
from orchestration.sensors import SENSORS
from tests.conftest import Drop
from tests.test_pipeline_usage import FIVE_MIN_PRICES, prices_json, ts, usage_csv
from warehouse.lake import Lake
from warehouse.registry import TABLES


def test_definitions_cover_every_registry_table_with_checks() -> None:
    keys = {k.to_user_string() for k in defs.resolve_all_asset_keys()}
    for name in ("bronze.customer_usage", "silver.customer_usage", "quarantine.energy_prices", "gold.hourly_usage"):
        assert name.replace(".", "/") in keys
    assert {t.layer for t in TABLES.values()} >= {"bronze", "silver", "gold", "quarantine", "ops"}
    graph = defs.resolve_asset_graph()
    checks = {c.name for c in graph.asset_check_keys}
    assert {"all_files_readable", "required_columns_present"} <= checks
    assert defs.get_schedule_def("hourly_catch_up").cron_schedule == "0 * * * *"


def _drop_sensor() -> dg.SensorDefinition:
    return next(s for s in SENSORS if s.name == "landing_drops")


def test_drop_sensor_keys_runs_by_content_and_keeps_a_cursor(lake: Lake, drop: Drop, dagster_home: Path) -> None:
    sensor = _drop_sensor()
    resources = {"lake": lake_for(lake.root)}
    with dg.instance_for_test() as instance:
        content = usage_csv([(1, ts(0), ts(5), 1.0)])
        drop("customer_usage", "a.csv", content)
        ctx = dg.build_sensor_context(instance=instance, resources=resources)
        first = sensor(ctx)
        assert isinstance(first, dg.RunRequest)
        assert first.run_config["ops"]["bronze__customer_usage"]["config"]["paths"] == [
            lake.uri("landing", "customer_usage", "a.csv")
        ]
        # Nothing new since the cursor: skip.
        again = sensor(dg.build_sensor_context(instance=instance, resources=resources, cursor=ctx.cursor))
        assert isinstance(again, dg.SkipReason)
        # The same bytes under another name produce the same run key, which Dagster never reuses.
        Path(lake.fs_path(lake.uri("landing", "customer_usage", "a.csv"))).unlink()
        drop("customer_usage", "b.csv", content)
        renamed = sensor(dg.build_sensor_context(instance=instance, resources=resources, cursor=ctx.cursor))
        assert isinstance(renamed, dg.RunRequest)
        assert renamed.run_key == first.run_key


def test_run_pending_records_runs_materializations_and_checks(lake: Lake, drop: Drop, dagster_home: Path) -> None:
    drop("customer_usage", "u.csv", usage_csv([(1, ts(0), ts(5), 1.0), ("", ts(5), ts(10), 1.0)]))
    drop("customer_usage", "broken.json", b"[{")
    drop("energy_prices", "p.json", prices_json(FIVE_MIN_PRICES))
    summary = run_pending(lake.root)
    assert not summary.ok  # the broken file fails the run's verdict...
    assert len(summary.failed_files) == 1 and "broken.json" in summary.failed_files[0]
    assert all(ok for label, ok in summary.runs)  # ...but no run failed and the others landed

    instance = dg.DagsterInstance.get()
    silver = instance.get_latest_materialization_event(asset_key("silver.customer_usage"))
    assert silver is not None
    meta = silver.asset_materialization.metadata
    assert meta["dagster/row_count"].value == 1
    assert "dagster/column_schema" in meta
    assert silver.asset_materialization.partition == "2020-08-05"
    quarantine = instance.get_latest_materialization_event(asset_key("quarantine.customer_usage"))
    assert quarantine.asset_materialization.metadata["rule/customer_id_present"].value == 1
    bronze_check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(asset_key("bronze.customer_usage"), "all_files_readable")]
    )
    [execution] = bronze_check.values()
    assert execution.status.value == "FAILED"
    hourly = instance.get_latest_materialization_event(asset_key("gold.hourly_usage"))
    assert hourly.asset_materialization.metadata["dagster/row_count"].value == 1


@pytest.mark.parametrize("query", ["select count(*) as n from gold.hourly_usage"])
def test_cli_run_then_sql(lake: Lake, drop: Drop, dagster_home: Path, query: str) -> None:
    from click.testing import CliRunner

    from orchestration.cli import main

    drop("customer_usage", "u.csv", usage_csv([(c, ts(m), ts(m + 5), 1.0) for c in range(3) for m in range(0, 60, 5)]))
    drop("energy_prices", "p.json", prices_json(FIVE_MIN_PRICES))
    runner = CliRunner()
    result = runner.invoke(main, ["run", "--lake", lake.root])
    assert result.exit_code == 0, result.output
    out = runner.invoke(main, ["sql", "--lake", lake.root, "--format", "csv", query])
    assert out.exit_code == 0, out.output
    assert out.output.strip().splitlines() == ["n", "3"]
    listing = runner.invoke(main, ["tables", "--lake", lake.root])
    assert "gold.hourly_usage" in listing.output
    bad = runner.invoke(main, ["sql", "--lake", lake.root, "delete from gold.hourly_usage"])
    assert bad.exit_code != 0


def test_blocking_check_keeps_a_mostly_bad_day_out_of_gold(lake: Lake, drop: Drop, dagster_home: Path) -> None:
    drop("energy_prices", "p.json", prices_json(FIVE_MIN_PRICES))
    drop("customer_usage", "good.csv", usage_csv([(1, ts(0), ts(5), 1.0)]))
    assert run_pending(lake.root).ok
    # A day where most rows are bad: silver and quarantine are rebuilt, gold is left alone.
    drop(
        "customer_usage",
        "mostly-bad.csv",
        usage_csv([(1, ts(5), ts(10), 2.0)] + [(1, ts(m), ts(m), 1) for m in range(10, 40, 5)]),
    )
    summary = run_pending(lake.root)
    assert not summary.ok
    assert summary.blocked and "quarantine_share_at_most_50_percent" in summary.blocked[0]
    assert not any(label.startswith("gold usage_cost") for label, _ in summary.runs)
    from tests.test_pipeline_usage import read

    assert read(lake, "silver.customer_usage").height == 2
    assert read(lake, "gold.cost_per_interval").height == 1
