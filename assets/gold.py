"""Gold usage assets: daily partitions; a date reads silver from the day before to the day after
(intervals may cross midnight), so those dependencies are declared with a partition mapping."""

import dagster as dg

from assets.ingest import asset_key
from assets.metadata import table_metadata
from assets.partitions import DAILY, partition_dates
from orchestration.resources import LakeResource
from warehouse import delta
from warehouse.stages import gold

NEIGHBOURS = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=1, allow_nonexistent_upstream_partitions=True)
PREVIOUS = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=0, allow_nonexistent_upstream_partitions=True)


@dg.asset(
    key=asset_key(gold.COST.qualified),
    group_name="gold",
    description=gold.COST.description,
    partitions_def=DAILY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    ins={
        "usage": dg.AssetIn(asset_key(gold.USAGE.qualified), partition_mapping=NEIGHBOURS, dagster_type=dg.Nothing),
        "prices": dg.AssetIn(asset_key(gold.PRICES.qualified), partition_mapping=NEIGHBOURS, dagster_type=dg.Nothing),
    },
    automation_condition=dg.AutomationCondition.eager(),
    kinds={"delta", "polars"},
)
def cost_per_interval(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    the_lake = lake.lake()
    dates = partition_dates(context)
    rows = gold.build_cost(the_lake, dates)
    return dg.MaterializeResult(
        metadata=table_metadata(gold.COST, rows, delta.sample(the_lake, gold.COST, dates[0] if dates else None))
    )


@dg.asset(
    key=asset_key(gold.HOURLY.qualified),
    group_name="gold",
    description=gold.HOURLY.description,
    partitions_def=DAILY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    ins={"cost": dg.AssetIn(asset_key(gold.COST.qualified), partition_mapping=PREVIOUS, dagster_type=dg.Nothing)},
    automation_condition=dg.AutomationCondition.eager(),
    kinds={"delta", "polars"},
)
def hourly_usage(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    the_lake = lake.lake()
    dates = partition_dates(context)
    rows = gold.build_hourly(the_lake, dates)
    return dg.MaterializeResult(
        metadata=table_metadata(gold.HOURLY, rows, delta.sample(the_lake, gold.HOURLY, dates[0] if dates else None))
    )


GOLD_ASSETS = [cost_per_interval, hourly_usage]
