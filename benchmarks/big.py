"""`--stages big`: one date of 100,000 meters (28.8 M usage rows) through the library path in one
process, refined within the memory budget; `--stages backfill`: a 30-day backfill of the
workload's customers on 1 and on 2 spawned processes."""

from __future__ import annotations

import datetime as dt
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.measure import Meter, cpu_seconds, peak_rss, run_isolated
from benchmarks.variants import build_history, run_library
from benchmarks.workload import DAY, NEW_DAY, QUICK_CUSTOMERS, write_landing

BIG_CUSTOMERS = 100_000
PROCESSES = (1, 2)


@dataclass
class BigResults:
    customers: int
    rows: int = 0
    files: int = 0
    memory_mb: int = 0
    run: dict = field(default_factory=dict)


@dataclass
class BackfillResults:
    customers: int
    days: int
    memory_mb: int = 0
    history: dict = field(default_factory=dict)
    runs: dict[int, dict] = field(default_factory=dict)


def measure_big(work: Path, quick: bool, isolate: bool, echo: Any) -> BigResults:
    from warehouse.lake import Lake

    customers = QUICK_CUSTOMERS * 5 if quick else BIG_CUSTOMERS
    echo(f"big: generating {customers:,} customers x 1 day as hourly CSV files")
    landing = write_landing(work / "big-landing", customers, "csv", DAY, 1)
    results = BigResults(customers, landing.rows, landing.files, Lake.from_env().memory_mb)
    run_dir = work / "big-run"
    run_dir.mkdir()
    results.run = run_isolated(run_library, landing, str(run_dir), log_path=str(work / "big.log"), isolate=isolate)
    echo(f"big: {_summary(results.run)}")
    return results


def run_backfill(lake_root: str, days: int, processes: int) -> dict:
    """Rebuild every date of the history lake, on `processes` processes. The peak is the largest
    of this process and its workers (each worker's own peak is its budget's business)."""
    from warehouse.lake import Lake
    from warehouse.stages.pipeline import backfill

    lake = Lake.from_env(lake_root)
    start, end = NEW_DAY - dt.timedelta(days=days), NEW_DAY - dt.timedelta(days=1)
    wall, cpu = time.perf_counter(), cpu_seconds()
    report = backfill(lake, start, end, processes=processes)
    elapsed = time.perf_counter() - wall
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    rows = sum(r.rows for r in report.refined.values())
    meter = Meter()
    return {
        **meter.result(rows, 0),
        "wall": elapsed,
        "cpu": cpu_seconds() - cpu + children.ru_utime + children.ru_stime + sum(c for _, c in report.workers),
        "peak": peak_rss(),
        "worker_peak": max((p for p, _ in report.workers), default=0),
        "processes": processes,
    }


def measure_backfill(
    work: Path, customers: int, days: int, isolate: bool, echo: Any, lake: Path | None
) -> BackfillResults:
    """On the incremental stage's long history when it was built (same customers and days),
    else on one built here."""
    from warehouse.lake import Lake

    results = BackfillResults(customers, days, Lake.from_env().memory_mb)
    if lake is None:
        lake = work / "backfill-history" / "lake"
        lake.mkdir(parents=True)
        echo(f"backfill: building {days}-day history ({customers:,} customers)")
        results.history = run_isolated(
            build_history,
            str(lake),
            customers,
            days,
            "hour",
            log_path=str(work / "backfill-history.log"),
            isolate=isolate,
        )
    for processes in PROCESSES:
        result = run_isolated(
            run_backfill, str(lake), days, processes, log_path=str(work / "backfill.log"), isolate=isolate
        )
        results.runs[processes] = result
        echo(f"backfill {days} days on {processes} process(es): {_summary(result)}")
    return results


def _summary(result: dict) -> str:
    return result.get("error") or f"{result['wall']:.2f} s, peak {result['peak'] >> 20} MB"


def _mb(n: float) -> str:
    return f"{n / (1 << 20):,.0f} MB"


def render_big(results: BigResults) -> list[str]:
    run = results.run
    lines = [
        "## One date of 100,000 meters (`--stages big`)",
        "",
        f"{results.customers:,} customers x 1 day: {results.rows:,} rows in {results.files} hourly CSV files, "
        f"library path in one process, memory budget GRIDLAKE_MEMORY_MB={results.memory_mb}.",
        "",
    ]
    if "error" in run:
        return [*lines, f"Failed: {run['error']}", ""]
    lines += ["| Stage | Rows | Time | Rows/s | Peak RSS |", "|---|---:|---:|---:|---:|"]
    for s in run["stages"]:
        rate = f"{s['rows'] / s['wall']:,.0f}" if s["rows"] and s["wall"] else "–"
        lines.append(f"| {s['name']} | {s['rows']:,} | {s['wall']:.1f} s | {rate} | {_mb(s['peak'])} |")
    lines += [
        f"| **end to end** | {results.rows:,} | {run['wall']:.1f} s | {results.rows / run['wall']:,.0f} | "
        f"{_mb(run['peak'])} |",
        "",
    ]
    return lines


def render_backfill(results: BackfillResults) -> list[str]:
    lines = [
        "## Backfill on 1 and 2 processes (`--stages backfill`)",
        "",
        f"Every date of a {results.days}-day history of {results.customers:,} customers re-validated and rebuilt "
        f"(`backfill(..., processes=N)`, the library side of `gridlake backfill --parallel N`). Peak RSS is per "
        f"process (GRIDLAKE_MEMORY_MB={results.memory_mb} each); with N workers the machine holds up to N of them "
        "plus the coordinating process.",
        "",
        "| Processes | Rows | Time | CPU | Rows/s | Peak RSS, coordinator | Peak RSS, largest worker |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for processes, run in sorted(results.runs.items()):
        if "error" in run:
            lines.append(f"| {processes} | failed: {run['error']} | | | | | |")
            continue
        lines.append(
            f"| {processes} | {run['rows']:,} | {run['wall']:.1f} s | {run['cpu']:.1f} s | "
            f"{run['rows'] / run['wall']:,.0f} | {_mb(run['peak'])} | "
            f"{_mb(run['worker_peak']) if processes > 1 else '–'} |"
        )
    one, two = results.runs.get(1, {}), results.runs.get(2, {})
    if "wall" in one and "wall" in two:
        lines += ["", f"**2 processes ÷ 1 process: {two['wall'] / one['wall']:.2f}x the time.**"]
    return [*lines, ""]
