"""Drills on a real S3 server (SeaweedFS), through the CLI a user runs:

- Secrets: with AWS_SECRET_ACCESS_KEY set to a recognisable value, a full `gridlake run` and a
  `gridlake sql` leave that value nowhere: not in their output, the Dagster instance (run and
  event storage, logs), the lake's objects, the DuckDB catalog or Data Docs.
- Faults: the server crashes in the middle of a run and comes back; the run fails with an error
  naming what failed (or finishes, its retries having carried it), and a rerun converges to the
  tables of a run that met no fault."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from tests.builders import assert_same_tables, drop_files, usage_and_price_files
from tests.s3server import SeaweedS3
from warehouse import catalog
from warehouse.lake import Lake
from warehouse.stages.pipeline import process_pending

pytestmark = [pytest.mark.e2e, pytest.mark.s3]

GRIDLAKE = str(Path(sys.executable).parent / "gridlake")
SECRET = "gridlake-drill-SECRET-6f1c2e9a7d"
DAY = dt.date(2020, 8, 5)


@pytest.fixture(scope="module")
def server() -> Iterator[SeaweedS3]:
    """A server of its own: the secret drill needs its own key, the fault drill kills it."""
    s3 = SeaweedS3()
    s3.secret_key = SECRET
    with s3:
        yield s3


def _env(server: SeaweedS3, root: str, base: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "GRIDLAKE_", "AWS_"))}
    return (
        env
        | server.env()
        | {
            "GRIDLAKE_ROOT": root,
            "DAGSTER_HOME": str(base / "home"),
            "GRIDLAKE_STATE": str(base / "state"),
        }
    )


def _files_holding(folder: Path, needle: bytes) -> list[str]:
    return [str(p) for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_the_secret_key_is_written_nowhere(server: SeaweedS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = server.new_prefix()
    env = _env(server, root, tmp_path)
    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    lake = Lake.from_env(root)
    drop_files(lake, usage_and_price_files(5))
    run = subprocess.run([GRIDLAKE, "run"], env=env, cwd=tmp_path, capture_output=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    sql = subprocess.run(
        [GRIDLAKE, "sql", "select count(*) from gold.hourly_usage"], env=env, cwd=tmp_path, capture_output=True
    )
    assert sql.returncode == 0, sql.stderr
    needle = SECRET.encode()
    for output in (run.stdout, run.stderr, sql.stdout, sql.stderr):
        assert needle not in output
    # The Dagster instance (runs, event logs, compute logs), the DuckDB catalog and Data Docs.
    assert (tmp_path / "home").is_dir() and any((tmp_path / "state").rglob("*.duckdb"))
    assert _files_holding(tmp_path, needle) == []
    # Every object the run wrote to the lake, read back through S3.
    objects = lake.fs.find(lake.fs_path(root))
    assert len(objects) > 20
    assert [o for o in objects if needle in lake.fs.cat_file(o)] == []
    # Nor can a query read it back, or read a table of another prefix with the lake's credentials.
    assert SECRET not in repr(lake) and server.access_key not in repr(lake)
    settings = catalog.query(
        lake, "SELECT current_setting('s3_secret_access_key') AS s, current_setting('s3_access_key_id') AS k"
    )
    assert settings.rows() == [("", "")]
    other = server.new_prefix() + "/foreign"
    write_deltalake(other, pa.table({"foreign_secret": ["hunter2"]}), storage_options=lake.delta_options)
    for probe in (
        "SELECT * FROM duckdb_settings()",
        "SELECT * FROM duckdb_secrets()",
        f"DESCRIBE SELECT * FROM delta_scan('{other}')",
        f"SELECT * FROM delta_scan('{other}')",
    ):
        with pytest.raises(catalog.NotReadOnly) as refusal:
            catalog.query(lake, probe)
        assert SECRET not in str(refusal.value) and "foreign_secret" not in str(refusal.value)


def test_a_server_crash_mid_run_fails_clearly_and_the_rerun_converges(
    server: SeaweedS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = usage_and_price_files(40)
    local = Lake.from_env(str(tmp_path / "local"))
    drop_files(local, files)
    process_pending(local)

    for name, value in server.env().items():
        monkeypatch.setenv(name, value)
    root = server.new_prefix()
    drop_files(Lake.from_env(root), files)
    env = _env(server, root, tmp_path)
    run = subprocess.Popen([GRIDLAKE, "run"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    time.sleep(float(os.environ.get("GRIDLAKE_DRILL_CRASH_AFTER", "9")))
    assert run.poll() is None, "the run ended before the crash"
    server.crash()
    time.sleep(3)
    server.restart()
    output = run.communicate(timeout=600)[0].decode(errors="replace")
    print(f"run during the crash: exit {run.returncode}\n{output[-3000:]}")
    if run.returncode != 0:
        # A failed run says which step failed and why, not just a traceback.
        assert "FAILED" in output or "Error" in output, output
    rerun = subprocess.run([GRIDLAKE, "run"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert_same_tables(local, Lake.from_env(root))
