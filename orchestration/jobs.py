"""Jobs and schedules: an hourly catch-up that lands anything the sensors missed (and retries
files whose run failed) and refreshes the DuckDB catalog; a partitioned job for backfills."""

import dagster as dg

from assets.partitions import DAILY

land_and_publish = dg.define_asset_job(
    "land_and_publish",
    selection=dg.AssetSelection.groups("bronze", "publish"),
    description="Land every pending file of every source, then refresh the DuckDB views.",
)

refine_and_build = dg.define_asset_job(
    "refine_and_build",
    selection=dg.AssetSelection.groups("silver", "quarantine", "gold"),
    partitions_def=DAILY,
    description="Validate bronze and rebuild silver and gold for the selected dates (backfills).",
)

hourly_catch_up = dg.ScheduleDefinition(
    name="hourly_catch_up",
    job=land_and_publish,
    cron_schedule="0 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

JOBS = [land_and_publish, refine_and_build]
SCHEDULES = [hourly_catch_up]
