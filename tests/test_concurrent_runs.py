"""Two runs started together on one lake with pending files: the lake locks (warehouse/locks.py)
make the second wait for the first wherever they would interleave, and both succeed. The tables
equal those of a single run, row for row: no file landed twice, no row lost or duplicated."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.builders import assert_same_tables, backfill_files, drop_into
from warehouse import delta, locks, parallel
from warehouse.lake import Lake
from warehouse.registry import table
from warehouse.stages.pipeline import process_pending

pytestmark = pytest.mark.e2e


def _pending(root: str) -> int:
    report = process_pending(Lake.from_env(root))
    return sum(len(r.landed) for r in report.landed.values())


def _lake(path: Path) -> Lake:
    lake = Lake.from_env(str(path))
    for source, name, data in backfill_files():
        drop_into(lake, source, name, data)
    return lake


def _one_log_row_per_file(lake: Lake) -> None:
    log = delta.scan(lake, table("ops.ingest_log")).collect()
    assert log.height == len(backfill_files())
    assert log["path"].n_unique() == log.height
    assert set(log["status"]) == {"refined"}


def test_two_library_runs_at_once_equal_one_run(tmp_path: Path) -> None:
    single, raced = _lake(tmp_path / "single"), _lake(tmp_path / "raced")
    process_pending(single)
    landed = parallel.spawned_map(_pending, [(raced.root,), (raced.root,)])
    # Every file landed once, by one run or the other.
    assert sum(landed) == len(backfill_files())
    _one_log_row_per_file(raced)
    assert_same_tables(single, raced)


def test_two_gridlake_runs_at_once_both_succeed_and_equal_one_run(tmp_path: Path) -> None:
    single, raced = _lake(tmp_path / "single"), _lake(tmp_path / "raced")
    process_pending(single)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "GRIDLAKE_"))}
    env |= {"DAGSTER_HOME": str(tmp_path / "home"), "GRIDLAKE_ROOT": raced.root}
    gridlake = str(Path(sys.executable).parent / "gridlake")
    runs = [
        subprocess.Popen([gridlake, "run"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=600)[0].decode() for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    _one_log_row_per_file(raced)
    assert_same_tables(single, raced)


def test_locks_are_reentrant_and_released_with_their_process(tmp_path: Path) -> None:
    lake = Lake.from_env(str(tmp_path / "lake"))
    with locks.held(lake, ["a", "b"]), locks.held(lake, ["b", "c"]):
        # Held here: another process cannot take it without waiting.
        probe = "import fcntl,sys; f=open(sys.argv[1],'a+'); fcntl.flock(f, fcntl.LOCK_EX|fcntl.LOCK_NB)"
        path = lake.local_state_dir / "locks" / "b.lock"
        assert subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True).returncode != 0
    assert subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True).returncode == 0
    # A process killed while holding a lock leaves nothing behind.
    hold = probe.replace("|fcntl.LOCK_NB", "") + "; print(1, flush=True); import time; time.sleep(60)"
    holder = subprocess.Popen([sys.executable, "-c", hold, str(path)], stdout=subprocess.PIPE)
    assert holder.stdout is not None and holder.stdout.readline().strip() == b"1"
    holder.kill()
    holder.wait()
    with locks.held(lake, ["b"]):
        assert subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True).returncode != 0
