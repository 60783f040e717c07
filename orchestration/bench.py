"""`gridlake bench`: speed, memory and scaling of the pipeline on generated data, measured side
by side with the cheapest real I/O path (the floor: pyarrow Parquet write + read of the same rows)
and with a plain pandas implementation (the peer, orchestration/bench_peer.py), in one run.

The machines are shared and noisy, so every variant runs in its own freshly spawned process
(forking after deltalake use can hang), variants alternate within each round (A, B, A, B, ...),
and results are medians over the rounds with the min-max range. Wall time, CPU time (user + sys,
all threads) and peak RSS (VmHWM, reset at the start of every stage) are taken inside the child,
so process start-up and imports are not counted.

Workload S: 10,000 customers x 1 day of 5-minute usage (2,880,000 rows) plus that day's prices,
as 24 hourly CSV files and again as 24 hourly NDJSON files per source. `--scale` multiplies the
customers. Incremental cost: one new 5-minute file on top of 1 day and of 30 days of history.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import os
import pickle
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib import metadata
from itertools import islice
from pathlib import Path
from typing import Any

import click

S_CUSTOMERS = 10_000
QUICK_CUSTOMERS = 20
QUICK_HISTORY_DAYS = 2
INTERVALS_PER_DAY = 288
DAY = dt.date(2020, 8, 5)
# The incremental file is the first interval of this day; history is the days before it.
NEW_DAY = dt.date(2020, 9, 1)
SOURCES = ("customer_usage", "energy_prices")
SECTIONS = ("pipeline", "dagster", "floor", "peer", "incremental", "scaling")
SCALES = (1, 2, 4)
VERSIONED = ("polars", "pyarrow", "deltalake", "dagster", "great-expectations", "duckdb", "pandas", "numpy")

TARGET_ROWS_PER_CORE = 3_000_000
TARGET_PEER_SPEEDUP = 10.0
TARGET_PEER_MEMORY = 0.5
TARGET_INCREMENTAL = 1.3
TARGET_PEAK_S = 1 << 30
TARGET_PEAK_BACKFILL = 2 << 30


# ---------------------------------------------------------------------------------------------
# Measuring inside a child process


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


# ---------------------------------------------------------------------------------------------
# Generated landing files


@dataclass(frozen=True)
class Landing:
    """Generated landing files: <folder>/<source>/<file>, ready to link into a lake."""

    folder: str
    fmt: str
    customers: int
    days: int
    files: int
    rows: int  # data lines counted in the bytes written, usage + prices
    usage_rows: int
    bytes: int


def _data_lines(data: bytes, fmt: str) -> int:
    return data.count(b"\n") - (1 if fmt == "csv" else 0)


def write_landing(
    folder: Path,
    customers: int,
    fmt: str,
    start: dt.date = DAY,
    days: int = 1,
    price_days: int | None = None,
    per: str = "hour",
) -> Landing:
    """Usage files for `days` days and prices for `price_days` (default: the same), one file per
    source and `per` (hour or day)."""
    from warehouse.generate.prices import generate_prices
    from warehouse.generate.usage import generate_usage

    usage = generate_usage(customers, start, days, per=per, fmt=fmt)  # type: ignore[arg-type]
    prices = generate_prices(start, price_days or days, per=per, fmt=fmt)  # type: ignore[arg-type]
    files = rows = usage_rows = size = 0
    for stream, is_usage in ((usage, True), (prices, False)):
        for relative, data in stream:
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            lines = _data_lines(data, fmt)
            files, rows, size = files + 1, rows + lines, size + len(data)
            usage_rows += lines if is_usage else 0
    return Landing(str(folder), fmt, customers, days, files, rows, usage_rows, size)


def link_landing(landing: Landing, lake_root: Path) -> None:
    """Put the landing files into a fresh lake's landing folder (hard links: no copy)."""
    for source_dir in Path(landing.folder).iterdir():
        target = lake_root / "landing" / source_dir.name
        target.mkdir(parents=True, exist_ok=True)
        for f in source_dir.iterdir():
            try:
                os.link(f, target / f.name)
            except OSError:
                shutil.copy2(f, target / f.name)


# ---------------------------------------------------------------------------------------------
# Variants: each runs in its own process and returns a plain dict


class LibraryPath:
    """The stage functions called directly, without an orchestrator: one method per timed stage,
    each returning the rows it processed."""

    def __init__(self, lake_root: str) -> None:
        from warehouse.datasets import dataset
        from warehouse.lake import Lake

        self.lake = Lake.from_env(lake_root)
        self.datasets = [dataset(s) for s in SOURCES]
        self.dates: dict[str, set] = {}
        self.hourly_dates: list[dt.date] = []

    def land(self) -> int:
        from warehouse.stages import land

        reports = [land.land(self.lake, ds, "bench") for ds in self.datasets]
        failed = [row["error"] for r in reports for row in r.failed]
        if failed:
            raise RuntimeError(f"files failed to land: {failed}")
        return sum(r.rows for r in reports)

    def refine(self) -> int:
        from warehouse.stages import refine

        rows = 0
        for ds in self.datasets:
            self.dates[ds.source] = refine.pending_dates(self.lake, ds.source)
            rows += sum(d.rows for d in refine.refine(self.lake, ds, self.dates[ds.source]).dates)
        return rows

    def cost(self) -> int:
        from warehouse.stages import gold

        cost_dates, self.hourly_dates = gold.affected_dates(
            self.lake, self.dates["customer_usage"], self.dates["energy_prices"]
        )
        return gold.build_cost(self.lake, cost_dates)

    def hourly(self) -> int:
        from warehouse.stages import gold

        return gold.build_hourly(self.lake, self.hourly_dates)

    def publish(self) -> int:
        from warehouse import catalog

        catalog.publish(self.lake)
        return 0  # views only: no rows move


def library_stages(lake_root: str, meter: Meter, in_bytes: int) -> int:
    """Land, refine, gold and publish everything pending, each stage timed; returns rows landed."""
    # Imported before the clock starts: imports are start-up cost, not pipeline work.
    import warehouse.catalog
    import warehouse.stages.gold
    import warehouse.stages.land
    import warehouse.stages.refine  # noqa: F401

    path = LibraryPath(lake_root)
    landed = meter.time("land (parse + bronze)", in_bytes, path.land)
    meter.time("refine (validate + quarantine + silver)", in_bytes, path.refine)
    meter.time("gold cost_per_interval", in_bytes, path.cost)
    meter.time("gold hourly_usage", in_bytes, path.hourly)
    meter.time("publish (DuckDB views)", in_bytes, path.publish)
    return landed


def run_library(landing: Landing, work: str) -> dict:
    lake_root = Path(work) / "lake"
    link_landing(landing, lake_root)
    meter = Meter()
    rows = library_stages(str(lake_root), meter, landing.bytes)
    return meter.result(rows, landing.bytes)


@contextmanager
def _environ(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _dagster_pending(lake_root: str, work: str) -> None:
    from orchestration.run import run_pending

    # A fresh on-disk instance configured like `make` configures the user's, without touching it.
    home = Path(work) / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    config = Path(__file__).parents[1] / "dagster.yaml"
    if config.exists():
        shutil.copy(config, home / "dagster.yaml")
    with _environ(DAGSTER_HOME=str(home)):
        summary = run_pending(lake_root)
    if not summary.ok:
        raise RuntimeError(f"Dagster runs failed: {summary.runs} {summary.failed_files}")


def _landed_rows(lake_root: str) -> int:
    from warehouse.lake import Lake
    from warehouse.stages import land

    log = land.ingest_log(Lake.from_env(lake_root))
    return int(log.filter(log["source"].is_in(list(SOURCES)))["rows_read"].sum())


def run_dagster(landing: Landing, work: str) -> dict:
    import orchestration.run  # noqa: F401 - import Dagster and the assets before the clock starts

    lake_root = Path(work) / "lake"
    link_landing(landing, lake_root)
    meter = Meter()

    def pending() -> int:
        _dagster_pending(str(lake_root), work)
        return _landed_rows(str(lake_root))

    rows = meter.time("run_pending (Dagster, in-process)", landing.bytes, pending)
    return meter.result(rows, landing.bytes)


def run_floor(landing: Landing, work: str) -> dict:
    """The same rows, typed as in silver and already in memory, written to Parquet and read back
    with pyarrow: the cheapest real I/O path the pipeline could take."""
    import polars as pl
    import pyarrow.parquet as pq

    utc = pl.Datetime("us", "UTC")
    tables = {}
    for source in SOURCES:
        frame = pl.concat(pl.read_csv(f, infer_schema=False) for f in sorted((Path(landing.folder) / source).iterdir()))
        tables[source] = frame.with_columns(
            *(pl.col(c).str.strptime(utc, "%Y-%m-%dT%H:%M:%SZ") for c in ("intervalStart", "intervalEnd")),
            *(pl.col(c).cast(pl.Float64) for c in ("usage", "price") if c in frame.columns),
        ).to_arrow()
    out = Path(work) / "floor"
    out.mkdir(parents=True, exist_ok=True)
    # One-time library initialisation is not I/O: warm up on one row first.
    pq.write_table(tables[SOURCES[0]].slice(0, 1), out / "warmup.parquet")
    pq.read_table(out / "warmup.parquet")
    meter = Meter()

    def write() -> int:
        for source, t in tables.items():
            pq.write_table(t, out / f"{source}.parquet")
        return sum(t.num_rows for t in tables.values())

    def read() -> int:
        return sum(pq.read_table(out / f"{source}.parquet").num_rows for source in tables)

    rows = meter.time("Parquet write (pyarrow)", landing.bytes, write)
    meter.time("Parquet read (pyarrow)", landing.bytes, read)
    return meter.result(rows, landing.bytes)


def run_peer(landing: Landing, work: str) -> dict:
    from orchestration import bench_peer

    return bench_peer.run_peer(landing, work)


def build_history(lake_root: str, customers: int, days: int, per: str = "hour") -> dict:
    """Land and refine `days` days of usage before NEW_DAY (plus prices up to NEW_DAY): a timed
    backfill through the library path whose lake the incremental runs then extend."""
    folder = Path(lake_root).parent / "history_landing"
    # Prices are published a day ahead, so the new day's prices are already there.
    landing = write_landing(folder, customers, "csv", NEW_DAY - dt.timedelta(days=days), days, days + 1, per)
    link_landing(landing, Path(lake_root))
    shutil.rmtree(folder)
    meter = Meter()
    rows = library_stages(lake_root, meter, landing.bytes)
    return meter.result(rows, landing.bytes, files=landing.files, expected_rows=landing.rows)


def run_increment(lake_root: str, relative: str, data: bytes, via_dagster: bool) -> dict:
    """Drop one new file into a lake that holds history, then process everything pending."""
    if via_dagster:
        import orchestration.run  # noqa: F401 - imports are not part of the measurement
    path = Path(lake_root) / "landing" / relative
    path.write_bytes(data)
    meter = Meter()
    if via_dagster:
        work = str(Path(lake_root).parent)
        meter.time("run_pending (Dagster)", len(data), lambda: _dagster_pending(lake_root, work) or 0)
    else:
        library_stages(lake_root, meter, len(data))
    return meter.result(_data_lines(data, "csv"), len(data))


# ---------------------------------------------------------------------------------------------
# Running variants in isolated processes


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


# ---------------------------------------------------------------------------------------------
# The benchmark


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    fn: Callable[[Landing, str], dict]
    fmt: str
    days: int = 1


@dataclass
class Options:
    scale: float
    sections: tuple[str, ...]
    rounds: int
    scaling_rounds: int
    quick: bool
    out: Path
    isolate: bool
    history_customers: int | None
    history_days: int

    @property
    def customers(self) -> int:
        return QUICK_CUSTOMERS if self.quick else max(1, round(S_CUSTOMERS * self.scale))


@dataclass
class Results:
    options: Options
    landings: dict[tuple[str, int], Landing] = field(default_factory=dict)  # by (format, days)
    runs: dict[str, list[dict]] = field(default_factory=dict)
    variants: list[Variant] = field(default_factory=list)
    history: dict[int, dict] = field(default_factory=dict)
    increments: dict[str, list[dict]] = field(default_factory=dict)
    history_customers: int = 0
    notes: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    finished: float = 0.0
    load: list[str] = field(default_factory=list)

    def ok(self, key: str) -> list[dict]:
        return [r for r in self.runs.get(key, []) if "error" not in r]


def variants_for(sections: tuple[str, ...]) -> list[Variant]:
    """The alternation order within a round: each gridlake run is followed by its comparison."""
    chosen: list[Variant] = []
    if "pipeline" in sections or "scaling" in sections:
        chosen.append(Variant("library-csv", "gridlake library", run_library, "csv"))
    if "peer" in sections:
        chosen.append(Variant("peer-csv", "pandas peer", run_peer, "csv"))
    if "pipeline" in sections:
        chosen.append(Variant("library-ndjson", "gridlake library", run_library, "ndjson"))
    if "peer" in sections:
        chosen.append(Variant("peer-ndjson", "pandas peer", run_peer, "ndjson"))
    if "dagster" in sections:
        chosen.append(Variant("dagster-csv", "gridlake via Dagster", run_dagster, "csv"))
    if "floor" in sections:
        chosen.append(Variant("floor-csv", "floor: pyarrow Parquet (CSV rows)", run_floor, "csv"))
    if "scaling" in sections:
        chosen += [
            Variant(f"library-csv-{d}d", f"gridlake library, {d} days", run_library, "csv", d) for d in SCALES[1:]
        ]
    return chosen


def _memory_available() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def _too_big(results: Results, variant: Variant) -> str | None:
    """Skip a scaled run whose predicted peak would not fit in free memory: the machine is shared,
    and the OOM killer might pick someone else's process. The prediction is linear in days
    through the 1- and 2-day peaks (1-day peak x days before a 2-day run has finished)."""
    one, two = results.ok("library-csv"), results.ok("library-csv-2d")
    if variant.days == 1 or not one:
        return None
    p1 = statistics.median(r["peak"] for r in one)
    slope = statistics.median(r["peak"] for r in two) - p1 if two else p1
    predicted = p1 + max(slope, 0) * (variant.days - 1)
    available = _memory_available()
    if predicted > 0.8 * available:
        return f"skipped: predicted peak {_mb(predicted)} exceeds 80% of available memory ({_mb(available)})"
    return None


def _echo(message: str) -> None:
    click.echo(f"[{time.strftime('%H:%M:%S')}] {message}", err=True)


def run_benchmark(opts: Options) -> Results:
    results = Results(opts)
    results.load.append(_loadavg())
    work = Path(tempfile.mkdtemp(prefix="gridlake-bench-"))
    try:
        results.variants = variants_for(opts.sections)
        _generate(results, work)
        for round_no in range(1, opts.rounds + 1):
            for v in results.variants:
                _run_variant(results, v, round_no, work)
        if "incremental" in opts.sections:
            _incremental(results, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        results.load.append(_loadavg())
        results.finished = time.time()
    return results


def _generate(results: Results, work: Path) -> None:
    customers = results.options.customers
    for fmt, days in sorted({(v.fmt, v.days) for v in results.variants}):
        _echo(f"generating {customers:,} customers x {days} day(s) as hourly {fmt} files")
        results.landings[(fmt, days)] = write_landing(work / f"landing-{fmt}-{days}d", customers, fmt, DAY, days)


def _run_variant(results: Results, v: Variant, round_no: int, work: Path) -> None:
    if v.days > 1 and round_no > results.options.scaling_rounds:
        return
    skip = _too_big(results, v)
    if skip:
        results.runs.setdefault(v.key, []).append({"error": skip})
        _echo(f"round {round_no} {v.key}: {skip}")
        return
    run_dir = work / f"{v.key}-{round_no}"
    run_dir.mkdir()
    log = str(work / f"{v.key}-{round_no}.log")
    landing = results.landings[(v.fmt, v.days)]
    result = run_isolated(v.fn, landing, str(run_dir), log_path=log, isolate=results.options.isolate)
    results.runs.setdefault(v.key, []).append(result)
    shutil.rmtree(run_dir, ignore_errors=True)
    if "error" in result:
        _echo(f"round {round_no} {v.key}: FAILED {result['error']}")
        _echo(f"  log: {_tail(log)}")
    else:
        _echo(
            f"round {round_no} {v.key}: {result['wall']:.2f} s, {result['cpu']:.2f} CPU s, peak {_mb(result['peak'])}"
        )


def _tail(log: str, lines: int = 5) -> str:
    try:
        return " | ".join(Path(log).read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


def history_per(opts: Options) -> str:
    # Daily files keep the --quick history build short; the real one lands hourly files.
    return "day" if opts.quick else "hour"


def _incremental(results: Results, work: Path) -> None:
    """History once per size, then alternating rounds: each round drops the next 5-minute file
    of NEW_DAY into each lake, through the library path and then through Dagster."""
    from warehouse.generate.usage import generate_usage

    opts = results.options
    results.history_customers = opts.history_customers or opts.customers
    sizes = (1, opts.history_days)
    lakes = {days: work / f"history-{days}d" / "lake" for days in sizes}
    for days, lake in lakes.items():
        _echo(f"building {days}-day history ({results.history_customers:,} customers)")
        lake.mkdir(parents=True)
        log = str(work / f"history-{days}d.log")
        results.history[days] = run_isolated(
            build_history,
            str(lake),
            results.history_customers,
            days,
            history_per(opts),
            log_path=log,
            isolate=opts.isolate,
        )
        if "error" in results.history[days]:
            _echo(f"history {days}d FAILED: {results.history[days]['error']} | {_tail(log)}")
            return
    new_files = generate_usage(opts.customers, NEW_DAY, 1, per="interval", fmt="csv")
    files = list(islice(new_files, 2 * opts.rounds))
    paths = (False, True) if "dagster" in opts.sections else (False,)
    for round_no in range(opts.rounds):
        for via_dagster in paths:
            relative, data = files[2 * round_no + via_dagster]
            for days, lake in lakes.items():
                key = f"{days}d-{'dagster' if via_dagster else 'library'}"
                log = str(work / f"increment-{key}-{round_no}.log")
                result = run_isolated(
                    run_increment, str(lake), relative, data, via_dagster, log_path=log, isolate=opts.isolate
                )
                results.increments.setdefault(key, []).append(result)
                status = result.get("error") or f"{result['wall']:.2f} s"
                _echo(f"round {round_no + 1} increment on {key} history: {status}")


# ---------------------------------------------------------------------------------------------
# Machine and report


def _loadavg() -> str:
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


def _mb(n: float) -> str:
    return f"{n / (1 << 20):,.0f} MB"


def _med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _spread(values: list[float], fmt: Callable[[float], str]) -> str:
    """Median with the min-max range of the rounds."""
    if not values:
        return "n/a"
    if len(values) == 1:
        return fmt(values[0])
    return f"{fmt(_med(values))} ({fmt(min(values))}–{fmt(max(values))})"


def _secs(x: float) -> str:
    return f"{x:.3f} s" if x < 1 else f"{x:.2f} s"


def _rate(x: float) -> str:
    return f"{x / 1e6:.2f} M" if x >= 1e5 else f"{x:,.0f}"


def _mem(x: float) -> str:
    return f"{x / (1 << 20):,.0f} MB"


def _ratio(x: float) -> str:
    return f"{x:.2f}x"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def _errors(runs: list[dict]) -> str:
    errors = [r["error"] for r in runs if "error" in r]
    return f" ({len(errors)} failed: {errors[0]})" if errors else ""


def render(results: Results) -> str:
    opts = results.options
    info = machine()
    lines = [
        "# Benchmarks",
        "",
        "Generated by `gridlake bench` (orchestration/bench.py); do not edit by hand. "
        f"Run on {time.strftime('%Y-%m-%d %H:%M', time.localtime(results.started))}, "
        f"{opts.rounds} round(s), took {((results.finished or time.time()) - results.started) / 60:.1f} min. "
        "Times are medians "
        "over the rounds with (min–max); every variant ran in its own process, alternating within "
        "each round. CPU s is user + system time of all threads; rows per CPU s is the rate one "
        "core would sustain. Peak RSS is the process's VmHWM, reset at the start of each stage, "
        "and includes the interpreter and imported libraries.",
        "",
        "## Machine",
        "",
        *_table(
            ["", ""],
            [
                ["Cores (nproc)", info["cores"]],
                ["CPU", info["cpu"]],
                ["RAM", info["ram"]],
                ["OS / Python", f"{info['os']} / Python {info['python']}"],
                ["Libraries", info["versions"]],
                ["Load average at start / end", " / ".join(results.load)],
            ],
        ),
        "",
        *_workload(results),
        *_end_to_end(results),
        *_stage_tables(results),
        *_scaling(results),
        *_incremental_section(results),
        *_targets(results),
    ]
    if results.notes:
        lines += ["## Notes", "", *[f"- {n}" for n in results.notes], ""]
    return "\n".join(lines)


def _workload(results: Results) -> list[str]:
    opts = results.options
    rows = [
        [
            f"{fmt.upper()}, {days} day(s)",
            f"{landing.customers:,}",
            f"{landing.usage_rows:,}",
            f"{landing.rows - landing.usage_rows:,}",
            f"{landing.rows:,}",
            str(landing.files),
            _mb(landing.bytes),
        ]
        for (fmt, days), landing in sorted(results.landings.items(), key=lambda kv: (kv[0][1], kv[0][0]))
    ]
    size = "--quick" if opts.quick else f"scale {opts.scale:g} of S"
    return [
        "## Workload",
        "",
        f"{size}: customers x 1 day ({DAY}) of 5-minute usage plus that day's prices, one file per hour "
        "per source, in a local landing folder (the scaling runs add the following days). Rows are "
        "counted from the generated bytes.",
        "",
        *_table(["Input", "Customers", "Usage rows", "Price rows", "Rows", "Files", "Size"], rows),
        "",
    ]


def _variant_row(results: Results, v: Variant, floor: float | None) -> list[str]:
    runs = results.runs.get(v.key, [])
    ok = results.ok(v.key)
    landing = results.landings[(v.fmt, v.days)]
    walls = [r["wall"] for r in ok]
    rows = sorted({r["rows"] for r in ok})
    return [
        f"{v.label}{_errors(runs)}",
        v.fmt.upper(),
        ", ".join(f"{n:,}" for n in rows) or "n/a",
        _spread(walls, _secs),
        _spread([r["cpu"] for r in ok], _secs),
        _spread([r["rows"] / r["wall"] for r in ok], _rate),
        _spread([r["rows"] / r["cpu"] for r in ok if r["cpu"]], _rate),
        _spread([landing.bytes / (1 << 20) / r["wall"] for r in ok], lambda x: f"{x:,.1f}"),
        _spread([r["peak"] for r in ok], _mem),
        _ratio(_med(walls) / floor) if floor and walls else "n/a",
    ]


def _end_to_end(results: Results) -> list[str]:
    base = [v for v in results.variants if v.days == 1]
    if not base:
        return []
    floor_runs = results.ok("floor-csv")
    floor = _med([r["wall"] for r in floor_runs]) if floor_runs else None
    header = ["Variant", "Input", "Rows", "Time", "CPU s", "Rows/s", "Rows per CPU s", "MB/s in", "Peak RSS", "÷ floor"]
    lines = ["## End to end (workload at 1x)", "", *_table(header, [_variant_row(results, v, floor) for v in base]), ""]
    lines += ["Paired ratios (per round, then median and min–max):", ""]
    pairs = [
        ("gridlake ÷ pandas peer, time, CSV", "library-csv", "peer-csv", "wall"),
        ("gridlake ÷ pandas peer, CPU s, CSV", "library-csv", "peer-csv", "cpu"),
        ("gridlake ÷ pandas peer, peak RSS, CSV", "library-csv", "peer-csv", "peak"),
        ("gridlake ÷ pandas peer, time, NDJSON", "library-ndjson", "peer-ndjson", "wall"),
        ("gridlake ÷ pandas peer, CPU s, NDJSON", "library-ndjson", "peer-ndjson", "cpu"),
        ("gridlake ÷ pandas peer, peak RSS, NDJSON", "library-ndjson", "peer-ndjson", "peak"),
        ("gridlake end to end ÷ floor, time, CSV", "library-csv", "floor-csv", "wall"),
        ("Dagster ÷ library, time, CSV (orchestration overhead)", "dagster-csv", "library-csv", "wall"),
        ("Dagster ÷ library, CPU s, CSV", "dagster-csv", "library-csv", "cpu"),
        ("Dagster ÷ library, peak RSS, CSV", "dagster-csv", "library-csv", "peak"),
        ("NDJSON ÷ CSV, time, gridlake library", "library-ndjson", "library-csv", "wall"),
    ]
    rows = []
    for label, a, b, metric in pairs:
        ratios = paired(results, a, b, metric)
        if ratios:
            rows.append([label, _spread(ratios, _ratio)])
    return [*lines, *_table(["Ratio", "Value"], rows), ""]


def paired(results: Results, a: str, b: str, metric: str) -> list[float]:
    """a ÷ b for each round where both ran."""
    return [
        ra[metric] / rb[metric]
        for ra, rb in zip(results.runs.get(a, []), results.runs.get(b, []), strict=False)
        if "error" not in ra and "error" not in rb and rb[metric]
    ]


def _stage_tables(results: Results) -> list[str]:
    lines: list[str] = []
    for v in results.variants:
        ok = results.ok(v.key)
        if v.days != 1 or not ok:
            continue
        names = [s["name"] for s in ok[0]["stages"]]
        rows = []
        for i, name in enumerate(names):
            stages = [r["stages"][i] for r in ok]
            rows.append(
                [
                    name,
                    f"{stages[0]['rows']:,}" if stages[0]["rows"] else "–",
                    _spread([s["wall"] for s in stages], _secs),
                    _spread([s["cpu"] for s in stages], _secs),
                    _spread([s["rows"] / s["wall"] for s in stages], _rate) if stages[0]["rows"] else "–",
                    _spread([s["in_bytes"] / (1 << 20) / s["wall"] for s in stages], lambda x: f"{x:,.1f}"),
                    _spread([s["peak"] for s in stages], _mem),
                    f"{100 * _med([s['wall'] for s in stages]) / _med([r['wall'] for r in ok]):.0f}%",
                ]
            )
        baseline = _mem(_med([r["baseline"] for r in ok]))
        lines += [
            f"## Stages: {v.label}, {v.fmt.upper()}",
            "",
            f"RSS after imports, before the first stage: {baseline}.",
            "",
            *_table(["Stage", "Rows", "Time", "CPU s", "Rows/s", "MB/s in", "Peak RSS", "Share"], rows),
            "",
        ]
    return lines


def _scaling(results: Results) -> list[str]:
    if "scaling" not in results.options.sections:
        return []
    rows = []
    for days in SCALES:
        key = "library-csv" if days == 1 else f"library-csv-{days}d"
        ok = results.ok(key)
        landing = results.landings.get(("csv", days))
        rows.append(
            [
                f"{days}x ({days} day(s)){_errors(results.runs.get(key, []))}",
                f"{landing.rows:,}" if landing else "n/a",
                ", ".join(f"{n:,}" for n in sorted({r["rows"] for r in ok})) or "n/a",
                _spread([r["wall"] for r in ok], _secs),
                _spread([r["cpu"] for r in ok], _secs),
                _spread(paired(results, key, "library-csv", "wall"), _ratio),
                _spread(paired(results, key, "library-csv", "cpu"), _ratio),
                _spread([r["peak"] for r in ok], _mem),
            ]
        )
    header = ["Scale", "Rows generated", "Rows processed", "Time", "CPU s", "Time ÷ 1x", "CPU ÷ 1x", "Peak RSS"]
    rounds = min(results.options.scaling_rounds, results.options.rounds)
    text = (
        "1x, 2x and 4x of the workload as 1, 2 and 4 consecutive days of the same customers, each day "
        "one partition: time should grow linearly (ideal ratio = the scale) and peak RSS stay flat. "
        f"Ratios are paired with the 1x run of the same round; 2x and 4x ran {rounds} round(s). On a shared "
        "machine the CPU ratio is the steadier one. For more customers per day use `--scale`."
    )
    return ["## Scaling (gridlake library, CSV)", "", text, "", *_table(header, rows), ""]


def _incremental_section(results: Results) -> list[str]:
    if "incremental" not in results.options.sections:
        return []
    opts = results.options
    lines = [
        "## Incremental cost",
        "",
        f"History: 1 day and {opts.history_days} days of {results.history_customers:,} customers' usage as "
        f"{'daily' if history_per(opts) == 'day' else 'hourly'} CSV files "
        f"before {NEW_DAY}, plus prices up to {NEW_DAY}, landed and refined once per size (the build below is a "
        f"timed backfill). Then each round drops the next 5-minute file of {NEW_DAY} ({opts.customers:,} rows) "
        "into both lakes and processes everything pending.",
        "",
    ]
    rows = []
    for days, h in sorted(results.history.items()):
        if "error" in h:
            rows.append([f"{days} day(s)", "failed: " + h["error"], "", "", "", ""])
            continue
        rows.append(
            [
                f"{days} day(s)",
                f"{h['expected_rows']:,} / {h['rows']:,}",
                str(h["files"]),
                _secs(h["wall"]),
                _rate(h["rows"] / h["wall"]),
                _mem(h["peak"]),
            ]
        )
    header = ["History", "Rows generated / landed", "Files", "Backfill time", "Rows/s", "Peak RSS"]
    lines += [*_table(header, rows), ""]
    rows = []
    long = opts.history_days
    for path in ("library", "dagster"):
        if f"1d-{path}" not in results.increments:
            continue
        short_runs, long_runs = results.increments.get(f"1d-{path}", []), results.increments.get(f"{long}d-{path}", [])
        ok_short = [r for r in short_runs if "error" not in r]
        ok_long = [r for r in long_runs if "error" not in r]
        ratios = [
            b["wall"] / a["wall"]
            for a, b in zip(short_runs, long_runs, strict=False)
            if "error" not in a and "error" not in b
        ]
        rows.append(
            [
                ("gridlake library" if path == "library" else "gridlake via Dagster") + _errors(short_runs + long_runs),
                ", ".join(f"{n:,}" for n in sorted({r["rows"] for r in ok_short + ok_long})) or "n/a",
                _spread([r["wall"] for r in ok_short], _secs),
                _spread([r["wall"] for r in ok_long], _secs),
                _spread(ratios, _ratio),
                _spread([r["peak"] for r in ok_long], _mem),
            ]
        )
    header = ["Path", "Rows in file", "1 day history", f"{long} days history", f"{long}d ÷ 1d", f"Peak RSS ({long}d)"]
    lines += [*_table(header, rows), ""]
    stage_rows = []
    for days in (1, long):
        ok = [r for r in results.increments.get(f"{days}d-library", []) if "error" not in r]
        for i, name in enumerate(s["name"] for s in (ok[0]["stages"] if ok else [])):
            stage_rows.append([f"{days}d", name, _spread([r["stages"][i]["wall"] for r in ok], _secs)])
    if stage_rows:
        lines += ["Incremental stages, library path:", "", *_table(["History", "Stage", "Time"], stage_rows), ""]
    return lines


def _targets(results: Results) -> list[str]:
    cores = os.cpu_count() or 1
    rows: list[list[str]] = []

    def add(target: str, measured: str, met: bool | None) -> None:
        if results.options.quick:
            met = None  # smoke sizes say nothing about the targets
        rows.append([target, measured, "n/a" if met is None else ("met" if met else "**missed**")])

    csv = results.ok("library-csv")
    if csv:
        per_cpu = _med([r["rows"] / r["cpu"] for r in csv])
        per_core_wall = _med([r["rows"] / r["wall"] for r in csv]) / cores
        add(
            f"End to end on CSV with validation ≥ {TARGET_ROWS_PER_CORE / 1e6:g} M rows/s per core",
            f"{per_cpu / 1e6:.2f} M rows per CPU s; {per_core_wall / 1e6:.2f} M rows/s per core by wall time "
            f"({cores} cores)",
            per_cpu >= TARGET_ROWS_PER_CORE,
        )
        peak = _med([r["peak"] for r in csv])
        add("Peak RSS for workload S ≤ 1 GB", _mem(peak), peak <= TARGET_PEAK_S if _is_s(results) else None)
    for fmt in ("csv", "ndjson"):
        speed = paired(results, f"library-{fmt}", f"peer-{fmt}", "wall")
        memory = paired(results, f"library-{fmt}", f"peer-{fmt}", "peak")
        if speed and memory:
            add(
                f"≥ {TARGET_PEER_SPEEDUP:g}x faster than the pandas peer ({fmt.upper()})",
                f"{1 / _med(speed):.2f}x faster (gridlake ÷ peer = {_med(speed):.2f})",
                1 / _med(speed) >= TARGET_PEER_SPEEDUP,
            )
            add(
                f"≤ {TARGET_PEER_MEMORY:g} of the peer's peak memory ({fmt.upper()})",
                f"{_med(memory):.2f}",
                _med(memory) <= TARGET_PEER_MEMORY,
            )
    long = results.options.history_days
    ratios = paired_increments(results, long)
    if ratios:
        add(
            f"Incremental ratio ({long} days ÷ 1 day) ≤ {TARGET_INCREMENTAL:g}",
            f"{_med(ratios):.2f} (library path)",
            _med(ratios) <= TARGET_INCREMENTAL,
        )
    backfill = results.history.get(long)
    if backfill and "error" not in backfill:
        full = results.history_customers >= S_CUSTOMERS and long >= 30
        add(
            "30-day backfill of 10,000 customers: peak RSS ≤ 2 GB",
            f"{_mem(backfill['peak'])} for {long} days x {results.history_customers:,} customers",
            backfill["peak"] <= TARGET_PEAK_BACKFILL if full else None,
        )
    if not rows:
        return []
    return ["## Targets", "", *_table(["Target", "Measured", "Status"], rows), ""]


def paired_increments(results: Results, long: int) -> list[float]:
    return [
        b["wall"] / a["wall"]
        for a, b in zip(
            results.increments.get("1d-library", []), results.increments.get(f"{long}d-library", []), strict=False
        )
        if "error" not in a and "error" not in b
    ]


def _is_s(results: Results) -> bool:
    return not results.options.quick and results.options.customers == S_CUSTOMERS


# ---------------------------------------------------------------------------------------------
# Command line


@click.command("bench")
@click.option("--scale", default=1.0, show_default=True, help="Workload as a multiple of S (10,000 customers x 1 day).")
@click.option(
    "--stages",
    default=",".join(SECTIONS),
    show_default=True,
    help="Comma list of parts to run: pipeline (library path, CSV and NDJSON), dagster, floor, peer, "
    "incremental, scaling (1x, 2x, 4x).",
)
@click.option("--rounds", default=3, show_default=True, type=click.IntRange(1), help="Rounds per variant (medians).")
@click.option(
    "--scaling-rounds", default=None, type=click.IntRange(1), help="Rounds for the 2x and 4x runs (default: --rounds)."
)
@click.option(
    "--quick", is_flag=True, help=f"Tiny smoke sizes: {QUICK_CUSTOMERS} customers, {QUICK_HISTORY_DAYS}-day history."
)
@click.option("--out", default="docs/benchmarks.md", show_default=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--history-customers",
    type=int,
    default=None,
    help="Customers in the incremental-cost history (default: the workload's). Fewer makes a 30-day "
    "history quick to build; the report states what was used.",
)
@click.option(
    "--history-days",
    default=30,
    show_default=True,
    type=click.IntRange(2),
    help="Long history for the incremental ratio.",
)
@click.option(
    "--raw",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also pickle the raw results here (render them again with orchestration.bench.render).",
)
@click.option(
    "--isolate/--no-isolate",
    default=True,
    show_default=True,
    help="Run each variant in its own spawned process. --no-isolate runs them in this process (for profilers).",
)
def bench(
    scale: float,
    stages: str,
    rounds: int,
    scaling_rounds: int | None,
    quick: bool,
    out: Path,
    history_customers: int | None,
    history_days: int,
    raw: Path | None,
    isolate: bool,
) -> None:
    """Measure speed, memory and scaling against the Parquet floor and a pandas peer; write the
    results as markdown to --out and print them."""
    sections = tuple(s.strip() for s in stages.split(",") if s.strip())
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        raise click.BadParameter(f"unknown part(s) {unknown}; choose from {', '.join(SECTIONS)}", param_hint="--stages")
    opts = Options(
        scale=scale,
        sections=sections,
        rounds=rounds,
        scaling_rounds=scaling_rounds or rounds,
        quick=quick,
        out=out,
        isolate=isolate,
        history_customers=history_customers,
        history_days=QUICK_HISTORY_DAYS if quick and history_days == 30 else history_days,
    )
    results = run_benchmark(opts)
    if opts.history_customers and opts.history_customers < opts.customers:
        results.notes.append(
            f"The incremental history used {opts.history_customers:,} customers instead of {opts.customers:,} "
            "to keep the backfill short; the new file still has the full customer count."
        )
    if raw is not None:
        raw.write_bytes(pickle.dumps(results))
    text = render(results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    click.echo(text)
    click.echo(f"\nwritten to {out}", err=True)


def main(argv: list[str] | None = None) -> None:
    bench.main(args=argv, standalone_mode=False)


if __name__ == "__main__":
    main(sys.argv[1:])
