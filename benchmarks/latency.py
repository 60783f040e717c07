"""`--stages latency`: drop → gold-queryable seconds under the real Dagster daemon.

A lake holds one day of history (1,000 customers, built with the library path) and prices for
the next day; the daemon (orchestration/service.py, the repository's dagster.yaml, default sensor
intervals) runs on it. Five 5-minute usage files of 1,000 rows each for the next day are dropped
one after another; for each, the time until `gridlake sql` shows all of its rows priced in
gold.cost_per_interval, and how that time splits, read from the runs the daemon recorded."""

from __future__ import annotations

import datetime as dt
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.workload import DAY, link_landing, write_landing

FILES = 5
CUSTOMERS = 1_000
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


@dataclass
class Drop:
    name: str
    seconds: float
    parts: dict[str, float] = field(default_factory=dict)


@dataclass
class Latency:
    customers: int
    history_rows: int
    drops: list[Drop]

    @property
    def median(self) -> float:
        return statistics.median(d.seconds for d in self.drops)

    @property
    def max(self) -> float:
        return max(d.seconds for d in self.drops)


def _usage_csv(start: dt.datetime, customers: int) -> bytes:
    end = start + dt.timedelta(minutes=5)
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    lines = ["customerId,intervalStart,intervalEnd,usage"]
    lines += [f"{c},{start:{stamp}},{end:{stamp}},{0.1 + (c % 7) * 0.05:.2f}" for c in range(1, customers + 1)]
    return ("\n".join(lines) + "\n").encode()


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


def measure(work: Path, customers: int = CUSTOMERS, files: int = FILES) -> Latency:
    from orchestration.service import Service
    from warehouse import catalog
    from warehouse.lake import Lake
    from warehouse.stages.pipeline import process_pending

    lake = Lake.from_env(str(work / "latency-lake"))
    history = write_landing(work / "latency-landing", customers, "csv", DAY, days=1, price_days=2, per="day")
    link_landing(history, Path(lake.root))
    process_pending(lake, publish=True)
    service = Service(home=work / "latency-home", lake_root=lake.root)
    service.start()
    drops: list[Drop] = []
    try:
        for i in range(files):
            start = dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(), dt.UTC) + dt.timedelta(minutes=5 * i)
            name = f"usage_{start:%Y%m%d_%H%M}.csv"
            sql = (
                "select count(*) from gold.cost_per_interval "
                f"where interval_start = TIMESTAMPTZ '{start.isoformat()}' and cost is not null"
            )
            path = Path(lake.root) / "landing" / "customer_usage" / name
            partial = path.with_name(f".{name}.partial")
            partial.write_bytes(_usage_csv(start, customers))
            dropped = time.time()
            partial.rename(path)

            def priced(sql: str = sql) -> bool:
                try:
                    return catalog.query(lake, sql).item() == customers
                except Exception:
                    return False

            service.wait(priced, TIMEOUT, f"{name} in gold", every=0.25)
            queryable = time.time()
            service.wait(lambda: _idle(service.home), TIMEOUT, "the daemon to go idle", every=0.5)
            drops.append(Drop(name, queryable - dropped, _split(service.home, dropped, queryable)))
    finally:
        service.stop()
    return Latency(customers, history.usage_rows, drops)


def _idle(home: Path) -> bool:
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    busy = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]
    with DagsterInstance.from_config(str(home)) as instance:
        return not instance.get_runs(RunsFilter(statuses=busy), limit=1)


def render(latency: Latency) -> list[str]:
    lines = [
        "## Latency under the Dagster daemon",
        "",
        f"One day of history ({latency.customers:,} customers, {latency.history_rows:,} usage rows), the daemon "
        "started with the repository's dagster.yaml and the default sensor intervals, then "
        f"{len(latency.drops)} five-minute usage files of {latency.customers:,} rows dropped one after another "
        "(each once the previous one is in gold). Latency: drop until `gridlake sql` shows every row of the file "
        "priced in gold.cost_per_interval.",
        "",
        f"**Median {latency.median:.1f} s, max {latency.max:.1f} s.**",
        "",
        "| part | " + " | ".join(d.name for d in latency.drops) + " | median |",
        "|---|" + "---:|" * (len(latency.drops) + 1),
    ]
    for part in PARTS:
        values = [d.parts.get(part) for d in latency.drops]
        known = [v for v in values if v is not None]
        cells = [f"{v:.1f}" if v is not None else "–" for v in values]
        lines.append(f"| {part} | " + " | ".join(cells) + f" | {statistics.median(known):.1f} |" if known else "")
    totals = [f"{d.seconds:.1f}" for d in latency.drops]
    lines += ["| **drop → queryable** | " + " | ".join(totals) + f" | {latency.median:.1f} |", ""]
    return lines
