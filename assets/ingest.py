"""Per source: a bronze landing asset, and a refine step (silver + quarantine) whose dataset rules
are asset checks. Built from the dataset registry; sources refined per date are partitioned by
their calendar, sources refined whole are not."""

from collections.abc import Iterator
from typing import Any

import dagster as dg
import polars as pl

from assets.keys import asset_key
from assets.metadata import table_metadata
from assets.partitions import backfill_policy, calendar, partition_dates
from warehouse import delta
from warehouse.data_docs import publish_data_docs
from warehouse.datasets import DATASETS, Dataset
from warehouse.lake import Lake
from warehouse.plan import calendar_of
from warehouse.stages import land, refine


class LandingFileConfig(dg.Config):
    """A file as the drop sensor found it (warehouse.stages.land.LandingFile)."""

    path: str
    size: int
    modified: float
    refused: str | None = None


class LandConfig(dg.Config):
    # Empty: every pending file in landing/<source>/. Set by the file-drop sensor.
    files: list[LandingFileConfig] = []  # noqa: RUF012 - pydantic copies defaults


def landing_config(f: land.LandingFile) -> dict[str, object]:
    """The run config of one file the drop sensor hands to landing."""
    return {"path": f.path, "size": f.size, "modified": f.modified, "refused": f.refused}


class RefineConfig(dg.Config):
    # Queue gold for every refined date, changed or not (a backfill).
    rebuild_gold: bool = False


def _land_asset(ds: Dataset) -> dg.AssetsDefinition:
    @dg.asset(
        key=asset_key(ds.bronze.qualified),
        group_name="bronze",
        description=f"{ds.bronze.description} Landed from landing/{ds.source}/.",
        check_specs=[dg.AssetCheckSpec("all_files_readable", asset=asset_key(ds.bronze.qualified))],
        kinds={"delta", "polars"},
    )
    def _land(
        context: dg.AssetExecutionContext, config: LandConfig, lake: dg.ResourceParam[Lake]
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        files = [land.LandingFile(f.path, f.size, f.modified, f.refused) for f in config.files] or None
        report = land.land(lake, ds, context.run.run_id, files=files)
        for row in report.failed:
            context.log.error(row.error)
        landed = pl.DataFrame(
            {"path": [r.path for r in report.landed], "rows_read": [r.rows_read for r in report.landed]}
        )
        yield dg.MaterializeResult(
            metadata=table_metadata(
                ds.bronze,
                report.rows,
                landed if report.landed else None,
                files_landed=len(report.landed),
                files_failed=len(report.failed),
                files_duplicate=len(report.duplicates),
                event_dates=", ".join(sorted(str(d) for d in report.event_dates)) or "none",
            )
        )
        yield dg.AssetCheckResult(
            check_name="all_files_readable",
            passed=not report.failed,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"failed_files": dg.MetadataValue.md("\n".join(f"- {r.error}" for r in report.failed) or "none")},
        )

    return _land


def _refine_asset(ds: Dataset) -> dg.AssetsDefinition:
    silver_key = asset_key(ds.silver_table.qualified)
    partitions = calendar(calendar_of(ds))
    checks = [
        dg.AssetCheckSpec(rule.name, asset=silver_key, description=rule.description, blocking=rule.blocking)
        for rule in ds.suite.dataset_rules
    ]

    @dg.multi_asset(
        name=f"refine_{ds.source}",
        specs=[
            dg.AssetSpec(
                silver_key,
                group_name="silver",
                description=ds.silver_table.description,
                deps=[asset_key(ds.bronze.qualified)],
                partitions_def=partitions,
                kinds={"delta", "polars"},
            ),
            dg.AssetSpec(
                asset_key(ds.quarantine.qualified),
                group_name="quarantine",
                description=ds.quarantine.description,
                deps=[asset_key(ds.bronze.qualified)],
                partitions_def=partitions,
                kinds={"delta"},
            ),
        ],
        check_specs=checks,
        partitions_def=partitions,
        backfill_policy=backfill_policy(partitions),
        can_subset=False,
    )
    def _refine(
        context: dg.AssetExecutionContext, config: RefineConfig, lake: dg.ResourceParam[Lake]
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        dates = refine.run_dates(lake, ds, partition_dates(context))
        report = refine.refine(lake, ds, dates, run_id=context.run.run_id, rebuild_gold=config.rebuild_gold)
        yield from _refine_results(context, lake, ds, report, dates)

    return _refine


def _refine_results(
    context: dg.AssetExecutionContext, lake: Lake, ds: Dataset, report: refine.RefineReport, dates: list
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    silver_key = asset_key(ds.silver_table.qualified)
    dated = [d for d in dates if d is not None]
    totals = report.rule_totals()
    results = [(ds.suite, b.gx_result) for b in report.batches]
    docs = publish_data_docs(lake, results, context.run.run_id) if results else None
    extra: dict[str, Any] = {"rows_in": report.rows}
    if docs:
        extra["data_docs"] = dg.MetadataValue.url(docs if "://" in docs else f"file://{docs}")
    if report.blocked:
        extra["blocked_dates"] = ", ".join(str(d) for d in sorted(report.blocked, key=str))
    queued = sorted({f"{g}: {len(ds_)} date(s)" for b in report.batches for g, ds_ in b.queued.items()})
    extra["gold_queued"] = ", ".join(queued) or "none"
    sample = delta.sample(lake, ds.silver_table, dated[0] if dated else None)
    yield dg.MaterializeResult(
        asset_key=silver_key, metadata=table_metadata(ds.silver_table, report.in_silver, sample, **extra)
    )
    row_rules = {name: t.unexpected for name, t in totals.items() if t.kind == "row"}
    yield dg.MaterializeResult(
        asset_key=asset_key(ds.quarantine.qualified),
        metadata=table_metadata(
            ds.quarantine, report.quarantined, None, **{f"rule/{n}": v for n, v in row_rules.items()}
        ),
    )
    for rule in ds.suite.dataset_rules:
        t = totals.get(rule.name)
        failing = sorted(str(d) for d, rules in report.blocked.items() if rule.name in rules)
        yield dg.AssetCheckResult(
            asset_key=silver_key,
            check_name=rule.name,
            passed=t.success if t else True,
            severity=dg.AssetCheckSeverity.ERROR if rule.blocking else dg.AssetCheckSeverity.WARN,
            metadata={
                "evaluated_rows": t.evaluated if t else 0,
                "unexpected": t.unexpected if t else 0,
                "unexpected_percent": float(t.unexpected_percent if t else 0.0),
                "blocked_dates": ", ".join(failing) or "none",
                "row_rules_unexpected": dg.MetadataValue.json(row_rules),
            },
        )


LAND_ASSETS = [_land_asset(ds) for ds in DATASETS.values()]
REFINE_ASSETS = [_refine_asset(ds) for ds in DATASETS.values()]
