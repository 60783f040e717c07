"""The table reference, generated from the registry: a summary table for the README and the full
column reference in docs/tables.md (`python -m warehouse.registry_docs` rewrites docs/tables.md
and prints the summary; tests/test_docs.py fails when either is out of date)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import polars as pl

from warehouse.registry import INGEST_COLUMNS, TABLES

INGEST = [c.name for c in INGEST_COLUMNS]
RAW_LAYERS = ("bronze", "quarantine")


def _dtype(d: object) -> str:
    if isinstance(d, pl.Datetime):
        return f"Datetime({d.time_zone})" if d.time_zone else "Datetime"
    if isinstance(d, pl.List):
        return f"List({_dtype(d.inner)})"
    return str(d).removesuffix("()")


def _code(names: Iterable[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


REFERENCE = Path(__file__).parents[1] / "docs" / "tables.md"


def summary_markdown() -> str:
    out = ["| table | partition | key | description |", "|---|---|---|---|"]
    for t in TABLES.values():
        partition = _code([t.partition_by]) if t.partition_by else "—"
        out.append(f"| `{t.qualified}` | {partition} | {_code(t.keys) or '—'} | {t.description} |")
    return "\n".join(out) + "\n"


def reference_markdown() -> str:
    out = [
        "# Table reference",
        "",
        "Generated from `warehouse/registry.py` by `python -m warehouse.registry_docs`; do not edit by hand.",
        "",
        summary_markdown(),
    ]
    out += ["Ingest columns (bronze and quarantine carry all five; silver keeps all but `_run_id`):", ""]
    out += ["| column | type | description |", "|---|---|---|"]
    out += [f"| `{c.name}` | {_dtype(c.dtype)} | {c.description} |" for c in INGEST_COLUMNS]
    out += [
        "",
        "Bronze and quarantine tables keep every landed field as String (open schema: unknown fields are kept too):",
        "",
    ]
    for t in TABLES.values():
        if t.layer not in RAW_LAYERS:
            continue
        raw = [c.name for c in t.columns if c.dtype == pl.String() and c.name not in INGEST and c.name != "reason"]
        extra = [c for c in t.columns if c.name not in INGEST and c.name not in raw]
        extras = "; ".join(f"`{c.name}` {_dtype(c.dtype)}: {c.description.rstrip('.')}" for c in extra)
        out.append(f"- `{t.qualified}`: {_code(raw)}, the ingest columns; {extras}.")
    out.append("")
    for t in TABLES.values():
        if t.layer in RAW_LAYERS:
            continue
        out += [f"#### `{t.qualified}`", "", "| column | type | description |", "|---|---|---|"]
        lineage = [n for n in INGEST if n in t.column_names]
        for c in t.columns:
            if c.name in lineage:
                if c.name == lineage[0]:
                    out.append(f"| {_code(lineage)} | | ingest columns |")
                continue
            out.append(f"| `{c.name}` | {_dtype(c.dtype)} | {c.description} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    REFERENCE.write_text(reference_markdown())
    print(summary_markdown())
