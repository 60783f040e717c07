"""One shape for every daily gold asset: a registry table, the silver or gold tables a date reads
(with how many neighbouring dates), and the stage function that rebuilds a list of dates."""

from collections.abc import Callable, Sequence

import dagster as dg

from assets.ingest import asset_key
from assets.metadata import table_metadata
from assets.partitions import DAILY, partition_dates
from orchestration.resources import LakeResource
from warehouse import delta
from warehouse.lake import Lake
from warehouse.registry import Table

Build = Callable[[Lake, list], int]


def window(before: int = 0, after: int = 0) -> dg.TimeWindowPartitionMapping | None:
    """Upstream dates a gold date reads: from `before` days earlier to `after` days later."""
    if not (before or after):
        return None
    return dg.TimeWindowPartitionMapping(
        start_offset=-before, end_offset=after, allow_nonexistent_upstream_partitions=True
    )


def daily_gold_asset(
    table: Table, build: Build, inputs: Sequence[tuple[Table, dg.TimeWindowPartitionMapping | None]]
) -> dg.AssetsDefinition:
    @dg.asset(
        key=asset_key(table.qualified),
        group_name="gold",
        description=table.description,
        partitions_def=DAILY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        ins={
            source.name: dg.AssetIn(asset_key(source.qualified), partition_mapping=mapping, dagster_type=dg.Nothing)
            for source, mapping in inputs
        },
        automation_condition=dg.AutomationCondition.eager(),
        kinds={"delta", "polars"},
    )
    def _gold(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
        the_lake = lake.lake()
        dates = partition_dates(context)
        rows = build(the_lake, dates)
        sample = delta.sample(the_lake, table, dates[0] if dates else None)
        return dg.MaterializeResult(metadata=table_metadata(table, rows, sample))

    return _gold
