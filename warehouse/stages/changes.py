"""What a refine batch changed, as the gold specs see it (see warehouse/plan.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from warehouse.lake import Lake


@dataclass(frozen=True)
class Change:
    """Silver dates of `source` that one refine batch is about to rewrite, and the rows it will
    write for them (`after`, lazy: a large date's rows are spilled pieces), so a spec can look
    at the new content as well as the old (the lake still holds the old while the change is
    queued)."""

    lake: Lake
    source: str
    dates: frozenset[dt.date | None]
    after: pl.LazyFrame

    @property
    def dated(self) -> set[dt.date]:
        return {d for d in self.dates if d is not None}
