"""`--stages latency`: drop → gold-queryable seconds under the real Dagster daemon.

A lake holds one day of history (1,000 customers, built with the library path) and prices for
the next day; the daemon (orchestration/service.py, the repository's dagster.yaml, default sensor
intervals) runs on it. Three situations, one after another on the same lake and daemon:

1. quiet: five 5-minute usage files of 1,000 rows each for the next day, dropped one after
   another (each once the previous one is in gold);
2. busy: five more the same way while another bench stage (`python -m benchmarks --stages
   pipeline`, workload S through the library path, round after round) runs beside the daemon;
3. burst: 100 files dropped at once, then one file every 3 s for a minute (the trickle), all
   tracked at the same time.

Latency is the time until `gridlake sql` shows all of a file's rows priced in
gold.cost_per_interval. For the quiet and busy drops it is split into parts read from the runs
the daemon recorded. After the burst, runs still queued when the last file was queryable, or
requested after it, are listed: they can only redo work whose data is already in gold."""

from __future__ import annotations

import datetime as dt
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.workload import DAY, link_landing, write_landing

if TYPE_CHECKING:
    from orchestration.service import Service
    from warehouse.lake import Lake

FILES = 5
CUSTOMERS = 1_000
BURST_FILES = 100
TRICKLE_EVERY = 3.0
TRICKLE_FILES = 20
TIMEOUT = 300.0
# The parts of one drop's latency, in order (seconds).
PARTS = (
    "sensor wait (drop → land run requested)",
    "land run launch (queue, process start, imports)",
    "land run",
    "sensor wait (landed → refine run requested)",
    "refine run launch (queue, process start, imports)",
    "refine step (incl. Great Expectations import)",
    "gold step (cost_per_interval, hourly_usage)",
    "gold step end → rows seen by the poll",
)
BUSY_RUNS = ("QUEUED", "NOT_STARTED", "STARTING")


@dataclass
class Drop:
    name: str
    seconds: float
    parts: dict[str, float] = field(default_factory=dict)


def _median(drops: list[Drop]) -> float:
    return statistics.median(d.seconds for d in drops) if drops else float("nan")


def _max(drops: list[Drop]) -> float:
    return max((d.seconds for d in drops), default=float("nan"))


@dataclass
class Burst:
    files: int
    # Drop of the burst until its last file was queryable.
    seconds: float
    trickle: list[Drop]
    # Runs queued (not started) when the last file was queryable, or requested after it.
    late_runs: list[str]

    @property
    def median(self) -> float:
        return _median(self.trickle)

    @property
    def max(self) -> float:
        return _max(self.trickle)


@dataclass
class Latency:
    customers: int
    history_rows: int
    drops: list[Drop]
    busy: list[Drop] = field(default_factory=list)
    # What ran beside the busy drops, and the 1-minute load average at their end.
    busy_load: str = ""
    burst: Burst | None = None

    @property
    def median(self) -> float:
        return _median(self.drops)

    @property
    def max(self) -> float:
        return _max(self.drops)


def _usage_csv(start: dt.datetime, customers: int) -> bytes:
    end = start + dt.timedelta(minutes=5)
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    lines = ["customerId,intervalStart,intervalEnd,usage"]
    lines += [f"{c},{start:{stamp}},{end:{stamp}},{0.1 + (c % 7) * 0.05:.2f}" for c in range(1, customers + 1)]
    return ("\n".join(lines) + "\n").encode()


def _interval(i: int) -> dt.datetime:
    """The start of the next day's i-th five-minute interval."""
    return dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(), dt.UTC) + dt.timedelta(minutes=5 * i)


def _drop(lake: Lake, start: dt.datetime, customers: int) -> tuple[str, float]:
    """Write a usage file next to its final name, then rename it into place (as a producer
    does): the drop time is the rename's."""
    name = f"usage_{start:%Y%m%d_%H%M}.csv"
    path = Path(lake.root) / "landing" / "customer_usage" / name
    partial = path.with_name(f".{name}.partial")
    partial.write_bytes(_usage_csv(start, customers))
    dropped = time.time()
    partial.rename(path)
    return name, dropped


def _priced(lake: Lake, since: dt.datetime) -> dict[dt.datetime, int]:
    """Priced rows in gold.cost_per_interval per interval start, from `since` on."""
    from warehouse import catalog

    sql = (
        "select interval_start, count(*) as n from gold.cost_per_interval "
        f"where interval_start >= TIMESTAMPTZ '{since.isoformat()}' and cost is not null group by 1"
    )
    try:
        frame = catalog.query(lake, sql)
    except Exception:
        return {}
    return {start.astimezone(dt.UTC): n for start, n in frame.iter_rows()}


def _steps(instance, run_id: str) -> dict[str, tuple[float, float]]:
    from dagster import DagsterEventType

    starts: dict[str, float] = {}
    spans: dict[str, tuple[float, float]] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type == DagsterEventType.STEP_START:
            starts[event.step_key] = entry.timestamp
        elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            spans[event.step_key] = (starts.get(event.step_key, entry.timestamp), entry.timestamp)
    return spans


def _split(home: Path, dropped: float, queryable: float) -> dict[str, float]:
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(home)) as instance:
        records = [r for r in instance.get_run_records() if r.create_timestamp.timestamp() >= dropped - 0.5]
        stage = {r.dagster_run.tags.get("gridlake/stage"): r for r in sorted(records, key=lambda r: r.create_timestamp)}
        land, refine = stage.get("land"), stage.get("refine")
        if land is None or refine is None:
            return {}
        steps = _steps(instance, refine.dagster_run.run_id)
    refine_step = next(v for k, v in steps.items() if k.startswith("refine_"))
    gold_step = next((v for k, v in steps.items() if k.startswith("gold_")), (refine_step[1], refine_step[1]))
    land_created, refine_created = land.create_timestamp.timestamp(), refine.create_timestamp.timestamp()
    if None in (land.start_time, land.end_time, refine.start_time, refine.end_time):
        return {}
    land_start, land_end = float(land.start_time or 0), float(land.end_time or 0)
    refine_start = float(refine.start_time or 0)
    return dict(
        zip(
            PARTS,
            (
                land_created - dropped,
                land_start - land_created,
                land_end - land_start,
                refine_created - land_end,
                refine_start - refine_created,
                refine_step[1] - refine_step[0],
                gold_step[1] - gold_step[0],
                queryable - gold_step[1],
            ),
            strict=True,
        )
    )


def _one_by_one(service: Service, lake: Lake, customers: int, first: int, files: int) -> list[Drop]:
    drops: list[Drop] = []
    for i in range(first, first + files):
        start = _interval(i)
        name, dropped = _drop(lake, start, customers)

        def priced(start: dt.datetime = start) -> bool:
            return _priced(lake, start).get(start) == customers

        service.wait(priced, TIMEOUT, f"{name} in gold", every=0.25)
        queryable = time.time()
        service.wait(lambda: _idle(service.home), TIMEOUT, "the daemon to go idle", every=0.5)
        drops.append(Drop(name, queryable - dropped, _split(service.home, dropped, queryable)))
    return drops


class _Load:
    """Another bench stage beside the daemon: workload S through the library path, round after
    round, in its own process group (killed with it); its files live under `folder`."""

    def __init__(self, folder: Path, quick: bool) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        args = ["--stages", "pipeline", "--rounds", "1000", "--out", str(folder / "load.md")]
        self.command = [sys.executable, "-m", "benchmarks", *args, *(["--quick"] if quick else [])]
        self.log = (folder / "load.log").open("wb")
        env = {**os.environ, "TMPDIR": str(folder)}
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.DEVNULL, stderr=self.log, env=env, start_new_session=True
        )

    def running_variant(self) -> bool:
        """Whether the stage is past generating its input and running the pipeline."""
        if self.process.poll() is not None:
            raise RuntimeError(f"the load stopped early: {(self.folder / 'load.log').read_text()[-2000:]}")
        return any(self.folder.glob("gridlake-bench-*/library-*-1"))

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.log.close()


def _burst(service: Service, lake: Lake, customers: int, first: int) -> Burst:
    """BURST_FILES files at once, then one every TRICKLE_EVERY s; every file tracked until its
    rows are priced in gold."""
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    since = _interval(first)
    dropped: dict[dt.datetime, tuple[str, float]] = {}
    for i in range(first, first + BURST_FILES):
        dropped[_interval(i)] = _drop(lake, _interval(i), customers)
    trickle = [_interval(first + BURST_FILES + k) for k in range(TRICKLE_FILES)]
    seen: dict[dt.datetime, float] = {}
    began = time.time()
    deadline = began + TIMEOUT + TRICKLE_EVERY * TRICKLE_FILES
    while len(seen) < BURST_FILES + TRICKLE_FILES:
        if time.time() > deadline:
            raise TimeoutError(
                f"burst: {len(seen)} of {BURST_FILES + TRICKLE_FILES} files in gold; {service.log_tail()}"
            )
        due = began + TRICKLE_EVERY * (len(dropped) - BURST_FILES + 1)
        if len(dropped) < BURST_FILES + TRICKLE_FILES and time.time() >= due:
            start = trickle[len(dropped) - BURST_FILES]
            dropped[start] = _drop(lake, start, customers)
        now = time.time()
        for start, n in _priced(lake, since).items():
            if n == customers and start in dropped and start not in seen:
                seen[start] = now
        time.sleep(0.25)
    last = max(seen.values())
    with DagsterInstance.from_config(str(service.home)) as instance:
        statuses = [DagsterRunStatus(s) for s in BUSY_RUNS]
        waiting = {r.run_id: r for r in instance.get_runs(RunsFilter(statuses=statuses))}
    service.wait(lambda: _idle(service.home), TIMEOUT, "the daemon to go idle", every=0.5)
    with DagsterInstance.from_config(str(service.home)) as instance:
        later = [r.dagster_run for r in instance.get_run_records() if r.create_timestamp.timestamp() > last]
    runs = {**waiting, **{r.run_id: r for r in later}}
    late = [f"{r.tags.get('gridlake/stage', '?')} {r.tags.get('dagster/partition', '')}".strip() for r in runs.values()]
    burst_done = max(seen[s] for s in list(dropped)[:BURST_FILES])
    return Burst(
        files=BURST_FILES,
        seconds=burst_done - dropped[since][1],
        trickle=[Drop(dropped[s][0], seen[s] - dropped[s][1]) for s in trickle],
        late_runs=sorted(late),
    )


def measure(work: Path, customers: int = CUSTOMERS, files: int = FILES, quick: bool = False) -> Latency:
    from orchestration.service import Service
    from warehouse.lake import Lake
    from warehouse.stages.pipeline import process_pending

    lake = Lake.from_env(str(work / "latency-lake"))
    history = write_landing(work / "latency-landing", customers, "csv", DAY, days=1, price_days=2, per="day")
    link_landing(history, Path(lake.root))
    process_pending(lake, publish=True)
    service = Service(home=work / "latency-home", lake_root=lake.root)
    service.start()
    try:
        latency = Latency(customers, history.usage_rows, _one_by_one(service, lake, customers, 0, files))
        load = _Load(work / "latency-load", quick)
        try:
            service.wait(load.running_variant, TIMEOUT, "the load to start its pipeline runs", every=0.5)
            latency.busy = _one_by_one(service, lake, customers, files, files)
            latency.busy_load = f"`{' '.join(['python', *load.command[1:]])}`, load average {os.getloadavg()[0]:.1f}"
        finally:
            load.stop()
        latency.burst = _burst(service, lake, customers, 2 * files)
    finally:
        service.stop()
    return latency


def _idle(home: Path) -> bool:
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    busy = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]
    with DagsterInstance.from_config(str(home)) as instance:
        return not instance.get_runs(RunsFilter(statuses=busy), limit=1)


def _drops_table(drops: list[Drop]) -> list[str]:
    lines = [
        "| part | " + " | ".join(d.name for d in drops) + " | median |",
        "|---|" + "---:|" * (len(drops) + 1),
    ]
    for part in PARTS:
        values = [d.parts.get(part) for d in drops]
        known = [v for v in values if v is not None]
        cells = [f"{v:.1f}" if v is not None else "–" for v in values]
        if known:
            lines.append(f"| {part} | " + " | ".join(cells) + f" | {statistics.median(known):.1f} |")
    totals = [f"{d.seconds:.1f}" for d in drops]
    return [*lines, "| **drop → queryable** | " + " | ".join(totals) + f" | {_median(drops):.1f} |", ""]


def render(latency: Latency) -> list[str]:
    lines = [
        "## Latency under the Dagster daemon",
        "",
        f"One day of history ({latency.customers:,} customers, {latency.history_rows:,} usage rows), the daemon "
        "started with the repository's dagster.yaml and the default sensor intervals. Latency: drop until "
        "`gridlake sql` shows every row of the file priced in gold.cost_per_interval. Targets: quiet median "
        "≤ 10 s and max ≤ 15 s; busy median ≤ 20 s; the burst's trickle median ≤ 20 s with no run left queued "
        "for data already in gold.",
        "",
        "| situation | files | median | max |",
        "|---|---:|---:|---:|",
        f"| quiet: one file after another | {len(latency.drops)} | {latency.median:.1f} s | {latency.max:.1f} s |",
    ]
    if latency.busy:
        lines.append(
            f"| busy: the same, beside another bench stage | {len(latency.busy)} | {_median(latency.busy):.1f} s "
            f"| {_max(latency.busy):.1f} s |"
        )
    burst = latency.burst
    if burst:
        lines.append(
            f"| burst: the trickle after {burst.files} files at once | {len(burst.trickle)} | {burst.median:.1f} s "
            f"| {burst.max:.1f} s |"
        )
    lines += [
        "",
        f"### Quiet: {len(latency.drops)} five-minute usage files of {latency.customers:,} rows, "
        "each dropped once the previous one is in gold",
        "",
        *_drops_table(latency.drops),
    ]
    if latency.busy:
        lines += [
            "### Busy: the same, while another bench stage runs beside the daemon",
            "",
            f"Beside it: {latency.busy_load}.",
            "",
            *_drops_table(latency.busy),
        ]
    if burst:
        late = ", ".join(burst.late_runs) if burst.late_runs else "none"
        lines += [
            f"### Burst: {burst.files} files at once, then one every {TRICKLE_EVERY:.0f} s for "
            f"{TRICKLE_EVERY * len(burst.trickle):.0f} s",
            "",
            f"The {burst.files} files were all in gold {burst.seconds:.1f} s after they were dropped. "
            f"The trickle's files, drop → queryable: median {burst.median:.1f} s, max {burst.max:.1f} s. "
            f"Runs queued when the last file was queryable, or requested after it: {len(burst.late_runs)} ({late}).",
            "",
            "| file | " + " | ".join(d.name.removeprefix("usage_").removesuffix(".csv") for d in burst.trickle) + " |",
            "|---|" + "---:|" * len(burst.trickle),
            "| drop → queryable (s) | " + " | ".join(f"{d.seconds:.1f}" for d in burst.trickle) + " |",
            "",
        ]
    return lines
