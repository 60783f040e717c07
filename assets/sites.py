"""Gold battery-site assets: daily statistics partitioned by UTC date (gold date D reads silver
live data of partition D, plus the configuration history for the battery in force), and the
latest state of every site, rebuilt whole (one row per site)."""

import dagster as dg

from assets.daily_gold import daily_gold_asset
from assets.ingest import asset_key
from assets.metadata import table_metadata
from orchestration.resources import LakeResource
from warehouse.stages import gold_sites

site_daily_stats = daily_gold_asset(gold_sites.DAILY, gold_sites.build_daily, [(gold_sites.LIVE, None)])


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
