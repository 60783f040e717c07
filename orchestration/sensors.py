"""Sensors: the plan's stages under the daemon. File drops start one landing run; landed files
start refine runs for their dates, which carry their gold; gold that refine could not carry is
queued and starts gold runs, for any date, past or present (orchestration/work.py decides the
runs, as it does for `gridlake run`).

Each hop waits at most one pass of the daemon's sensor loop (5 s, Dagster's MIN_INTERVAL_LOOP_TIME).
The sensors' minimum interval is below it, so every pass evaluates them: a minimum equal to the
loop's 5 s skipped about every other pass (a tick is timed from its start, a few ms after the
pass began), and the landed → refine hop waited 7.6 s median instead of 2.5 (docs/latency.md)."""

import hashlib
import json
from collections.abc import Iterable

import dagster as dg

from assets.ingest import landing_config
from assets.keys import asset_key
from orchestration.alerts import solar_anomaly_alerts
from orchestration.retries import WORK_TAG, due_attempt, unfinished_run_ids, work_tag
from orchestration.work import Work, gold_work, refine_work
from warehouse.datasets import DATASETS
from warehouse.lake import Lake
from warehouse.stages import gold, land

SENSOR_INTERVAL_SECONDS = 1


@dg.sensor(
    name="landing_drops",
    description="New files in landing/<source>/ start one landing run for every source with new files.",
    asset_selection=dg.AssetSelection.groups("bronze"),
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def drop_sensor(context: dg.SensorEvaluationContext, lake: dg.ResourceParam[Lake]) -> dg.SensorResult:
    """Files are known by (path, size, modification time), as landing knows them: nothing is
    read or hashed here. The cursor maps each requested file to its stamp and the fingerprint of
    the request it went in, so a queued run is not requested twice and a failed one is retried."""
    requested: dict[str, list[str]] = json.loads(context.cursor or "{}")
    pending = {ds.source: land.pending_files(lake, ds) for ds in DATASETS.values()}
    files = {f.path: (src, f) for src, listed in pending.items() for f in listed}
    requested = {p: entry for p, entry in requested.items() if p in files and entry[0] == _stamp(files[p][1])}
    batches: dict[str, list[tuple[str, land.LandingFile]]] = {}
    for path, (src, f) in files.items():
        if path in requested:
            batches.setdefault(requested[path][1], []).append((src, f))
    new = [files[p] for p in files if p not in requested]
    requests = []
    if new:
        fingerprint = "land:" + _digest(*sorted(f"{src}:{f.path}:{_stamp(f)}" for src, f in new))
        batches[fingerprint] = new
    for fingerprint, batch in sorted(batches.items()):
        attempt = due_attempt(context.instance, fingerprint)
        if attempt is None:
            continue
        requests.append(_land_request(fingerprint, attempt, batch))
        requested.update({f.path: [_stamp(f), fingerprint] for _, f in batch})
    context.update_cursor(json.dumps(requested, sort_keys=True))
    if not requests:
        return dg.SensorResult(skip_reason="no new files in landing/")
    return dg.SensorResult(run_requests=requests)


def _stamp(f: land.LandingFile) -> str:
    return f"{f.size}:{f.modified}"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _land_request(fingerprint: str, attempt: int, batch: list[tuple[str, land.LandingFile]]) -> dg.RunRequest:
    by_source: dict[str, list[land.LandingFile]] = {}
    for src, f in batch:
        by_source.setdefault(src, []).append(f)
    bronze = {src: DATASETS[src].bronze for src in by_source}
    return dg.RunRequest(
        run_key=f"{fingerprint}:{attempt}",
        asset_selection=[asset_key(t.qualified) for t in bronze.values()],
        run_config={
            "ops": {
                t.qualified.replace(".", "__"): {"config": {"files": [landing_config(f) for f in by_source[src]]}}
                for src, t in bronze.items()
            }
        },
        tags={
            "gridlake/sources": ",".join(sorted(by_source)),
            "gridlake/stage": "land",
            WORK_TAG: work_tag(fingerprint),
        },
    )


def _result(
    context: dg.SensorEvaluationContext, work: Iterable[Work], keys: dict[str, list[str]], idle: str
) -> dg.SensorResult:
    requests = []
    for w in work:
        attempt = due_attempt(context.instance, w.fingerprint)
        if attempt is not None:
            requests.append(w.run_request(attempt))
    if not requests:
        return dg.SensorResult(skip_reason=idle)
    additions = [dg.AddDynamicPartitionsRequest(cal, new) for cal, new in keys.items() if new]
    return dg.SensorResult(run_requests=requests, dynamic_partitions_requests=additions)


def _merge(into: dict[str, list[str]], keys: dict[str, list[str]]) -> None:
    for cal, new in keys.items():
        into.setdefault(cal, []).extend(k for k in new if k not in into[cal])


@dg.sensor(
    name="refine_landed",
    description="Files landed but not yet validated (and rows whose reference data arrived) start refine runs.",
    # `asset_selection`, not `target`: the selection spans several partitions definitions, and
    # Dagster then runs each request on the base asset job of the assets it selects.
    asset_selection=dg.AssetSelection.groups("silver", "quarantine", "gold", "publish"),
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def refine_sensor(context: dg.SensorEvaluationContext, lake: dg.ResourceParam[Lake]) -> dg.SensorResult:
    work: list[Work] = []
    keys: dict[str, list[str]] = {}
    for ds in DATASETS.values():
        items, new = refine_work(lake, ds, context.instance.get_dynamic_partitions)
        work += items
        _merge(keys, new)
    return _result(context, work, keys, "nothing landed is waiting for validation")


@dg.sensor(
    name="gold_queue",
    description="Gold dates queued by refine (ops.gold_queue) start gold runs for exactly those dates.",
    asset_selection=dg.AssetSelection.groups("gold", "publish"),
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def gold_sensor(context: dg.SensorEvaluationContext, lake: dg.ResourceParam[Lake]) -> dg.SensorResult:
    # Rows queued by a refine run still in progress are left to it: it carries the gold of its
    # own dates, and what it does not carry is here once it has finished.
    running = unfinished_run_ids(context.instance)
    work: list[Work] = []
    keys: dict[str, list[str]] = {}
    for queued in gold.queued_specs(lake, skip_runs=running):
        items, new = gold_work(queued, context.instance.get_dynamic_partitions)
        work += items
        _merge(keys, new)
    return _result(context, work, keys, "no gold work is queued")


SENSORS = [drop_sensor, refine_sensor, gold_sensor, solar_anomaly_alerts]
