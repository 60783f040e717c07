"""Per source: a bronze landing asset and a daily-partitioned refine step (silver + quarantine)
whose dataset-level expectations are asset checks. Built from the dataset registry."""

import datetime as dt

import dagster as dg
import polars as pl

from assets.metadata import table_metadata
from assets.partitions import DAILY, partition_dates
from orchestration.resources import LakeResource
from warehouse import delta
from warehouse.data_docs import publish_data_docs
from warehouse.datasets import DATASETS, Dataset
from warehouse.stages import land, refine


class LandConfig(dg.Config):
    # Empty: every pending file in landing/<source>/. Set by the file-drop sensor.
    paths: list[str] = []  # noqa: RUF012 - pydantic copies defaults


def asset_key(qualified: str) -> dg.AssetKey:
    return dg.AssetKey(qualified.split("."))


def _land_asset(ds: Dataset) -> dg.AssetsDefinition:
    @dg.asset(
        key=asset_key(ds.bronze.qualified),
        group_name="bronze",
        description=f"{ds.bronze.description} Landed from landing/{ds.source}/.",
        check_specs=[dg.AssetCheckSpec("all_files_readable", asset=asset_key(ds.bronze.qualified))],
        kinds={"delta", "polars"},
    )
    def _land(context: dg.AssetExecutionContext, config: LandConfig, lake: LakeResource):
        the_lake = lake.lake()
        files = None
        if config.paths:
            listed = {f.path: f for f in land.list_landing(the_lake, ds.source)}
            files = [listed[p] for p in config.paths if p in listed]
        report = land.land(the_lake, ds, context.run.run_id, files=files)
        for row in report.failed:
            context.log.error(row["error"])
        landed = pl.DataFrame(report.landed).select("path", "rows_read") if report.landed else None
        yield dg.MaterializeResult(
            metadata=table_metadata(
                ds.bronze,
                report.rows,
                landed,
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
            metadata={
                "failed_files": dg.MetadataValue.md("\n".join(f"- {r['error']}" for r in report.failed) or "none")
            },
        )

    return _land


def _refine_asset(ds: Dataset) -> dg.AssetsDefinition:
    silver_key = asset_key(ds.silver.qualified)
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
                description=ds.silver.description,
                deps=[asset_key(ds.bronze.qualified)],
                partitions_def=DAILY,
                kinds={"delta", "polars"},
            ),
            dg.AssetSpec(
                asset_key(ds.quarantine.qualified),
                group_name="quarantine",
                description=ds.quarantine.description,
                deps=[asset_key(ds.bronze.qualified)],
                partitions_def=DAILY,
                kinds={"delta"},
            ),
        ],
        check_specs=checks,
        partitions_def=DAILY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        can_subset=False,
    )
    def _refine(context: dg.AssetExecutionContext, lake: LakeResource):
        the_lake = lake.lake()
        dates: list[dt.date | None] = list(partition_dates(context))
        # Rows whose event date could not be parsed have no partition; refine them with any run.
        if None in refine.pending_dates(the_lake, ds.source):
            dates.append(None)
        report = refine.refine(the_lake, ds, dates)
        silver_rows = sum(d.in_silver for d in report.dates)
        quarantined = sum(d.quarantined for d in report.dates)
        dated = [d for d in dates if d is not None]
        sample = delta.sample(the_lake, ds.silver, dated[0] if dated else None)
        totals = report.rule_totals()
        docs = publish_data_docs(the_lake, [(ds.suite, d.gx_result) for d in report.dates], context.run.run_id)
        yield dg.MaterializeResult(
            asset_key=silver_key,
            metadata=table_metadata(
                ds.silver,
                silver_rows,
                sample,
                rows_in=sum(d.rows for d in report.dates),
                data_docs=dg.MetadataValue.url(docs if "://" in docs else f"file://{docs}"),
            ),
        )
        yield dg.MaterializeResult(
            asset_key=asset_key(ds.quarantine.qualified),
            metadata=table_metadata(
                ds.quarantine,
                quarantined,
                **{f"rule/{name}": t["unexpected"] for name, t in totals.items() if t["kind"] == "row"},
            ),
        )
        for rule in ds.suite.dataset_rules:
            t = totals.get(rule.name, {"success": True, "evaluated": 0, "unexpected": 0, "unexpected_percent": 0.0})
            yield dg.AssetCheckResult(
                asset_key=silver_key,
                check_name=rule.name,
                passed=bool(t["success"]),
                severity=dg.AssetCheckSeverity.ERROR if rule.blocking else dg.AssetCheckSeverity.WARN,
                metadata={
                    "evaluated_rows": t["evaluated"],
                    "unexpected": t["unexpected"],
                    "unexpected_percent": float(t["unexpected_percent"]),
                    "row_rules_unexpected": dg.MetadataValue.json(
                        {n: v["unexpected"] for n, v in totals.items() if v["kind"] == "row"}
                    ),
                },
            )

    return _refine


LAND_ASSETS = [_land_asset(ds) for ds in DATASETS.values()]
REFINE_ASSETS = [_refine_asset(ds) for ds in DATASETS.values()]
