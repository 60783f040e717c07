"""Sensors: file drops start landing runs; landed files start refine runs for their dates;
gold follows its inputs through declarative automation."""

import datetime as dt
import hashlib
import json

import dagster as dg

from assets.ingest import asset_key
from assets.partitions import contiguous_ranges, range_tags
from orchestration.resources import LakeResource
from warehouse.datasets import DATASETS, Dataset
from warehouse.stages import land, refine


def _drop_sensor(ds: Dataset) -> dg.SensorDefinition:
    bronze_key = asset_key(ds.bronze.qualified)

    @dg.sensor(
        name=f"{ds.source}_drops",
        description=f"New files in landing/{ds.source}/ start a landing run.",
        target=dg.AssetSelection.keys(bronze_key),
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def _sensor(context: dg.SensorEvaluationContext, lake: LakeResource):
        the_lake = lake.lake()
        # The cursor holds files already requested but not yet in the ingest log, so a queued
        # run is not requested twice; entries drop out once the log has them.
        requested: dict[str, str] = json.loads(context.cursor or "{}")
        pending = land.pending_files(the_lake, ds)
        stamp = {f.path: f"{f.size}:{f.modified}" for f in pending}
        new = [f for f in pending if requested.get(f.path) != stamp[f.path]]
        requested = {p: s for p, s in requested.items() if p in stamp}
        requested.update({f.path: stamp[f.path] for f in new})
        context.update_cursor(json.dumps(requested, sort_keys=True))
        if not new:
            return dg.SkipReason(f"no new files in landing/{ds.source}/")
        # Identical content under any name yields the same key, and Dagster never reuses a key.
        hashes = sorted({land.file_hash(the_lake, f.path) for f in new})
        key = hashlib.sha256("\n".join(hashes).encode()).hexdigest()[:32]
        return dg.RunRequest(
            run_key=f"{ds.source}:{key}",
            run_config={"ops": {ds.bronze.qualified.replace(".", "__"): {"config": {"paths": [f.path for f in new]}}}},
            tags={"gridlake/source": ds.source},
        )

    return _sensor


@dg.sensor(
    name="refine_landed",
    description="Files landed but not yet validated start a refine run for their event dates.",
    target=dg.AssetSelection.groups("silver", "quarantine"),
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def refine_sensor(context: dg.SensorEvaluationContext, lake: LakeResource):
    the_lake = lake.lake()
    requests = []
    for ds in DATASETS.values():
        dates = refine.pending_dates(the_lake, ds.source)
        if not dates:
            continue
        log = land.ingest_log(the_lake, ds.source).filter(status="landed")
        # The hour is part of the key: a failed refine of the same files is retried once an hour.
        hour = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H")
        fingerprint = hashlib.sha256("".join(sorted(log["file_hash"])).encode()).hexdigest()[:16] + f":{hour}"
        keys = [asset_key(ds.silver.qualified), asset_key(ds.quarantine.qualified)]
        for first, last in contiguous_ranges([d for d in dates if d is not None]) or [_today_range()]:
            requests.append(
                dg.RunRequest(
                    run_key=f"refine:{ds.source}:{first}:{last}:{fingerprint}",
                    asset_selection=keys,
                    tags={**range_tags(first, last), "gridlake/source": ds.source},
                )
            )
    return requests or dg.SkipReason("nothing landed is waiting for validation")


def _today_range() -> tuple[dt.date, dt.date]:
    today = dt.datetime.now(dt.UTC).date()
    return (today, today)


gold_automation = dg.AutomationConditionSensorDefinition(
    "gold_automation",
    target=dg.AssetSelection.groups("gold"),
    default_status=dg.DefaultSensorStatus.RUNNING,
)

SENSORS = [*(_drop_sensor(ds) for ds in DATASETS.values()), refine_sensor, gold_automation]
