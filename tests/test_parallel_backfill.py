"""A backfill split over two spawned processes leaves the lake as a serial backfill does: silver,
quarantine, gold, file counts and the ingest log, including a file whose rows fall on dates that
different processes refine (its log totals are summed from both, whichever merges last)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import psutil
import pytest

from tests.builders import (
    BACKFILL_DAYS,
    assert_same_tables,
    backfill_files,
    drop_into,
)
from warehouse import delta, parallel
from warehouse.datasets import DATASETS
from warehouse.lake import Lake
from warehouse.registry import Table, table
from warehouse.stages import land, refine
from warehouse.stages.pipeline import PipelineReport, backfill, land_all, process_pending


def test_split_keeps_dates_contiguous_and_whole() -> None:
    dates = [dt.date(2020, 8, d) for d in (5, 3, 4, 6, 7)]
    runs = parallel.split(dates, 2)
    assert runs == [
        [dt.date(2020, 8, 3), dt.date(2020, 8, 4), dt.date(2020, 8, 5)],
        [dt.date(2020, 8, 6), dt.date(2020, 8, 7)],
    ]
    assert parallel.split(dates[:1], 4) == [[dt.date(2020, 8, 5)]]


@pytest.mark.e2e
def test_a_backfill_on_two_processes_equals_a_serial_backfill(tmp_path: Path) -> None:
    lakes = [Lake.from_env(str(tmp_path / name)) for name in ("serial", "parallel")]
    for lake in lakes:
        for source, name, data in backfill_files():
            drop_into(lake, source, name, data)
        process_pending(lake)
    start, end = dt.date.fromisoformat(BACKFILL_DAYS[0]), dt.date.fromisoformat(BACKFILL_DAYS[-1])
    serial = backfill(lakes[0], start, end)
    split = backfill(lakes[1], start, end, processes=2)
    assert split.refined["customer_usage"].rows == serial.refined["customer_usage"].rows == 4 * (20 * 48 + 1) + 2
    wanted = [dt.date.fromisoformat(d) for d in BACKFILL_DAYS]
    assert sorted(d for d in split.gold_dates("usage_cost") if d) == wanted
    assert sorted(d for d in serial.gold_dates("usage_cost") if d) == wanted

    assert_same_tables(lakes[0], lakes[1])
    log = delta.scan(lakes[1], table("ops.ingest_log")).filter(pl.col("path").str.contains("spanning")).collect()
    assert log.select("status", "rows_read", "rows_valid").rows() == [("refined", 2, 2)]
    # Nothing left queued in either lake.
    for lake in lakes:
        assert delta.scan(lake, table("ops.gold_queue")).collect().is_empty()


@pytest.mark.e2e
def test_gridlake_backfill_parallel_runs_dagster_runs_per_process_and_matches(tmp_path: Path) -> None:
    """The CLI path: `gridlake backfill --parallel 2` through Dagster runs, one refine run per
    process's run of dates, leaves what the library's serial backfill leaves."""
    library = Lake.from_env(str(tmp_path / "library"))
    cli = Lake.from_env(str(tmp_path / "cli"))
    for lake in (library, cli):
        for source, name, data in backfill_files():
            drop_into(lake, source, name, data)
    process_pending(library)
    backfill(library, dt.date.fromisoformat(BACKFILL_DAYS[0]), dt.date.fromisoformat(BACKFILL_DAYS[-1]))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "GRIDLAKE_"))}
    env |= {"DAGSTER_HOME": str(tmp_path / "home"), "GRIDLAKE_ROOT": cli.root}
    gridlake = str(Path(sys.executable).parent / "gridlake")
    for command in (["run"], ["backfill", "--start", BACKFILL_DAYS[0], "--end", BACKFILL_DAYS[-1], "--parallel", "2"]):
        out = subprocess.run([gridlake, *command], env=env, capture_output=True, text=True, cwd=tmp_path)
        assert out.returncode == 0, out.stdout + out.stderr
    labels = [line.split(None, 1)[1] for line in out.stdout.splitlines() if line.startswith("ok")]
    assert f"refine customer_usage {BACKFILL_DAYS[0]}..{BACKFILL_DAYS[1]}" in labels
    assert f"refine customer_usage {BACKFILL_DAYS[2]}..{BACKFILL_DAYS[3]}" in labels

    assert_same_tables(library, cli)


def test_a_log_merge_that_lost_the_race_to_newer_counts_is_redone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs refine the two dates of one file. Run A sums the file's counts (its date only),
    then, before A's log merge lands, run B writes its date's counts and merges the full sums.
    A's merge then lands stale; A reads the sums again, sees them moved, and merges again."""
    lake = Lake.from_env(str(tmp_path / "lake"))
    drop_into(lake, "customer_usage", "usage_spanning.csv", backfill_files()[-1][2])
    land_all(lake, "library", PipelineReport())
    usage = DATASETS["customer_usage"]
    first, second = dt.date.fromisoformat(BACKFILL_DAYS[1]), dt.date.fromisoformat(BACKFILL_DAYS[2])
    real_upsert = delta.upsert
    merges: list[int] = []

    def upsert(lake_: Lake, t: Table, frame: pl.DataFrame) -> None:
        if t.qualified == "ops.ingest_log" and not merges:
            merges.append(int(frame["rows_valid"][0]))
            refine.refine(lake_, usage, [second])  # run B, start to end, inside A's window
        elif t.qualified == "ops.ingest_log":
            merges.append(int(frame["rows_valid"][0]))
        real_upsert(lake_, t, frame)

    monkeypatch.setattr(delta, "upsert", upsert)
    refine.refine(lake, usage, [first])  # run A
    # A's stale merge (1 row), B's (2 rows), then A's again with the settled sums (2 rows).
    assert merges == [1, 2, 2]
    log = land.ingest_log(lake, "customer_usage")
    assert log.select("status", "rows_read", "rows_valid").rows() == [("refined", 2, 2)]


@pytest.mark.e2e
def test_workers_of_a_killed_parallel_backfill_die_with_it(tmp_path: Path) -> None:
    lake = Lake.from_env(str(tmp_path / "lake"))
    for source, name, data in backfill_files():
        drop_into(lake, source, name, data)
    process_pending(lake)
    script = (
        "import datetime as dt, sys\n"
        "from warehouse.lake import Lake\n"
        "from warehouse.stages.pipeline import backfill\n"
        f"backfill(Lake.from_env(sys.argv[1]), dt.date.fromisoformat('{BACKFILL_DAYS[0]}'), "
        f"dt.date.fromisoformat('{BACKFILL_DAYS[-1]}'), processes=2)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script, lake.root])
    try:
        deadline = time.monotonic() + 60
        workers: list[psutil.Process] = []
        # The fork server and the two workers it forked (the resource tracker aside).
        while len(workers) < 3:
            assert parent.poll() is None and time.monotonic() < deadline, "the backfill's workers never started"
            descendants = psutil.Process(parent.pid).children(recursive=True)
            workers = [p for p in descendants if "resource_tracker" not in " ".join(p.cmdline())]
            time.sleep(0.1)
    finally:
        parent.kill()  # SIGKILL: no chance to stop its workers itself
        parent.wait()
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert alive == [], f"workers outlived the killed backfill: {alive}"
    versions = {name: delta.version(lake, table(name)) for name in ("silver.customer_usage", "ops.file_counts")}
    time.sleep(2)
    assert versions == {name: delta.version(lake, table(name)) for name in versions}
