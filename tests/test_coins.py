"""Coin prices through the spine on a local lake: every quarantine rule, both producer shapes, and
gold (24-hour stddev, samples, mean, rank) against an independent computation with Python's
`statistics` over the silver samples, through pairs that appear late, gaps, a corrected sample and
a late one; only the dates whose windows hold a changed sample are rebuilt."""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from collections import defaultdict
from typing import Any

import polars as pl
import pytest

from tests.builders import COIN_T0, assert_gold_matches_silver, epoch, expected_volatility, js, rec
from tests.conftest import Drop
from transforms import coins
from warehouse import delta
from warehouse.generate.coins import generate_coins, walk
from warehouse.lake import Lake
from warehouse.registry import table
from warehouse.stages import land
from warehouse.stages.pipeline import process_pending

UTC = dt.UTC
VOL = table("gold.coin_volatility")


def read(lake: Lake, name: str) -> pl.DataFrame:
    return delta.scan(lake, table(name)).collect()


def test_volatility_equals_statistics_stdev_with_late_pairs_gaps_and_ties() -> None:
    rng = random.Random(7)
    rows = []
    for pair, start, scale in [("b/usd", 0, 97_000.0), ("a/usd", 0, 1.0), ("c/usd", 600, 3.0), ("q/usd", 0, 250.0)]:
        for m in range(start, 2 * 1440, 7):
            if pair == "a/usd" and 900 <= m < 1500:  # a gap longer than a window's worth of its samples
                continue
            value = 5.0 if pair == "q/usd" else scale * (1 + rng.gauss(0, 0.01))
            rows.append((pair, COIN_T0 + dt.timedelta(minutes=m, seconds=rng.randrange(0, 2) * 30), value))
    frame = pl.DataFrame(
        rows, schema={"pair": pl.String, "time": pl.Datetime("us", "UTC"), "value": pl.Float64}, orient="row"
    )
    got = coins.volatility(frame.lazy()).collect()
    expected = expected_volatility(rows)
    assert got.height == len(expected)
    for pair, time, _value, std, mean, n, rank in got.iter_rows():
        want_n, want_mean, want_std, want_rank = expected[(pair, time)]
        assert (n, rank) == (want_n, want_rank)
        assert mean == pytest.approx(want_mean, rel=1e-12)
        if want_std is None:
            assert std is None
        else:
            assert std == pytest.approx(want_std, rel=1e-7, abs=1e-9 * want_mean)
    # A constant pair has exactly zero volatility and ranks after every moving pair.
    constant = got.filter(pl.col("pair") == "q/usd", pl.col("samples") > 1)
    assert constant["stddev_24h"].unique().to_list() == [0.0]


def test_each_bad_kind_is_quarantined_with_its_rule_and_the_file_reconciles(lake: Lake, drop: Drop) -> None:
    good = rec("Bitcoin/USD ", epoch(0), 97012.5)
    bad = {
        "no-pair": (rec(None, epoch(1), 1.0), ["pair_present"]),
        "empty-pair": (rec("  ", epoch(1), 1.0), ["pair_present"]),
        "no-slash": (rec("bitcoin", epoch(1), 1.0), ["pair_is_base_slash_quote"]),
        "two-slashes": (rec("a/b/c", epoch(1), 1.0), ["pair_is_base_slash_quote"]),
        "bad-time": (rec("eth/usd", "yesterday", 1.0), ["time_parseable"]),
        "millis": (rec("eth/usd", epoch(1) * 1000, 1.0), ["time_parseable"]),
        "text-value": (rec("eth/usd", epoch(2), "lots"), ["value_numeric"]),
        "no-value": (rec("eth/usd", epoch(3), None), ["value_numeric"]),
        "nan": (rec("eth/usd", epoch(4), "NaN"), ["value_numeric"]),
        "inf": (rec("eth/usd", epoch(5), "inf"), ["value_positive"]),
        "negative": (rec("eth/usd", epoch(6), -3.5), ["value_positive"]),
        "zero": (rec("eth/usd", epoch(7), 0), ["value_positive"]),
    }
    conflict = [rec("sol/usd", epoch(8), 230.0), rec("sol/usd", epoch(8), 231.0)]
    repeat = [rec("xrp/usd", epoch(9), 2.5), rec("xrp/usd", epoch(9), 2.5)]
    # Enough good rows that the date is not blocked (at most half may be quarantined).
    more = [rec(f"coin{i:02d}/usd", epoch(0), 1.0 + i) for i in range(20)]
    records = [good, *(r for r, _ in bad.values()), *conflict, *repeat, *more]
    drop("coin_prices", "prices_20241204T0000.json", js(records))
    process_pending(lake)

    silver = read(lake, "silver.coin_prices").filter(~pl.col("pair").str.starts_with("coin")).sort("pair")
    assert silver.select("pair", "time", "value").rows() == [
        ("bitcoin/usd", COIN_T0, 97012.5),
        ("xrp/usd", COIN_T0 + dt.timedelta(minutes=9), 2.5),
    ]
    quarantine = read(lake, "quarantine.coin_prices").sort("_row_number")
    got = dict(zip(quarantine["_row_number"].to_list(), quarantine["failed_rules"].to_list(), strict=True))
    expected = {i + 1: rules for i, (_, rules) in enumerate(bad.values())}
    expected |= {len(bad) + 1: ["no_conflicting_duplicate"], len(bad) + 2: ["no_conflicting_duplicate"]}
    assert got == expected
    log = land.ingest_log(lake, "coin_prices").row(0, named=True)
    assert (log["rows_read"], log["rows_quarantined"], log["rows_duplicate"]) == (len(records), len(bad) + 2, 1)
    assert log["rows_read"] == log["rows_quarantined"] + log["rows_valid"]
    # One sample in each window: no stddev, so ranked by pair name within the minute.
    gold = read(lake, "gold.coin_volatility").filter(~pl.col("pair").str.starts_with("coin")).sort("pair")
    assert gold.select("pair", "samples", "stddev_24h", "rank").rows() == [
        ("bitcoin/usd", 1, None, 1),
        ("xrp/usd", 1, None, 1),
    ]


def test_a_file_of_neither_shape_is_rejected_whole(lake: Lake, drop: Drop) -> None:
    drop("coin_prices", "odd.json", js([{"coin": "bitcoin", "price": 1.0}]))
    process_pending(lake)
    log = land.ingest_log(lake, "coin_prices").row(0, named=True)
    assert log["status"] == "failed"
    assert "pair+time+value or id+current_price+last_updated" in log["error"]
    assert "odd.json" in log["error"]
    assert read(lake, "bronze.coin_prices").is_empty()


def test_snapshot_shape_takes_its_quote_from_the_file_name(lake: Lake, drop: Drop) -> None:
    snapshot: list[dict[str, Any]] = [
        {"id": "bitcoin", "symbol": "btc", "current_price": 97012.5, "last_updated": "2024-12-04T08:13:20.123Z"},
        {"id": "Ethereum", "symbol": "eth", "current_price": "3600.25", "last_updated": "2024-12-04T08:13:05Z"},
        {"id": "tether", "symbol": "usdt", "current_price": 0, "last_updated": "2024-12-04T08:13:01Z"},
    ]
    drop("coin_prices", "markets_vs_eur_20241204T0813.json", js(snapshot))
    drop("coin_prices", "markets_20241204T0813.json", js(snapshot[:1]))
    process_pending(lake)
    silver = read(lake, "silver.coin_prices").sort("pair")
    assert silver.select("pair", "time", "value").rows() == [
        ("bitcoin/eur", dt.datetime(2024, 12, 4, 8, 13, 20, 123000, tzinfo=UTC), 97012.5),
        ("bitcoin/usd", dt.datetime(2024, 12, 4, 8, 13, 20, 123000, tzinfo=UTC), 97012.5),
        ("ethereum/eur", dt.datetime(2024, 12, 4, 8, 13, 5, tzinfo=UTC), 3600.25),
    ]
    assert read(lake, "quarantine.coin_prices")["failed_rules"].to_list() == [["value_positive"]]
    # All three were sampled in the same minute (seconds apart): one sample each, so no stddev,
    # ranked by pair name.
    gold = read(lake, "gold.coin_volatility").sort("rank")
    assert gold.select("pair", "rank").rows() == [("bitcoin/eur", 1), ("bitcoin/usd", 2), ("ethereum/eur", 3)]


def partition_files(lake: Lake, date: dt.date) -> set[str]:
    existing = delta.open_table(lake, VOL)
    assert existing is not None
    actions = pl.DataFrame(existing.get_add_actions(flatten=True))
    return set(actions.filter(pl.col("partition.date") == date)["path"].to_list())


def test_generated_minutes_then_a_late_pair_a_correction_and_a_late_sample(lake: Lake, drop: Drop) -> None:
    # 6 pairs over 3 days, one sample every 20 minutes, in hourly files (3 samples a pair each).
    minutes = list(range(0, 3 * 1440, 20))
    prices = walk(6, minutes[-1] + 1, seed=3)
    names = [f"p{i}/usd" for i in range(6)]
    hours: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for m in minutes:
        for i, name in enumerate(names):
            if name == "p5/usd" and m < 1800:  # a pair that appears late (on day 2)
                continue
            if name == "p4/usd" and 2000 <= m < 2600:  # and a gap
                continue
            hours[m // 60].append(rec(name, epoch(m), float(prices[m, i])))
    for h, records in hours.items():
        drop("coin_prices", f"prices_{h:03d}.json", js(records))
    process_pending(lake)
    before = assert_gold_matches_silver(lake)
    days = [COIN_T0.date() + dt.timedelta(days=i) for i in range(3)]
    files = {d: partition_files(lake, d) for d in days}

    # A correction on day 2 and a sample inside p4's gap on day 2: day 2 and 3 are rebuilt, not day 1.
    corrected = rec("p0/usd", epoch(1440 + 600), float(prices[1440 + 600, 0]) * 1.5)
    late = rec("p4/usd", epoch(2100), 123.0)
    drop("coin_prices", "correction.json", js([corrected, late]))
    process_pending(lake)
    after = assert_gold_matches_silver(lake)
    assert partition_files(lake, days[0]) == files[days[0]]
    assert partition_files(lake, days[1]) != files[days[1]] and partition_files(lake, days[2]) != files[days[2]]
    changed = {k for k in after if before.get(k) != after[k]}
    # Every changed statistic lies in the 24 hours after a changed sample.
    starts = [COIN_T0 + dt.timedelta(minutes=1440 + 600), COIN_T0 + dt.timedelta(minutes=2100)]
    assert changed and all(any(s <= t < s + dt.timedelta(hours=24) for s in starts) for _, t in changed)
    # The latest row of each pair is its last sample, with the statistics of that time.
    latest = read(lake, "gold.coin_latest").sort("pair")
    assert latest["pair"].to_list() == names
    volatility = {(r[0], r[1]): r[2:7] for r in read(lake, "gold.coin_volatility").iter_rows()}
    for pair, time, *stats in latest.iter_rows():
        assert time == max(t for p, t in after if p == pair)
        assert tuple(stats) == volatility[(pair, time)]


def test_generator_writes_one_file_per_minute_in_either_shape(lake: Lake, drop: Drop) -> None:
    files = list(generate_coins(4, COIN_T0, 3))
    assert [p for p, _ in files] == [f"coin_prices/prices_20241204T000{m}.json" for m in range(3)]
    first = json.loads(files[1][1])
    assert [r["pair"] for r in first] == ["bitcoin/usd", "ethereum/usd", "tether/usd", "solana/usd"]
    assert {r["time"] for r in first} == {epoch(1)}
    snap = list(generate_coins(4, COIN_T0, 2, snapshot=True, quote="eur"))
    assert snap[0][0] == "coin_prices/markets_vs_eur_20241204T0000.json"
    assert json.loads(snap[0][1])[0] == {
        "id": "bitcoin",
        "symbol": "btc",
        "current_price": 97000.0,
        "last_updated": "2024-12-04T00:00:00.000Z",
    }
    # Values do not depend on how many minutes are generated; quiet pairs stay near their peg.
    assert [f[1] for f in generate_coins(4, COIN_T0, 2)] == [f[1] for f in files[:2]]
    tether = walk(10, 2880)[:, 2]
    assert math.isclose(tether.min(), 1.0, rel_tol=0.01) and math.isclose(tether.max(), 1.0, rel_tol=0.01)
