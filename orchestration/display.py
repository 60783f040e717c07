"""What the `gridlake` command prints: tables that fit the terminal, and one-line messages.

Tables (rich): every column that fits the terminal's width is shown, text folds inside its cell
rather than being cut, and columns that do not fit are named below the table; at most `limit`
rows, with "showing N of M rows" when there are more. Floats print as the shortest text that
reads back as the same number. Without a terminal (a pipe, a file) the width is 120 columns."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
from typing import TYPE_CHECKING, Any

import polars as pl
from rich import box
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from warehouse.explain import Explanation

DEFAULT_ROWS = 100
# A column needs at least this much room to be worth showing folded.
MIN_COLUMN = 8


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.10g}"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, list | dict):
        return json.dumps(value, default=str)
    return str(value)


def width() -> int:
    return shutil.get_terminal_size((120, 24)).columns


def table(frame: pl.DataFrame, limit: int = DEFAULT_ROWS, columns: int | None = None, title: str | None = None) -> str:
    """The frame as a table `columns` wide (default: the terminal's). Numbers, times and flags
    keep their whole width; text folds within its cell."""
    total = columns or width()
    head = frame.head(limit)
    shown: list[tuple[str, int, bool]] = []
    dropped: list[str] = []
    used = 0
    for name in frame.columns:
        cells = [text(v) for v in head[name].to_list()]
        natural = max([len(name), *(len(c) for c in cells)])
        rigid = frame.schema[name] != pl.String and not frame.schema[name].is_nested()
        need = natural if rigid else min(natural, max(MIN_COLUMN, len(name)))
        if used + need + 2 <= total or not shown:
            shown.append((name, natural, rigid))
            used += need + 2
        else:
            dropped.append(name)
    grid = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left", pad_edge=False, expand=False)
    for name, natural, rigid in shown:
        numeric = frame.schema[name].is_numeric()
        grid.add_column(
            name,
            overflow="fold",
            no_wrap=rigid,
            min_width=natural if rigid else None,
            justify="right" if numeric else "left",
        )
    for row in head.select([n for n, _, _ in shown]).iter_rows():
        grid.add_row(*(text(v) for v in row))
    console = Console(width=total, record=True, file=io.StringIO(), color_system=None, soft_wrap=False)
    console.print(grid)
    notes = []
    if frame.height > limit:
        notes.append(f"showing {limit} of {frame.height} rows")
    if dropped:
        notes.append(f"{len(dropped)} more column(s) do not fit: {', '.join(dropped)} (--format csv shows all)")
    if not frame.height:
        notes.append("no rows")
    lines = [line.rstrip() for line in console.export_text().splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    return "\n".join(lines) + ("\n" + "; ".join(notes) if notes else "")


def explanation(found: Explanation) -> str:
    """`gridlake explain`: the gold row, its build, then each input's silver and bronze rows."""
    key = " ".join(f"{k}={text(v)}" for k, v in found.key.items())
    out = [f"{found.table} {key}", table(pl.DataFrame([found.row]))]
    if found.build:
        read = ", ".join(f"{t} v{v}" for t, v in found.build["read"].items())
        wrote = ", ".join(f"{t} v{v}" for t, v in found.build["wrote"].items())
        day = f" for {found.date}" if found.date else ""
        out.append(f"\nbuilt by gold {found.spec}{day} at {text(found.build['built_at'])}")
        out.append(f"  read:  {read}\n  wrote: {wrote}")
    else:
        out.append(f"\nbuilt by gold {found.spec} (no build recorded: built before builds were recorded)")
    for i in found.inputs:
        version = f"read at version {i.version_read}" if i.version_read is not None else "current version"
        moved = f"; now version {i.version_now}, a rebuild may follow" if i.changed_since else ""
        out.append(f"\n{i.table}: {i.total} row(s), {version}{moved}")
        out.append(f"  every row passed: {', '.join(i.rules)}")
        rows = i.rows.drop([c for c in ("_file_hash", "_ingested_at", "_row_number") if c in i.rows.columns])
        out.append(table(rows.rename({"_source_file": "file"}, strict=False), limit=20))
        if not i.bronze.is_empty():
            out.append(f"  bronze rows with these keys ({i.bronze.height}: kept, superseded, duplicate, quarantined):")
            out.append(table(_bronze_view(i.bronze), limit=40))
    return "\n".join(out)


def _bronze_view(bronze: pl.DataFrame) -> pl.DataFrame:
    """Lineage first and short (hash and run prefixes); the rules column only when a row failed."""
    view = bronze.select(
        "fate",
        file=pl.col("_source_file"),
        row=pl.col("_row_number"),
        hash=pl.col("_file_hash").str.slice(0, 10),
        ingested_at=pl.col("_ingested_at").dt.strftime("%Y-%m-%d %H:%M:%S"),
        run=pl.col("_run_id").str.slice(0, 8),
        failed_rules=pl.col("failed_rules").list.join(", "),
    )
    if view["failed_rules"].is_null().all():
        view = view.drop("failed_rules")
    values = [c for c in bronze.columns if not c.startswith("_") and c not in ("fate", "failed_rules")]
    return pl.concat([view, bronze.select(values)], how="horizontal")
