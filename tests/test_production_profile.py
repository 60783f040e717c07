"""The production profile for real: Dagster's instance in PostgreSQL (deploy/dagster.prod.yaml),
the lake on S3 (SeaweedFS), and a backfill of 8 dates split over 4 processes, each running its
own Dagster runs, as the run launcher would. Gold, silver, quarantine, file counts and the ingest
log equal a serial run of the same input on a local lake, row for row."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.pgserver import Postgres
from tests.s3server import SeaweedS3
from tests.test_parallel_backfill import assert_same_tables
from tests.test_s3_drills import _drop
from warehouse.generate.prices import generate_prices
from warehouse.generate.usage import generate_usage
from warehouse.lake import Lake
from warehouse.stages.pipeline import backfill, process_pending

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
    _drop(local, files)
    process_pending(local)
    end = START + dt.timedelta(days=DAYS - 1)
    backfill(local, START, end)

    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    root = s3_server.new_prefix()
    _drop(Lake.from_env(root), files)
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
        _drop(Lake.from_env(roots[mode]), _files())
        env = _production_env(postgres, s3_server, roots[mode], tmp_path / mode)
        _cli(env, tmp_path, "run")
        extra = ("--parallel", "4") if mode == "parallel" else ()
        took[mode], output = _cli(env, tmp_path, "backfill", "--start", str(START), "--end", str(end), *extra)
        print(f"8-date backfill {mode}: {took[mode]:.1f} s, {output.count('commit conflict')} commit conflicts retried")
    assert_same_tables(Lake.from_env(roots["serial"]), Lake.from_env(roots["parallel"]))
