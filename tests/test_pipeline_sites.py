"""Battery sites through the spine on a local lake: every rule ends in quarantine, configuration
history, readings waiting for their site, the real producer's files rejected, daily stats and the
documented queries.

Expected values are written out or computed here with plain Python over the records the test
sends, independently of the Polars transforms."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from expectations import site_configurations, site_live_data, sites
from tests.conftest import REAL_DATA, Drop
from warehouse import catalog, delta
from warehouse.lake import Lake
from warehouse.registry import table
from warehouse.stages import land
from warehouse.stages.pipeline import process_pending

REAL = REAL_DATA / "sites"
DOCS = Path(__file__).parents[1] / "docs" / "sites.md"
SOURCES = ("sites", "site_configurations", "site_live_data")
UTC = dt.UTC


def js(value: Any) -> bytes:
    return json.dumps(value).encode()


def read(lake: Lake, name: str) -> pl.DataFrame:
    return delta.scan(lake, table(name)).collect()


def assert_reconciles(lake: Lake) -> None:
    """Per refined file: everything read is quarantined, a duplicate, superseded, waiting or in
    silver (live data: in readings); and silver holds exactly the rows the files put there."""
    log = land.ingest_log(lake).filter(pl.col("source").is_in(SOURCES), status="refined")
    counts = read(lake, "ops.file_counts").group_by("file_hash").agg(pl.col("in_silver").sum())
    joined = log.join(counts, on="file_hash", how="left")
    for r in joined.iter_rows(named=True):
        parts = r["rows_quarantined"] + r["rows_duplicate"] + r["rows_superseded"] + r["rows_waiting"]
        assert r["rows_read"] == parts + (r["in_silver"] or 0), r["path"]
        assert r["rows_valid"] == r["rows_duplicate"] + r["rows_superseded"] + (r["in_silver"] or 0), r["path"]
    for source in SOURCES:
        in_silver = joined.filter(source=source)["in_silver"].sum()
        assert in_silver == read(lake, f"silver.{source}").height, source


def log_by_name(lake: Lake, source: str) -> dict[str, dict]:
    return {Path(r["path"]).name: r for r in land.ingest_log(lake, source).iter_rows(named=True)}


# --------------------------------------------------------------------------- records


def nested(site: Any, **changes: Any) -> dict:
    record: dict[str, Any] = {
        "id": site,
        "battery": {"vendor": "Tesla", "capacity_kwh": 100, "max_power_kw": 50},
        "production": {"pv": {"units": 1, "kwp": 5}, "bio": {"units": 0}, "cro": {"units": 2, "kwp": 3}},
    }
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = record
        for p in parents:
            node = node[p]
        if value is ...:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return record


def live(site: Any, rows: list[tuple]) -> dict:
    """A columnar object from (dt-stamp, soc, load, net, pv, bio, cro) tuples."""
    fields = ("dt-stamp", "soc", "load_kwh", "net_load_kwh", "pv_notification", "bio_notification", "cro_notification")
    return {"site_id": site, **{f: [r[i] for r in rows] for i, f in enumerate(fields)}}


OK = (50, 10.0, 5.0, False, False, False)

# Every row rule of the three suites: (records of one file, {identifying value: expected rules}).
SITE_CASES = [
    {"id": 1, "name": "Willo Woods", "location": "north"},
    {"id": "", "name": "No Id", "location": "north"},
    {"id": 10, "name": " ", "location": "north"},
    {"id": 11, "name": "No Location", "location": ""},
    {"id": 12, "name": "Twice", "location": "north"},
    {"id": 12, "name": "Twice", "location": "south"},
]
SITE_EXPECTED = {
    ("", "No Id"): ["site_id_present"],
    ("10", " "): ["name_not_empty"],
    ("11", "No Location"): ["location_not_empty"],
    ("12", "Twice"): ["no_conflicting_duplicate"],  # both rows
}

# site id -> (record, expected rules); each bad record breaks one rule only.
CONFIG_CASES: dict[int, tuple[dict, list[str]]] = {
    201: (nested(201), []),
    202: (nested(202, id=...), ["site_id_present"]),  # no id at all: identified by its capacity below
    203: (nested(203, battery__vendor=...), ["battery_vendor_present"]),
    204: (nested(204, battery__vendor="LG"), ["battery_vendor_known"]),
    205: (nested(205, battery__capacity_kwh="lots"), ["battery_capacity_kwh_is_number"]),
    206: (nested(206, battery__capacity_kwh=-1), ["battery_capacity_kwh_non_negative"]),
    207: (nested(207, battery__max_power_kw=...), ["battery_max_power_kw_is_number"]),
    208: (nested(208, battery__max_power_kw=-5), ["battery_max_power_kw_non_negative"]),
    209: (nested(209, production__pv__units=...), ["production_pv_units_is_number"]),
    210: (nested(210, production__bio__units=None), ["production_bio_units_is_number"]),
    211: (nested(211, production__cro__units="two"), ["production_cro_units_is_number"]),
    212: (nested(212, production__pv__units=-1), ["production_pv_units_non_negative"]),
    213: (nested(213, production__bio__units=-2), ["production_bio_units_non_negative"]),
    214: (nested(214, production__cro__units=-3), ["production_cro_units_non_negative"]),
    215: (nested(215, production__pv__units=1.5), ["units_whole_numbers"]),
    216: (nested(216, production__cro__kwp="x"), ["production_kwp_numeric"]),
    217: (nested(217, production__pv__kwp=-1), ["production_pv_kwp_non_negative"]),
    218: (nested(218, production__bio__kwp=-1), ["production_bio_kwp_non_negative"]),
    219: (nested(219, production__cro__kwp=-1), ["production_cro_kwp_non_negative"]),
    220: ({**nested(220), "valid_from": "soon"}, ["valid_from_parseable"]),
}
CONFLICT = [
    {**nested(221), "valid_from": "2023-01-01"},
    {**nested(221, battery__capacity_kwh=999), "valid_from": "2023-01-01"},
]

LIVE_GOOD = ("2023-01-01 00:00:00", *OK)
# element index -> (reading, expected rules), all in one object for site 1.
LIVE_CASES: dict[int, tuple[tuple, list[str]]] = {
    0: (LIVE_GOOD, []),
    1: (("2023-01-01 25:00:00", *OK), ["dt_stamp_parseable"]),
    2: (("2023-01-01 00:20:00", "abc", 10.0, 5.0, False, False, False), ["soc_is_number"]),
    3: (("2023-01-01 00:30:00", 101, 10.0, 5.0, False, False, False), ["soc_between_0_and_100"]),
    4: (("2023-01-01 00:40:00", 50, None, 5.0, False, False, False), ["load_kwh_is_number"]),
    5: (("2023-01-01 00:50:00", 50, -1, 5.0, False, False, False), ["load_kwh_non_negative"]),
    6: (("2023-01-01 01:00:00", 50, 10.0, None, False, False, False), ["net_load_kwh_is_number"]),
    7: (("2023-01-01 01:10:00", 50, 10.0, -0.5, False, False, False), ["net_load_kwh_non_negative"]),
    8: (("2023-01-01 01:20:00", 50, 10.0, 5.0, "true", False, False), ["pv_notification_is_boolean"]),
    9: (("2023-01-01 01:30:00", 50, 10.0, 5.0, False, 1, False), ["bio_notification_is_boolean"]),
    10: (("2023-01-01 01:40:00", 50, 10.0, 5.0, False, False, None), ["cro_notification_is_boolean"]),
    11: (("2023-01-01 01:50:00", 40, 10.0, 5.0, False, False, False), ["no_conflicting_duplicate"]),
    12: (("2023-01-01 01:50:00", 41, 10.0, 5.0, False, False, False), ["no_conflicting_duplicate"]),
}
UNEQUAL = {
    "site_id": 1,
    "dt-stamp": ["2023-01-02 00:00:00", "2023-01-02 00:10:00"],
    "soc": [1, 2, 3],
    "load_kwh": [1, 2],
    "net_load_kwh": [1, 2],
    "pv_notification": [False, False],
    "bio_notification": [False, False],
    "cro_notification": [False, False],
}
UNEQUAL_ERROR = (
    "arrays differ in length: dt-stamp=2, soc=3, load_kwh=2, net_load_kwh=2, "
    "pv_notification=2, bio_notification=2, cro_notification=2"
)


def test_every_rule_quarantines_its_bad_record_and_files_reconcile(lake: Lake, drop: Drop) -> None:
    drop("sites", "sites.json", js(SITE_CASES))
    drop("site_configurations", "configs.json", js([r for r, _ in CONFIG_CASES.values()] + CONFLICT))
    no_id = live("", [("2023-01-03 00:00:00", *OK)])
    drop("site_live_data", "live.json", js([live(1, [r for r, _ in LIVE_CASES.values()]), UNEQUAL, no_id]))
    process_pending(lake)

    q_sites = read(lake, "quarantine.sites")
    got = {(r["id"], r["name"]): r["failed_rules"] for r in q_sites.iter_rows(named=True)}
    assert got == SITE_EXPECTED
    assert q_sites.filter(id="12").height == 2
    assert read(lake, "silver.sites")["site_id"].to_list() == ["1"]
    tested = {rule for rules in SITE_EXPECTED.values() for rule in rules}
    assert tested == set(sites.SUITE.row_rule_names)

    q_conf = read(lake, "quarantine.site_configurations")
    by_site = {r["id"]: r for r in q_conf.iter_rows(named=True)}
    for site, (_, rules) in CONFIG_CASES.items():
        if site == 202:
            row = q_conf.filter(pl.col("id").is_null()).row(0, named=True)
            assert row["failed_rules"] == rules
        elif rules:
            assert by_site[str(site)]["failed_rules"] == rules, site
    assert sorted(q_conf.filter(id="221")["failed_rules"].to_list()) == [["no_conflicting_duplicate"]] * 2
    # Raw text as sent, not the typed value.
    assert json.loads(by_site["205"]["battery"])["capacity_kwh"] == "lots"
    assert by_site["220"]["valid_from"] == "soon"
    tested = {rule for _, rules in CONFIG_CASES.values() for rule in rules} | {"no_conflicting_duplicate"}
    assert tested == set(site_configurations.SUITE.row_rule_names)
    assert read(lake, "silver.site_configurations")["site_id"].to_list() == ["201"]

    q_live = read(lake, "quarantine.site_live_data")
    first = q_live.filter(_row_number=0)
    got_live = {r["_element_index"]: r["failed_rules"] for r in first.iter_rows(named=True)}
    assert got_live == {i: rules for i, (_, rules) in LIVE_CASES.items() if rules}
    assert first.filter(_element_index=8)["pv_notification"].to_list() == ['"true"']  # a string, as sent
    assert first.filter(_element_index=2)["soc"].to_list() == ['"abc"']
    unequal = q_live.filter(_row_number=1).sort("_element_index")
    assert unequal.height == 3  # the longest array
    assert all("array_lengths_equal" in rules for rules in unequal["failed_rules"])
    assert set(unequal["array_length_error"]) == {UNEQUAL_ERROR}
    assert q_live.filter(_row_number=2)["failed_rules"].to_list() == [["site_id_present"]]
    tested = {rule for _, rules in LIVE_CASES.values() for rule in rules} | {"array_lengths_equal", "site_id_present"}
    assert tested == set(site_live_data.SUITE.row_rule_names)

    silver = read(lake, "silver.site_live_data")
    assert silver.select("site_id", "dt_stamp", "soc").rows() == [("1", dt.datetime(2023, 1, 1, tzinfo=UTC), 50.0)]

    # Live data counts readings: 13 + 3 + 1 read; 1 in silver, 16 quarantined.
    row = log_by_name(lake, "site_live_data")["live.json"]
    assert (row["rows_read"], row["rows_valid"], row["rows_quarantined"], row["rows_waiting"]) == (17, 1, 16, 0)
    row = log_by_name(lake, "site_configurations")["configs.json"]
    assert (row["rows_read"], row["rows_valid"], row["rows_quarantined"]) == (22, 1, 21)
    row = log_by_name(lake, "sites")["sites.json"]
    assert (row["rows_read"], row["rows_valid"], row["rows_quarantined"]) == (6, 1, 5)
    assert_reconciles(lake)


def test_new_configuration_closes_the_previous_one(lake: Lake, drop: Drop) -> None:
    drop("sites", "sites.json", js({"id": 1, "name": "Willo Woods", "location": "north"}))
    drop("site_configurations", "v1.json", js({**nested(1), "valid_from": "2023-01-01"}))
    day1 = [("2023-01-01 00:00:00", *OK), ("2023-01-01 00:10:00", *OK)]
    drop("site_live_data", "d1.json", js(live(1, day1)))
    process_pending(lake)
    latest = read(lake, "gold.site_latest").row(0, named=True)
    assert (latest["battery_vendor"], latest["battery_capacity_kwh"]) == ("Tesla", 100.0)

    flat = {
        "site": "1",
        "battery_vendor": "katl",
        "battery_capacity_kwh": 200,
        "battery_max_power_kw": 110,
        "production_pv_units": 15,
        "production_pv_kwp": 20,
        "production_bio_units": 1,
        "production_cro_units": 2,
        "production_cro_kwp": 3,
        "valid_from": "2023-01-02T12:00:00Z",
    }
    drop("site_configurations", "v2.json", js(flat))
    day2 = [
        ("2023-01-02 11:50:00", 60, 1.0, 0.5, True, False, False),
        ("2023-01-02 12:10:00", 70, 2.0, 0.0, *([False] * 3)),
    ]
    drop("site_live_data", "d2.json", js(live("001", day2)))
    report = process_pending(lake)
    # The history changed: every day with readings is rebuilt (the battery in force may move).
    assert report.gold_dates("site_daily") == [dt.date(2023, 1, 1), dt.date(2023, 1, 2)]

    history = read(lake, "silver.site_configurations").sort("valid_from")
    noon = dt.datetime(2023, 1, 2, 12, tzinfo=UTC)
    assert history["valid_from"].to_list() == [dt.datetime(2023, 1, 1, tzinfo=UTC), noon]
    assert history["valid_to"].to_list() == [noon, None]
    assert history["is_current"].to_list() == [False, True]
    assert history["battery_vendor"].to_list() == ["Tesla", "KATL"]
    assert history["production_pv_units"].to_list() == [1, 15]
    assert history["production_bio_kwp"].to_list() == [None, None]

    latest = read(lake, "gold.site_latest").row(0, named=True)
    assert (latest["site_id"], latest["name"], latest["dt_stamp"]) == (
        "1",
        "Willo Woods",
        dt.datetime(2023, 1, 2, 12, 10, tzinfo=UTC),
    )
    assert (latest["soc"], latest["battery_vendor"], latest["battery_capacity_kwh"]) == (70.0, "KATL", 200.0)
    assert latest["configuration_valid_from"] == noon
    daily = {r["date"]: r for r in read(lake, "gold.site_daily_stats").iter_rows(named=True)}
    # In force at the end of each day: v1 on the 1st, v2 (from noon) on the 2nd.
    assert (daily[dt.date(2023, 1, 1)]["battery_vendor"], daily[dt.date(2023, 1, 1)]["battery_capacity_kwh"]) == (
        "Tesla",
        100.0,
    )
    assert daily[dt.date(2023, 1, 2)]["battery_vendor"] == "KATL"

    # The first configuration sent again (same valid_from, same values): nothing changes.
    drop("site_configurations", "v1-again.json", js({**nested(1), "valid_from": "2023-01-01T00:00:00"}))
    report = process_pending(lake)
    assert report.gold_dates("site_daily") == []
    assert read(lake, "silver.site_configurations").height == 2
    # At the same valid_from the latest ingest wins: the re-send is the version now, v1 its duplicate.
    logs = log_by_name(lake, "site_configurations")
    assert (logs["v1-again.json"]["rows_read"], logs["v1-again.json"]["rows_valid"]) == (1, 1)
    assert logs["v1.json"]["rows_duplicate"] == 1
    assert_reconciles(lake)


def test_live_data_for_an_unknown_site_waits_then_arrives(lake: Lake, drop: Drop) -> None:
    drop("sites", "sites.json", js([{"id": 1, "name": "Willo Woods", "location": "north"}]))
    rows = [("2023-01-01 00:00:00", 20, 3.0, 1.0, False, False, False), ("2023-01-01 00:10:00", 25, 4.0, 2.0, *OK[3:])]
    drop("site_live_data", "seven.json", js(live(7, rows)))
    process_pending(lake)
    log = log_by_name(lake, "site_live_data")["seven.json"]
    assert (log["status"], log["rows_read"], log["rows_waiting"], log["rows_valid"]) == ("refined", 2, 2, 0)
    assert read(lake, "silver.site_live_data").is_empty()
    assert read(lake, "quarantine.site_live_data").is_empty()
    assert_reconciles(lake)
    assert "site_live_data" not in process_pending(lake).refined  # nothing moved

    drop("sites", "more.json", js({"id": "7", "name": "Cedar Ridge", "location": "south"}))
    report = process_pending(lake)
    assert report.gold_dates("site_daily") == [dt.date(2023, 1, 1)]
    log = log_by_name(lake, "site_live_data")["seven.json"]
    assert (log["rows_waiting"], log["rows_valid"]) == (0, 2)
    silver = read(lake, "silver.site_live_data").sort("dt_stamp")
    assert silver["site_id"].to_list() == ["7", "7"]
    assert silver["soc"].to_list() == [20.0, 25.0]
    latest = read(lake, "gold.site_latest").row(0, named=True)
    assert (latest["site_id"], latest["name"], latest["soc"], latest["battery_vendor"]) == (
        "7",
        "Cedar Ridge",
        25.0,
        None,
    )
    assert_reconciles(lake)


def test_real_producer_files_fail_whole_with_a_specific_error(lake: Lake, drop: Drop) -> None:
    drop("sites", "sites.json", (REAL / "sites.json").read_bytes())
    drop("site_configurations", "configuration.json", (REAL / "configuration.json").read_bytes())
    drop("site_live_data", "live_data.json", (REAL / "live_data.json").read_bytes())
    process_pending(lake)  # never raises

    wrapped = "unsupported shape: records are wrapped in an object keyed by position"
    for source, name, key, count in (
        ("sites", "sites.json", "sites", 3),
        ("site_configurations", "configuration.json", "Configurations", 1),
        ("site_live_data", "live_data.json", "live_data", 1),
    ):
        row = log_by_name(lake, source)[name]
        assert row["status"] == "failed"
        assert row["rows_read"] == 0
        assert f'{wrapped} ({{"{key}": {{"1": {{...}}, ...}}}}, {count} record' in row["error"]
    live_error = log_by_name(lake, "site_live_data")["live_data.json"]["error"]
    assert "key 'dt - stamp' instead of 'dt-stamp'" in live_error
    assert "dt-stamp '03/05/2023, 21:37:00' is not YYYY-MM-DD HH:MM:SS" in live_error
    for source in SOURCES:
        for layer in ("bronze", "silver", "quarantine"):
            assert read(lake, f"{layer}.{source}").is_empty(), (layer, source)


def test_daily_stats_by_hand_with_utc_days(lake: Lake, drop: Drop) -> None:
    drop("sites", "sites.json", js([{"id": 1, "name": "Willo Woods", "location": "north"}]))
    drop("site_configurations", "c.json", js({**nested(1), "valid_from": "2022-12-31"}))
    rows = [
        ("2023-01-01 00:00:00", 40, 10.0, 4.0, False, False, False),
        ("2023-01-01 00:10:00", 45.5, 12.5, 0.0, True, False, False),
        ("2023-01-01 00:20:00", 50, 8.0, 2.5, True, True, False),
        # +01:00: 23:50 UTC on the 1st, not the 2nd.
        ("2023-01-02T00:50:00+01:00", 30, 6.0, 6.0, False, False, True),
        ("2023-01-02 00:00:00", 35, 7.0, 1.0, False, False, False),
    ]
    drop("site_live_data", "live.json", js(live(1, rows)))
    report = process_pending(lake)
    assert report.gold_dates("site_daily") == [dt.date(2023, 1, 1), dt.date(2023, 1, 2)]

    silver = read(lake, "silver.site_live_data")
    assert silver.filter(event_date=dt.date(2023, 1, 1)).height == 4
    day1 = [r for r in rows if r is not rows[4]]
    daily = {r["date"]: r for r in read(lake, "gold.site_daily_stats").iter_rows(named=True)}
    got = daily[dt.date(2023, 1, 1)]
    soc = [r[1] for r in day1]
    assert got["readings"] == 4
    assert (got["soc_min"], got["soc_max"]) == (30.0, 50.0)
    assert got["soc_avg"] == pytest.approx(sum(soc) / 4)  # 41.375
    assert got["load_kwh"] == pytest.approx(10.0 + 12.5 + 8.0 + 6.0)
    assert got["net_load_kwh"] == pytest.approx(4.0 + 0.0 + 2.5 + 6.0)
    assert (got["pv_notifications"], got["bio_notifications"], got["cro_notifications"]) == (2, 1, 1)
    assert (got["battery_vendor"], got["battery_capacity_kwh"]) == ("Tesla", 100.0)
    day2 = daily[dt.date(2023, 1, 2)]
    assert (day2["readings"], day2["soc_avg"], day2["load_kwh"]) == (1, 35.0, 7.0)
    assert_reconciles(lake)


def doc_queries() -> list[str]:
    return re.findall(r'gridlake sql "([^"]+)"', DOCS.read_text())


def test_documented_queries_answer_the_original_endpoints(lake: Lake, drop: Drop) -> None:
    drop(
        "sites",
        "sites.json",
        js(
            [
                {"id": 2, "name": "Cedar Ridge", "location": "south"},
                {"id": 1, "name": "Willo Woods", "location": "north"},
            ]
        ),
    )
    drop("site_configurations", "c1.json", js({**nested(1), "valid_from": "2023-01-01"}))
    drop("site_configurations", "c2.json", js({**nested(1, battery__capacity_kwh=300), "valid_from": "2023-01-02"}))
    rows = [("2023-01-01 10:00:00", 40, 1.0, 0.5, *OK[3:]), ("2023-01-02 10:00:00", 60, 2.0, 1.5, *OK[3:])]
    drop("site_live_data", "live.json", js([live(1, rows), live(2, [("2023-01-01 00:00:00", *OK)])]))
    process_pending(lake)
    catalog.publish(lake)

    queries = doc_queries()
    assert len(queries) == 4
    register, configuration, latest, stats = (catalog.query(lake, q) for q in queries)
    assert register.select("site_id", "name").rows() == [("1", "Willo Woods"), ("2", "Cedar Ridge")]
    assert configuration["battery_capacity_kwh"].to_list() == [100.0, 300.0]
    assert configuration["is_current"].to_list() == [False, True]
    assert latest.select("soc", "battery_capacity_kwh").rows() == [(60.0, 300.0)]
    assert stats.select("date", "readings", "soc_avg", "battery_capacity_kwh").rows() == [
        (dt.date(2023, 1, 1), 1, 40.0, 100.0),
        (dt.date(2023, 1, 2), 1, 60.0, 300.0),
    ]


def test_identical_resend_changes_nothing_and_corrected_value_one_day(lake: Lake, drop: Drop) -> None:
    drop("sites", "sites.json", js({"id": 1, "name": "Willo Woods", "location": "north"}))
    rows = [("2023-01-01 23:50:00", *OK), ("2023-01-02 00:00:00", *OK)]
    drop("site_live_data", "a.json", js(live(1, rows)))
    process_pending(lake)
    drop("site_live_data", "b.json", js(live(1, copy.deepcopy(rows))) + b"\n")  # same readings, new file
    assert process_pending(lake).gold_dates("site_daily") == []
    fixed = [rows[0], ("2023-01-02 00:00:00", 99, *OK[1:])]
    drop("site_live_data", "c.json", js(live(1, fixed)))
    assert process_pending(lake).gold_dates("site_daily") == [dt.date(2023, 1, 2)]
    silver = read(lake, "silver.site_live_data").sort("dt_stamp")
    assert silver["soc"].to_list() == [50.0, 99.0]
    b = log_by_name(lake, "site_live_data")["b.json"]
    assert (b["rows_read"], b["rows_duplicate"], b["rows_superseded"]) == (2, 1, 1)
    assert_reconciles(lake)


@pytest.mark.e2e
def test_dagster_run_builds_site_gold_and_picks_up_waiting_readings(lake: Lake, drop: Drop, dagster_home: Path) -> None:
    from orchestration.run import run_pending

    drop("sites", "sites.json", js({"id": 1, "name": "Willo Woods", "location": "north"}))
    drop("site_configurations", "c.json", js({**nested(1), "valid_from": "2023-01-01"}))
    drop("site_live_data", "one.json", js(live(1, [("2023-01-01 00:00:00", *OK), ("2023-01-02 00:00:00", *OK)])))
    drop("site_live_data", "two.json", js(live(2, [("2023-01-01 00:10:00", 20, 1.0, 1.0, *OK[3:])])))
    summary = run_pending(lake.root)
    assert summary.ok, summary.runs
    labels = [label for label, _ in summary.runs]
    # site_latest is unpartitioned: the refine runs carry it. site_live_data is refined whole, so
    # the dated site_daily gold is left to a gold run of exactly the queued dates.
    assert "gold site_daily 2023-01-01..2023-01-02" in labels and "gold site_latest" not in labels
    assert read(lake, "gold.site_latest").select("site_id", "soc").rows() == [("1", 50.0)]
    assert read(lake, "gold.site_daily_stats").height == 2
    assert log_by_name(lake, "site_live_data")["two.json"]["rows_waiting"] == 1

    drop("sites", "two.json", js({"id": 2, "name": "Cedar Ridge", "location": "south"}))
    assert run_pending(lake.root).ok
    assert log_by_name(lake, "site_live_data")["two.json"]["rows_valid"] == 1
    latest = read(lake, "gold.site_latest").sort("site_id")
    assert latest.select("site_id", "soc", "battery_vendor").rows() == [("1", 50.0, "Tesla"), ("2", 20.0, None)]
    day1 = read(lake, "gold.site_daily_stats").filter(date=dt.date(2023, 1, 1)).sort("site_id")
    assert day1["readings"].to_list() == [1, 1]
    assert_reconciles(lake)
