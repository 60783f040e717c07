"""Retention of raw history: sources whose raw rows (bronze and silver) are kept only for a
window, and the horizon a purge leaves behind.

The window is counted back from the newest sample in silver, not from the wall clock: a paused
producer or a lake of old data keeps its history, and the result does not depend on when
`gridlake maintain` runs. Whole event dates are purged (bronze and silver are partitioned by
them): dates before the date of (newest sample - window) go. A purge never touches gold.

The horizon (the first date kept, recorded in ops.maintenance) freezes what lies before it:
landing sends rows dated before it to the null partition, where refine quarantines them
(`event_date_in_range`); refine and backfill never rebuild those dates (their bronze is gone, so
rebuilding would lose the counts and silver of files refined before); and gold that needs them
is not rebuilt."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from warehouse import delta
from warehouse.durations import parse_duration
from warehouse.lake import Lake
from warehouse.registry import table
from warehouse.settings import Settings

MAINTENANCE = table("ops.maintenance")


@dataclass(frozen=True)
class Retention:
    source: str
    # The setting holding the window (warehouse/settings.py), and the variable that sets it.
    setting: str
    env: str
    # Silver column of the sample time the window is counted back from.
    time_column: str

    def window(self, settings: Settings) -> dt.timedelta:
        return parse_window(str(getattr(settings, self.setting)), self.env)


RETENTION: dict[str, Retention] = {
    r.source: r
    for r in (
        # Two days: the 24-hour volatility windows of the newest day need the day before.
        Retention("coin_prices", "coin_retention", "GRIDLAKE_COIN_RETENTION", "time"),
    )
}


def parse_window(text: str, name: str = "window") -> dt.timedelta:
    """`2d`, `48h`, `90m` or a bare number of days."""
    try:
        return parse_duration(text, "dhm", bare="d")
    except ValueError:
        raise ValueError(f"{name}={text!r}: use a number of days, or a number with d, h or m (e.g. 2d, 48h)") from None


def horizon(lake: Lake, source: str) -> dt.date | None:
    """First event date kept by the last purge of `source` (None: never purged)."""
    if source not in RETENTION or not delta.exists(lake, MAINTENANCE):
        return None
    purges = (
        delta.scan(lake, MAINTENANCE)
        .filter((pl.col("action") == "purge") & (pl.col("table_name") == f"silver.{source}"))
        .select(pl.col("horizon").max())
        .collect()
    )
    return purges.item()
