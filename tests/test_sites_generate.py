"""The synthetic site files parse through the site transforms, pass their suites, look like battery
sites (soc moves within 0-100, notifications fire now and then) and, through the pipeline, build
silver and gold in which site 1's battery changes."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from expectations import site_configurations, site_live_data, sites
from expectations.runner import validate
from tests.conftest import Drop
from transforms import history
from transforms.sites import explode_site_live_data, prepare_site_configurations, prepare_sites
from warehouse import delta
from warehouse.datasets import LatestWins, dataset
from warehouse.generate.sites import generate_sites
from warehouse.lake import Lake
from warehouse.reader import read_file
from warehouse.registry import table
from warehouse.stages.pipeline import process_pending

START = date(2024, 3, 1)
SITES, DAYS = 3, 4


def bronze(files: list[tuple[str, bytes]], folder: str) -> pl.LazyFrame:
    frames = []
    for i, (path, data) in enumerate(p for p in files if p[0].startswith(folder + "/")):
        chunk = pl.concat([c.frame for c in read_file(io.BytesIO(data), path)], how="diagonal")
        frames.append(
            chunk.with_columns(
                _source_file=pl.lit(f"landing/{path}"),
                _file_hash=pl.lit(hashlib.sha256(data).hexdigest()),
                _ingested_at=pl.lit(datetime(2024, 6, 1, tzinfo=UTC) + timedelta(minutes=i)).cast(
                    pl.Datetime("us", "UTC")
                ),
                _run_id=pl.lit("test"),
            )
        )
    return pl.concat(frames, how="diagonal").lazy()


@pytest.fixture(scope="module")
def files() -> list[tuple[str, bytes]]:
    return list(generate_sites(SITES, START, DAYS, seed=7))


@pytest.fixture(scope="module")
def pipeline(files: list[tuple[str, bytes]]) -> dict[str, pl.DataFrame]:
    prepared_sites = prepare_sites(bronze(files, "sites")).collect()
    # Silver sites as refine builds it: the dataset's latest-wins keys and values.
    strategy = dataset("sites").silver
    assert isinstance(strategy, LatestWins)
    fates = history.latest_wins(prepared_sites.lazy(), strategy.keys, strategy.values)
    register = fates.filter(pl.col("_fate") == history.KEPT)
    configs = prepare_site_configurations(bronze(files, "site_configurations"), sites=register).collect()
    live = explode_site_live_data(bronze(files, "site_live_data"), sites=register).collect()
    return {"sites": prepared_sites, "register": register.collect(), "configs": configs, "live": live}


def test_layout_and_determinism(files: list[tuple[str, bytes]]) -> None:
    assert [path for path, _ in files] == [
        "sites/sites.json",
        "site_configurations/2024-03-01.json",
        "site_configurations/2024-03-03-site-1.json",
        "site_live_data/2024-03-01.json",
        "site_live_data/2024-03-02.json",
        "site_live_data/2024-03-03.json",
        "site_live_data/2024-03-04.json",
    ]
    assert list(generate_sites(SITES, START, DAYS, seed=7)) == files
    assert list(generate_sites(SITES, START, DAYS, seed=8)) != files
    initial = json.loads(files[1][1])
    # Both configuration forms are exercised.
    assert {"battery" in record for record in initial} == {True, False}
    with pytest.raises(ValueError, match="at least one site"):
        list(generate_sites(0, START, 1))


def test_generated_files_pass_every_suite(pipeline: dict[str, pl.DataFrame]) -> None:
    for frame, suite in (
        (pipeline["sites"], sites.SUITE),
        (pipeline["configs"], site_configurations.SUITE),
        (pipeline["live"], site_live_data.SUITE),
    ):
        result = validate(frame, suite)
        assert result.quarantined_count == 0, suite.name
        assert result.blocking_failures == [], suite.name
    live = pipeline["live"]
    assert live.height == SITES * DAYS * 144
    assert live["site_known"].all()
    assert pipeline["configs"]["site_known"].all()
    assert sorted(pipeline["register"]["site_id"].to_list()) == ["1", "2", "3"]


def test_generated_readings_look_like_battery_sites(pipeline: dict[str, pl.DataFrame]) -> None:
    live = pipeline["live"].sort("site_id", "dt_stamp")
    # 10-minute grid in UTC, whatever stamp form a site uses.
    steps = live.group_by("site_id").agg(pl.col("dt_stamp").diff().drop_nulls().unique())
    assert all(s == [timedelta(minutes=10)] for s in steps["dt_stamp"].to_list())
    assert live["dt_stamp"].min() == datetime(2024, 3, 1, tzinfo=UTC)
    assert live["dt_stamp"].max() == datetime(2024, 3, 4, 23, 50, tzinfo=UTC)
    per_site = live.group_by("site_id").agg(
        soc_std=pl.col("soc").std(),
        soc_changes=(pl.col("soc").diff() != 0).sum(),
        notifications=pl.sum_horizontal(pl.col("pv_notification", "bio_notification", "cro_notification")).sum(),
    )
    assert (per_site["soc_std"] > 1).all()
    assert (per_site["soc_changes"] > 50).all()
    assert live["soc"].is_between(0, 100).all()
    assert (live["net_load_kwh"] >= 0).all() and (live["load_kwh"] > 0).all()
    # Now and then: some notifications, but far from every reading.
    assert 0 < per_site["notifications"].sum() < live.height * 0.05
    # soc moves with load and net load: while the battery discharges (soc falls) it supplies part
    # of the load, so the grid import (net load) is at most the load.
    falling = live.filter(pl.col("soc").diff().over("site_id") < 0)
    assert falling.height > 0
    assert (falling["net_load_kwh"] <= falling["load_kwh"]).all()


def read(lake: Lake, name: str) -> pl.DataFrame:
    return delta.scan(lake, table(name)).collect()


def test_generated_files_build_silver_and_gold(
    files: list[tuple[str, bytes]], pipeline: dict[str, pl.DataFrame], lake: Lake, drop: Drop
) -> None:
    for path, data in files:
        source, name = path.split("/", 1)
        drop(source, name, data)
    process_pending(lake)
    for source in ("sites", "site_configurations", "site_live_data"):
        assert read(lake, f"quarantine.{source}").is_empty(), source
    assert read(lake, "silver.site_live_data").height == SITES * DAYS * 144

    configurations = read(lake, "silver.site_configurations")
    site1 = configurations.filter(pl.col("site_id") == "1").sort("valid_from")
    change = datetime(2024, 3, 3, tzinfo=UTC)
    assert site1.select("valid_from", "valid_to", "is_current").rows() == [
        (datetime(2024, 3, 1, tzinfo=UTC), change, False),
        (change, None, True),
    ]
    old_capacity, new_capacity = site1["battery_capacity_kwh"].to_list()
    assert new_capacity == 2 * old_capacity
    assert configurations.filter(pl.col("site_id") != "1")["is_current"].to_list() == [True, True]

    latest = read(lake, "gold.site_latest").sort("site_id")
    assert latest["site_id"].to_list() == ["1", "2", "3"]
    assert latest["dt_stamp"].to_list() == [datetime(2024, 3, 4, 23, 50, tzinfo=UTC)] * 3
    assert latest.filter(pl.col("site_id") == "1")["battery_capacity_kwh"].item() == new_capacity

    stats = read(lake, "gold.site_daily_stats")
    assert stats.height == SITES * DAYS
    assert (stats["readings"] == 144).all()
    capacities = stats.filter(pl.col("site_id") == "1").sort("date")["battery_capacity_kwh"].to_list()
    assert capacities == [old_capacity, old_capacity, new_capacity, new_capacity]
    # Daily sums agree with the readings.
    raw = pipeline["live"].filter(pl.col("site_id") == "2", pl.col("dt_stamp").dt.date() == date(2024, 3, 2))
    day = stats.filter(pl.col("site_id") == "2", pl.col("date") == date(2024, 3, 2))
    assert day["load_kwh"].item() == pytest.approx(raw["load_kwh"].sum())
    assert day["soc_max"].item() == raw["soc"].max()
