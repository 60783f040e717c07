"""A date refined in many pieces (a tiny memory budget) gives the same silver, quarantine, counts,
ingest log and gold as the same date refined whole: bad rows, duplicates within and across files,
conflicting duplicates split over the batches of a file, a too-precise timestamp beside the
reading it would be cut to, later files superseding earlier ones, and a mostly-bad date held back
by its blocking share check."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import polars as pl
import pytest

from tests.builders import drop_into, prices_json, snapshot, ts, usage_csv
from warehouse.datasets import dataset
from warehouse.lake import Lake
from warehouse.stages import pieces
from warehouse.stages.pipeline import process_pending

CUSTOMERS = 60
OTHER = "2020-08-06"


def files() -> list[tuple[str, str, bytes]]:
    rng = random.Random(3)
    out = []
    for hour in range(24):
        rows: list[tuple] = []
        for c in range(CUSTOMERS):
            for m in range(hour * 60, hour * 60 + 60, 5):
                rows.append((c, ts(m), ts(m + 5), round(rng.random(), 4)))
        # Bad rows of several kinds, an exact repeat, and a conflicting pair far apart in the file.
        rows += [(None, ts(hour * 60), ts(hour * 60 + 5), 1.0), (7, "later", ts(hour * 60 + 5), 1.0)]
        rows += [(8, ts(hour * 60), ts(hour * 60 + 5), -1.0), rows[3]]
        rows.insert(0, (9, ts(hour * 60 + 1), ts(hour * 60 + 6), 2.0))
        rows.append((9, ts(hour * 60 + 1), ts(hour * 60 + 6), 3.0))
        # A start finer than the microsecond: quarantined by its own rule, not a conflict of
        # customer 11's reading it would be cut to (which stays in silver).
        rows.append((11, ts(hour * 60).replace("Z", ".0000001Z"), ts(hour * 60 + 5), 9.0))
        out.append(("customer_usage", f"usage_{hour:02d}.csv", usage_csv(rows)))
    # A later file correcting some values (superseded) and repeating others (duplicate).
    resent = [(c, ts(m), ts(m + 5), 5.0 if c % 2 else None) for c in range(10) for m in range(0, 120, 5)]
    out.append(("customer_usage", "usage_resent.csv", usage_csv([(c, s, e, u or 0.5) for c, s, e, u in resent])))
    # A mostly-bad second date: held back from gold by its blocking check, in both runs.
    bad_day = [(1, ts(0, OTHER), ts(5, OTHER), 1.0)] + [(2, ts(m, OTHER), ts(m + 5, OTHER), "x") for m in range(5)]
    out.append(("customer_usage", "bad_day.csv", usage_csv(bad_day)))
    out.append(("energy_prices", "prices.json", prices_json([(m, m + 5, 0.1 + m / 10_000) for m in range(0, 1440, 5)])))
    return out


def test_a_date_refined_in_pieces_equals_the_date_refined_whole(tmp_path: Path) -> None:
    whole = Lake.from_env(str(tmp_path / "whole"))
    split = dataclasses.replace(Lake.from_env(str(tmp_path / "split")), memory_mb=451)
    assert split.piece_rows < 2_000 < whole.piece_rows
    for lake in (whole, split):
        for source, name, data in files():
            drop_into(lake, source, name, data)
        # Land the resent file last, in its own run: it must win over the hourly files.
        report = process_pending(lake)
        assert report.landed
    ds = dataset("customer_usage")
    day = pl.Series([ts(0)]).str.to_date("%Y-%m-%dT%H:%M:%SZ")[0]
    assert pieces.wanted(split, ds, (day,)) and not pieces.wanted(whole, ds, (day,))

    a, b = snapshot(whole), snapshot(split)
    assert a.keys() == b.keys()
    for name in a:
        if name.startswith("gold."):
            # Sums may add up in another order: equal to float precision.
            assert a[name].columns == b[name].columns, name
            assert a[name].height == b[name].height, name
            for column in a[name].columns:
                left, right = a[name][column], b[name][column]
                if left.dtype == pl.Float64:
                    assert left.is_null().equals(right.is_null()), (name, column)
                    assert left.drop_nulls().to_list() == pytest.approx(right.drop_nulls().to_list(), rel=1e-12)
                else:
                    assert left.equals(right), (name, column)
        else:
            assert a[name].equals(b[name]), name
    silver = a["silver.customer_usage"]
    # Customer 8's reading at each full hour conflicts with the bad -1.0 row for the same key in the
    # same file, so both go (24 readings); the resent file brings back hours 0 and 1; the second
    # date has one good row.
    assert silver.height == CUSTOMERS * 288 - 24 + 2 + 1
    quarantine = a["quarantine.customer_usage"]
    assert {r for rules in quarantine["failed_rules"].to_list() for r in rules} == {
        "customer_id_present",
        "interval_start_parseable",
        "usage_within_bounds",
        "usage_numeric",
        "no_conflicting_duplicate",
        "timestamp_within_microseconds",
    }
    assert quarantine.filter(pl.col("failed_rules").list.contains("timestamp_within_microseconds")).height == 24
    counts = a["ops.file_counts"]
    assert counts["superseded"].sum() > 0 and counts["duplicate"].sum() > 0
    assert a["gold.cost_per_interval"].filter(pl.col("date") == pl.lit(OTHER).str.to_date()).is_empty()
