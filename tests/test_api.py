"""`gridlake serve` as a client meets it: a real server process on a free loopback port, a real
HTTP client, a lake with every source. Every endpoint's values equal the same question asked
through the catalog `gridlake sql` queries; every scope meets every endpoint; bad input of every
kind answers 4xx with a message; keys appear in no log and no state file; the dashboard renders
every chart in headless Chromium with no console error. Completeness and gaps equal their gold
tables, a customer key reading only its own series."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tests.apiserver import Server, serve
from tests.builders import every_source
from warehouse import catalog, gaps
from warehouse.keys import KeyStore
from warehouse.lake import Lake
from warehouse.stages.pipeline import process_pending

pytestmark = pytest.mark.e2e

GRIDLAKE = str(Path(sys.executable).parent / "gridlake")
DAY = "2020-08-05"
# Customer 9: three readings on DAY, so customer_usage has gaps (the other customers have none).
HOLES = (
    b"customerId,intervalStart,intervalEnd,usage\n"
    b"9,2020-08-05T00:00:00Z,2020-08-05T00:05:00Z,1\n"
    b"9,2020-08-05T00:10:00Z,2020-08-05T00:15:00Z,1\n"
    b"9,2020-08-05T12:00:00Z,2020-08-05T12:05:00Z,1\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("api")
    lake = Lake.from_env(str(base / "lake"))
    every_source(lake)
    (Path(lake.root) / "landing" / "customer_usage" / "customer9.csv").write_bytes(HOLES)
    process_pending(lake, publish=True)
    store = KeyStore(lake)
    keys = {
        name: store.create(scopes, rate_per_second=5.0 if name == "burst" else None)[1]
        for name, scopes in {
            "admin": ["admin"],
            "operator": ["operator"],
            "market": ["market"],
            "customer1": ["customer:1"],
            "customer2": ["customer:2"],
            "customer9": ["customer:9"],
            "customers19": ["customer:1", "customer:9"],
            "ingest": ["ingest:solar_readings"],
            "burst": ["market"],
            "revoked": ["operator"],
        }.items()
    }
    with serve(lake, keys, base) as running:
        yield running


def sql(server: Server, query: str) -> pl.DataFrame:
    return catalog.query(server.lake, query)


def rows(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return payload["data"]


def walk(server: Server, path: str, key: str = "admin") -> list[dict[str, Any]]:
    """Every row of a paged list, page after page."""
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        sep = "&" if "?" in path else "?"
        page = server.json(path + (f"{sep}cursor={urllib.parse.quote(cursor)}" if cursor else ""), key)
        out += rows(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return out


def close(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    return a == b


def same(api: list[dict[str, Any]], expected: pl.DataFrame, mapping: dict[str, str]) -> None:
    """The API rows equal the SQL rows, column by column (API name -> SQL name)."""
    assert len(api) == expected.height, (len(api), expected.height)
    for got, want in zip(api, expected.iter_rows(named=True), strict=True):
        for api_name, sql_name in mapping.items():
            value = want[sql_name]
            if isinstance(value, dt.datetime | dt.date):
                value = value.isoformat()
            assert close(got[api_name], value), (api_name, got[api_name], value)


# ---- values equal gridlake sql's ----------------------------------------------------------------


def test_usage_at_every_interval_equals_the_catalog(server: Server) -> None:
    start, end = f"{DAY}T00:00:00Z", "2020-08-07T00:00:00Z"
    five = walk(server, f"/v1/customers/1/usage?from={start}&to=2020-08-05T06:00:00Z&interval=5m&page_size=17")
    same(
        five,
        sql(server, "SELECT interval_start, usage_kwh, cost, price_per_kwh FROM gold.cost_per_interval "
            "WHERE customer_id = '1' AND interval_start < TIMESTAMPTZ '2020-08-05 06:00:00+00' ORDER BY 1"),
        {"start": "interval_start", "usage_kwh": "usage_kwh", "cost": "cost", "price_per_kwh": "price_per_kwh"},
    )  # fmt: skip
    hours = walk(server, f"/v1/customers/1/usage?from={start}&to={end}&interval=1h&page_size=10")
    same(
        hours,
        sql(server, "SELECT hour_start, usage_kwh, cost, intervals / 12.0 AS completeness FROM gold.hourly_usage "
            "WHERE customer_id = '1' ORDER BY 1"),
        {"start": "hour_start", "usage_kwh": "usage_kwh", "cost": "cost", "completeness": "completeness"},
    )  # fmt: skip
    # Days, by a second method: summed from the 5-minute costs, not the hourly table.
    days = server.json(f"/v1/customers/1/usage?from={start}&to={end}&interval=1d")
    same(
        rows(days),
        sql(server, "SELECT date, sum(usage_kwh) AS usage_kwh, sum(cost) AS cost, count(*) / 288.0 AS completeness "
            "FROM gold.cost_per_interval WHERE customer_id = '1' GROUP BY date ORDER BY date"),
        {"usage_kwh": "usage_kwh", "cost": "cost", "completeness": "completeness"},
    )  # fmt: skip
    month = rows(server.json("/v1/customers/1/usage?from=2020-08-01T00:00:00Z&to=2020-09-01T00:00:00Z&interval=1M"))
    assert len(month) == 1 and month[0]["start"] == "2020-08-01T00:00:00+00:00"
    assert close(month[0]["usage_kwh"], sum(d["usage_kwh"] for d in rows(days)))
    assert close(month[0]["completeness"], 2 / 31)
    assert days["table"] == "gold.hourly_usage" and isinstance(days["table_version"], int) and days["as_of"]


def test_every_list_equals_its_query(server: Server) -> None:
    cases = [
        ("/v1/parks", "SELECT park_name, timezone, energy_type FROM silver.parks WHERE is_current ORDER BY 1",
         ["park_name", "timezone", "energy_type"]),
        ("/v1/parks/daily?from=2024-03-25&to=2024-03-27&page_size=3",
         "SELECT * FROM gold.park_daily_stats ORDER BY date, park_name", ["park_name", "date", "energy_mwh"]),
        ("/v1/energy-types/daily?from=2024-03-25&to=2024-03-27",
         "SELECT * FROM gold.energy_type_daily_stats ORDER BY date, energy_type", ["energy_type", "date", "parks"]),
        ("/v1/sites", "SELECT site_id, name, location FROM silver.sites ORDER BY site_id::INT", ["site_id", "name"]),
        ("/v1/sites/latest?ids=1,2", "SELECT * FROM gold.site_latest WHERE site_id IN ('1', '2') ORDER BY site_id",
         ["site_id", "dt_stamp", "soc"]),
        ("/v1/sites/1/configurations",
         "SELECT * FROM silver.site_configurations WHERE site_id = '1' ORDER BY valid_from",
         ["battery_vendor", "valid_from", "is_current"]),
        ("/v1/sites/1/telemetry?from=2023-01-01T00:00:00Z&to=2023-01-02T00:00:00Z&page_size=50",
         "SELECT * FROM silver.site_live_data WHERE site_id = '1' AND dt_stamp < TIMESTAMPTZ '2023-01-02 00:00:00+00' "
         "ORDER BY dt_stamp", ["dt_stamp", "soc", "load_kwh"]),
        ("/v1/sites/daily?from=2023-01-01&to=2023-01-04&site=2",
         "SELECT * FROM gold.site_daily_stats WHERE site_id = '2' ORDER BY date", ["date", "readings", "soc_avg"]),
        ("/v1/solar/daily?from=2025-06-01&to=2025-06-02",
         "SELECT * FROM gold.solar_site_daily ORDER BY date, site_id", ["site_id", "readings", "generated_kwh"]),
        ("/v1/markets/pairs/p0/usd?from=2024-12-04T00:00:00Z&to=2024-12-05T00:00:00Z&page_size=2",
         "SELECT * FROM gold.coin_volatility WHERE pair = 'p0/usd' ORDER BY time", ["time", "value", "stddev_24h"]),
    ]  # fmt: skip
    for path, query, columns in cases:
        got = walk(server, path) if "page_size" in path else rows(server.json(path))
        same(got, sql(server, query), {c: c for c in columns})


def test_solar_readings_anomalies_and_the_volatility_ranking(server: Server) -> None:
    site = sql(server, "SELECT min(site_id) AS s FROM silver.solar_readings")["s"][0]
    window = "from=2025-06-01T00:00:00Z&to=2025-06-02T00:00:00Z"
    readings = walk(server, f"/v1/solar/sites/{site}/readings?{window}&page_size=7")
    same(readings, sql(server, f"SELECT * FROM silver.solar_readings WHERE site_id = '{site}' ORDER BY ts"),
         {"ts": "ts", "generated_kwh": "generated_kwh", "is_anomaly": "is_anomaly"})  # fmt: skip
    only = walk(server, f"/v1/solar/sites/{site}/readings?{window}&anomalies=only&page_size=3")
    expected = sql(server, f"SELECT * FROM gold.solar_anomalies WHERE site_id = '{site}' ORDER BY ts")
    same(only, expected, {"ts": "ts", "anomaly_reasons": "anomaly_reasons"})
    same(walk(server, f"/v1/solar/sites/{site}/anomalies?page_size=2"), expected, {"ts": "ts"})
    ranked = rows(server.json("/v1/markets/volatility?per_page=2&page=1", "market"))
    second = rows(server.json("/v1/markets/volatility?per_page=2&page=2", "market"))
    expected = sql(server, "SELECT pair, stddev_24h FROM gold.coin_latest ORDER BY stddev_24h DESC NULLS LAST, pair")
    same(ranked + second, expected.head(4), {"pair": "pair", "stddev_24h": "stddev_24h"})
    rising = rows(server.json("/v1/markets/volatility?order=volatility_asc&per_page=10", "market"))
    assert rising[0]["pair"] == expected.drop_nulls("stddev_24h")["pair"][-1]


def test_csv_and_parquet_carry_the_same_rows_and_versions(server: Server) -> None:
    path = f"/v1/customers/1/usage?from={DAY}T00:00:00Z&to={DAY}T12:00:00Z&interval=1h"
    as_json = server.json(path)
    status, headers, body = server.get(path + "&format=csv", "admin")
    assert status == 200 and headers["content-type"].startswith("text/csv")
    assert headers["x-table-version"] == str(as_json["table_version"]) and headers["x-as-of"] == as_json["as_of"]
    csv = pl.read_csv(io.BytesIO(body))
    assert csv["usage_kwh"].to_list() == [r["usage_kwh"] for r in rows(as_json)]
    status, headers, body = server.get(path + "&format=parquet", "admin")
    assert status == 200 and headers["content-type"] == "application/vnd.apache.parquet"
    assert pl.read_parquet(io.BytesIO(body))["cost"].to_list() == [r["cost"] for r in rows(as_json)]


# Each source's dates in the test lake, as [from, to).
RANGES = {
    "customer_usage": (DAY, "2020-08-07"),
    "energy_prices": (DAY, "2020-08-07"),
    "park_readings": ("2024-03-25", "2024-03-27"),
    "site_live_data": ("2023-01-01", "2023-01-04"),
    "solar_readings": ("2025-06-01", "2025-06-02"),
    "coin_prices": ("2024-12-04", "2024-12-05"),
}
COMPLETENESS_COLUMNS = ["source", "series", "date", "cadence_seconds", "expected", "present", "missing", "coverage",
                        "first", "last"]  # fmt: skip
GAP_COLUMNS = ["source", "series", "date", "gap_start", "gap_end", "missing"]


def gold_rows(server: Server, name: str, source: str, start: str, end: str, where: str = "true") -> pl.DataFrame:
    """gold.completeness or gold.gaps rows of a source, dates [start, end), through the catalog."""
    order = "date, series" + (", gap_start" if name == "gaps" else "")
    return sql(server, f"SELECT * FROM gold.{name} WHERE source = '{source}' AND date >= DATE '{start}' "
               f"AND date < DATE '{end}' AND {where} ORDER BY {order}")  # fmt: skip


def test_completeness_and_gaps_of_every_source_equal_their_tables(server: Server) -> None:
    found = {"completeness": 0, "gaps": 0}
    for source, (start, end) in RANGES.items():
        for name, columns in (("completeness", COMPLETENESS_COLUMNS), ("gaps", GAP_COLUMNS)):
            path = f"/v1/{name}/{source}?from={start}&to={end}"
            expected = gold_rows(server, name, source, start, end)
            same(walk(server, path + "&page_size=2"), expected, {c: c for c in columns})
            payload = server.json(path)
            assert payload["table"] == f"gold.{name}" and payload["source"] == source, payload
            assert isinstance(payload["table_version"], int) and payload["as_of"]
            found[name] += expected.height
    assert found["completeness"] > 10 and found["gaps"] >= 6, found  # customers, solar and coins have gaps
    # `to` is exclusive, as on every list; one series.
    middle = rows(server.json("/v1/completeness/site_live_data?from=2023-01-02&to=2023-01-03"))
    same(middle, gold_rows(server, "completeness", "site_live_data", "2023-01-02", "2023-01-03"),
         {c: c for c in COMPLETENESS_COLUMNS})  # fmt: skip
    assert {r["date"] for r in middle} == {"2023-01-02"}
    one = rows(server.json("/v1/gaps/solar_readings?from=2025-06-01&to=2025-06-02&series=SITE_002", "operator"))
    expected = gold_rows(server, "gaps", "solar_readings", "2025-06-01", "2025-06-02", "series = 'SITE_002'")
    same(one, expected, {c: c for c in GAP_COLUMNS})
    assert expected.height == 2
    # The same rows as `gridlake gaps` reads (Polars over the Delta table, dates inclusive).
    report = gaps.report(server.lake, "solar_readings", "SITE_002", dt.date(2025, 6, 1), dt.date(2025, 6, 1))
    assert [r["gap_start"] for r in one] == [t.isoformat() for t in report.gaps["gap_start"].to_list()]
    assert [r["missing"] for r in one] == report.gaps["missing"].to_list()


def test_completeness_csv_and_parquet_carry_the_same_rows(server: Server) -> None:
    for path in (
        "/v1/completeness/solar_readings?from=2025-06-01&to=2025-06-02",
        "/v1/gaps/coin_prices?from=2024-12-04&to=2024-12-05",
        f"/v1/gaps/customer_usage?from={DAY}&to=2020-08-07",
    ):
        as_json = server.json(path, "operator")
        assert as_json["count"] > 0, path
        status, headers, body = server.get(path + "&format=csv", "operator")
        assert status == 200 and headers["content-type"].startswith("text/csv")
        assert headers["x-table"] == as_json["table"] and headers["x-table-version"] == str(as_json["table_version"])
        csv = pl.read_csv(io.BytesIO(body), schema_overrides={"series": pl.String})
        assert csv.columns == list(as_json["data"][0])
        for column in ("series", "date", "missing"):
            assert csv[column].to_list() == [r[column] for r in rows(as_json)], (path, column)
        status, headers, body = server.get(path + "&format=parquet", "operator")
        assert status == 200 and headers["x-as-of"] == as_json["as_of"]
        parquet = pl.read_parquet(io.BytesIO(body))
        assert parquet["series"].to_list() == [r["series"] for r in rows(as_json)]
        assert [d.isoformat() for d in parquet["date"].to_list()] == [r["date"] for r in rows(as_json)]


def test_admin_sql_is_read_only_limited_and_timed(server: Server) -> None:
    status, _, body = server.call("POST", "/v1/sql", "admin", {"query": "SELECT count(*) AS n FROM gold.hourly_usage"})
    assert status == 200 and json.loads(body)["data"] == [
        {"n": sql(server, "SELECT count(*) AS n FROM gold.hourly_usage")["n"][0]}
    ]
    status, headers, body = server.call("POST", "/v1/sql", "admin", {"query": "SELECT * FROM range(50)", "limit": 10})
    assert status == 200 and json.loads(body)["count"] == 10 and headers["x-truncated"] == "true"
    for query in (
        "DROP VIEW gold.hourly_usage",
        "SELECT * FROM read_text('/etc/passwd')",
        "COPY (SELECT 1) TO 'x.csv'",
    ):
        status, _, body = server.call("POST", "/v1/sql", "admin", {"query": query})
        assert status == 400 and "refused" in json.loads(body)["error"], body


# ---- who sees what ----------------------------------------------------------------------------------


ENDPOINTS: list[tuple[str, str]] = [
    ("customer", f"/v1/customers/1/usage?from={DAY}T00:00:00Z&to={DAY}T01:00:00Z"),
    ("operator", "/v1/parks"),
    ("operator", "/v1/parks/Andasol/readings?from=2024-03-25T00:00:00&to=2024-03-25T02:00:00"),
    ("operator", "/v1/parks/daily?from=2024-03-25&to=2024-03-26"),
    ("operator", "/v1/energy-types/daily?from=2024-03-25&to=2024-03-26"),
    ("operator", "/v1/sites"),
    ("operator", "/v1/sites/latest"),
    ("operator", "/v1/sites/1/configurations"),
    ("operator", "/v1/sites/1/telemetry?from=2023-01-01T00:00:00Z&to=2023-01-01T01:00:00Z"),
    ("operator", "/v1/sites/daily?from=2023-01-01&to=2023-01-02"),
    ("operator", "/v1/solar/sites/SITE_001/readings?from=2025-06-01T00:00:00Z&to=2025-06-02T00:00:00Z"),
    ("operator", "/v1/solar/sites/SITE_001/anomalies"),
    ("operator", "/v1/solar/daily?from=2025-06-01&to=2025-06-02"),
    ("market", "/v1/markets/volatility"),
    ("market", "/v1/markets/pairs/p0/usd?from=2024-12-04T00:00:00Z&to=2024-12-04T01:00:00Z"),
    ("admin", "POST /v1/sql"),
    ("operator", "/v1/completeness/park_readings?from=2024-03-25&to=2024-03-26"),
    ("operator", "/v1/gaps/solar_readings?from=2025-06-01&to=2025-06-02"),
    ("operator|market", "/v1/completeness/coin_prices?from=2024-12-04&to=2024-12-05"),
    ("operator|market", "/v1/gaps/energy_prices?from=2020-08-05&to=2020-08-06"),
    ("operator|customer", f"/v1/completeness/customer_usage?from={DAY}&to=2020-08-06&series=1"),
    ("operator|customer", f"/v1/gaps/customer_usage?from={DAY}&to=2020-08-06&series=1"),
    ("operator|customers", f"/v1/completeness/customer_usage?from={DAY}&to=2020-08-06"),
    ("operator|customers", f"/v1/gaps/customer_usage?from={DAY}&to=2020-08-06"),
]


def expected_status(key: str, needs: str) -> int:
    """`needs`: the scopes that may call, '|' between them. 'customer' is customer 1's data
    (customer 2 is told 404, as if it did not exist); 'customers' every customer key's own
    series."""
    if key == "admin":
        return 200
    for need in needs.split("|"):
        if need == "customer" and key in ("customer1", "customer2"):
            return 200 if key == "customer1" else 404
        if key == need or (need == "customers" and key.startswith("customer")):
            return 200
    return 403


@pytest.mark.parametrize("key", ["admin", "operator", "market", "customer1", "customer2", "ingest"])
def test_every_scope_against_every_endpoint(server: Server, key: str) -> None:
    for needs, path in ENDPOINTS:
        if path.startswith("POST "):
            status, _, body = server.call("POST", path[5:], key, {"query": "SELECT 1 AS one"})
        else:
            status, _, body = server.get(path, key)
        assert status == expected_status(key, needs), (key, path, status, body[:300])
        if status != 200:
            assert "error" in json.loads(body)


def test_a_customer_key_reads_only_its_own_series_of_completeness_and_gaps(server: Server) -> None:
    window = f"from={DAY}&to=2020-08-07"
    for name, columns in (("completeness", COMPLETENESS_COLUMNS), ("gaps", GAP_COLUMNS)):
        everyone = gold_rows(server, name, "customer_usage", DAY, "2020-08-07")
        assert set(everyone["series"]) >= {"1", "9"} if name == "completeness" else set(everyone["series"]) == {"9"}
        for key, own in (("customer1", ["1"]), ("customer9", ["9"]), ("customers19", ["1", "9"])):
            expected = everyone.filter(pl.col("series").is_in(own))
            # Without a series: forced to the key's own; with its own: the same rows.
            same(walk(server, f"/v1/{name}/customer_usage?{window}&page_size=1", key), expected,
                 {c: c for c in columns})  # fmt: skip
            for series in own:
                got = rows(server.json(f"/v1/{name}/customer_usage?{window}&series={series}", key))
                same(got, expected.filter(series=series), {c: c for c in columns})
        # Another customer's series is 'not found', as for usage, in every format.
        for key, other in (("customer1", "9"), ("customer1", "2"), ("customer9", "1"), ("customers19", "2")):
            for form in ("json", "csv", "parquet"):
                status, _, body = server.get(f"/v1/{name}/customer_usage?{window}&series={other}&format={form}", key)
                assert status == 404 and f"no customer '{other}'" in json.loads(body)["error"], (key, other, body)
        # Other sources are not a customer's; nor is customer usage the market's.
        for key, source in (
            ("customer1", "energy_prices"),
            ("customer9", "park_readings"),
            ("market", "customer_usage"),
        ):
            status, _, body = server.get(f"/v1/{name}/{source}?{window}", key)
            assert status == 403 and "do not include operator" in json.loads(body)["error"], (key, source, body)
    # A cursor of one customer's list does not open another's.
    page = server.json(f"/v1/completeness/customer_usage?{window}&page_size=1", "customer1")
    cursor = urllib.parse.quote(page["next_cursor"])
    status, _, body = server.get(f"/v1/completeness/customer_usage?{window}&page_size=1&cursor={cursor}", "customer9")
    assert status == 400 and "another question" in json.loads(body)["error"]


def test_an_unknown_source_is_a_404_naming_the_sources(server: Server) -> None:
    for name in ("completeness", "gaps"):
        for key in ("admin", "operator"):
            status, _, body = server.get(f"/v1/{name}/coin_price?from=2024-12-04&to=2024-12-05", key)
            error = json.loads(body)["error"]
            assert status == 404 and "'coin_price'" in error and "coin_prices" in error, (key, body)
        # As for ingest: the scope is checked first.
        assert server.get(f"/v1/{name}/coin_price?from=2024-12-04&to=2024-12-05", "market")[0] == 403
        # Sources without a contract (the registers) have no completeness either.
        assert server.get(f"/v1/{name}/sites?from=2024-12-04&to=2024-12-05", "admin")[0] == 404


def test_no_key_a_wrong_key_or_a_revoked_key_learns_nothing(server: Server) -> None:
    messages = set()
    for key in (None, "nope", "gl_00000000_" + "a" * 43, server.keys["admin"][:-1] + "x"):
        status, headers, body = server.get("/v1/parks", key)
        assert status == 401 and headers.get("www-authenticate") == "Bearer"
        messages.add(json.loads(body)["error"])
    assert len(messages) == 1
    assert server.get("/v1/parks", "revoked")[0] == 200
    KeyStore(server.lake).revoke(server.keys["revoked"].split("_")[1])
    assert server.get("/v1/parks", "revoked")[0] == 401  # at once, no restart
    # Bearer works as well as X-API-Key.
    status, _, _ = server.get("/v1/parks", None, Authorization=f"Bearer {server.keys['operator']}")
    assert status == 200


def test_a_customer_cannot_reach_another_by_path_format_cursor_or_sql(server: Server) -> None:
    window = f"from={DAY}T00:00:00Z&to={DAY}T06:00:00Z&interval=1h"
    assert server.get(f"/v1/customers/2/usage?{window}", "customer1")[0] == 404
    assert server.get(f"/v1/customers/2/usage?{window}&format=csv", "customer1")[0] == 404
    assert server.get(f"/v1/customers/%32/usage?{window}", "customer1")[0] == 404  # "2", escaped
    page = server.json(f"/v1/customers/1/usage?{window}&page_size=2", "customer1")
    own = rows(page)
    assert {r["start"] for r in own} and page["customer_id"] == "1"
    cursor = urllib.parse.quote(page["next_cursor"])
    assert server.get(f"/v1/customers/2/usage?{window}&page_size=2&cursor={cursor}", "customer1")[0] == 404
    status, _, body = server.get(f"/v1/customers/2/usage?{window}&page_size=2&cursor={cursor}", "admin")
    assert status == 400 and "another question" in json.loads(body)["error"]
    assert server.call("POST", "/v1/sql", "customer1", {"query": "SELECT * FROM gold.hourly_usage"})[0] == 403


def test_a_burst_over_the_rate_gets_429_with_retry_after(server: Server) -> None:
    statuses = []
    for _ in range(30):
        status, headers, _ = server.get("/v1/markets/volatility?per_page=1", "burst")
        statuses.append(status)
        if status == 429:
            assert int(headers["retry-after"]) >= 1
    assert 200 in statuses and 429 in statuses
    assert server.get("/v1/markets/volatility?per_page=1", "market")[0] == 200  # another key is not slowed


def test_keys_are_in_no_log_and_no_state_file(server: Server) -> None:
    server.get("/v1/parks", "operator")
    server.get("/v1/nope?key=" + server.keys["market"], "admin")
    folders = [Path(os.environ["GRIDLAKE_STATE"]), Path(server.lake.root), server.log.parent]
    for key in server.keys.values():
        secret = key.split("_", 2)[2].encode()
        for folder in folders:
            hits = [p for p in folder.rglob("*") if p.is_file() and secret in p.read_bytes()]
            assert hits == [], hits


# ---- bad input -----------------------------------------------------------------------------------


BAD = [
    (f"/v1/customers/1/usage?to={DAY}T01:00:00Z", "from is required"),
    (f"/v1/customers/1/usage?from=yesterday&to={DAY}T01:00:00Z", "not an ISO-8601 time"),
    (f"/v1/customers/1/usage?from={DAY}T00:00:00&to={DAY}T01:00:00Z", "has no UTC offset"),
    (f"/v1/customers/1/usage?from={DAY}T02:00:00Z&to={DAY}T01:00:00Z", "must be after from"),
    (f"/v1/customers/1/usage?from={DAY}T00:00:00Z&to=2021-08-05T00:00:00Z&interval=1h", "at most 93 days"),
    (f"/v1/customers/1/usage?from={DAY}T00:00:00Z&to={DAY}T01:00:00Z&interval=2h", "interval='2h'"),
    (f"/v1/customers/1/usage?from={DAY}T00:00:00Z&to={DAY}T01:00:00Z&page_size=1000000", "page_size=1000000"),
    (f"/v1/customers/1/usage?from={DAY}T00:00:00Z&to={DAY}T01:00:00Z&page_size=abc", "page_size"),
    (f"/v1/customers/1/usage?from={DAY}T00:00:00Z&to={DAY}T01:00:00Z&cursor=abc.def", "cursor is not valid"),
    (f"/v1/customers/1/usage?from={DAY}T00:00:00Z&to={DAY}T01:00:00Z&format=xml", "format='xml'"),
    ("/v1/parks/daily?from=2024-13-01&to=2024-03-26", "not a date"),
    ("/v1/markets/volatility?order=sideways", "order='sideways'"),
    ("/v1/markets/volatility?page=0", "page=0"),
    ("/v1/solar/sites/SITE_001/readings?from=2025-06-01T00:00:00Z&to=2025-06-02T00:00:00Z&anomalies=all", "anomalies"),
    ("/v1/parks/Andasol/readings?from=2024-03-25T00:00:00Z&to=2024-03-25T02:00:00", "without an offset"),
    ("/v1/completeness/park_readings?to=2024-03-26", "from is required"),
    ("/v1/completeness/park_readings?from=2024-03-25T00:00:00Z&to=2024-03-26", "not a date"),
    ("/v1/gaps/park_readings?from=2024-03-26&to=2024-03-26", "must be after from"),
    ("/v1/gaps/park_readings?from=2020-01-01&to=2024-03-26", "at most 1098 days"),
    ("/v1/completeness/park_readings?from=2024-03-25&to=2024-03-26&format=xml", "format='xml'"),
    ("/v1/gaps/park_readings?from=2024-03-25&to=2024-03-26&cursor=abc.def", "cursor is not valid"),
]


@pytest.mark.parametrize(("path", "message"), BAD)
def test_bad_input_is_a_400_with_a_clear_message(server: Server, path: str, message: str) -> None:
    status, _, body = server.get(path, "admin")
    assert status == 400, (status, body[:300])
    assert message in json.loads(body)["error"], body


def test_a_tampered_cursor_and_injections_never_reach_the_data(server: Server) -> None:
    window = f"from={DAY}T00:00:00Z&to={DAY}T06:00:00Z&interval=1h"
    cursor = server.json(f"/v1/customers/1/usage?{window}&page_size=2")["next_cursor"]
    body, signature = cursor.split(".")
    forged = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + signature
    status, _, _ = server.get(
        f"/v1/customers/1/usage?{window}&page_size=2&cursor={urllib.parse.quote(forged)}", "admin"
    )
    assert status == 400
    for evil in ("1' OR '1'='1", "1; DROP VIEW gold.hourly_usage", "1) UNION SELECT * FROM silver.sites --"):
        quoted = urllib.parse.quote(evil, safe="")
        status, _, body = server.get(f"/v1/customers/{quoted}/usage?{window}", "admin")
        assert status == 200 and json.loads(body)["data"] == []
        status, _, body = server.get(f"/v1/sites/daily?from=2023-01-01&to=2023-01-02&site={quoted}", "operator")
        assert status == 200 and json.loads(body)["data"] == []
    assert sql(server, "SELECT count(*) AS n FROM gold.hourly_usage")["n"][0] > 0
    for path in ("/v1/nope", "/v1/customers", "/dashboard/nope"):
        assert server.get(path, "admin")[0] == 404


def test_docs_and_openapi_are_served_without_the_internet(server: Server) -> None:
    status, _, body = server.get("/docs")
    assert status == 200 and b"/static/swagger/swagger-ui-bundle.js" in body and b"cdn." not in body
    assert server.get("/static/swagger/swagger-ui-bundle.js")[0] == 200
    spec = json.loads(server.get("/openapi.json")[2])
    assert "/v1/customers/{customer}/usage" in spec["paths"] and "/v1/markets/volatility" in spec["paths"]
    assert "/v1/completeness/{source}" in spec["paths"] and "/v1/gaps/{source}" in spec["paths"]


def test_a_gold_commit_is_visible_within_two_seconds(server: Server) -> None:
    before = server.json(f"/v1/customers/1/usage?from={DAY}T00:00:00Z&to={DAY}T01:00:00Z&interval=1h")
    drop = Path(server.lake.root) / "landing" / "customer_usage" / "late.csv"
    drop.write_bytes(b"customerId,intervalStart,intervalEnd,usage\n1,2020-08-05T00:00:00Z,2020-08-05T00:05:00Z,99\n")
    process_pending(server.lake, publish=True)
    committed = time.monotonic()
    while True:
        after = server.json(f"/v1/customers/1/usage?from={DAY}T00:00:00Z&to={DAY}T01:00:00Z&interval=1h")
        if after["table_version"] > before["table_version"]:
            break
        assert time.monotonic() - committed < 2.0, "the new gold version did not show within 2 s"
        time.sleep(0.05)
    assert after["data"][0]["usage_kwh"] > before["data"][0]["usage_kwh"]


# ---- the dashboard in a real browser --------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("key", ["admin", "customer1", "operator", "market"])
def test_the_dashboard_renders_every_chart_without_console_errors(server: Server, chromium: str, key: str) -> None:
    from playwright.sync_api import sync_playwright

    expected = {"admin": 7, "customer1": 1, "operator": 4, "market": 2}[key]
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route(
                "**/*", lambda route: route.continue_() if route.request.url.startswith(server.url) else route.abort()
            )
            page.goto(server.url + "/dashboard")
            page.fill("#key", server.keys[key])
            page.click("button[type=submit]")
            page.wait_for_selector(".chart .main-svg")
            charts = page.eval_on_selector_all(
                ".chart", "els => els.map(e => e.querySelectorAll('.trace, .point, .bars path').length)"
            )
            assert len(charts) == expected, charts
            titles = page.eval_on_selector_all("h2", "els => els.map(e => e.textContent)")
            assert any(t.startswith("Completeness") for t in titles) == (key in ("admin", "operator")), titles
            assert all(n > 0 for n in charts), charts
            assert errors == []
            cookies = page.context.cookies()
            assert all(server.keys[key] not in c["value"] for c in cookies)
        finally:
            browser.close()
