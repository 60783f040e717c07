"""Jobs and schedules: an hourly catch-up that lands anything the sensors missed (and retries
files whose run failed) and refreshes the DuckDB catalog; per calendar, a partitioned job that
rebuilds silver and gold of the selected dates (backfills from the UI); and a daily maintenance
job (retention purges, compaction, vacuum: warehouse/maintain.py)."""

from typing import TYPE_CHECKING

import dagster as dg

from assets.keys import asset_key
from assets.metadata import preview
from assets.partitions import CALENDARS
from warehouse.datasets import DATASETS
from warehouse.lake import Lake
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


@dg.op(
    name="maintain",
    description="Purge raw rows past their retention, compact tables with many small files, vacuum (7 days).",
)
def maintain_op(context: dg.OpExecutionContext, lake: dg.ResourceParam[Lake]) -> dg.Output[None]:
    from warehouse.maintain import maintain

    report = maintain(lake, run_id=context.run_id)
    frame = report.frame()
    for action in report.actions:
        context.log.info(f"{action.action} {action.table_name}: {action}")
    # Shown on the run's page; ops.maintenance keeps the same rows.
    return dg.Output(
        None,
        metadata={
            "actions": len(report.actions),
            "rows_purged": int(frame["rows_removed"].sum()),
            "files_removed": int(frame["files_removed"].sum()),
            "report": preview(frame, rows=max(len(report.actions), 1)),
        },
    )


@dg.job(name="maintain_lake", description="Retention purges, compaction and vacuum of every table.")
def maintain_lake() -> None:
    maintain_op()


daily_maintenance = dg.ScheduleDefinition(
    name="daily_maintenance",
    job=maintain_lake,
    cron_schedule="30 3 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

JOBS: list["dg.JobDefinition | UnresolvedAssetJobDefinition"] = [
    land_and_publish,
    maintain_lake,
    *(_rebuild_job(c) for c in CALENDARS),
]
SCHEDULES = [hourly_catch_up, daily_maintenance]
