"""Reading completeness: a source's series-days and their gaps (gold.completeness, gold.gaps), for
`gridlake gaps` and the API. Read only: a lake without the tables answers NoLake."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from warehouse import catalog, delta
from warehouse.lake import Lake
from warehouse.stages.gold_completeness import COMPLETENESS, GAPS, SOURCES


class UnknownSource(ValueError):
    """A source without a completeness contract."""


@dataclass(frozen=True)
class GapReport:
    source: str
    # One row per series and day (every day, complete or not), by date then series.
    days: pl.DataFrame
    # One row per run of missing readings, by date, series and start.
    gaps: pl.DataFrame

    @property
    def expected(self) -> int:
        return int(self.days["expected"].sum())

    @property
    def missing(self) -> int:
        return int(self.days["missing"].sum())

    def summary(self) -> str:
        incomplete = self.days.filter(pl.col("missing") > 0).height
        if self.days.is_empty():
            return f"{self.source}: no readings in this range"
        share = 100 * (1 - self.missing / self.expected) if self.expected else 100.0
        return (
            f"{self.source}: {self.days.height} series-days, {incomplete} with gaps; "
            f"{self.missing:,} of {self.expected:,} expected readings missing ({share:.1f} % present)"
        )


def check_source(source: str) -> None:
    if source not in SOURCES:
        raise UnknownSource(f"no completeness contract for {source!r}: one of {', '.join(SOURCES)}")


def report(
    lake: Lake,
    source: str,
    series: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> GapReport:
    """Series-days and gaps of `source`, optionally one series and the dates [start, end]."""
    check_source(source)
    catalog.require_tables(lake)
    frames = []
    for t, order in ((COMPLETENESS, ["date", "series"]), (GAPS, ["date", "series", "gap_start"])):
        if not delta.exists(lake, t):
            frames.append(delta.empty(t))
            continue
        rows = delta.scan(lake, t).filter(source=source)
        if series is not None:
            rows = rows.filter(series=series)
        if start is not None:
            rows = rows.filter(pl.col("date") >= start)
        if end is not None:
            rows = rows.filter(pl.col("date") <= end)
        frames.append(rows.sort(order).collect())
    return GapReport(source, frames[0].drop("source"), frames[1].drop("source"))
