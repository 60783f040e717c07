"""Materialization metadata shared by every asset: row count, schema from the registry, preview."""

from typing import Any

import dagster as dg
import polars as pl

from warehouse.registry import Table


def column_schema(table: Table) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[dg.TableColumn(c.name, str(c.dtype), description=c.description) for c in table.columns]
    )


def preview(frame: pl.DataFrame, rows: int = 5) -> dg.MarkdownMetadataValue:
    head = frame.head(rows)
    if head.is_empty():
        return dg.MetadataValue.md("_no rows_")
    header = "| " + " | ".join(head.columns) + " |"
    rule = "|" + "---|" * len(head.columns)
    body = ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in head.iter_rows()]
    return dg.MetadataValue.md("\n".join([header, rule, *body]))


def table_metadata(table: Table, rows: int, sample: pl.DataFrame | None = None, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "dagster/row_count": dg.MetadataValue.int(rows),
        "dagster/column_schema": column_schema(table),
        "table": table.qualified,
    }
    if sample is not None:
        meta["preview"] = preview(sample)
    meta.update(extra)
    return meta
