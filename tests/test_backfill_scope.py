"""A backfill rebuilds what its range covers, of the sources asked, and nothing else: other
sources' tables keep their Delta versions, and no calendar gains a date it has no data for. On a
lake with every source, through the library and through `gridlake backfill` (Dagster runs)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from polars.testing import assert_frame_equal

from tests.builders import ENERGY_DAY, SITES_DAY, every_source
from warehouse import delta
from warehouse.lake import Lake
from warehouse.registry import TABLES, table
from warehouse.stages.backfill import UnknownSource, plan
from warehouse.stages.pipeline import backfill, process_pending

GRIDLAKE = str(Path(sys.executable).parent / "gridlake")


def versions(lake: Lake) -> dict[str, int | None]:
    return {name: delta.version(lake, t) for name, t in TABLES.items() if t.layer != "ops"}


def moved(before: dict[str, int | None], after: dict[str, int | None]) -> set[str]:
    return {name for name in before if before[name] != after[name]}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scope") / "lake"
    lake = Lake.from_env(str(root))
    every_source(lake)
    process_pending(lake)
    return root


def copy_of(built: Path, tmp_path: Path) -> Lake:
    import shutil

    shutil.copytree(built, tmp_path / "lake")
    return Lake.from_env(str(tmp_path / "lake"))


def test_the_plan_picks_only_dates_with_data_and_names_registers_only_when_asked(built: Path) -> None:
    lake = Lake.from_env(str(built))
    energy = plan(lake, ENERGY_DAY, ENERGY_DAY + dt.timedelta(days=1))
    assert energy.dated == {
        "customer_usage": [ENERGY_DAY, ENERGY_DAY + dt.timedelta(days=1)],
        "energy_prices": [ENERGY_DAY, ENERGY_DAY + dt.timedelta(days=1)],
    }
    # Completeness spans every contracted source: it is rebuilt for any source's dates.
    assert energy.whole == () and energy.gold_specs == ["usage_cost", "completeness"]
    sites = plan(lake, SITES_DAY, SITES_DAY + dt.timedelta(days=1))
    assert sites.dated == {} and sites.whole == ("site_live_data",)
    assert sites.gold_specs == ["site_daily", "site_latest", "completeness"]
    registers = plan(lake, SITES_DAY, SITES_DAY, ["sites", "parks"])
    assert registers.whole == ("parks", "sites") and registers.dated == {}
    with pytest.raises(UnknownSource, match="unknown source"):
        plan(lake, SITES_DAY, SITES_DAY, ["nope"])


def test_a_library_backfill_of_energy_dates_leaves_every_other_source_alone(built: Path, tmp_path: Path) -> None:
    lake = copy_of(built, tmp_path)
    before = versions(lake)
    report = backfill(lake, ENERGY_DAY, ENERGY_DAY + dt.timedelta(days=1))
    assert set(report.refined) == {"customer_usage", "energy_prices"}
    assert set(report.gold) == {"usage_cost", "completeness"}
    assert moved(before, versions(lake)) <= {
        "silver.customer_usage", "quarantine.customer_usage", "silver.energy_prices", "quarantine.energy_prices",
        "gold.cost_per_interval", "gold.hourly_usage", "gold.completeness", "gold.gaps",
    }  # fmt: skip
    only_usage = versions(lake)
    backfill(lake, ENERGY_DAY, ENERGY_DAY, sources=["customer_usage"])
    assert "silver.energy_prices" not in moved(only_usage, versions(lake))


def test_a_site_backfill_rebuilds_site_gold_for_its_dates_only(built: Path, tmp_path: Path) -> None:
    lake = copy_of(built, tmp_path)
    before = versions(lake)
    daily = delta.scan(lake, table("gold.site_daily_stats")).collect()
    report = backfill(lake, SITES_DAY, SITES_DAY + dt.timedelta(days=1))
    assert sorted(d for d in report.gold_dates("site_daily") if d) == [SITES_DAY, SITES_DAY + dt.timedelta(days=1)]
    assert moved(before, versions(lake)) <= {
        "silver.site_live_data", "quarantine.site_live_data", "gold.site_daily_stats", "gold.site_latest",
        "gold.completeness", "gold.gaps",
    }  # fmt: skip
    # The same values (float sums to 1e-9: rows may add up in another order).
    after = delta.scan(lake, table("gold.site_daily_stats")).collect().sort("site_id", "date")
    assert_frame_equal(after, daily.sort("site_id", "date"), check_exact=False, rel_tol=1e-9)


@pytest.mark.e2e
def test_gridlake_backfill_adds_no_calendar_dates_and_runs_no_other_source(built: Path, tmp_path: Path) -> None:
    lake = copy_of(built, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "GRIDLAKE_"))}
    env |= {"DAGSTER_HOME": str(tmp_path / "home"), "GRIDLAKE_ROOT": lake.root}
    before = versions(lake)
    out = subprocess.run(
        [GRIDLAKE, "backfill", "--start", "2020-08-05", "--end", "2020-08-06"],
        env=env, capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.splitlines()[0] == (
        "backfill 2020-08-05..2020-08-06: 2 date(s) of customer_usage, energy_prices; gold: usage_cost, completeness"
    )
    labels = [line.split(None, 1)[1] for line in out.stdout.splitlines() if line.startswith("ok")]
    assert len(labels) == len(set(labels)), labels  # each run's line once
    expected = ("refine customer_usage", "refine energy_prices", "gold usage_cost", "gold completeness", "publish")
    assert all(label.startswith(expected) for label in labels), labels
    assert moved(before, versions(lake)) <= {
        "silver.customer_usage", "quarantine.customer_usage", "silver.energy_prices", "quarantine.energy_prices",
        "gold.cost_per_interval", "gold.hourly_usage", "gold.completeness", "gold.gaps",
    }  # fmt: skip
    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        for calendar in ("parks", "sites", "coins", "solar"):
            assert instance.get_dynamic_partitions(calendar) == [], calendar
        assert instance.get_dynamic_partitions("energy") == ["2020-08-05", "2020-08-06"]
        # Refine runs carry usage_cost's gold; a gold run of it only for what they left queued.
        jobs = {r.job_name for r in instance.get_runs()}
        required = {f"gridlake_backfill__{w}" for w in ("refine_customer_usage", "refine_energy_prices", "publish")}
        optional = {"gridlake_backfill__gold_usage_cost", "gridlake_backfill__gold_completeness"}
        assert required <= jobs <= required | optional, jobs
    bad = subprocess.run(
        [GRIDLAKE, "backfill", "--start", "2020-08-05", "--end", "2020-08-06", "--source", "nope"],
        env=env, capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert bad.returncode == 2 and "unknown source(s) nope" in bad.stderr, bad.stderr
