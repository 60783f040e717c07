"""Gold for coin prices: rolling 24-hour volatility and rank per pair and sample time, by UTC
date, and the latest sample of every pair.

A sample at time s falls in the windows (t - 24 h, t] of the times t in [s, s + 24 h): those lie
on date(s) and the day after. So a change of silver date D affects gold D and D + 1 (when either
has samples), never older dates; building gold D reads silver D - 1 and D. Dates whose day
before was purged by retention (warehouse/retention.py) are not rebuilt: their windows would
miss history. coin_latest is updated from the rebuilt dates' rows (a merge by pair), so it never
reads the whole history."""

from __future__ import annotations

import datetime as dt

import polars as pl

from transforms import coins
from warehouse import delta, retention
from warehouse.lake import Lake
from warehouse.registry import table
from warehouse.stages.changes import Change

PRICES = table("silver.coin_prices")
VOLATILITY = table("gold.coin_volatility")
LATEST = table("gold.coin_latest")
DAY = dt.timedelta(days=1)


def affected(change: Change) -> set[dt.date]:
    if not change.dated:
        return set()
    have = delta.partition_dates(change.lake, PRICES) | change.dated
    dates = {d for c in change.dated for d in (c, c + DAY) if d in have}
    horizon = retention.horizon(change.lake, PRICES.name)
    return {d for d in dates if horizon is None or d > horizon}


def volatility_of(lake: Lake, date: dt.date) -> pl.DataFrame:
    samples = delta.read_partitions(lake, PRICES, [date - DAY, date], columns=["pair", "time", "value"])
    return (
        coins.volatility(samples.lazy())
        .filter(pl.col("time").dt.date() == date)
        .with_columns(date=pl.lit(date))
        .collect()
    )


def build(lake: Lake, dates: list[dt.date]) -> dict[str, int]:
    rebuilt = []
    for date in sorted(dates):
        frame = volatility_of(lake, date)
        delta.replace_partitions(lake, VOLATILITY, frame, [date])
        rebuilt.append(frame)
    if not rebuilt:
        return {VOLATILITY.qualified: 0, LATEST.qualified: 0}
    latest = coins.latest(delta.scan(lake, LATEST), pl.concat(rebuilt).lazy()).collect()
    delta.replace_where(lake, LATEST, latest, "true")
    return {VOLATILITY.qualified: sum(f.height for f in rebuilt), LATEST.qualified: latest.height}
