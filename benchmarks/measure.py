"""Measuring inside a child process: wall and CPU time, peak RSS per stage, isolation of each
variant in its own spawned process, and the machine the figures were taken on."""

from __future__ import annotations

import multiprocessing as mp
import os
import platform
import resource
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

VERSIONED = ("polars", "pyarrow", "deltalake", "dagster", "great-expectations", "duckdb", "pandas", "numpy")


def peak_rss() -> int:
    """Peak resident set size of this process in bytes since start or the last reset."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_peak_rss() -> None:
    # Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0), which gives each
    # stage its own peak. Where that is not allowed the peak stays cumulative (still an upper bound).
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def current_rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Stage:
    name: str
    wall: float
    cpu: float
    peak: int
    rows: int
    in_bytes: int


@dataclass
class Meter:
    """Times stages of one variant run; each stage function returns the rows it processed."""

    stages: list[Stage] = field(default_factory=list)
    baseline: int = 0  # RSS when the first stage starts: interpreter, libraries, inputs in memory

    def time(self, name: str, in_bytes: int, fn: Callable[[], int]) -> int:
        if not self.stages:
            self.baseline = current_rss()
        reset_peak_rss()
        wall, cpu = time.perf_counter(), cpu_seconds()
        rows = fn()
        self.stages.append(Stage(name, time.perf_counter() - wall, cpu_seconds() - cpu, peak_rss(), rows, in_bytes))
        return rows

    def result(self, rows: int, in_bytes: int, **extra: Any) -> dict:
        """End to end: stages run back to back, so times add up and the peak is the largest."""
        return {
            "stages": [asdict(s) for s in self.stages],
            "wall": sum(s.wall for s in self.stages),
            "cpu": sum(s.cpu for s in self.stages),
            "peak": max((s.peak for s in self.stages), default=peak_rss()),
            "baseline": self.baseline,
            "rows": rows,
            "in_bytes": in_bytes,
            **extra,
        }


def _in_child(fn: Callable[..., dict], log_path: str, args: tuple) -> dict:
    # Library and Dagster logging would drown the report; keep it in a file per run.
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    return fn(*args)


def run_isolated(fn: Callable[..., dict], *args: Any, log_path: str, isolate: bool = True) -> dict:
    """fn(*args) in a new spawned process (or in this one with isolate=False); errors become
    {"error": ...} so one failed variant does not end the benchmark."""
    try:
        if not isolate:
            return fn(*args)
        with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
            return pool.submit(_in_child, fn, log_path, args).result()
    except Exception as err:
        detail = (str(err).strip().splitlines() or [""])[0]
        return {"error": f"{type(err).__name__}: {detail[:300]}", "log": log_path}


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def machine() -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    versions = []
    for name in VERSIONED:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return {
        "cores": str(os.cpu_count()),
        "cpu": cpu,
        "ram": f"{ram / (1 << 30):.1f} GiB",
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "versions": ", ".join(versions),
    }


def memory_available() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0
