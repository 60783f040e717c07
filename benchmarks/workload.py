"""Generated landing files for the benchmark: usage and prices, hard-linked into fresh lakes."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

S_CUSTOMERS = 10_000
QUICK_CUSTOMERS = 20
QUICK_HISTORY_DAYS = 2
INTERVALS_PER_DAY = 288
DAY = dt.date(2020, 8, 5)
# The incremental file is the first interval of this day; history is the days before it.
NEW_DAY = dt.date(2020, 9, 1)
SOURCES = ("customer_usage", "energy_prices")


@dataclass(frozen=True)
class Landing:
    """Generated landing files: <folder>/<source>/<file>, ready to link into a lake."""

    folder: str
    fmt: str
    customers: int
    days: int
    files: int
    rows: int  # data lines counted in the bytes written, usage + prices
    usage_rows: int
    bytes: int


def _data_lines(data: bytes, fmt: str) -> int:
    return data.count(b"\n") - (1 if fmt == "csv" else 0)


def write_landing(
    folder: Path,
    customers: int,
    fmt: str,
    start: dt.date = DAY,
    days: int = 1,
    price_days: int | None = None,
    per: str = "hour",
) -> Landing:
    """Usage files for `days` days and prices for `price_days` (default: the same), one file per
    source and `per` (hour or day)."""
    from warehouse.generate.prices import generate_prices
    from warehouse.generate.usage import generate_usage

    usage = generate_usage(customers, start, days, per=per, fmt=fmt)  # type: ignore[arg-type]
    prices = generate_prices(start, price_days or days, per=per, fmt=fmt)  # type: ignore[arg-type]
    files = rows = usage_rows = size = 0
    for stream, is_usage in ((usage, True), (prices, False)):
        for relative, data in stream:
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            lines = _data_lines(data, fmt)
            files, rows, size = files + 1, rows + lines, size + len(data)
            usage_rows += lines if is_usage else 0
    return Landing(str(folder), fmt, customers, days, files, rows, usage_rows, size)


def link_landing(landing: Landing, lake_root: Path) -> None:
    """Put the landing files into a fresh lake's landing folder (hard links: no copy)."""
    for source_dir in Path(landing.folder).iterdir():
        target = lake_root / "landing" / source_dir.name
        target.mkdir(parents=True, exist_ok=True)
        for f in source_dir.iterdir():
            try:
                os.link(f, target / f.name)
            except OSError:
                shutil.copy2(f, target / f.name)
