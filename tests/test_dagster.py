"""The Dagster layer against a real instance: definitions load, the drop sensor keys runs by
(path, size, modification time) and retries failed work, and `run_pending` records
materializations and asset checks the UI shows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.test_utils import create_run_for_test

from assets.keys import asset_key
from orchestration import retries
from orchestration.definitions import defs
from orchestration.resources import lake_for
from orchestration.run import run_pending
from orchestration.sensors import SENSORS
from tests.builders import FIVE_MIN_PRICES, prices_json, read, ts, usage_csv
from tests.conftest import Drop
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


def _result(sensor: dg.SensorDefinition, ctx: dg.SensorEvaluationContext) -> list[dg.RunRequest]:
    out = sensor(ctx)
    assert isinstance(out, dg.SensorResult)
    return list(out.run_requests or [])


def test_drop_sensor_keys_runs_by_stamp_and_retries_a_failed_landing(
    lake: Lake, drop: Drop, dagster_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sensor = _drop_sensor()
    resources = {"lake": lake_for(lake.root)}
    with dg.instance_for_test() as instance:
        content = usage_csv([(1, ts(0), ts(5), 1.0)])
        drop("customer_usage", "a.csv", content)
        ctx = dg.build_sensor_context(instance=instance, resources=resources)
        [first] = _result(sensor, ctx)
        [config] = first.run_config["ops"]["bronze__customer_usage"]["config"]["files"]
        assert config["path"] == "landing/customer_usage/a.csv" and config["size"] == len(content)
        assert first.run_key.startswith("land:") and first.run_key.endswith(":0")
        # While its run is queued or running, nothing is requested again.
        run = create_run_for_test(instance, status=dg.DagsterRunStatus.STARTED, tags=first.tags)
        assert _result(sensor, dg.build_sensor_context(instance=instance, resources=resources, cursor=ctx.cursor)) == []
        # The run failed: the same files are requested again, once the first delay has passed.
        instance.report_run_failed(run)
        cursor = ctx.cursor
        assert _result(sensor, dg.build_sensor_context(instance=instance, resources=resources, cursor=cursor)) == []
        monkeypatch.setattr(retries, "RETRY_DELAYS", (0.0,))
        ctx = dg.build_sensor_context(instance=instance, resources=resources, cursor=cursor)
        [retry] = _result(sensor, ctx)
        assert retry.run_key == first.run_key.removesuffix(":0") + ":1" and retry.run_config == first.run_config
        # The same bytes under another name are another drop: its own request (landing logs a duplicate).
        drop("customer_usage", "b.csv", content)
        create_run_for_test(instance, status=dg.DagsterRunStatus.STARTED, tags=retry.tags)
        [renamed] = _result(sensor, dg.build_sensor_context(instance=instance, resources=resources, cursor=ctx.cursor))
        assert renamed.run_key not in (first.run_key, retry.run_key)
        paths = [f["path"] for f in renamed.run_config["ops"]["bronze__customer_usage"]["config"]["files"]]
        assert paths == ["landing/customer_usage/b.csv"]


def test_failed_work_is_retried_with_growing_delays_then_hourly() -> None:
    fingerprint = "refine:x:2020-08-05"
    tags = {retries.WORK_TAG: retries.work_tag(fingerprint)}
    with dg.instance_for_test() as instance:
        assert retries.due_attempt(instance, fingerprint) == 0
        ended: list[float] = []
        for failures, delay in enumerate([10, 60, 300, 1200, 3600, 3600], start=1):
            run = create_run_for_test(instance, status=dg.DagsterRunStatus.STARTED, tags=tags)
            assert retries.due_attempt(instance, fingerprint) is None  # one is running
            instance.report_run_failed(run)
            record = instance.get_run_record_by_id(run.run_id)
            ended.append(record.end_time or record.update_timestamp.timestamp())
            at = dt.datetime.fromtimestamp(max(ended), dt.UTC)
            assert retries.due_attempt(instance, fingerprint, at + dt.timedelta(seconds=delay - 1)) is None
            assert retries.due_attempt(instance, fingerprint, at + dt.timedelta(seconds=delay)) == failures


@pytest.mark.e2e
def test_run_pending_records_runs_materializations_and_checks(lake: Lake, drop: Drop, dagster_home: Path) -> None:
    drop("customer_usage", "u.csv", usage_csv([(1, ts(0), ts(5), 1.0), ("", ts(5), ts(10), 1.0)]))
    drop("customer_usage", "broken.json", b"[{")
    drop("energy_prices", "p.json", prices_json(FIVE_MIN_PRICES))
    summary = run_pending(lake.root)
    assert not summary.ok  # the broken file fails the run's verdict...
    assert len(summary.failed_files) == 1 and "broken.json" in summary.failed_files[0]
    assert all(ok for label, ok in summary.runs)  # ...but no run failed and the others landed

    instance = dg.DagsterInstance.get()
    # Each run under a job named for the command and its work, never "__ephemeral_asset_job__".
    jobs = {r.job_name for r in instance.get_runs()}
    assert {"gridlake_run__land", "gridlake_run__refine_customer_usage", "gridlake_run__publish"} <= jobs, jobs
    assert all(name.startswith("gridlake_run__") for name in jobs), jobs
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
    # One usage reading of 288 and 12 prices of 288: the completeness check warns, naming the date.
    completeness = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(asset_key("gold.completeness"), "series_complete")]
    )
    [warned] = completeness.values()
    evaluation = warned.event.dagster_event.event_specific_data
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    assert evaluation.metadata["failing_rows"].value == 2
    assert evaluation.metadata["failing_dates"].value == "2020-08-05 (2)"


@pytest.mark.parametrize("query", ["select count(*) as n from gold.hourly_usage"])
@pytest.mark.e2e
def test_cli_run_then_sql(lake: Lake, drop: Drop, dagster_home: Path, query: str) -> None:
    from click.testing import CliRunner

    from orchestration.cli import main

    drop("customer_usage", "u.csv", usage_csv([(c, ts(m), ts(m + 5), 1.0) for c in range(3) for m in range(0, 60, 5)]))
    drop("energy_prices", "p.json", prices_json(FIVE_MIN_PRICES))
    runner = CliRunner()
    result = runner.invoke(main, ["run", "--lake", lake.root])
    assert result.exit_code == 0, result.output
    # Gold a refine run carried counts as rebuilt too.
    day = "2020-08-05..2020-08-05 (1 date)"
    assert f"gold rebuilt: usage_cost {day}; completeness {day}" in result.output, result.output
    out = runner.invoke(main, ["sql", "--lake", lake.root, "--format", "csv", query])
    assert out.exit_code == 0, out.output
    assert out.output.strip().splitlines() == ["n", "3"]
    listing = runner.invoke(main, ["tables", "--lake", lake.root])
    assert "gold.hourly_usage" in listing.output
    bad = runner.invoke(main, ["sql", "--lake", lake.root, "delete from gold.hourly_usage"])
    assert bad.exit_code != 0


@pytest.mark.e2e
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

    assert read(lake, "silver.customer_usage").height == 2
    assert read(lake, "gold.cost_per_interval").height == 1
