"""The benchmark run: which variants, in what order, how many rounds, and the incremental-cost
rounds on top of a built history. Every variant runs in its own freshly spawned process (forking
after deltalake use can hang), and variants alternate within each round (A, B, A, B, ...): the
machines are shared and noisy, so results are medians over the rounds with the min-max range."""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import click

from benchmarks import big, coins, latency
from benchmarks.big import BackfillResults, BigResults
from benchmarks.coins import CoinResults
from benchmarks.latency import Latency
from benchmarks.measure import loadavg, memory_available, run_isolated
from benchmarks.variants import (
    build_history,
    run_dagster,
    run_floor,
    run_increment,
    run_library,
    run_peer,
    run_plain,
)
from benchmarks.workload import DAY, NEW_DAY, QUICK_CUSTOMERS, S_CUSTOMERS, Landing, write_landing

SECTIONS = (
    "pipeline",
    "dagster",
    "floor",
    "plain",
    "peer",
    "incremental",
    "scaling",
    "latency",
    "coins",
    "big",
    "backfill",
)
SCALES = (1, 2, 4)


def mb(n: float) -> str:
    return f"{n / (1 << 20):,.0f} MB"


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
    latency: Latency | None = None
    coins: CoinResults | None = None
    big: BigResults | None = None
    backfill: BackfillResults | None = None
    # The incremental stage's long-history lake, reused by the backfill stage.
    long_history: Path | None = None

    def ok(self, key: str) -> list[dict]:
        return [r for r in self.runs.get(key, []) if "error" not in r]


def variants_for(sections: tuple[str, ...]) -> list[Variant]:
    """The alternation order within a round: each gridlake run is followed by its comparison."""
    chosen: list[Variant] = []
    if "pipeline" in sections or "scaling" in sections:
        chosen.append(Variant("library-csv", "gridlake library", run_library, "csv"))
    if "plain" in sections:
        chosen.append(Variant("plain-csv", "plain Polars pipeline", run_plain, "csv"))
    if "peer" in sections:
        chosen.append(Variant("peer-csv", "pandas peer", run_peer, "csv"))
    if "pipeline" in sections:
        chosen.append(Variant("library-ndjson", "gridlake library", run_library, "ndjson"))
    if "plain" in sections:
        chosen.append(Variant("plain-ndjson", "plain Polars pipeline", run_plain, "ndjson"))
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
    available = memory_available()
    if predicted > 0.8 * available:
        return f"skipped: predicted peak {mb(predicted)} exceeds 80% of available memory ({mb(available)})"
    return None


def _echo(message: str) -> None:
    click.echo(f"[{time.strftime('%H:%M:%S')}] {message}", err=True)


def run_benchmark(opts: Options) -> Results:
    results = Results(opts)
    results.load.append(loadavg())
    work = Path(tempfile.mkdtemp(prefix="gridlake-bench-"))
    try:
        results.variants = variants_for(opts.sections)
        _generate(results, work)
        for round_no in range(1, opts.rounds + 1):
            for v in results.variants:
                _run_variant(results, v, round_no, work)
        if "incremental" in opts.sections:
            _incremental(results, work)
        if "latency" in opts.sections:
            _echo("latency: one day of history, then drops under the Dagster daemon: quiet, busy, a burst")
            customers = QUICK_CUSTOMERS if opts.quick else latency.CUSTOMERS
            results.latency = latency.measure(work, customers, quick=opts.quick)
        if "coins" in opts.sections:
            results.coins = coins.measure(work, opts.rounds, opts.quick, opts.isolate, _echo)
        if "big" in opts.sections:
            results.big = big.measure_big(work, opts.quick, opts.isolate, _echo)
        if "backfill" in opts.sections:
            customers = opts.history_customers or opts.customers
            results.backfill = big.measure_backfill(
                work, customers, opts.history_days, opts.isolate, _echo, results.long_history
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
        results.load.append(loadavg())
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
        _echo(f"round {round_no} {v.key}: {result['wall']:.2f} s, {result['cpu']:.2f} CPU s, peak {mb(result['peak'])}")


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
    results.long_history = lakes[opts.history_days]
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
