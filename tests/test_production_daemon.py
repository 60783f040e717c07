"""The production profile through the operated path: the webserver and daemon on a PostgreSQL
instance, a backfill launched as the UI launches it (the webserver's GraphQL
`launchPartitionBackfill`) over 8 dates of customer usage. The run queue starts its runs, two
dates each, side by side, each in its own process; they all succeed, at least two run at the
same time, and every table equals a library run of the same input."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from itertools import pairwise
from pathlib import Path

import pytest

from assets.partitions import BACKFILL_DATES_PER_RUN
from orchestration.service import Service
from tests.pgserver import Postgres
from tests.test_parallel_backfill import assert_same_tables
from tests.test_production_profile import DAYS, START, _files
from tests.test_s3_drills import _drop
from warehouse.lake import Lake
from warehouse.stages.pipeline import process_pending

GRIDLAKE = str(Path(sys.executable).parent / "gridlake")
LAUNCH = """mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""


def _graphql(url: str, query: str, variables: dict) -> dict:
    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(f"{url}/graphql", data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise AssertionError(error.read().decode(errors="replace")) from error


def test_a_ui_backfill_runs_dates_side_by_side_on_postgres(
    postgres: Postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
    from dagster._core.execution.backfill import BulkActionStatus

    files = _files()
    library = Lake.from_env(str(tmp_path / "library"))
    _drop(library, files)
    process_pending(library)

    lake = Lake.from_env(str(tmp_path / "lake"))
    _drop(lake, files)
    home = tmp_path / "home"
    settings = postgres.env() | {
        "GRIDLAKE_INSTANCE": "production",
        "GRIDLAKE_MAX_RUNS": "4",
        "DAGSTER_HOME": str(home),
        "GRIDLAKE_ROOT": lake.root,
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    # Everything landed and refined first, by the CLI on the same instance.
    out = subprocess.run([GRIDLAKE, "run"], env=dict(os.environ), cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr

    dates = [(START + dt.timedelta(days=i)).isoformat() for i in range(DAYS)]
    with Service(home=home, lake_root=lake.root, webserver=True, env=settings) as service:
        params = {
            "partitionNames": dates,
            "assetSelection": [{"path": [layer, "customer_usage"]} for layer in ("silver", "quarantine")],
        }
        launched = _graphql(service.url, LAUNCH, {"params": params})
        result = launched["data"]["launchPartitionBackfill"]
        assert result["__typename"] == "LaunchBackfillSuccess", launched

        def finished() -> object:
            with DagsterInstance.get() as inst:
                backfill = inst.get_backfill(result["backfillId"])
                assert backfill is not None
                return backfill.status if backfill.status != BulkActionStatus.REQUESTED else None

        status = service.wait(finished, 600, "the backfill to finish", every=2.0)
        with DagsterInstance.get() as inst:
            busy = [DagsterRunStatus.QUEUED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]
            service.wait(lambda: not inst.get_runs(RunsFilter(statuses=busy), limit=1), 300, "the runs to end")
            records = inst.get_run_records(RunsFilter(tags={"dagster/backfill": result["backfillId"]}))
    assert status == BulkActionStatus.COMPLETED_SUCCESS, status
    assert len(records) == DAYS // BACKFILL_DATES_PER_RUN == 4
    assert {r.dagster_run.status for r in records} == {DagsterRunStatus.SUCCESS}
    ranges = sorted(
        (
            r.dagster_run.tags["dagster/asset_partition_range_start"],
            r.dagster_run.tags["dagster/asset_partition_range_end"],
        )
        for r in records
    )
    assert ranges == [(dates[i], dates[i + 1]) for i in range(0, DAYS, 2)]
    # Side by side: some run started before another had ended.
    spans = sorted((r.start_time, r.end_time) for r in records if r.start_time and r.end_time)
    assert len(spans) == 4 and any(later[0] < earlier[1] for earlier, later in pairwise(spans)), spans

    assert_same_tables(library, lake)
