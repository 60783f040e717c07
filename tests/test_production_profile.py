"""The production profile for real: Dagster's instance in PostgreSQL (deploy/dagster.prod.yaml).

* The lake on S3 (SeaweedFS), and a backfill of 8 dates split over 4 processes, each running its
  own Dagster runs, as the run launcher would. Gold, silver, quarantine, file counts and the
  ingest log equal a serial run of the same input on a local lake, row for row.
* The operated path: the webserver and daemon, and a backfill launched as the UI launches it (the
  webserver's GraphQL `launchPartitionBackfill`) over the 8 dates. The run queue starts its runs,
  two dates each, side by side, each in its own process; they all succeed, at least two run at
  the same time, and every table equals a library run of the same input.

The tests share the module's PostgreSQL server."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from itertools import pairwise
from pathlib import Path

import pytest

from assets.partitions import BACKFILL_DATES_PER_RUN
from orchestration.service import Service
from tests.builders import assert_same_tables, drop_files
from tests.pgserver import Postgres
from tests.s3server import SeaweedS3
from warehouse.generate.prices import generate_prices
from warehouse.generate.usage import generate_usage
from warehouse.lake import Lake
from warehouse.stages.pipeline import backfill, process_pending

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.s3]

GRIDLAKE = str(Path(sys.executable).parent / "gridlake")
START = dt.date(2020, 8, 3)
DAYS = 8


def _files() -> list[tuple[str, bytes]]:
    bad = b"customerId,intervalStart,intervalEnd,usage\n7,2020-08-04T00:00:00Z,2020-08-04T00:05:00Z,-3\n"
    return [*generate_usage(12, START, DAYS, per="day"), *generate_prices(START, DAYS), ("customer_usage/bad.csv", bad)]


def _cli(env: dict[str, str], cwd: Path, *args: str) -> tuple[float, str]:
    began = time.monotonic()
    out = subprocess.run([GRIDLAKE, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr
    return time.monotonic() - began, out.stdout + out.stderr


def _production_env(postgres: Postgres, s3: SeaweedS3, root: str, base: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "GRIDLAKE_", "AWS_"))}
    return (
        env
        | postgres.env()
        | s3.env()
        | {
            "GRIDLAKE_INSTANCE": "production",
            "GRIDLAKE_MAX_RUNS": "4",
            "DAGSTER_HOME": str(base / "home"),
            "GRIDLAKE_ROOT": root,
            "GRIDLAKE_STATE": str(base / "state"),
        }
    )


def _runs_in_postgres(postgres: Postgres) -> dict[str, int]:
    import psycopg2

    con = psycopg2.connect(host="127.0.0.1", port=postgres.port, user="gridlake", dbname="dagster")
    try:
        cur = con.cursor()
        cur.execute("SELECT status, count(*) FROM runs GROUP BY status")
        return {status: n for status, n in cur.fetchall()}
    finally:
        con.close()


def test_parallel_backfill_on_postgres_and_s3_equals_a_serial_local_run(
    postgres: Postgres,
    s3_server: SeaweedS3,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    files = _files()
    local = Lake.from_env(str(tmp_path / "local"))
    drop_files(local, files)
    process_pending(local)
    end = START + dt.timedelta(days=DAYS - 1)
    backfill(local, START, end)

    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    root = s3_server.new_prefix()
    drop_files(Lake.from_env(root), files)
    env = _production_env(postgres, s3_server, root, tmp_path)
    _cli(env, tmp_path, "run")
    assert "storage:\n  postgres:" in (tmp_path / "home" / "dagster.yaml").read_text()
    took, output = _cli(env, tmp_path, "backfill", "--start", str(START), "--end", str(end), "--parallel", "4")
    conflicts = output.count("commit conflict")
    print(f"8-date backfill on 4 processes: {took:.1f} s, {conflicts} commit conflicts retried")
    refine_runs = [line for line in output.splitlines() if line.startswith("ok     refine customer_usage")]
    assert len(refine_runs) == 4, output  # one per process, each its two dates

    assert_same_tables(local, Lake.from_env(root))
    runs = _runs_in_postgres(postgres)
    assert runs.get("SUCCESS", 0) >= 4 + 4 and set(runs) == {"SUCCESS"}, runs


@pytest.mark.drills
def test_serial_and_parallel_backfill_times_on_postgres_and_s3(
    postgres: Postgres,
    s3_server: SeaweedS3,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same 8-date backfill on two lakes of one S3 server and one PostgreSQL instance: serial,
    then 4 processes; both leave the same tables. Prints both wall times (make drills -s)."""
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    end = START + dt.timedelta(days=DAYS - 1)
    took: dict[str, float] = {}
    roots: dict[str, str] = {}
    for mode in ("serial", "parallel"):
        roots[mode] = s3_server.new_prefix()
        drop_files(Lake.from_env(roots[mode]), _files())
        env = _production_env(postgres, s3_server, roots[mode], tmp_path / mode)
        _cli(env, tmp_path, "run")
        extra = ("--parallel", "4") if mode == "parallel" else ()
        took[mode], output = _cli(env, tmp_path, "backfill", "--start", str(START), "--end", str(end), *extra)
        print(f"8-date backfill {mode}: {took[mode]:.1f} s, {output.count('commit conflict')} commit conflicts retried")
    assert_same_tables(Lake.from_env(roots["serial"]), Lake.from_env(roots["parallel"]))


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
    drop_files(library, files)
    process_pending(library)

    lake = Lake.from_env(str(tmp_path / "lake"))
    drop_files(lake, files)
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
