"""The operated path: the real Dagster daemon (`dagster-daemon run`, the repository's dagster.yaml,
a temporary DAGSTER_HOME and lake) picks up files dropped for past dates and brings every gold
table to the values worked out by hand here, through corrections, late prices, readings that wait
for their park or site, a file with one bad row, and a mostly-bad day kept out of gold.

One daemon serves the whole module; each phase drops its files together and polls the DuckDB
catalog (what `gridlake sql` queries) until the expected values appear, within a bound."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest

from orchestration.service import Service
from tests.builders import ts, usage_csv
from warehouse import catalog, delta
from warehouse.lake import Lake
from warehouse.registry import table
from warehouse.stages import land

DAY = "2020-08-06"  # long past: the daemon must not only follow the latest date
PHASE_TIMEOUT = 300.0
# The tests of this module share one daemon: one worker runs them all, in order (--dist loadscope).
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, Lake]]:
    root = tmp_path_factory.mktemp("daemon")
    lake = Lake.from_env(str(root / "lake"))
    service = Service(home=root / "dagster_home", lake_root=lake.root, env={"GRIDLAKE_STATE": str(root / "state")})
    service.start()
    try:
        yield service, lake
    finally:
        service.stop()


def drop(lake: Lake, source: str, name: str, data: bytes) -> None:
    path = Path(lake.root) / "landing" / source / name
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside, then renamed: the sensor never sees half a file.
    partial = path.with_name(f".{name}.partial")
    partial.write_bytes(data)
    partial.rename(path)


def rows(lake: Lake, sql: str) -> list[tuple]:
    try:
        return catalog.query(lake, sql).rows()
    except Exception:  # a view not published yet reads as "not there yet"
        return []


def until(service: Service, what: str, check: Callable[[], bool]) -> None:
    service.wait(check, PHASE_TIMEOUT, what, every=1.0)


def prices_csv(rows_: list[tuple[int, float]]) -> bytes:
    lines = ["intervalStart,intervalEnd,price", *(f"{ts(m, DAY)},{ts(m + 5, DAY)},{p}" for m, p in rows_)]
    return ("\n".join(lines) + "\n").encode()


def coin_json(samples: list[tuple[str, int, int]]) -> bytes:
    start = 1733270400  # 2024-12-04T00:00:00Z
    return json.dumps([{"pair": p, "time": start + 60 * m, "value": v} for p, m, v in samples]).encode()


def coin_ranks(lake: Lake) -> list[tuple]:
    return rows(
        lake,
        "select pair, round(stddev_24h, 4), rank from gold.coin_volatility "
        "where time = TIMESTAMPTZ '2024-12-04 00:02:00+00' order by pair",
    )


def costs(lake: Lake, customer: str) -> dict[str, float | None]:
    got = rows(
        lake,
        "select strftime(interval_start, '%H:%M'), cost from gold.cost_per_interval "
        f"where customer_id = '{customer}' order by 1",
    )
    return dict(got)


def idle(service: Service) -> bool:
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    busy = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]
    with DagsterInstance.from_config(str(service.home)) as inst:
        return not inst.get_runs(RunsFilter(statuses=busy), limit=1)


def test_past_dates_reach_gold_through_the_daemon(daemon: tuple[Service, Lake]) -> None:
    service, lake = daemon

    # Phase 1: prices for 00:00 and 00:05 only; usage for 00:00-00:10; a usage file of six rows
    # with one bad timestamp; park readings and site live data before their park and site.
    drop(lake, "energy_prices", "prices.csv", prices_csv([(0, 0.5), (5, 0.25)]))
    drop(
        lake,
        "customer_usage",
        "c1.csv",
        usage_csv([(1, ts(m, DAY), ts(m + 5, DAY), u) for m, u in [(0, 2), (5, 4), (10, 3)]]),
    )
    six = [(2, ts(60 + 5 * i, DAY), ts(65 + 5 * i, DAY), float(i + 1)) for i in range(5)]
    drop(lake, "customer_usage", "one-bad-row.csv", usage_csv([*six, (2, "not-a-time", ts(90, DAY), 9.0)]))
    drop(lake, "park_readings", "Netterden.csv", b"datetime,MW\n2020-06-10 00:00:00,1.5\n2020-06-10 00:15:00,2.5\n")
    live = {"site_id": 7, "dt-stamp": ["2023-01-01 00:00:00", "2023-01-01 00:10:00"], "soc": [20, 25],
            "load_kwh": [3.0, 4.0], "net_load_kwh": [1.0, 2.0], "pv_notification": [False, True],
            "bio_notification": [False, False], "cro_notification": [False, False]}  # fmt: skip
    drop(lake, "site_live_data", "seven.json", json.dumps(live).encode())
    coins = [("bitcoin/usd", 0, 10), ("bitcoin/usd", 1, 12), ("bitcoin/usd", 2, 14), ("ethereum/usd", 1, 5),
             ("ethereum/usd", 2, 5)]  # fmt: skip
    drop(lake, "coin_prices", "prices_20241204T0002.json", coin_json(coins))

    # 2 kWh × 0.5 + 4 kWh × 0.25 = 2.0; 00:10 has no price yet.
    until(service, "cost of customer 1", lambda: costs(lake, "1") == {"00:00": 1.0, "00:05": 1.0, "00:10": None})
    # The five good rows of the six-row file: 1+2+3+4+5 kWh in hour 01.
    until(
        service,
        "hourly usage of customer 2",
        lambda: rows(lake, "select usage_kwh from gold.hourly_usage where customer_id = '2'") == [(15.0,)],
    )
    # stdev(10, 12, 14) = 2; ethereum did not move.
    until(service, "coin volatility", lambda: coin_ranks(lake) == [("bitcoin/usd", 2.0, 1), ("ethereum/usd", 0.0, 2)])
    bad = rows(lake, "select failed_rules from quarantine.customer_usage")
    assert bad == [(["interval_start_parseable"],)]
    until(service, "the daemon to go idle", lambda: idle(service))
    log = {Path(r["path"]).name: r for r in land.ingest_log(lake).iter_rows(named=True)}
    assert (log["Netterden.csv"]["rows_waiting"], log["seven.json"]["rows_waiting"]) == (2, 2)
    assert rows(lake, "select count(*) from gold.park_daily_stats") in ([], [(0,)])

    # Phase 2: a correction (00:05 now 8 kWh), the late 00:10 price, the park register and the
    # site; and a mostly-bad day (1 good row, 6 bad) on another date.
    drop(lake, "customer_usage", "c1-corrected.csv", usage_csv([(1, ts(5, DAY), ts(10, DAY), 8)]))
    drop(lake, "energy_prices", "late.csv", prices_csv([(10, 1.0)]))
    drop(lake, "parks", "register.csv", b"park_name,timezone,energy_type\nNetterden,Europe/Amsterdam,wind\n")
    drop(lake, "sites", "sites.json", json.dumps({"id": "7", "name": "Cedar Ridge", "location": "south"}).encode())
    other = "2020-08-07"
    mostly_bad = [(3, ts(0, other), ts(5, other), 1.0)] + [(3, ts(m, other), ts(m, other), 1) for m in range(5, 35, 5)]
    drop(lake, "customer_usage", "mostly-bad.csv", usage_csv(mostly_bad))
    # A corrected bitcoin sample and a late ethereum one.
    drop(lake, "coin_prices", "late.json", coin_json([("bitcoin/usd", 1, 11), ("ethereum/usd", 0, 11)]))

    # 2 × 0.5, 8 × 0.25, 3 × 1.0.
    until(service, "corrected and late cost", lambda: costs(lake, "1") == {"00:00": 1.0, "00:05": 2.0, "00:10": 3.0})
    # (1.5 + 2.5) MW × 15 min = 1.0 MWh over two readings of a wind park.
    until(
        service,
        "park stats",
        lambda: (
            rows(
                lake,
                "select energy_type, readings, energy_mwh from gold.park_daily_stats where park_name = 'Netterden'",
            )
            == [("Wind", 2, 1.0)]
        ),
    )
    until(
        service,
        "site stats",
        lambda: (
            rows(
                lake,
                "select readings, soc_avg, load_kwh, pv_notifications from gold.site_daily_stats where site_id = '7'",
            )
            == [(2, 22.5, 7.0, 1)]
        ),
    )
    until(
        service,
        "site latest",
        lambda: rows(lake, "select name, soc from gold.site_latest where site_id = '7'") == [("Cedar Ridge", 25.0)],
    )
    # stdev(10, 11, 14) = 2.0817; stdev(11, 5, 5) = 3.4641: ethereum is now the more volatile.
    until(
        service,
        "recomputed coin volatility",
        lambda: coin_ranks(lake) == [("bitcoin/usd", 2.0817, 2), ("ethereum/usd", 3.4641, 1)],
    )
    until(service, "the mostly-bad file to be refined", lambda: _status(lake, "mostly-bad.csv") == "refined")
    until(service, "the daemon to go idle", lambda: idle(service))
    # The mostly-bad day stays out of gold; silver and quarantine have it.
    assert rows(lake, "select count(*) from gold.cost_per_interval where customer_id = '3'") == [(0,)]
    assert rows(lake, "select count(*) from silver.customer_usage where customer_id = '3'") == [(1,)]
    assert rows(lake, "select count(*) from quarantine.customer_usage where \"customerId\" = '3'") == [(6,)]

    # The same answer through the command users type.
    out = subprocess.run(
        [str(Path(sys.executable).parent / "gridlake"), "sql", "--format", "csv", "--lake", lake.root,
         "select round(sum(cost), 6) as total from gold.cost_per_interval"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.split() == ["total", "6.0"]


def _status(lake: Lake, name: str) -> str | None:
    log = land.ingest_log(lake).filter(pl.col("path").str.ends_with("/" + name))
    return log["status"][0] if log.height else None


def _runs(service: Service, since: float) -> list:
    from dagster import DagsterInstance, RunsFilter

    with DagsterInstance.from_config(str(service.home)) as inst:
        records = inst.get_run_records(RunsFilter(created_after=dt.datetime.fromtimestamp(since, dt.UTC)))
        return sorted(records, key=lambda r: r.create_timestamp)


def test_a_run_killed_with_the_daemon_is_failed_and_its_work_retried(daemon: tuple[Service, Lake]) -> None:
    from dagster import DagsterRunStatus

    service, lake = daemon
    day = "2020-08-10"
    started = time.time()
    drop(lake, "energy_prices", "prices-0810.csv", prices_csv_on(day, [(0, 0.5)]))
    drop(lake, "customer_usage", "u-0810.csv", usage_csv([(4, ts(0, day), ts(5, day), 2.0)]))

    def running() -> list:
        return [r for r in _runs(service, started) if r.dagster_run.status == DagsterRunStatus.STARTED]

    [stuck] = service.wait(running, PHASE_TIMEOUT, "a run to start", every=0.2)[:1]
    # The daemon, its code server and the run's process die together, as in a machine crash.
    assert service.process is not None
    os.killpg(service.process.pid, signal.SIGKILL)
    service.process.wait()
    assert _status_of(service, stuck.dagster_run.run_id) == DagsterRunStatus.STARTED
    service.fresh_config = False
    service.process = None
    service.start()
    # Run monitoring finds the run's process gone and fails the run; the sensors retry its work.
    until(
        service,
        "the stuck run to be failed",
        lambda: _status_of(service, stuck.dagster_run.run_id) == DagsterRunStatus.FAILURE,
    )
    until(service, "the retried work to reach gold", lambda: costs_on(lake, "4", day) == {"00:00": 1.0})
    until(service, "the daemon to go idle", lambda: idle(service))
    retried = [
        r
        for r in _runs(service, started)
        if r.dagster_run.tags.get("gridlake/work") == stuck.dagster_run.tags["gridlake/work"]
    ]
    assert [r.dagster_run.status for r in retried][-1] == DagsterRunStatus.SUCCESS

    # One drop, one landing run and one refine run that carries its gold: no second gold build
    # of it (completeness, which spans every source's dates, follows in a gold run of its own).
    until(service, "the daemon to go idle", lambda: idle(service))
    second = time.time()
    drop(lake, "customer_usage", "u2-0810.csv", usage_csv([(5, ts(0, day), ts(5, day), 4.0)]))
    until(service, "the second file's cost", lambda: costs_on(lake, "5", day) == {"00:00": 2.0})
    until(service, "the daemon to go idle", lambda: idle(service))
    runs = [r.dagster_run.tags for r in _runs(service, second)]
    stages = [t.get("gridlake/stage") for t in runs if t.get("gridlake/gold") != "completeness"]
    assert stages == ["land", "refine"], runs
    commits = [
        h for h in delta.open_table(lake, table("gold.hourly_usage")).history() if h["timestamp"] / 1000 >= second
    ]
    assert len(commits) == 1, commits


def _status_of(service: Service, run_id: str):
    from dagster import DagsterInstance

    with DagsterInstance.from_config(str(service.home)) as inst:
        run = inst.get_run_by_id(run_id)
        return run.status if run else None


def prices_csv_on(day: str, rows_: list[tuple[int, float]]) -> bytes:
    lines = ["intervalStart,intervalEnd,price", *(f"{ts(m, day)},{ts(m + 5, day)},{p}" for m, p in rows_)]
    return ("\n".join(lines) + "\n").encode()


def costs_on(lake: Lake, customer: str, day: str) -> dict[str, float | None]:
    got = rows(
        lake,
        "select strftime(interval_start, '%H:%M'), cost from gold.cost_per_interval "
        f"where customer_id = '{customer}' and date = DATE '{day}' order by 1",
    )
    return dict(got)
