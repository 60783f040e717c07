"""Synthetic customer_usage / energy_prices files, decoded with the standard library only."""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from warehouse.generate import prices as prices_mod
from warehouse.generate import usage as usage_mod
from warehouse.generate.encode import encode, extension
from warehouse.generate.prices import generate_prices
from warehouse.generate.usage import generate_usage

DAY = date(2020, 8, 5)  # a Wednesday
TS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
FIVE = timedelta(minutes=5)


def decode(name: str, data: bytes) -> list[dict]:
    """Parse one generated file from its name alone, independently of the generator code."""
    if name.endswith(".gz"):
        data = gzip.decompress(data)
        name = name[:-3]
    text = data.decode("utf-8")
    if name.endswith(".csv"):
        return list(csv.DictReader(io.StringIO(text)))
    if name.endswith(".ndjson"):
        return [json.loads(line) for line in text.splitlines() if line]
    assert name.endswith(".json")
    records = json.loads(text)
    assert isinstance(records, list)
    return records


def typed(record: dict) -> dict:
    """CSV cells are text; JSON values are numbers. Bring both to the same Python types."""
    out = dict(record)
    if "customerId" in out:
        out["customerId"] = int(out["customerId"])
    for key in ("usage", "price"):
        if key in out:
            out[key] = float(out[key])
    return out


def records(files: list[tuple[str, bytes]]) -> list[dict]:
    return [typed(r) for name, data in files for r in decode(name, data)]


def ts(text: str) -> datetime:
    assert text.endswith("Z")
    return datetime.strptime(text, TS_FORMAT).replace(tzinfo=UTC)


def day_start(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


# ---------------------------------------------------------------- encode


def test_extension() -> None:
    assert extension("csv", False) == ".csv"
    assert extension("json", False) == ".json"
    assert extension("ndjson", True) == ".ndjson.gz"
    with pytest.raises(ValueError):
        extension("parquet", False)  # type: ignore[arg-type]


def test_encode_formats_and_plain_numbers() -> None:
    frame = pl.DataFrame({"customerId": [1, 2], "usage": [-0.0, 0.0001]})
    # CSV never switches to scientific notation; whole numbers lose their ".0" there.
    assert encode(frame, "csv", False) == b"customerId,usage\n1,0\n2,0.0001\n"
    assert encode(frame, "ndjson", False) == b'{"customerId":1,"usage":0.0}\n{"customerId":2,"usage":0.0001}\n'
    assert json.loads(encode(frame, "json", False)) == [
        {"customerId": 1, "usage": 0.0},
        {"customerId": 2, "usage": 0.0001},
    ]
    for fmt in ("csv", "json", "ndjson"):
        assert gzip.decompress(encode(frame, fmt, True)) == encode(frame, fmt, False)


# ---------------------------------------------------------------- usage


def test_usage_hourly_counts_names_and_grid() -> None:
    customers = 4
    files = list(generate_usage(customers, DAY, 2, per="hour", seed=1))
    assert len(files) == 48 == usage_mod.count_files(customers, DAY, 2, per="hour", seed=1)
    names = [name for name, _ in files]
    assert names[0] == "customer_usage/usage_2020-08-05T00-00.csv"
    assert names[23] == "customer_usage/usage_2020-08-05T23-00.csv"
    assert names[24] == "customer_usage/usage_2020-08-06T00-00.csv"
    assert names == sorted(names) and len(set(names)) == len(names)

    by_customer: dict[int, list[datetime]] = defaultdict(list)
    for name, data in files:
        rows = [typed(r) for r in decode(name, data)]
        assert len(rows) == customers * 12  # 12 five-minute intervals per hour
        hour_start = datetime.strptime(name.split("_")[-1][:-4], "%Y-%m-%dT%H-%M").replace(tzinfo=UTC)
        for row in rows:
            start, end = ts(row["intervalStart"]), ts(row["intervalEnd"])
            assert end - start == FIVE
            assert hour_start <= start < hour_start + timedelta(hours=1)
            assert row["usage"] >= 0.0
            by_customer[row["customerId"]].append(start)

    assert sorted(by_customer) == [1, 2, 3, 4]
    expected = [day_start(DAY) + i * FIVE for i in range(2 * 288)]
    for starts in by_customer.values():
        assert sorted(starts) == expected


def test_usage_interval_and_day_naming() -> None:
    per_interval = [name for name, _ in generate_usage(1, DAY, 1, per="interval")]
    assert len(per_interval) == 288 == usage_mod.count_files(1, DAY, 1, per="interval")
    assert per_interval[:2] == [
        "customer_usage/usage_2020-08-05T00-00.csv",
        "customer_usage/usage_2020-08-05T00-05.csv",
    ]
    assert per_interval[-1] == "customer_usage/usage_2020-08-05T23-55.csv"

    per_day = [name for name, _ in generate_usage(1, DAY, 3, per="day", fmt="ndjson", gzip=True)]
    assert per_day == [
        "customer_usage/usage_2020-08-05.ndjson.gz",
        "customer_usage/usage_2020-08-06.ndjson.gz",
        "customer_usage/usage_2020-08-07.ndjson.gz",
    ]
    assert usage_mod.count_files(1, DAY, 3, per="day") == 3


def test_usage_same_values_whatever_the_file_split() -> None:
    day = records(list(generate_usage(3, DAY, 1, per="day", seed=7)))
    hourly = records(list(generate_usage(3, DAY, 1, per="hour", seed=7)))
    interval = records(list(generate_usage(3, DAY, 1, per="interval", seed=7)))
    assert len(day) == 3 * 288
    assert day == hourly == interval


def test_usage_formats_parse_to_same_records() -> None:
    decoded = {
        (fmt, gz): records(list(generate_usage(5, DAY, 1, per="day", fmt=fmt, gzip=gz, seed=3)))
        for fmt in ("csv", "json", "ndjson")
        for gz in (False, True)
    }
    reference = decoded[("csv", False)]
    assert len(reference) == 5 * 288
    for value in decoded.values():
        assert value == reference
    assert list(reference[0]) == ["customerId", "intervalStart", "intervalEnd", "usage"]


def test_usage_numbers_are_plain_and_rounded() -> None:
    ((name, data),) = generate_usage(50, DAY, 1, per="day", seed=2)
    for row in decode(name, data):
        text = row["usage"]
        assert "e" not in text.lower() and not text.startswith("-")
        assert len(text.partition(".")[2]) <= 4


def test_usage_deterministic_per_seed() -> None:
    a = list(generate_usage(20, DAY, 1, per="hour", seed=11))
    b = list(generate_usage(20, DAY, 1, per="hour", seed=11))
    c = list(generate_usage(20, DAY, 1, per="hour", seed=12))
    assert a == b
    gz = list(generate_usage(20, DAY, 1, per="hour", fmt="ndjson", gzip=True, seed=11))
    assert gz == list(generate_usage(20, DAY, 1, per="hour", fmt="ndjson", gzip=True, seed=11))
    assert [n for n, _ in a] == [n for n, _ in c]
    assert all(x != y for (_, x), (_, y) in zip(a, c, strict=True))


def test_usage_customer_offset_keeps_customer_values() -> None:
    # Customers 3..5 generated as their own batch match the same customers in a 1..5 batch.
    full = records(list(generate_usage(5, DAY, 1, per="day", seed=4)))
    files = list(generate_usage(3, DAY, 1, per="day", seed=4, first_customer=3))
    assert files[0][0] == "customer_usage/usage_2020-08-05_c3.csv"
    part = records(files)
    assert part == [r for r in full if r["customerId"] >= 3]


def test_usage_profile_is_realistic() -> None:
    # 200 customers over a weekday and a Saturday, aggregated by hand per hour of day.
    rows = records(list(generate_usage(200, DAY, 4, per="day", seed=5)))
    kwh: dict[tuple[str, int], float] = defaultdict(float)
    per_customer_day: dict[tuple[int, str], float] = defaultdict(float)
    for r in rows:
        kwh[(r["intervalStart"][:10], int(r["intervalStart"][11:13]))] += r["usage"]
        per_customer_day[(r["customerId"], r["intervalStart"][:10])] += r["usage"]
    wed, sat = "2020-08-05", "2020-08-08"
    assert kwh[(wed, 19)] > 2.5 * kwh[(wed, 3)]  # evening peak vs night trough
    assert kwh[(wed, 7)] > 1.5 * kwh[(wed, 3)]  # morning ramp
    assert kwh[(sat, 7)] < kwh[(wed, 7)]  # later mornings at weekends
    daily = sorted(per_customer_day.values())
    median = daily[len(daily) // 2]
    assert 5.0 < median < 40.0  # typical household kWh per day
    assert daily[0] > 0.0 and len(set(daily)) > len(daily) // 2  # customers genuinely differ


def test_usage_other_interval_length() -> None:
    files = list(generate_usage(2, DAY, 1, per="hour", interval_minutes=15))
    rows = records(files)
    assert len(files) == 24 and len(rows) == 2 * 96
    assert all(ts(r["intervalEnd"]) - ts(r["intervalStart"]) == timedelta(minutes=15) for r in rows)


def test_usage_rejects_bad_arguments_eagerly() -> None:
    with pytest.raises(ValueError):
        generate_usage(1, DAY, 1, interval_minutes=7)
    with pytest.raises(ValueError):
        generate_usage(1, DAY, 1, per="hour", interval_minutes=90)
    with pytest.raises(ValueError):
        generate_usage(0, DAY, 1)
    with pytest.raises(ValueError):
        usage_mod.count_files(1, DAY, 1, per="week")  # type: ignore[arg-type]


# ---------------------------------------------------------------- prices


def test_prices_daily_files_grid_and_bounds() -> None:
    files = list(generate_prices(DAY, 7, seed=0))
    assert [n for n, _ in files][:2] == [
        "energy_prices/prices_2020-08-05.csv",
        "energy_prices/prices_2020-08-06.csv",
    ]
    assert len(files) == 7 == prices_mod.count_files(DAY, 7)
    rows = records(files)
    assert list(rows[0]) == ["intervalStart", "intervalEnd", "price"]
    assert [ts(r["intervalStart"]) for r in rows] == [day_start(DAY) + i * FIVE for i in range(7 * 288)]
    assert all(ts(r["intervalEnd"]) - ts(r["intervalStart"]) == FIVE for r in rows)
    values = [r["price"] for r in rows]
    assert all(abs(v) <= 20.0 for v in values)
    assert min(values) < 0.0  # midday solar surplus drives some prices negative
    negatives = [r for r in rows if r["price"] < 0.0]
    assert all(9 <= int(r["intervalStart"][11:13]) <= 16 for r in negatives)
    ordered = sorted(values)
    assert 0.02 < ordered[len(ordered) // 2] < 0.2  # typical price per kWh
    assert ordered[int(len(ordered) * 0.9)] < 0.4


def test_prices_shape_has_evening_peak() -> None:
    rows = records(list(generate_prices(DAY, 28, seed=1)))
    by_hour: dict[int, list[float]] = defaultdict(list)
    for r in rows:
        by_hour[int(r["intervalStart"][11:13])].append(r["price"])
    mean = {h: sum(v) / len(v) for h, v in by_hour.items()}
    assert mean[19] > mean[3] and mean[19] > mean[13]
    assert mean[8] > mean[3]


def test_prices_granularity_and_formats() -> None:
    hourly = list(generate_prices(DAY, 1, per="hour", fmt="json", seed=2))
    assert len(hourly) == 24 == prices_mod.count_files(DAY, 1, per="hour")
    assert hourly[13][0] == "energy_prices/prices_2020-08-05T13-00.json"
    interval = list(generate_prices(DAY, 1, per="interval", fmt="ndjson", gzip=True, seed=2))
    assert len(interval) == 288 and interval[1][0] == "energy_prices/prices_2020-08-05T00-05.ndjson.gz"
    assert all(len(decode(n, d)) == 1 for n, d in interval)
    day = records(list(generate_prices(DAY, 1, seed=2)))
    assert records(hourly) == records(interval) == day


def test_prices_deterministic_per_seed() -> None:
    a = list(generate_prices(DAY, 2, seed=9))
    assert a == list(generate_prices(DAY, 2, seed=9))
    assert all(x != y for (_, x), (_, y) in zip(a, generate_prices(DAY, 2, seed=10), strict=True))
    # A day's prices do not depend on where the requested range starts.
    later = records(list(generate_prices(DAY + timedelta(days=1), 1, seed=9)))
    assert later == records(a[1:])


def test_prices_numbers_plain() -> None:
    # Seven days so negative prices are among the values checked.
    texts = [r["price"] for n, d in generate_prices(DAY, 7, seed=0) for r in decode(n, d)]
    assert any(t.startswith("-") for t in texts)
    for text in texts:
        assert "e" not in text.lower() and text not in ("-0", "-0.0")
        assert len(text.partition(".")[2]) <= 5
