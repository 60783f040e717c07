"""The questions the HTTP service answers, as reads of registry tables (warehouse/serving.py runs
them pinned to a table version). Each read takes typed, already checked arguments; api/ turns
requests into them and results into responses. Times are UTC unless a read says otherwise; a
range is [start, end)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from warehouse.registry import Table, table
from warehouse.serving import Engine, Result
from warehouse.stages.gold_completeness import COMPLETENESS, GAPS

COST = table("gold.cost_per_interval")
HOURLY = table("gold.hourly_usage")
PARKS = table("silver.parks")
PARK_READINGS = table("silver.park_readings")
PARK_DAILY = table("gold.park_daily_stats")
TYPE_DAILY = table("gold.energy_type_daily_stats")
SITES = table("silver.sites")
SITE_CONFIGURATIONS = table("silver.site_configurations")
SITE_LATEST = table("gold.site_latest")
SITE_LIVE = table("silver.site_live_data")
SITE_DAILY = table("gold.site_daily_stats")
SOLAR = table("silver.solar_readings")
SOLAR_ANOMALIES = table("gold.solar_anomalies")
SOLAR_DAILY = table("gold.solar_site_daily")
VOLATILITY = table("gold.coin_volatility")
COIN_LATEST = table("gold.coin_latest")

INTERVALS_PER_HOUR = 12
INTERVALS_PER_DAY = 288


@dataclass(frozen=True)
class Interval:
    """A bucket size of the usage endpoint and the longest range it answers in one request."""

    name: str
    cap: dt.timedelta


INTERVALS = {
    i.name: i
    for i in (
        Interval("5m", dt.timedelta(days=7)),
        Interval("1h", dt.timedelta(days=93)),
        Interval("1d", dt.timedelta(days=3 * 366)),
        Interval("1M", dt.timedelta(days=20 * 366)),
    )
}


def _dates(start: dt.datetime, end: dt.datetime) -> tuple[dt.date, dt.date]:
    """The partition dates a UTC range touches (partition pruning)."""
    return start.date(), (end - dt.timedelta(microseconds=1)).date()


def usage(
    engine: Engine,
    customer: str,
    start: dt.datetime,
    end: dt.datetime,
    interval: str,
    size: int,
    after: Sequence[Any] | None,
) -> Result:
    """A customer's usage kWh, cost, mean price and completeness (share of the bucket's 5-minute
    intervals with a reading) per bucket. 5-minute rows come from gold.cost_per_interval; hours,
    days and months from gold.hourly_usage. A bucket's cost is null while any of its intervals
    has no price."""
    first, last = _dates(start, end)
    if interval == "5m":
        return engine.page(
            COST,
            [
                "interval_start AS start",
                "interval_end AS end",
                "usage_kwh",
                "cost",
                "price_per_kwh",
                "1.0::DOUBLE AS completeness",
            ],
            "customer_id = ? AND date BETWEEN ? AND ? AND interval_start >= ? AND interval_start < ?",
            [customer, first, last, start, end],
            ["start"],
            size,
            after,
        )
    if interval == "1h":
        return engine.page(
            HOURLY,
            [
                "hour_start AS start",
                "hour_start + INTERVAL 1 HOUR AS end",
                "usage_kwh",
                "cost",
                "CASE WHEN usage_kwh > 0 THEN cost / usage_kwh END AS price_per_kwh",
                f"(intervals / {INTERVALS_PER_HOUR})::DOUBLE AS completeness",
            ],
            "customer_id = ? AND date BETWEEN ? AND ? AND hour_start >= ? AND hour_start < ?",
            [customer, first, last, start, end],
            ["start"],
            size,
            after,
        )
    unit = {"1d": "day", "1M": "month"}[interval]
    buckets = (
        f"SELECT date_trunc('{unit}', hour_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS start, "
        "sum(usage_kwh) AS usage_kwh, CASE WHEN count(cost) = count(*) THEN sum(cost) END AS cost, "
        "sum(intervals) AS intervals FROM {t} "
        "WHERE customer_id = ? AND date BETWEEN ? AND ? AND hour_start >= ? AND hour_start < ? GROUP BY 1"
    )
    return engine.page(
        HOURLY,
        [
            "start",
            f"start + INTERVAL 1 {unit.upper()} AS end",
            "usage_kwh",
            "cost",
            "CASE WHEN usage_kwh > 0 THEN cost / usage_kwh END AS price_per_kwh",
            f"(intervals / (date_diff('day', start, start + INTERVAL 1 {unit.upper()}) * {INTERVALS_PER_DAY}))::DOUBLE"
            " AS completeness",
        ],
        "true",
        [customer, first, last, start, end],
        ["start"],
        size,
        after,
        source=f"({buckets})",
    )


def parks(engine: Engine) -> Result:
    """The register in force."""
    return engine.read(
        PARKS,
        "SELECT park_name, timezone, energy_type, valid_from FROM {t} WHERE is_current ORDER BY park_name",
    )


def park_readings(
    engine: Engine, park: str, start: dt.datetime, end: dt.datetime, size: int, after: Sequence[Any] | None
) -> Result:
    """One park's readings between two park-local times (naive: the park's own clock)."""
    return engine.page(
        PARK_READINGS,
        ["ts_local", "ts_utc", "energy_type", "interval_minutes", "mw", "energy_mwh"],
        "park_name = ? AND event_date BETWEEN ? AND ? AND ts_local >= ? AND ts_local < ?",
        [park, start.date() - dt.timedelta(days=1), end.date() + dt.timedelta(days=1), start, end],
        ["ts_local", "ts_utc"],
        size,
        after,
    )


def _daily(
    engine: Engine,
    t: Any,
    columns: list[str],
    start: dt.date,
    end: dt.date,
    filters: dict[str, str | None],
    order: list[str],
    size: int,
    after: Sequence[Any] | None,
) -> Result:
    where = ["date >= ? AND date < ?"]
    params: list[Any] = [start, end]
    for column, value in filters.items():
        if value is not None:
            where.append(f'"{column}" = ?')
            params.append(value)
    return engine.page(t, columns, " AND ".join(where), params, order, size, after)


def park_daily(
    engine: Engine, start: dt.date, end: dt.date, park: str | None, size: int, after: Sequence[Any] | None
) -> Result:
    columns = [c.name for c in PARK_DAILY.columns]
    return _daily(engine, PARK_DAILY, columns, start, end, {"park_name": park}, ["date", "park_name"], size, after)


def energy_type_daily(
    engine: Engine, start: dt.date, end: dt.date, energy_type: str | None, size: int, after: Sequence[Any] | None
) -> Result:
    columns = [c.name for c in TYPE_DAILY.columns]
    filters = {"energy_type": energy_type}
    return _daily(engine, TYPE_DAILY, columns, start, end, filters, ["date", "energy_type"], size, after)


def sites(engine: Engine) -> Result:
    return engine.read(SITES, "SELECT site_id, name, location FROM {t} ORDER BY try_cast(site_id AS HUGEINT), site_id")


def site_configurations(engine: Engine, site: str) -> Result:
    columns = [c.name for c in SITE_CONFIGURATIONS.columns if c.name != "event_date"]
    select = ", ".join(f'"{c}"' for c in columns)
    return engine.read(SITE_CONFIGURATIONS, f"SELECT {select} FROM {{t}} WHERE site_id = ? ORDER BY valid_from", [site])


def site_latest(engine: Engine, ids: Sequence[str] | None) -> Result:
    if ids:
        marks = ", ".join("?" for _ in ids)
        return engine.read(SITE_LATEST, f"SELECT * FROM {{t}} WHERE site_id IN ({marks}) ORDER BY site_id", list(ids))
    return engine.read(SITE_LATEST, "SELECT * FROM {t} ORDER BY try_cast(site_id AS HUGEINT), site_id")


def site_telemetry(
    engine: Engine, site: str, start: dt.datetime, end: dt.datetime, size: int, after: Sequence[Any] | None
) -> Result:
    first, last = _dates(start, end)
    columns = [c.name for c in SITE_LIVE.columns if c.name != "event_date"]
    return engine.page(
        SITE_LIVE,
        columns,
        "site_id = ? AND event_date BETWEEN ? AND ? AND dt_stamp >= ? AND dt_stamp < ?",
        [site, first, last, start, end],
        ["dt_stamp"],
        size,
        after,
    )


def site_daily(
    engine: Engine, start: dt.date, end: dt.date, site: str | None, size: int, after: Sequence[Any] | None
) -> Result:
    columns = [c.name for c in SITE_DAILY.columns]
    return _daily(engine, SITE_DAILY, columns, start, end, {"site_id": site}, ["date", "site_id"], size, after)


def solar_readings(
    engine: Engine,
    site: str,
    start: dt.datetime,
    end: dt.datetime,
    anomalies_only: bool,
    size: int,
    after: Sequence[Any] | None,
) -> Result:
    """A solar site's readings in a range; `anomalies_only`: the anomalous ones, with the reasons
    gold found (row faults and readings above the site's own range)."""
    first, last = _dates(start, end)
    if anomalies_only:
        return engine.page(
            SOLAR_ANOMALIES,
            ["ts", "generated_kwh", "consumed_kwh", "anomaly_reasons", "detected_at"],
            "site_id = ? AND date BETWEEN ? AND ? AND ts >= ? AND ts < ?",
            [site, first, last, start, end],
            ["ts"],
            size,
            after,
        )
    return engine.page(
        SOLAR,
        ["ts", "generated_kwh", "consumed_kwh", "net_kwh", "is_anomaly", "anomaly_reasons"],
        "site_id = ? AND event_date BETWEEN ? AND ? AND ts >= ? AND ts < ?",
        [site, first, last, start, end],
        ["ts"],
        size,
        after,
    )


def solar_anomalies(engine: Engine, site: str | None, size: int, after: Sequence[Any] | None) -> Result:
    where, params = ("site_id = ?", [site]) if site else ("true", [])
    return engine.page(
        SOLAR_ANOMALIES,
        ["site_id", "ts", "generated_kwh", "consumed_kwh", "anomaly_reasons", "detected_at"],
        where,
        params,
        ["site_id", "ts"],
        size,
        after,
    )


def solar_daily(
    engine: Engine, start: dt.date, end: dt.date, site: str | None, size: int, after: Sequence[Any] | None
) -> Result:
    columns = [c.name for c in SOLAR_DAILY.columns]
    return _daily(engine, SOLAR_DAILY, columns, start, end, {"site_id": site}, ["date", "site_id"], size, after)


def volatility_ranking(engine: Engine, descending: bool, per_page: int, page: int) -> Result:
    """Pairs ranked by their latest 24-hour volatility (gold.coin_latest): the most volatile
    first unless `descending` is false; pairs without a volatility yet come last either way."""
    direction = "DESC" if descending else "ASC"
    return engine.read(
        COIN_LATEST,
        f"SELECT pair, time, value, stddev_24h, mean_24h, samples FROM {{t}} "
        f"ORDER BY stddev_24h {direction} NULLS LAST, pair LIMIT ? OFFSET ?",
        [per_page, (page - 1) * per_page],
    )


def pair_history(
    engine: Engine, pair: str, start: dt.datetime, end: dt.datetime, size: int, after: Sequence[Any] | None
) -> Result:
    first, last = _dates(start, end)
    return engine.page(
        VOLATILITY,
        ["time", "value", "stddev_24h", "mean_24h", "samples", "rank"],
        "pair = ? AND date BETWEEN ? AND ? AND time >= ? AND time < ?",
        [pair, first, last, start, end],
        ["time"],
        size,
        after,
    )


# The dashboard's panels: a recent window of each series, picked from the data itself.


def customer_days(engine: Engine, customer: str, days: int = 31) -> Result:
    """A customer's daily usage and cost over the last `days` days that have data."""
    latest = engine.read(HOURLY, "SELECT max(hour_start) AS latest FROM {t} WHERE customer_id = ?", [customer])
    last = latest.frame["latest"][0] if latest.frame.height else None
    if last is None:
        return latest
    end = (last + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return usage(engine, customer, end - dt.timedelta(days=days), end, "1d", days, None)


def first_customer(engine: Engine) -> str | None:
    found = engine.read(HOURLY, "SELECT min(customer_id) AS customer FROM {t}")
    return found.frame["customer"][0] if found.frame.height else None


def energy_by_type(engine: Engine) -> Result:
    return engine.read(TYPE_DAILY, "SELECT date, energy_type, energy_mwh FROM {t} ORDER BY date, energy_type")


def site_charge(engine: Engine) -> Result:
    """Every site's state of charge over the last day of telemetry."""
    return engine.read(
        SITE_LIVE,
        "SELECT site_id, dt_stamp, soc FROM {t} WHERE dt_stamp > (SELECT max(dt_stamp) FROM {t}) - INTERVAL 1 DAY "
        "ORDER BY site_id, dt_stamp",
    )


def solar_day(engine: Engine) -> Result:
    """Generation and consumption over the last day of solar readings, summed over sites per
    reading time, with the anomalous readings counted."""
    return engine.read(
        SOLAR,
        "SELECT ts, sum(generated_kwh) AS generated_kwh, sum(consumed_kwh) AS consumed_kwh, "
        "count(*) FILTER (WHERE is_anomaly) AS anomalies FROM {t} "
        "WHERE ts > (SELECT max(ts) FROM {t}) - INTERVAL 1 DAY GROUP BY ts ORDER BY ts",
    )


def pair_day(engine: Engine, pair: str) -> Result:
    """One pair's last 24 hours of samples and volatility."""
    return engine.read(
        VOLATILITY,
        "SELECT time, value, stddev_24h FROM {t} WHERE pair = ? "
        "AND time > (SELECT max(time) FROM {t} WHERE pair = ?) - INTERVAL 24 HOUR ORDER BY time",
        [pair, pair],
    )


# The order of each completeness table's rows: a key of a source's rows, for the cursor.
ORDERS = {COMPLETENESS.qualified: ("date", "series"), GAPS.qualified: ("date", "series", "gap_start")}


def source_rows(
    engine: Engine,
    t: Table,
    source: str,
    start: dt.date,
    end: dt.date,
    series: Sequence[str] | None,
    size: int,
    after: Sequence[Any] | None,
) -> Result:
    """One page of gold.completeness or gold.gaps rows of `source`, dates [start, end), of
    `series` (None: every series), in ORDERS."""
    where, params = ["source = ? AND date >= ? AND date < ?"], [source, start, end]
    if series is not None:
        where.append(f"series IN ({', '.join('?' for _ in series)})")
        params += series
    return engine.page(t, t.column_names, " AND ".join(where), params, ORDERS[t.qualified], size, after)


def latest_coverage(engine: Engine) -> Result:
    """Per source of gold.completeness, its latest date: the series with a row that day and
    those of them with gaps (a reading missing)."""
    return engine.read(
        COMPLETENESS,
        "SELECT source, date, count(*) AS series, count(*) FILTER (WHERE missing > 0) AS with_gaps "
        "FROM {t} WHERE (source, date) IN (SELECT (source, max(date)) FROM {t} GROUP BY source) "
        "GROUP BY source, date ORDER BY source",
    )
