"""A month of real AEMO 5-minute prices (VIC1, January 2025), restated in the energy_prices
contract with +10:00 offsets, goes through the pipeline: nothing quarantined, every negative
price kept, values equal to the source divided by 1000 (AUD/MWh -> AUD/kWh)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from tests.builders import read
from tests.conftest import REAL_DATA, Drop
from warehouse.lake import Lake
from warehouse.stages import land
from warehouse.stages.pipeline import process_pending

AEMO = REAL_DATA / "aemo" / "PRICE_AND_DEMAND_202501_VIC1.csv"
NEM_TIME = dt.timezone(dt.timedelta(hours=10))  # market time: AEST all year


def _contract_rows() -> list[dict[str, str]]:
    rows = []
    with AEMO.open(newline="") as f:
        for rec in csv.DictReader(f):
            # SETTLEMENTDATE is the END of the 5-minute interval.
            end = dt.datetime.strptime(rec["SETTLEMENTDATE"], "%Y/%m/%d %H:%M:%S").replace(tzinfo=NEM_TIME)
            start = end - dt.timedelta(minutes=5)
            rows.append(
                {
                    "intervalStart": start.isoformat(),
                    "intervalEnd": end.isoformat(),
                    "price": repr(float(rec["RRP"]) / 1000),
                }
            )
    return rows


def test_real_aemo_month_lands_whole(lake: Lake, drop: Drop) -> None:
    rows = _contract_rows()
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["intervalStart", "intervalEnd", "price"])
    writer.writeheader()
    writer.writerows(rows)
    drop("energy_prices", "vic1-2025-01.csv", buf.getvalue().encode())
    process_pending(lake)

    log = land.ingest_log(lake, "energy_prices").row(0, named=True)
    assert (log["rows_read"], log["rows_valid"], log["rows_quarantined"]) == (8928, 8928, 0)
    silver = read(lake, "silver.energy_prices").sort("interval_start")
    assert silver.height == 8928
    prices = [float(r["price"]) for r in rows]
    assert int((silver["price_per_kwh"] < 0).sum()) == sum(p < 0 for p in prices) == 2557
    assert silver["price_per_kwh"].min() == pytest.approx(-1.0)
    assert silver["price_per_kwh"].max() == pytest.approx(max(prices))
    assert silver["price_per_kwh"].sum() == pytest.approx(sum(prices))
    # 2025/01/01 00:05 AEST is the end of the first interval: 2024-12-31 14:00 UTC is its start.
    assert silver["interval_start"][0] == dt.datetime(2024, 12, 31, 14, 0, tzinfo=dt.UTC)
    assert (silver["interval_end"] - silver["interval_start"]).dt.total_seconds().unique().to_list() == [300]
    # The UTC days the month spans (Dec 31 14:00 UTC .. Jan 31 14:00 UTC): 32 partitions.
    assert silver["event_date"].n_unique() == 32
