"""One multi-asset per gold spec of the plan (warehouse/plan.py): its tables, built together for
the same dates, partitioned by the spec's calendar (unpartitioned specs are rebuilt whole). A run
rebuilds the dates it covers and removes the queue rows those dates answer; the gold sensor and
`gridlake run` decide which dates to run from the queue, a backfill picks them by hand.

A refine run carries the gold of its own calendar (orchestration/work.py): there the gold asset
runs with `queued_only`, rebuilding only the run's dates that refine queued, and is skipped when
none were (a blocking check also skips it). Queued dates outside the run are left to the sensor."""

import datetime as dt
from collections.abc import Iterator

import dagster as dg

from assets.keys import asset_key
from assets.metadata import table_metadata
from assets.partitions import backfill_policy, calendar, partition_dates
from warehouse import delta
from warehouse.lake import Lake
from warehouse.plan import GOLD, GoldSpec, silver_tables_of
from warehouse.stages import gold


class GoldConfig(dg.Config):
    # Rebuild only the run's dates with ready queue rows (in a refine run), not all of them.
    queued_only: bool = False


def gold_asset(spec: GoldSpec) -> dg.AssetsDefinition:
    partitions = calendar(spec.calendar)
    silver = [asset_key(t.qualified) for t in silver_tables_of(spec)]
    specs = [
        dg.AssetSpec(
            asset_key(t.qualified),
            group_name="gold",
            description=t.description,
            # Each table reads the silver inputs and the spec's tables before it.
            deps=[*silver, *(asset_key(p.qualified) for p in spec.tables[:i])],
            partitions_def=partitions,
            kinds={"delta", "polars"},
            skippable=True,
        )
        for i, t in enumerate(spec.tables)
    ]

    checks = (
        [dg.AssetCheckSpec(spec.check.name, asset=specs[0].key, description=spec.check.description)]
        if spec.check
        else []
    )

    @dg.multi_asset(
        name=f"gold_{spec.name}",
        description=spec.description,
        specs=specs,
        check_specs=checks,
        partitions_def=partitions,
        backfill_policy=backfill_policy(partitions),
        can_subset=False,
    )
    def _gold(
        context: dg.AssetExecutionContext, config: GoldConfig, lake: dg.ResourceParam[Lake]
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        dates: list[dt.date | None] = list(partition_dates(context)) if spec.partitioned else [None]
        if config.queued_only:
            ready = set(gold.queued(lake, spec).dates)
            dates = [d for d in dates if d in ready]
            if not dates:
                context.log.info(f"gold {spec.name}: nothing queued for this run's dates")
                return
        report = gold.rebuild(lake, spec, dates)
        for t in spec.tables:
            sample = delta.sample(lake, t, dates[0] if spec.partitioned and dates else None)
            yield dg.MaterializeResult(
                asset_key=asset_key(t.qualified),
                metadata=table_metadata(
                    t, report.rows.get(t.qualified, 0), sample, queue_rows_done=report.acknowledged
                ),
            )
        if spec.check:
            yield _check_result(lake, spec, specs[0].key, [d for d in dates if d is not None])

    return _gold


def _check_result(lake: Lake, spec: GoldSpec, key: dg.AssetKey, dates: list[dt.date]) -> dg.AssetCheckResult:
    assert spec.check
    failing = spec.check.failing(lake, dates)
    by_date = failing.group_by("date").len().sort("date") if not failing.is_empty() else None
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=spec.check.name,
        passed=failing.is_empty(),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "dates_checked": len(dates),
            "failing_rows": failing.height,
            "failing_dates": ", ".join(f"{d} ({n})" for d, n in by_date.iter_rows()) if by_date is not None else "none",
            "first_failing": dg.MetadataValue.md(
                "\n".join(
                    "- " + ", ".join(f"{k}={v}" for k, v in r.items()) for r in failing.head(10).iter_rows(named=True)
                )
                or "none"
            ),
        },
    )


GOLD_ASSETS = [gold_asset(spec) for spec in GOLD]
