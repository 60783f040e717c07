"""Tests for transforms.cost: hand-computed cases plus a DuckDB cross-check."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from transforms.cost import cost_per_interval, hourly_usage

T0 = datetime(2024, 3, 10, tzinfo=UTC)
TS = pl.Datetime("us", "UTC")
COST_COLUMNS = [
    "customer_id",
    "interval_start",
    "interval_end",
    "usage_kwh",
    "price_per_kwh",
    "cost",
]
HOURLY_COLUMNS = [
    "customer_id",
    "hour_start",
    "usage_kwh",
    "cost",
    "intervals",
    "is_complete",
]


def ts(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def usage_frame(rows: list[tuple[str, int, int, float]]) -> pl.LazyFrame:
    """rows: (customer_id, start minute, end minute, usage_kwh)."""
    return pl.LazyFrame(
        {
            "customer_id": [r[0] for r in rows],
            "interval_start": [ts(r[1]) for r in rows],
            "interval_end": [ts(r[2]) for r in rows],
            "usage_kwh": [r[3] for r in rows],
        },
        schema={
            "customer_id": pl.String,
            "interval_start": TS,
            "interval_end": TS,
            "usage_kwh": pl.Float64,
        },
    )


def price_frame(rows: list[tuple[int, int, float | None]]) -> pl.LazyFrame:
    """rows: (start minute, end minute, price_per_kwh)."""
    return pl.LazyFrame(
        {
            "interval_start": [ts(r[0]) for r in rows],
            "interval_end": [ts(r[1]) for r in rows],
            "price_per_kwh": [r[2] for r in rows],
        },
        schema={"interval_start": TS, "interval_end": TS, "price_per_kwh": pl.Float64},
    )


def grid_prices(start: int, end: int, step: int, prices: list[float]) -> pl.LazyFrame:
    starts = list(range(start, end, step))
    return price_frame([(s, s + step, p) for s, p in zip(starts, prices, strict=True)])


def priced(rows: list[tuple[str, int, int, float, float | None]]) -> pl.LazyFrame:
    """A cost_per_interval-shaped frame: (customer, start, end, usage, cost)."""
    return usage_frame([r[:4] for r in rows]).with_columns(
        price_per_kwh=pl.lit(None, pl.Float64),
        cost=pl.Series([r[4] for r in rows], dtype=pl.Float64),
    )


def run_cost(usage: pl.LazyFrame, prices: pl.LazyFrame) -> pl.DataFrame:
    """cost_per_interval, collected and sorted by the natural key."""
    out = cost_per_interval(usage, prices).collect()
    return out.sort("customer_id", "interval_start")


def one_row(frame: pl.DataFrame, **keys: object) -> dict[str, object]:
    out = frame.filter(*[pl.col(k) == v for k, v in keys.items()])
    assert out.height == 1, out
    return out.row(0, named=True)


# ---------------------------------------------------------------- cost_per_interval


def test_equal_five_minute_grids() -> None:
    usage = usage_frame([("a", 5, 10, 2.0), ("a", 0, 5, 1.0), ("b", 10, 15, 0.5)])
    prices = grid_prices(0, 15, 5, [0.10, 0.20, 0.30])
    out = run_cost(usage, prices)

    assert out.columns == COST_COLUMNS
    assert out.schema["interval_start"] == TS
    assert out.schema["cost"] == pl.Float64
    assert out["customer_id"].to_list() == ["a", "a", "b"]
    assert out["interval_start"].to_list() == [ts(0), ts(5), ts(10)]
    assert out["usage_kwh"].to_list() == [1.0, 2.0, 0.5]
    assert out["price_per_kwh"].to_list() == pytest.approx([0.10, 0.20, 0.30], rel=1e-12)
    assert out["cost"].to_list() == pytest.approx([0.10, 0.40, 0.15], rel=1e-12)


def test_thirty_minute_usage_against_five_minute_prices() -> None:
    usage = usage_frame([("a", 0, 30, 3.0)])
    prices = grid_prices(0, 30, 5, [0.10, 0.20, 0.30, 0.40, 0.50, 0.60])
    row = run_cost(usage, prices).row(0, named=True)
    # 3 kWh over 6 slices = 0.5 kWh each:
    # 0.5 * (0.1 + 0.2 + 0.3 + 0.4 + 0.5 + 0.6) = 0.5 * 2.1 = 1.05
    assert row["cost"] == pytest.approx(1.05, rel=1e-12)
    assert row["price_per_kwh"] == pytest.approx(1.05 / 3.0, rel=1e-12)


def test_uneven_overlap_weights() -> None:
    # 15-minute usage over a 10-minute price and a 5-minute price.
    usage = usage_frame([("a", 0, 15, 3.0)])
    prices = price_frame([(0, 10, 0.30), (10, 15, 0.90)])
    row = run_cost(usage, prices).row(0, named=True)
    # 2 kWh at 0.30 + 1 kWh at 0.90 = 0.60 + 0.90 = 1.50
    assert row["cost"] == pytest.approx(1.50, rel=1e-12)
    assert row["price_per_kwh"] == pytest.approx(0.50, rel=1e-12)


def test_five_minute_usage_against_hourly_prices() -> None:
    usage = usage_frame([("a", 10, 15, 2.0), ("a", 55, 60, 1.0), ("a", 60, 65, 4.0)])
    prices = price_frame([(0, 60, 0.25), (60, 120, 0.50)])
    out = run_cost(usage, prices)
    assert out["price_per_kwh"].to_list() == pytest.approx([0.25, 0.25, 0.50], rel=1e-12)
    assert out["cost"].to_list() == pytest.approx([0.50, 0.25, 2.00], rel=1e-12)


def test_partial_price_gap_gives_null() -> None:
    # Prices known for [0, 25) and [35, 60); nothing for [25, 35).
    prices = price_frame([(0, 25, 0.2), (35, 60, 0.4)])
    usage = usage_frame(
        [
            ("a", 0, 30, 1.0),  # 5 of 30 minutes unpriced
            ("b", 20, 25, 1.0),  # fully priced, right before the gap
            ("c", 25, 35, 1.0),  # entirely unpriced
            ("d", 35, 40, 1.0),  # fully priced, right after the gap
        ]
    )
    out = run_cost(usage, prices)
    assert out["cost"].to_list() == [None, pytest.approx(0.2), None, pytest.approx(0.4)]
    assert out["price_per_kwh"].to_list() == [
        None,
        pytest.approx(0.2),
        None,
        pytest.approx(0.4),
    ]


def test_null_price_counts_as_gap() -> None:
    prices = grid_prices(0, 10, 5, [0.2, 0.3]).with_columns(
        price_per_kwh=pl.when(pl.col("interval_start") == ts(5)).then(None).otherwise(pl.col("price_per_kwh"))
    )
    out = run_cost(usage_frame([("a", 0, 10, 1.0), ("b", 0, 5, 1.0)]), prices)
    assert out["cost"].to_list() == [None, pytest.approx(0.2, rel=1e-12)]


def test_negative_price() -> None:
    usage = usage_frame([("a", 0, 15, 3.0), ("a", 5, 10, 2.0)])
    prices = grid_prices(0, 15, 5, [0.3, -0.6, 0.0])
    out = run_cost(usage, prices)
    # 1 kWh each at 0.3, -0.6, 0.0 -> -0.3; mean price -0.1.
    assert out["cost"].to_list() == pytest.approx([-0.3, -1.2], rel=1e-12)
    assert out["price_per_kwh"].to_list() == pytest.approx([-0.1, -0.6], rel=1e-12)


def test_zero_usage_has_zero_cost_and_mean_price() -> None:
    usage = usage_frame([("a", 0, 15, 0.0), ("a", 15, 20, 0.0), ("a", 20, 30, 0.0)])
    prices = grid_prices(0, 20, 5, [0.3, 0.6, 1.2, 0.9])
    out = run_cost(usage, prices)
    assert out["cost"].to_list()[:2] == [0.0, 0.0]
    # (0.3 + 0.6 + 1.2) / 3 = 0.7 ; exact match -> the price itself.
    assert out["price_per_kwh"].to_list()[:2] == pytest.approx([0.7, 0.9], rel=1e-12)
    # Zero usage does not hide a gap.
    assert out.row(2, named=True)["cost"] is None
    assert out.row(2, named=True)["price_per_kwh"] is None


def test_overlapping_prices_are_treated_as_unknown() -> None:
    prices = price_frame([(0, 30, 0.2), (10, 15, 0.5), (30, 35, 0.4)])
    usage = usage_frame(
        [
            ("a", 0, 5, 1.0),  # only touches the ambiguous 30-minute price
            ("a", 10, 15, 1.0),  # exactly equals an ambiguous price
            ("a", 30, 35, 1.0),  # unaffected
        ]
    )
    out = run_cost(usage, prices)
    assert out["cost"].to_list() == [None, None, pytest.approx(0.4, rel=1e-12)]


def test_extra_columns_are_ignored() -> None:
    usage = usage_frame([("a", 0, 5, 1.0)]).with_columns(meter=pl.lit("m1"), price_per_kwh=pl.lit(99.0))
    prices = grid_prices(0, 5, 5, [0.2]).with_columns(region=pl.lit("NSW"), usage_kwh=pl.lit(7.0))
    out = run_cost(usage, prices)
    assert out.columns == COST_COLUMNS
    assert out.row(0) == ("a", ts(0), ts(5), 1.0, 0.2, 0.2)


def test_usage_without_any_price_and_empty_inputs() -> None:
    out = cost_per_interval(usage_frame([("a", 0, 5, 1.0)]), price_frame([])).collect()
    assert out.row(0) == ("a", ts(0), ts(5), 1.0, None, None)
    empty = cost_per_interval(usage_frame([]), grid_prices(0, 5, 5, [0.1])).collect()
    assert empty.height == 0
    assert empty.columns == COST_COLUMNS


# ------------------------------------------------------------------- hourly_usage


def test_interval_crossing_hour_boundary_is_split() -> None:
    cpi = priced([("a", 45, 75, 2.0, 3.0), ("b", 30, 120, 3.0, 6.0)])
    out = hourly_usage(cpi).collect()
    assert out.columns == HOURLY_COLUMNS
    assert out.schema["hour_start"] == TS
    assert out.schema["intervals"] == pl.Int64
    assert out.height == 4

    a0 = one_row(out, customer_id="a", hour_start=ts(0))
    a1 = one_row(out, customer_id="a", hour_start=ts(60))
    # 15 of 30 minutes in each hour -> half each.
    assert (a0["usage_kwh"], a0["cost"], a0["intervals"]) == (1.0, 1.5, 1)
    assert (a1["usage_kwh"], a1["cost"], a1["intervals"]) == (1.0, 1.5, 1)
    assert not a0["is_complete"] and not a1["is_complete"]

    # 90 minutes: 30 in hour 0 (1/3), 60 in hour 1 (2/3).
    b0 = one_row(out, customer_id="b", hour_start=ts(0))
    b1 = one_row(out, customer_id="b", hour_start=ts(60))
    assert b0["usage_kwh"] == pytest.approx(1.0) and b0["cost"] == pytest.approx(2.0)
    assert b1["usage_kwh"] == pytest.approx(2.0) and b1["cost"] == pytest.approx(4.0)
    assert not b0["is_complete"] and b1["is_complete"]


def test_interval_ending_on_the_hour_stays_in_its_hour() -> None:
    out = hourly_usage(priced([("a", 0, 60, 1.0, 0.5), ("a", 60, 1500, 24.0, 12.0)])).collect()
    out = out.sort("hour_start")
    assert out["hour_start"].to_list() == [ts(60 * h) for h in range(25)]
    assert out["intervals"].to_list() == [1] * 25
    assert out["is_complete"].to_list() == [True] * 25
    # The 24-hour interval spreads 1 kWh and 0.5 cost to each hour.
    assert out["usage_kwh"].to_list() == pytest.approx([1.0] * 25)
    assert out["cost"].to_list() == pytest.approx([0.5] * 25)


def test_is_complete_needs_the_whole_hour() -> None:
    full: list[tuple[str, int, int, float, float | None]] = [
        ("full", 5 * i, 5 * i + 5, 0.1 * (i + 1), 0.01 * (i + 1)) for i in range(12)
    ]
    # Same hour with the 00:10-00:15 slot missing.
    holed: list[tuple[str, int, int, float, float | None]] = [
        ("holed", 5 * i, 5 * i + 5, 1.0, 0.5) for i in range(12) if i != 2
    ]
    out = hourly_usage(priced(full + holed)).collect()

    f = one_row(out, customer_id="full")
    assert f["is_complete"] is True
    assert f["intervals"] == 12
    assert f["usage_kwh"] == pytest.approx(0.1 * 78)  # 0.1 * (1 + ... + 12)
    assert f["cost"] == pytest.approx(0.01 * 78)

    h = one_row(out, customer_id="holed")
    assert h["is_complete"] is False
    assert h["intervals"] == 11
    assert h["usage_kwh"] == pytest.approx(11.0)


def test_hour_cost_is_null_if_any_interval_is_unpriced() -> None:
    rows = [("a", 5 * i, 5 * i + 5, 1.0, None if i == 7 else 0.2) for i in range(12)]
    rows.append(("a", 60, 65, 1.0, 0.3))
    out = hourly_usage(priced(rows)).collect()
    h0 = one_row(out, hour_start=ts(0))
    assert h0["cost"] is None
    assert h0["usage_kwh"] == pytest.approx(12.0)
    assert h0["is_complete"] is True
    assert one_row(out, hour_start=ts(60))["cost"] == pytest.approx(0.3)


def test_chain_from_usage_and_prices() -> None:
    # 30-minute usage on a :15 grid against 5-minute prices 0.01 * slot index.
    usage = usage_frame([("a", 15, 45, 6.0), ("a", 45, 75, 6.0), ("a", 75, 105, 6.0)])
    prices = grid_prices(0, 120, 5, [0.01 * i for i in range(24)])
    cpi = cost_per_interval(usage, prices)
    out = hourly_usage(cpi).collect().sort("hour_start")
    # Interval costs: 1 kWh per slot -> 0.01 * (3+..+8), (9+..+14), (15+..+20)
    # = 0.33, 0.69, 1.05. Hour 0 gets 0.33 + 0.69/2, hour 1 gets 0.69/2 + 1.05.
    assert out["cost"].to_list() == pytest.approx([0.33 + 0.345, 0.345 + 1.05], rel=1e-12)
    assert out["usage_kwh"].to_list() == pytest.approx([9.0, 9.0], rel=1e-12)
    assert out["intervals"].to_list() == [2, 2]
    assert out["is_complete"].to_list() == [False, False]


# ------------------------------------------------------- independent DuckDB check


def random_inputs(seed: int = 20240310) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    day = 24 * 60
    rows: list[tuple[str, int, int, float]] = []
    for c in range(300):
        cid = f"C{c:04d}"
        kind = c % 6
        if kind < 3:
            # Plain 5/15/30-minute grid, some customers shifted off the hour.
            step = (5, 15, 30)[kind]
            offset = int(rng.choice([0, 0, 5, 10]))
            bounds = list(range(offset, day + 1, step))
        elif kind == 3:
            # Resolution changes mid-day at a non-hour time.
            switch = int(rng.integers(1, 23)) * 60 + 45
            bounds = list(range(0, switch + 1, 15)) + list(range(switch + 30, day + 1, 30))
        elif kind == 4:
            # 5-minute grid switching to 30-minute intervals on a :15 grid.
            bounds = list(range(0, 12 * 60 + 16, 5)) + list(range(12 * 60 + 45, day + 1, 30))
        else:
            # Irregular lengths, 1 minute to 1 day.
            lengths = rng.choice([1, 5, 7, 15, 30, 45, 60, 90, 200, 1440], size=60)
            bounds = [0, *np.cumsum(lengths).tolist()]
        for s, e in itertools.pairwise(bounds):
            if rng.random() < 0.08:
                continue  # missing reading -> incomplete hours
            kwh = 0.0 if rng.random() < 0.05 else float(rng.uniform(0, 2))
            rows.append((cid, s, e, kwh))
    usage = usage_frame(rows).collect()

    segments = [
        (0, 360, 60),
        (360, 730, 5),
        (745, 750, 5),
        (750, 1080, 30),
        (1080, 1380, 5),
    ]
    price_rows = [
        (s, s + step, float(rng.uniform(-0.2, 0.8))) for lo, hi, step in segments for s in range(lo, hi, step)
    ]
    # Prices arrive unsorted; gaps at 12:10-12:25 and from 23:00 on.
    order = rng.permutation(len(price_rows))
    prices = price_frame([price_rows[i] for i in order]).collect()
    return usage, prices


def naive(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col(pl.Datetime).dt.replace_time_zone(None))


def duckdb_reference(usage: pl.DataFrame, prices: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    con = duckdb.connect()
    con.register("usage", naive(usage).to_arrow())
    con.register("prices", naive(prices).to_arrow())
    # Literal per-row formulation: a range join over all pieces, a left join
    # so unpriced rows survive, and price = cost / usage unless usage is 0.
    cost = con.sql(
        """
        WITH pieces AS (
            SELECT u.customer_id, u.interval_start, u.interval_end, u.usage_kwh,
                   epoch_us(u.interval_end) - epoch_us(u.interval_start) AS len_us,
                   epoch_us(least(u.interval_end, p.interval_end))
                     - epoch_us(greatest(u.interval_start, p.interval_start)) AS ov_us,
                   p.price_per_kwh AS price
            FROM usage u
            LEFT JOIN prices p
              ON p.interval_start < u.interval_end AND p.interval_end > u.interval_start
        ), agg AS (
            SELECT customer_id, interval_start, interval_end, usage_kwh,
                   coalesce(sum(ov_us), 0) = any_value(len_us) AS fully_priced,
                   sum(usage_kwh * (ov_us::DOUBLE / len_us) * price) AS raw_cost,
                   sum((ov_us::DOUBLE / len_us) * price) AS mean_price
            FROM pieces
            GROUP BY ALL
        )
        SELECT customer_id, interval_start, interval_end, usage_kwh,
               CASE WHEN NOT fully_priced THEN NULL
                    WHEN usage_kwh = 0 THEN mean_price
                    ELSE raw_cost / usage_kwh END AS price_per_kwh,
               CASE WHEN fully_priced THEN raw_cost END AS cost
        FROM agg
        """
    ).pl()
    con.register("cpi", cost.to_arrow())
    hourly = con.sql(
        """
        WITH hours AS (
            SELECT unnest(generate_series(
                (SELECT date_trunc('hour', min(interval_start)) FROM cpi),
                (SELECT max(interval_end) FROM cpi),
                INTERVAL 1 HOUR)) AS hour_start
        ), pieces AS (
            SELECT c.customer_id, h.hour_start, c.usage_kwh, c.cost,
                   (epoch_us(least(c.interval_end, h.hour_start + INTERVAL 1 HOUR))
                     - epoch_us(greatest(c.interval_start, h.hour_start))) AS ov_us,
                   epoch_us(c.interval_end) - epoch_us(c.interval_start) AS len_us
            FROM cpi c
            JOIN hours h
              ON h.hour_start < c.interval_end
             AND h.hour_start + INTERVAL 1 HOUR > c.interval_start
        )
        SELECT customer_id, hour_start,
               sum(usage_kwh * ov_us / len_us) AS usage_kwh,
               CASE WHEN count(cost) = count(*) THEN sum(cost * ov_us / len_us) END AS cost,
               count(*) AS intervals,
               sum(ov_us) >= 3600000000 AS is_complete
        FROM pieces
        GROUP BY ALL
        """
    ).pl()
    con.close()
    utc = pl.col(pl.Datetime).dt.replace_time_zone("UTC")
    return cost.with_columns(utc), hourly.with_columns(utc)


def test_matches_duckdb_on_random_data() -> None:
    usage, prices = random_inputs()
    ref_cost, ref_hourly = duckdb_reference(usage, prices)

    got_cost = cost_per_interval(usage.lazy(), prices.lazy()).collect()
    # Exactly the usage rows come back (row order is not part of the contract).
    assert_frame_equal(got_cost.select(usage.columns).sort(usage.columns), usage.sort(usage.columns))
    cost_keys = ["customer_id", "interval_start"]
    assert_frame_equal(
        got_cost.sort(cost_keys),
        ref_cost.select(COST_COLUMNS).sort(cost_keys),
        rel_tol=1e-9,
        abs_tol=1e-12,
    )

    got_hourly = hourly_usage(got_cost.lazy()).collect()
    hour_keys = ["customer_id", "hour_start"]
    assert_frame_equal(
        got_hourly.sort(hour_keys),
        ref_hourly.select(HOURLY_COLUMNS).cast({"intervals": pl.Int64}).sort(hour_keys),
        rel_tol=1e-9,
        abs_tol=1e-12,
    )

    # The lazy chain (one plan, optimised across both functions) agrees.
    chained = hourly_usage(cost_per_interval(usage.lazy(), prices.lazy())).collect()
    assert_frame_equal(chained.sort(hour_keys), got_hourly.sort(hour_keys))

    # Guard against a vacuous comparison: the data must hit every branch.
    assert got_cost.height == usage.height > 10_000
    assert 0 < got_cost["cost"].null_count() < got_cost.height // 4
    assert (got_cost["cost"] < 0).any() and (got_cost["usage_kwh"] == 0).any()
    assert got_hourly["is_complete"].any() and not got_hourly["is_complete"].all()
    assert got_hourly["cost"].null_count() > 0
    crossing = usage.filter(
        pl.col("interval_start").dt.truncate("1h")
        != (pl.col("interval_end") - timedelta(microseconds=1)).dt.truncate("1h")
    )
    assert crossing.height > 1000
