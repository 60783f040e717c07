"""Gold on generated data against an independent computation: DuckDB SQL straight over the raw
landing files (its own CSV/JSON parsing, its own joins), never reading gridlake's tables."""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl
import pytest

from tests.conftest import Drop
from warehouse import delta
from warehouse.generate.prices import generate_prices
from warehouse.generate.usage import generate_usage
from warehouse.lake import Lake
from warehouse.registry import table
from warehouse.stages.pipeline import process_pending

START = dt.date(2020, 8, 5)

EXPECTED_COST_SQL = """
WITH usage AS (
    SELECT CAST(customerId AS VARCHAR) AS customer_id,
           CAST(intervalStart AS TIMESTAMPTZ) AS s, CAST(intervalEnd AS TIMESTAMPTZ) AS e,
           CAST(usage AS DOUBLE) AS kwh
    FROM read_csv('{usage}', all_varchar = true)
), prices AS (
    SELECT CAST(intervalStart AS TIMESTAMPTZ) AS s, CAST(intervalEnd AS TIMESTAMPTZ) AS e,
           CAST(price AS DOUBLE) AS price
    FROM read_json('{prices}', format = 'array')
), pieces AS (
    SELECT u.customer_id, u.s, u.kwh,
           sum(u.kwh * epoch(least(u.e, p.e) - greatest(u.s, p.s)) / epoch(u.e - u.s) * p.price) AS cost,
           sum(epoch(least(u.e, p.e) - greatest(u.s, p.s))) AS priced_seconds,
           any_value(epoch(u.e - u.s)) AS seconds
    FROM usage u LEFT JOIN prices p ON p.s < u.e AND p.e > u.s
    GROUP BY ALL
)
SELECT customer_id, s AS interval_start, kwh AS usage_kwh,
       CASE WHEN priced_seconds = seconds THEN cost END AS cost
FROM pieces ORDER BY customer_id, interval_start
"""


def test_cost_and_hourly_match_duckdb_on_raw_files(lake: Lake, drop: Drop, tmp_path) -> None:
    for name, data in generate_usage(40, START, 2, per="hour", fmt="csv", seed=3):
        drop("customer_usage", name.split("/", 1)[1], data)
    # Prices for the first day only: the second day's cost must stay null.
    for name, data in generate_prices(START, 1, per="day", fmt="json", seed=3):
        drop("energy_prices", name.split("/", 1)[1], data)
    process_pending(lake)

    landing = lake.uri("landing")
    expected = duckdb.sql(
        EXPECTED_COST_SQL.format(usage=f"{landing}/customer_usage/*.csv", prices=f"{landing}/energy_prices/*.json")
    ).pl()
    got = delta.scan(lake, table("gold.cost_per_interval")).collect().sort("customer_id", "interval_start")
    assert got.height == expected.height == 40 * 288 * 2
    assert got["customer_id"].to_list() == expected["customer_id"].to_list()
    assert (got["interval_start"].dt.epoch("s") == expected["interval_start"].dt.epoch("s")).all()
    assert got["usage_kwh"].to_list() == pytest.approx(expected["usage_kwh"].to_list())
    assert got["cost"].is_null().to_list() == expected["cost"].is_null().to_list()
    assert got["cost"].is_null().sum() == 40 * 288
    priced = got["cost"].is_not_null()
    assert got.filter(priced)["cost"].to_list() == pytest.approx(expected.filter(priced)["cost"].to_list(), rel=1e-9)

    hourly = delta.scan(lake, table("gold.hourly_usage")).collect()
    expected_hourly = duckdb.sql(
        "SELECT customer_id, date_trunc('hour', interval_start) AS hour_start, sum(usage_kwh) AS usage_kwh, "
        "CASE WHEN count(cost) = count(*) THEN sum(cost) END AS cost, count(*) AS intervals "
        "FROM expected GROUP BY ALL ORDER BY ALL"
    ).pl()
    hourly = hourly.sort("customer_id", "hour_start")
    assert hourly.height == expected_hourly.height == 40 * 48
    assert hourly["usage_kwh"].to_list() == pytest.approx(expected_hourly["usage_kwh"].to_list())
    assert hourly["intervals"].to_list() == expected_hourly["intervals"].to_list()
    assert hourly["is_complete"].all()
    both = pl.DataFrame({"a": hourly["cost"], "b": expected_hourly["cost"]})
    assert both.filter(pl.col("a").is_null() != pl.col("b").is_null()).height == 0
    assert both.drop_nulls()["a"].to_list() == pytest.approx(both.drop_nulls()["b"].to_list(), rel=1e-9)
