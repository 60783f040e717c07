"""Sensors: the plan's stages under the daemon. File drops start one landing run; landed files
start refine runs for their dates, which carry their gold; gold that refine could not carry is
queued and starts gold runs, for any date, past or present (orchestration/work.py decides the
runs, as it does for `gridlake run`).

Each hop waits at most one sensor interval: SENSOR_INTERVAL_SECONDS, the daemon's own loop time
(it evaluates sensors every 5 s at most)."""

import hashlib
import json
from collections.abc import Iterable

import dagster as dg

from assets.keys import asset_key
from orchestration.alerts import solar_anomaly_alerts
from orchestration.work import Work, gold_work, refine_work
from warehouse.datasets import DATASETS
from warehouse.lake import Lake
from warehouse.stages import gold, land

SENSOR_INTERVAL_SECONDS = 5


@dg.sensor(
    name="landing_drops",
    description="New files in landing/<source>/ start one landing run for every source with new files.",
    asset_selection=dg.AssetSelection.groups("bronze"),
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def drop_sensor(context: dg.SensorEvaluationContext, lake: dg.ResourceParam[Lake]) -> dg.RunRequest | dg.SkipReason:
    # The cursor holds files already requested but not yet in the ingest log, so a queued run is
    # not requested twice; entries drop out once the log has them.
    requested: dict[str, str] = json.loads(context.cursor or "{}")
    pending = {ds.source: land.pending_files(lake, ds) for ds in DATASETS.values()}
    stamp = {f.path: f"{f.size}:{f.modified}" for files in pending.values() for f in files}
    new = {src: [f for f in files if requested.get(f.path) != stamp[f.path]] for src, files in pending.items()}
    new = {src: files for src, files in new.items() if files}
    requested = {p: s for p, s in requested.items() if p in stamp}
    requested.update({f.path: stamp[f.path] for files in new.values() for f in files})
    context.update_cursor(json.dumps(requested, sort_keys=True))
    if not new:
        return dg.SkipReason("no new files in landing/")
    # Identical content under any name yields the same key, and Dagster never reuses a key.
    hashes = sorted({f"{src}:{land.file_hash(lake, f.path)}" for src, files in new.items() for f in files})
    key = hashlib.sha256("\n".join(hashes).encode()).hexdigest()[:32]
    bronze = {src: DATASETS[src].bronze for src in new}
    return dg.RunRequest(
        run_key=f"land:{key}",
        asset_selection=[asset_key(t.qualified) for t in bronze.values()],
        run_config={
            "ops": {
                t.qualified.replace(".", "__"): {"config": {"paths": [f.path for f in new[src]]}}
                for src, t in bronze.items()
            }
        },
        tags={"gridlake/sources": ",".join(sorted(new)), "gridlake/stage": "land"},
    )


def _result(context: dg.SensorEvaluationContext, work: Iterable[Work], keys: dict[str, list[str]], idle: str):
    requests = [w.run_request() for w in work]
    if not requests:
        return dg.SkipReason(idle)
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
def refine_sensor(context: dg.SensorEvaluationContext, lake: dg.ResourceParam[Lake]):
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
def gold_sensor(context: dg.SensorEvaluationContext, lake: dg.ResourceParam[Lake]):
    work: list[Work] = []
    keys: dict[str, list[str]] = {}
    for queued in gold.queued_specs(lake):
        items, new = gold_work(queued, context.instance.get_dynamic_partitions)
        work += items
        _merge(keys, new)
    return _result(context, work, keys, "no gold work is queued")


SENSORS = [drop_sensor, refine_sensor, gold_sensor, solar_anomaly_alerts]
