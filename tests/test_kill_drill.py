"""kill -9 drill: `gridlake run` killed with SIGKILL at moments spread over an uninterrupted
run's duration, each time followed by a rerun to completion. Silver, quarantine, gold, file
counts and the ingest log then equal the uninterrupted run's, row for row. `make test` kills a
~20,000-row run at 3 moments; `make drills` a ~100,000-row run at 12 (GRIDLAKE_DRILL_* below)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.builders import assert_same_tables
from warehouse.generate.prices import generate_prices
from warehouse.generate.usage import generate_usage
from warehouse.lake import Lake

pytestmark = pytest.mark.e2e

GRIDLAKE = str(Path(sys.executable).parent / "gridlake")
DAY = dt.date(2020, 8, 5)


def _landing(folder: Path, customers: int) -> None:
    for relative, data in [*generate_usage(customers, DAY, 1), *generate_prices(DAY, 1)]:
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    # A bad row and a later correction, so quarantine and superseded rows are part of the drill.
    extra = folder / "customer_usage" / "zz_correction.csv"
    extra.write_text(
        "customerId,intervalStart,intervalEnd,usage\n"
        "1,2020-08-05T00:00:00Z,2020-08-05T00:05:00Z,9.5\n"
        "2,not-a-time,2020-08-05T00:05:00Z,1.0\n"
    )


def _env(home: Path, root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "GRIDLAKE_"))}
    return env | {"DAGSTER_HOME": str(home), "GRIDLAKE_ROOT": str(root)}


def _lake_with_files(base: Path, name: str, landing: Path) -> tuple[Path, dict[str, str]]:
    root = base / name / "lake"
    shutil.copytree(landing, root / "landing")
    return root, _env(base / name / "home", root)


def _run(env: dict[str, str], cwd: Path) -> float:
    began = time.monotonic()
    out = subprocess.run([GRIDLAKE, "run"], env=env, cwd=cwd, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr
    return time.monotonic() - began


def drill(tmp_path: Path, customers: int, moments: int) -> list[float]:
    landing = tmp_path / "landing"
    _landing(landing, customers)
    root, env = _lake_with_files(tmp_path, "whole", landing)
    _run(env, tmp_path)
    # Timed on a second lake: the first run also starts the warm command parent, and moments
    # spread over that longer duration would fall after the end of the (warm) runs they kill.
    _timing_root, timing_env = _lake_with_files(tmp_path, "timing", landing)
    duration = _run(timing_env, tmp_path)
    shutil.rmtree(tmp_path / "timing")
    killed_at = []
    for i in range(moments):
        # From just after start-up to just before the end, evenly.
        at = duration * (0.15 + 0.8 * i / max(moments - 1, 1))
        lake_root, lake_env = _lake_with_files(tmp_path, f"killed-{i}", landing)
        process = subprocess.Popen(
            [GRIDLAKE, "run"], env=lake_env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(at)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed_at.append(at)
        process.wait()
        _run(lake_env, tmp_path)
        assert_same_tables(Lake.from_env(str(root)), Lake.from_env(str(lake_root)))
        shutil.rmtree(tmp_path / f"killed-{i}")
    return killed_at


def test_gridlake_run_killed_at_three_moments_converges(tmp_path: Path) -> None:
    killed = drill(tmp_path, customers=70, moments=3)
    assert len(killed) >= 2  # the last moment may fall after a fast run's end


@pytest.mark.drills
def test_gridlake_run_killed_at_twelve_moments_converges(tmp_path: Path) -> None:
    customers = int(os.environ.get("GRIDLAKE_DRILL_CUSTOMERS", "350"))  # x 288 intervals = ~100,000 rows
    killed = drill(tmp_path, customers=customers, moments=int(os.environ.get("GRIDLAKE_DRILL_MOMENTS", "12")))
    assert len(killed) >= 10
