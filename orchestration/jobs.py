"""Jobs and schedules: an hourly catch-up that lands anything the sensors missed (and retries
files whose run failed) and refreshes the DuckDB catalog; per calendar, a partitioned job that
rebuilds silver and gold of the selected dates (backfills from the UI)."""

from typing import TYPE_CHECKING

import dagster as dg

from assets.keys import asset_key
from assets.partitions import CALENDARS
from warehouse.datasets import DATASETS
from warehouse.plan import GOLD, calendar_of

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

land_and_publish = dg.define_asset_job(
    "land_and_publish",
    selection=dg.AssetSelection.groups("bronze", "publish"),
    description="Land every pending file of every source, then refresh the DuckDB views.",
)


def _rebuild_job(calendar: str) -> "UnresolvedAssetJobDefinition":
    silver = [
        asset_key(t.qualified)
        for ds in DATASETS.values()
        if calendar_of(ds) == calendar
        for t in (ds.silver_table, ds.quarantine)
    ]
    gold = [asset_key(t.qualified) for spec in GOLD if spec.calendar == calendar for t in spec.tables]
    return dg.define_asset_job(
        f"rebuild_{calendar}",
        selection=dg.AssetSelection.assets(*silver, *gold),
        description=f"Re-validate bronze and rebuild silver and gold of calendar {calendar} for the selected dates.",
    )


hourly_catch_up = dg.ScheduleDefinition(
    name="hourly_catch_up",
    job=land_and_publish,
    cron_schedule="0 * * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

JOBS = [land_and_publish, *(_rebuild_job(c) for c in CALENDARS)]
SCHEDULES = [hourly_catch_up]
