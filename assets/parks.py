"""Gold parks assets: daily partitions by park-local date. Gold date D reads silver readings of
partition D only (silver readings are partitioned by park-local date too), plus the current
park register for each park's timezone and energy type."""

import dagster as dg

from assets.ingest import asset_key
from assets.metadata import table_metadata
from assets.partitions import DAILY, partition_dates
from orchestration.resources import LakeResource
from warehouse import delta
from warehouse.stages import gold_parks


@dg.asset(
    key=asset_key(gold_parks.PARK_DAILY.qualified),
    group_name="gold",
    description=gold_parks.PARK_DAILY.description,
    partitions_def=DAILY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    ins={"readings": dg.AssetIn(asset_key(gold_parks.READINGS.qualified), dagster_type=dg.Nothing)},
    automation_condition=dg.AutomationCondition.eager(),
    kinds={"delta", "polars"},
)
def park_daily_stats(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    the_lake = lake.lake()
    dates = partition_dates(context)
    rows = gold_parks.build_park_daily(the_lake, dates)
    sample = delta.sample(the_lake, gold_parks.PARK_DAILY, dates[0] if dates else None)
    return dg.MaterializeResult(metadata=table_metadata(gold_parks.PARK_DAILY, rows, sample))


@dg.asset(
    key=asset_key(gold_parks.TYPE_DAILY.qualified),
    group_name="gold",
    description=gold_parks.TYPE_DAILY.description,
    partitions_def=DAILY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    ins={"park_daily": dg.AssetIn(asset_key(gold_parks.PARK_DAILY.qualified), dagster_type=dg.Nothing)},
    automation_condition=dg.AutomationCondition.eager(),
    kinds={"delta", "polars"},
)
def energy_type_daily_stats(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    the_lake = lake.lake()
    dates = partition_dates(context)
    rows = gold_parks.build_energy_type_daily(the_lake, dates)
    sample = delta.sample(the_lake, gold_parks.TYPE_DAILY, dates[0] if dates else None)
    return dg.MaterializeResult(metadata=table_metadata(gold_parks.TYPE_DAILY, rows, sample))


PARKS_GOLD_ASSETS = [park_daily_stats, energy_type_daily_stats]
