"""`gridlake maintain`: retention purges raw coin rows without changing a gold value, rows and dates
behind the horizon stay frozen (late samples quarantined, backfills leave them alone), compaction
and vacuum keep every table's content, vacuum refuses a short retention unless forced, and time
travel reads an earlier version."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tests.builders import COIN_T0, assert_gold_matches_silver, epoch, expected_volatility, js, rec, with_settings
from tests.conftest import Drop
from warehouse import catalog, delta, retention
from warehouse import maintain as maintenance
from warehouse.generate.coins import walk
from warehouse.lake import Lake
from warehouse.maintain import RetentionTooShort, files_per_partition, maintain
from warehouse.registry import TABLES, table
from warehouse.stages import land
from warehouse.stages.pipeline import PipelineReport, backfill, land_all, process_pending, refine_pending

DAYS = [COIN_T0.date() + dt.timedelta(days=i) for i in range(4)]
PAIRS = [f"p{i}/usd" for i in range(4)]


def read(lake: Lake, name: str) -> pl.DataFrame:
    return delta.scan(lake, table(name)).collect()


def gold(lake: Lake) -> pl.DataFrame:
    return read(lake, "gold.coin_volatility").sort("pair", "time")


def four_days(lake: Lake, drop: Drop, runs: int = 1) -> None:
    """4 pairs, a sample every 30 minutes for 4 days, in files of 6 hours; landed in `runs` runs."""
    prices = walk(4, 4 * 1440, seed=5)
    files: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for m in range(0, 4 * 1440, 30):
        files[m // 360] += [rec(p, epoch(m), float(prices[m, i])) for i, p in enumerate(PAIRS)]
    per_run = -(-len(files) // runs)
    for i, (k, records) in enumerate(sorted(files.items())):
        drop("coin_prices", f"prices_{k:02d}.json", js(records))
        if (i + 1) % per_run == 0 or i == len(files) - 1:
            process_pending(lake)


def dates_of(lake: Lake, name: str) -> list[dt.date]:
    return sorted(delta.partition_dates(lake, table(name)))


def test_purge_keeps_every_gold_row_and_freezes_what_lies_behind_the_horizon(lake: Lake, drop: Drop) -> None:
    four_days(lake, drop)
    before = gold(lake)
    assert_gold_matches_silver(lake)

    report = maintain(lake, run_id="test")
    purged = {a.table_name: a for a in report.of("purge")}
    # Newest sample: day 4, 23:30; minus 2 days is day 2: day 1 goes.
    assert {a.horizon for a in purged.values()} == {DAYS[1]}
    assert purged["silver.coin_prices"].rows_removed == 48 * 4
    assert purged["bronze.coin_prices"].rows_removed == 48 * 4
    assert dates_of(lake, "silver.coin_prices") == DAYS[1:]
    assert dates_of(lake, "bronze.coin_prices") == DAYS[1:]
    assert retention.horizon(lake, "coin_prices") == DAYS[1]
    assert gold(lake).equals(before)
    recorded = read(lake, "ops.maintenance").filter(pl.col("action") == "purge")
    assert sorted(recorded["table_name"].to_list()) == ["bronze.coin_prices", "silver.coin_prices"]
    # A second run has nothing new to purge.
    assert not maintain(lake).of("purge")

    # A late sample for the purged day is quarantined; one for the horizon day lands, and only
    # gold after the horizon (whose windows have their whole history) is rebuilt.
    drop("coin_prices", "late.json", js([rec("p0/usd", epoch(60 + 1), 1.0), rec("p1/usd", epoch(1440 + 61), 2.0)]))
    process_pending(lake)
    quarantined = read(lake, "quarantine.coin_prices")
    assert quarantined.select("pair", "failed_rules").rows() == [("p0/usd", ["event_date_in_range"])]
    after = gold(lake)
    old = pl.col("date") <= DAYS[1]
    assert after.filter(old).equals(before.filter(old))
    assert not after.filter(~old).equals(before.filter(~old))
    expected = assert_gold_matches_silver_after(lake, DAYS[2])
    assert expected > 0

    # A backfill over every day rebuilds nothing behind the horizon, and every file still reconciles.
    backfill(lake, DAYS[0], DAYS[-1])
    assert gold(lake).filter(old).equals(before.filter(old))
    log = land.ingest_log(lake, "coin_prices")
    counts = read(lake, "ops.file_counts").group_by("file_hash").agg(pl.col("rows").sum())
    joined = log.join(counts, on="file_hash")
    assert joined.height == log.height
    assert (joined["rows_read"] == joined["rows"]).all()
    assert (log["rows_read"] == log["rows_valid"] + log["rows_quarantined"]).all()


def assert_gold_matches_silver_after(lake: Lake, first: dt.date) -> int:
    """Gold from `first` on equals the independent computation over silver (which holds every
    window those dates need); returns the rows compared."""

    silver = read(lake, "silver.coin_prices")
    expected = expected_volatility(list(silver.select("pair", "time", "value").iter_rows()))
    rows = gold(lake).filter(pl.col("date") >= first)
    for pair, time, _value, std, mean, n, rank, _date in rows.iter_rows():
        want_n, want_mean, want_std, want_rank = expected[(pair, time)]
        assert (n, rank) == (want_n, want_rank)
        assert mean == pytest.approx(want_mean, rel=1e-12)
        assert std == pytest.approx(want_std, rel=1e-7)
    return rows.height


def test_the_horizon_waits_for_dates_still_to_be_refined(
    lake: Lake, drop: Drop, monkeypatch: pytest.MonkeyPatch
) -> None:
    four_days(lake, drop)
    # Landed, not refined: a sample for day 1.
    drop("coin_prices", "pending.json", js([rec("p0/usd", epoch(120 + 1), 3.0)]))
    land_all(lake, "test", PipelineReport())
    lake = with_settings(lake, coin_retention="1d")
    report = maintain(lake)
    assert {a.horizon for a in report.of("purge")} == {DAYS[0]}
    assert dates_of(lake, "silver.coin_prices") == DAYS
    process_pending(lake)
    # Now nothing holds it back: one day of retention keeps day 3 and day 4.
    assert {a.horizon for a in maintain(lake).of("purge")} == {DAYS[2]}
    assert dates_of(lake, "silver.coin_prices") == DAYS[2:]


def test_the_horizon_waits_for_rollups_not_built_yet_and_says_so(lake: Lake, drop: Drop) -> None:
    four_days(lake, drop)
    # A late sample for day 2, refined but not rolled up: volatility of day 2 (and 3) is queued.
    drop("coin_prices", "late.json", js([rec("p0/usd", epoch(1440 + 7), 3.0)]))
    report = PipelineReport()
    land_all(lake, "test", report)
    refine_pending(lake, "test", report)
    lake = with_settings(lake, coin_retention="1d")
    done = maintain(lake)
    # The window alone would keep only days 3 and 4; day 2's volatility still reads day 1 and 2.
    assert {a.horizon for a in done.of("purge")} == {DAYS[0]}
    [held] = done.of("hold")
    assert (held.table_name, held.horizon) == ("silver.coin_prices", DAYS[0])
    assert held.note is not None
    assert f"rows before {DAYS[2]} are past retention" in held.note
    assert f"gold.coin_volatility (reads from {DAYS[0]})" in held.note
    assert f"gold.completeness (reads from {DAYS[0]})" in held.note
    recorded = read(lake, "ops.maintenance").filter(action="hold")
    assert recorded["note"].to_list() == [held.note]
    assert dates_of(lake, "silver.coin_prices") == DAYS

    # Rolled up, the purge goes to the window's horizon and the new volatility stays.
    process_pending(lake)
    rolled = gold(lake)
    assert rolled.filter(pair="p0/usd", time=COIN_T0 + dt.timedelta(days=1, minutes=7)).height == 1
    later = maintain(lake)
    assert {a.horizon for a in later.of("purge")} == {DAYS[2]} and not later.of("hold")
    assert dates_of(lake, "silver.coin_prices") == DAYS[2:]
    assert gold(lake).equals(rolled)


def test_retention_window_parsing() -> None:
    assert retention.parse_window("2d") == dt.timedelta(days=2)
    assert retention.parse_window("36h") == dt.timedelta(hours=36)
    assert retention.parse_window("3") == dt.timedelta(days=3)
    with pytest.raises(ValueError, match="GRIDLAKE_COIN_RETENTION='two days'"):
        retention.parse_window("two days", "GRIDLAKE_COIN_RETENTION")


def content(lake: Lake) -> dict[str, pl.DataFrame]:
    """Every table's rows in a fixed order (ops.maintenance aside: maintenance writes it)."""
    out = {}
    for name, t in TABLES.items():
        if name == "ops.maintenance" or not delta.exists(lake, t):
            continue
        frame = delta.scan(lake, t).collect()
        sortable = [c for c, d in frame.schema.items() if not isinstance(d, pl.List)]
        out[name] = frame.sort(sortable, nulls_last=True)
    return out


def test_compaction_and_vacuum_keep_every_table_and_vacuum_refuses_a_short_retention(lake: Lake, drop: Drop) -> None:
    four_days(lake, drop, runs=16)
    assert files_per_partition(lake, table("bronze.coin_prices")) >= 4
    before = content(lake)

    with pytest.raises(RetentionTooShort, match="under 168 h"):
        maintain(lake, vacuum_hours=24)
    # Keep the raw rows: this test is about files, not retention.
    report = maintain(lake, vacuum_hours=0, force=True, min_files=4)
    compacted = {a.table_name for a in report.of("optimize")}
    assert "bronze.coin_prices" in compacted
    assert files_per_partition(lake, table("bronze.coin_prices")) == 1
    assert sum(a.files_removed for a in report.of("vacuum")) > 0
    after = content(lake)
    purged = {a.table_name for a in report.of("purge") if a.rows_removed}
    for name, frame in before.items():
        if name in purged:
            continue
        assert after[name].equals(frame), name
    # The vacuumed files are gone from disk: every file left is one the log references.
    bronze = delta.open_table(lake, table("bronze.coin_prices"))
    assert bronze is not None
    root = Path(lake.table_uri(table("bronze.coin_prices")))
    on_disk = {str(p) for p in root.rglob("*.parquet") if "_delta_log" not in p.parts}
    assert on_disk == set(bronze.file_uris())


def test_a_maintenance_killed_after_compacting_keeps_the_compaction_rows(
    lake: Lake, drop: Drop, monkeypatch: pytest.MonkeyPatch
) -> None:
    four_days(lake, drop, runs=8)

    def killed(*args: Any, **kwargs: Any) -> list:
        raise KeyboardInterrupt("killed after the compactions")

    monkeypatch.setattr(maintenance, "vacuum", killed)
    with pytest.raises(KeyboardInterrupt):
        maintain(lake, vacuum_hours=0, force=True, min_files=4)
    recorded = delta.scan(lake, table("ops.maintenance")).collect()
    compacted = recorded.filter(action="optimize")
    assert compacted.height >= 2, recorded
    for row in compacted.iter_rows(named=True):
        current = delta.version(lake, table(row["table_name"]))
        # ops.maintenance's own compaction is followed by the commit that records it.
        recorded_after = 1 if row["table_name"] == "ops.maintenance" else 0
        assert row["version"] == current - recorded_after
        assert files_per_partition(lake, table(row["table_name"])) == 1 + recorded_after


@pytest.mark.e2e
def test_time_travel_reads_a_table_as_it_was(lake: Lake, drop: Drop, tmp_path: Path) -> None:
    drop("coin_prices", "a.json", js([rec("btc/usd", epoch(0), 10.0), rec("btc/usd", epoch(1), 12.0)]))
    process_pending(lake, publish=True)
    first = dt.datetime.now(dt.UTC)
    drop("coin_prices", "b.json", js([rec("btc/usd", epoch(1), 16.0)]))
    process_pending(lake, publish=True)
    sql = "select value from silver.coin_prices order by time"
    assert catalog.query(lake, sql)["value"].to_list() == [10.0, 16.0]
    assert catalog.query_as_of(lake, sql, first)["value"].to_list() == [10.0, 12.0]
    # Before the table existed there is no view at all.
    with pytest.raises(catalog.NoLake, match="is before the lake's first commit"):
        catalog.query_as_of(lake, sql, first - dt.timedelta(days=1))
    out = subprocess.run(
        [str(Path(sys.executable).parent / "gridlake"), "sql", "--format", "json", "--lake", lake.root,
         "--as-of", first.isoformat(), "select stddev_24h from gold.coin_volatility order by time"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert [r["stddev_24h"] for r in json.loads(out.stdout)] == [None, pytest.approx(2**0.5)]


@pytest.mark.e2e
def test_the_daily_maintenance_job_purges_through_dagster(lake: Lake, drop: Drop, dagster_home: Path) -> None:
    from orchestration.definitions import defs
    from orchestration.resources import lake_for

    four_days(lake, drop)
    job = defs.get_job_def("maintain_lake")
    schedule = defs.get_schedule_def("daily_maintenance")
    assert schedule.cron_schedule == "30 3 * * *" and schedule.job_name == "maintain_lake"
    result = job.execute_in_process(resources={"lake": lake_for(lake.root)})
    assert result.success
    recorded = read(lake, "ops.maintenance").filter(pl.col("action") == "purge")
    assert set(recorded["run_id"].to_list()) == {result.run_id}
    assert dates_of(lake, "silver.coin_prices") == DAYS[1:]


def test_tables_checkpoint_every_ten_commits_and_maintain_configures_older_tables(lake: Lake) -> None:
    from deltalake import write_deltalake

    builds = table("ops.gold_builds")
    for _ in range(12):
        delta.replace_where(lake, builds, delta.empty(builds), "true")
    log = Path(lake.table_uri(builds)) / "_delta_log"
    assert sorted(p.name for p in log.glob("*.checkpoint.parquet")) == [f"{9:020d}.checkpoint.parquet"]
    # A table an older gridlake made, without the setting: maintain gives it, once.
    older = table("ops.file_counts")
    write_deltalake(lake.table_uri(older), delta.empty(older).to_arrow())
    report = maintain(lake)
    assert [a.table_name for a in report.of("configure")] == ["ops.file_counts"]
    existing = delta.open_table(lake, older)
    assert existing is not None and existing.metadata().configuration == delta.CONFIGURATION
    assert not maintain(lake).of("configure")
