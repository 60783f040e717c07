"""Builders the test modules share: landing files in the producers' formats, lakes with every
source, and checks two lakes or a gold table against an independent computation."""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import hashlib
import io
import json
import random
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from expectations.runner import validate
from tests.conftest import REAL_DATA
from warehouse import delta
from warehouse.generate.coins import generate_coins
from warehouse.generate.parks import generate_parks
from warehouse.generate.prices import generate_prices
from warehouse.generate.sites import generate_sites
from warehouse.generate.solar import batches
from warehouse.generate.usage import generate_usage
from warehouse.lake import Lake
from warehouse.reader import read_file
from warehouse.registry import TABLES, table

# Usage and price files.

DAY = "2020-08-05"


def ts(minute: int, day: str = DAY) -> str:
    base = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)
    return (base + dt.timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")


def usage_csv(rows: list[tuple]) -> bytes:
    lines = ["customerId,intervalStart,intervalEnd,usage"]
    lines += [",".join("" if v is None else str(v) for v in r) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def prices_json(rows: list[tuple[int, int, float]]) -> bytes:
    return json.dumps([{"intervalStart": ts(s), "intervalEnd": ts(e), "price": p} for s, e, p in rows]).encode()


def read(lake: Lake, name: str) -> pl.DataFrame:
    return delta.scan(lake, table(name)).collect()


FIVE_MIN_PRICES = [(m, m + 5, round(0.1 * (1 + m // 5), 1)) for m in range(0, 60, 5)]  # 0.1, 0.2, ... 1.2


# Lakes.


def with_settings(lake: Lake, **changes: Any) -> Lake:
    """The same lake with some settings changed (as GRIDLAKE_* variables would)."""
    return dataclasses.replace(lake, settings=lake.settings.model_copy(update=changes))


def drop_into(lake: Lake, source: str, name: str, data: bytes) -> None:
    path = Path(lake.root) / "landing" / source / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def snapshot(lake: Lake) -> dict[str, pl.DataFrame]:
    """Every table in a fixed row order, without the columns that differ from run to run."""
    volatile = {"_ingested_at", "_run_id", "_source_file", "landed_at", "refined_at", "modified_at", "path"}
    volatile |= {"run_id", "queued_at", "change_id", "silver_version", "detected_at"}
    volatile |= {"built_at", "inputs", "outputs"}  # ops.gold_builds: table versions depend on commit count
    out = {}
    for name, t in TABLES.items():
        if not delta.exists(lake, t):
            continue
        frame = delta.scan(lake, t).collect()
        frame = frame.drop([c for c in frame.columns if c in volatile])
        sortable = [c for c, d in frame.schema.items() if not isinstance(d, pl.List)]
        out[name] = frame.sort(sortable, nulls_last=True)
    return out


# Four days of usage and prices, one file spanning two of them.

BACKFILL_DAYS = [f"2020-08-{d:02d}" for d in range(3, 7)]


def backfill_files() -> list[tuple[str, str, bytes]]:
    rng = random.Random(5)
    out = []
    for day in BACKFILL_DAYS:
        rows: list[tuple] = [
            (c, ts(m, day), ts(m + 5, day), round(rng.random(), 3)) for c in range(20) for m in range(0, 1440, 30)
        ]
        rows.append((None, ts(0, day), ts(5, day), 1.0))
        out.append(("customer_usage", f"usage_{day}.csv", usage_csv(rows)))
        prices = [(m, m + 5, round(0.1 + rng.random() / 10, 4)) for m in range(0, 1440, 5)]
        out.append(("energy_prices", f"prices_{day}.json", prices_json(prices).replace(b"2020-08-06", day.encode())))
    # One file across the middle two dates: the two processes each refine one of its dates.
    spanning = [
        (99, ts(1435, BACKFILL_DAYS[1]), ts(1440, BACKFILL_DAYS[1]), 2.0),
        (99, ts(0, BACKFILL_DAYS[2]), ts(5, BACKFILL_DAYS[2]), 3.0),
    ]
    out.append(("customer_usage", "usage_spanning.csv", usage_csv(spanning)))
    return out


def assert_same_tables(left_lake: Lake, right_lake: Lake) -> None:
    """Every table equal row for row (floats to 1e-12: sums may add in another order); the gold
    queue aside, whose acknowledged rows are deleted either way, and the gold build log, one row
    per build however the work was split: both lakes built the same gold dates."""
    a, b = snapshot(left_lake), snapshot(right_lake)
    assert a.keys() == b.keys()
    if "ops.gold_builds" in a:
        built = [set(x["ops.gold_builds"].select("gold", "date").iter_rows()) for x in (a, b)]
        assert built[0] == built[1]
    for name in a:
        if name in ("ops.gold_queue", "ops.gold_builds"):
            continue
        assert a[name].columns == b[name].columns, name
        for column in a[name].columns:
            left, right = a[name][column], b[name][column]
            if left.dtype == pl.Float64:
                assert left.fill_null(-1).to_list() == pytest.approx(right.fill_null(-1).to_list(), rel=1e-12)
            else:
                assert left.equals(right), (name, column)


# Every source at once.

ENERGY_DAY = dt.date(2020, 8, 5)

SITES_DAY = dt.date(2023, 1, 1)


def every_source(lake: Lake) -> None:
    files = [
        *generate_usage(3, ENERGY_DAY, 2),
        *generate_prices(ENERGY_DAY, 2),
        *generate_parks(parks=2, start=dt.date(2024, 3, 25), days=2),
        *generate_sites(sites=2, start=SITES_DAY, days=3),
        *batches(dt.datetime(2025, 6, 1, tzinfo=dt.UTC), 2, dt.timedelta(minutes=30), sites=2, records=5),
        *generate_coins(3, dt.datetime(2024, 12, 4, tzinfo=dt.UTC), 5),
    ]
    for relative, data in files:
        path = Path(lake.root) / "landing" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


# Coin prices, and 24-hour volatility computed with `statistics`.

COIN_T0 = dt.datetime(2024, 12, 4, tzinfo=dt.UTC)


def js(records: list[dict[str, Any]]) -> bytes:
    return json.dumps(records).encode()


def rec(pair: Any, time: Any, value: Any) -> dict[str, Any]:
    return {"pair": pair, "time": time, "value": value}


def epoch(minutes: float) -> int:
    return int((COIN_T0 + dt.timedelta(minutes=minutes)).timestamp())


def expected_volatility(samples: list[tuple[str, dt.datetime, float]]) -> dict[tuple[str, dt.datetime], tuple]:
    """(pair, time) -> (samples, mean, stddev, rank), by brute force with `statistics`."""
    by_pair: dict[str, list[tuple[dt.datetime, float]]] = defaultdict(list)
    for pair, time, value in samples:
        by_pair[pair].append((time, value))
    stats: dict[tuple[str, dt.datetime], tuple[int, float, float | None]] = {}
    for pair, points in by_pair.items():
        points.sort()
        times = [t for t, _ in points]
        for i, (t, _) in enumerate(points):
            lo = bisect.bisect_right(times, t - dt.timedelta(hours=24))
            window = [v for _, v in points[lo : i + 1]]
            stats[(pair, t)] = (
                len(window),
                statistics.fmean(window),
                statistics.stdev(window) if len(window) > 1 else None,
            )
    by_minute: dict[dt.datetime, list[tuple[str, dt.datetime]]] = defaultdict(list)
    for pair, t in stats:
        by_minute[t.replace(second=0, microsecond=0)].append((pair, t))
    out = {}
    for keys in by_minute.values():
        ordered = sorted(keys, key=lambda k: (stats[k][2] is None, -(stats[k][2] or 0.0), k[0], k[1]))
        for r, k in enumerate(ordered, start=1):
            out[k] = (*stats[k], r)
    return out


def assert_gold_matches_silver(lake: Lake) -> dict[tuple[str, dt.datetime], tuple]:
    silver = read(lake, "silver.coin_prices")
    expected = expected_volatility(list(silver.select("pair", "time", "value").iter_rows()))
    gold = read(lake, "gold.coin_volatility")
    assert gold.height == len(expected)
    for pair, time, value, std, mean, n, rank, date in gold.iter_rows():
        want_n, want_mean, want_std, want_rank = expected[(pair, time)]
        assert (n, rank, date) == (want_n, want_rank, time.date()), (pair, time)
        assert mean == pytest.approx(want_mean, rel=1e-12, abs=1e-12)
        if want_std is None:
            assert std is None
        else:
            # Rolling sums in floating point: equal to 1e-9 of the value's scale.
            assert std == pytest.approx(want_std, rel=1e-7, abs=1e-9 * abs(want_mean))
        assert (
            value == dict(((p, t), v) for p, t, v in silver.select("pair", "time", "value").iter_rows())[(pair, time)]
        )
    return expected


# Generated usage and price files, dropped through the lake's file system (local or S3).


def usage_and_price_files(customers: int) -> list[tuple[str, bytes]]:
    bad = b"customerId,intervalStart,intervalEnd,usage\n,2020-08-05T00:00:00Z,2020-08-05T00:05:00Z,1.0\n"
    return [*generate_usage(customers, ENERGY_DAY, 1), *generate_prices(ENERGY_DAY, 1), ("customer_usage/bad.csv", bad)]


def drop_files(lake: Lake, files: list[tuple[str, bytes]]) -> None:
    for relative, data in files:
        path = lake.fs_path(lake.uri("landing", relative))
        lake.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        with lake.fs.open(path, "wb") as f:
            f.write(data)


# Battery sites.

SITES_REALDATA = REAL_DATA / "sites"
SITE_T0 = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)


def site_bronze(content: Any, path: str = "landing/x/file.json", ingested_at: dt.datetime = SITE_T0) -> pl.LazyFrame:
    """Bronze rows for a file, read by the project's reader: ``content`` is JSON-serialisable
    (written as one JSON document) or raw bytes."""
    data = content if isinstance(content, bytes) else json.dumps(content).encode()
    frame = pl.concat([c.frame for c in read_file(io.BytesIO(data), path)], how="diagonal")
    return frame.lazy().with_columns(
        _source_file=pl.lit(path),
        _file_hash=pl.lit(hashlib.sha256(data).hexdigest()),
        _ingested_at=pl.lit(ingested_at).cast(pl.Datetime("us", "UTC")),
        _run_id=pl.lit("test"),
    )


def site_failures(frame: pl.DataFrame, suite: Any) -> list[list[str]]:
    return validate(frame, suite).failed_rules.to_list()


def live_object(site_id: Any = 1, n: int = 1, **overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "site_id": site_id,
        "dt-stamp": [f"2024-05-01 00:{10 * i:02d}:00" for i in range(n)],
        "soc": [50.0] * n,
        "load_kwh": [10.0] * n,
        "net_load_kwh": [5.0] * n,
        "pv_notification": [False] * n,
        "bio_notification": [False] * n,
        "cro_notification": [False] * n,
    }
    record.update(overrides)
    return record


NESTED = {
    "id": 1,
    "battery": {"vendor": "Tesla", "capacity_kwh": 3100, "max_power_kw": 400},
    "production": {"pv": {"units": 1, "kwp": 500}, "bio": {"units": 0}, "cro": {"units": 2, "kwp": 800}},
}

FLAT = {
    "site": 2,
    "battery_vendor": "KATL",
    "battery_capacity_kwh": 100,
    "battery_max_power_kw": 110,
    "production_pv_units": 15,
    "production_pv_kwp": 20,
    "production_bio_units": 1,
    "production_cro_units": 2,
    "production_cro_kwp": 3,
}
