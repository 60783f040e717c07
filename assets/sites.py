"""Gold battery-site assets: daily statistics partitioned by UTC date (gold date D reads silver
live data of partition D, plus the configuration history for the battery in force), and the
latest state of every site, rebuilt whole (one row per site)."""

import dagster as dg

from assets.ingest import asset_key
from assets.metadata import table_metadata
from assets.partitions import DAILY, partition_dates
from orchestration.resources import LakeResource
from warehouse import delta
from warehouse.stages import gold_sites


@dg.asset(
    key=asset_key(gold_sites.DAILY.qualified),
    group_name="gold",
    description=gold_sites.DAILY.description,
    partitions_def=DAILY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    ins={"live": dg.AssetIn(asset_key(gold_sites.LIVE.qualified), dagster_type=dg.Nothing)},
    automation_condition=dg.AutomationCondition.eager(),
    kinds={"delta", "polars"},
)
def site_daily_stats(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    the_lake = lake.lake()
    dates = partition_dates(context)
    rows = gold_sites.build_daily(the_lake, dates)
    sample = delta.sample(the_lake, gold_sites.DAILY, dates[0] if dates else None)
    return dg.MaterializeResult(metadata=table_metadata(gold_sites.DAILY, rows, sample))


@dg.asset(
    key=asset_key(gold_sites.LATEST.qualified),
    group_name="gold",
    description=gold_sites.LATEST.description,
    deps=[
        asset_key(gold_sites.SITES.qualified),
        asset_key(gold_sites.CONFIGURATIONS.qualified),
        asset_key(gold_sites.LIVE.qualified),
    ],
    automation_condition=dg.AutomationCondition.eager(),
    kinds={"delta", "polars"},
)
def site_latest(lake: LakeResource) -> dg.MaterializeResult:
    the_lake = lake.lake()
    rows = gold_sites.build_latest(the_lake)
    return dg.MaterializeResult(metadata=table_metadata(gold_sites.LATEST, rows, gold_sites.latest_sample(the_lake)))


SITES_GOLD_ASSETS = [site_daily_stats, site_latest]
