"""Tests for transforms.sites and the three site suites: every rule has a bad record that ends with
the rule's name, plus hand-computed silver and gold values. Silver is
built as refine builds it: transforms.history with the keys and values warehouse.datasets declares."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from expectations import site_configurations, site_live_data, sites
from expectations.runner import validate
from tests.builders import FLAT, NESTED, live_object, site_bronze, site_failures
from transforms import history
from transforms.sites import (
    explode_site_live_data,
    prepare_site_configurations,
    prepare_sites,
    site_daily_stats,
    site_latest,
)
from warehouse.datasets import History, LatestWins, dataset

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def latest_wins(source: str, valid: pl.LazyFrame) -> pl.LazyFrame:
    """The fate of every valid row under the source's LatestWins strategy (refine's silver step)."""
    strategy = dataset(source).silver
    assert isinstance(strategy, LatestWins)
    return history.latest_wins(valid, strategy.keys, strategy.values)


def configuration_versions(valid: pl.LazyFrame) -> pl.LazyFrame:
    """The fate of every valid configuration under the dataset's History(valid_from) strategy."""
    strategy = dataset("site_configurations").silver
    assert isinstance(strategy, History) and strategy.valid_from is not None
    return history.versions_from(valid, strategy.keys, strategy.values, strategy.valid_from)


def kept(fates: pl.LazyFrame) -> pl.LazyFrame:
    """The rows refine writes to silver."""
    return fates.filter(pl.col("_fate") == history.KEPT)


# --------------------------------------------------------------------------- sites


def test_site_ids_normalise_and_every_site_rule_has_a_failing_record() -> None:
    records = [
        {"id": 1, "name": "Willo Woods", "location": "north"},
        {"id": "2", "name": "Cedar Ridge", "location": "south"},
        {"id": "003", "name": "Amber Hill", "location": "east"},
        {"id": 4.0, "name": "Oak Farm", "location": "west"},
        {"id": "97793139571608984782651508457645241472", "name": "Rehovot", "location": "Center"},
        {"id": "  ", "name": "No Id", "location": "north"},  # site_id_present
        {"name": "Absent Id", "location": "north"},  # site_id_present
        {"id": [7], "name": "Array Id", "location": "north"},  # site_id_present
        {"id": 8, "name": "   ", "location": "north"},  # name_not_empty
        {"id": 9, "name": "Nowhere"},  # location_not_empty
        {"id": 10, "name": "Twin", "location": "north"},  # no_conflicting_duplicate
        {"id": "10", "name": "Twin", "location": "south"},  # no_conflicting_duplicate
        {"id": 11, "name": "Echo", "location": "north"},  # identical repeat: fine
        {"id": 11, "name": "Echo", "location": "north"},
    ]
    prepared = prepare_sites(site_bronze(records)).collect()
    assert prepared["site_id"].to_list()[:5] == ["1", "2", "3", "4", "97793139571608984782651508457645241472"]
    failed = site_failures(prepared, sites.SUITE)
    expected: list[list[str]] = [[]] * 5 + [["site_id_present"]] * 3 + [["name_not_empty"], ["location_not_empty"]]
    expected += [["no_conflicting_duplicate"]] * 2 + [[], []]
    assert failed == expected


def test_sites_missing_column_fails_the_dataset_rule_with_a_readable_reason() -> None:
    prepared = prepare_sites(site_bronze([{"id": 1, "name": "A"}])).collect()
    result = validate(prepared, sites.SUITE)
    assert result.blocking_failures == ["required_columns_present"]
    assert prepared["missing_columns"].to_list() == ["missing required columns: location; the file has: id, name"]


def test_sites_silver_latest_ingest_wins() -> None:
    first = prepare_sites(site_bronze([{"id": 1, "name": "Old", "location": "north"}], "a.json", T0))
    second = prepare_sites(
        site_bronze([{"id": "1", "name": "New", "location": "south"}], "b.json", T0 + timedelta(days=1))
    )
    fates = latest_wins("sites", pl.concat([second, first], how="diagonal_relaxed")).collect()
    assert fates.sort("_ingested_at").select("site_id", "name", "_fate").rows() == [
        ("1", "Old", history.SUPERSEDED),
        ("1", "New", history.KEPT),
    ]
    silver = fates.filter(pl.col("_fate") == history.KEPT)
    assert silver.select("site_id", "name", "location").rows() == [("1", "New", "south")]


# --------------------------------------------------------------------------- configurations


def nested(site: int, **battery: Any) -> dict[str, Any]:
    record = json.loads(json.dumps(NESTED))
    record["id"] = site
    record["battery"].update(battery)
    return record


def flat(site: int, **fields: Any) -> dict[str, Any]:
    record = {**FLAT, "site": site, **fields}
    return {k: v for k, v in record.items() if v is not None}


def with_production(site: int, kind: str, **values: Any) -> dict[str, Any]:
    record = nested(site)
    record["production"][kind] = values
    return record


def test_configuration_forms_parse_to_the_same_typed_columns() -> None:
    strings = json.loads(json.dumps(NESTED), parse_int=str)  # numbers as strings, as the real producer sends
    strings["id"] = 3
    prepared = prepare_site_configurations(site_bronze([NESTED, FLAT, strings])).collect()
    columns = [
        "site_id",
        "battery_vendor",
        "battery_capacity_kwh",
        "battery_max_power_kw",
        "production_pv_units",
        "production_pv_kwp",
        "production_bio_units",
        "production_bio_kwp",
        "production_cro_units",
        "production_cro_kwp",
        "valid_from",
    ]
    assert prepared.select(columns).rows() == [
        ("1", "Tesla", 3100.0, 400.0, 1.0, 500.0, 0.0, None, 2.0, 800.0, T0),
        ("2", "KATL", 100.0, 110.0, 15.0, 20.0, 1.0, None, 2.0, 3.0, T0),
        ("3", "Tesla", 3100.0, 400.0, 1.0, 500.0, 0.0, None, 2.0, 800.0, T0),
    ]
    assert site_failures(prepared, site_configurations.SUITE) == [[], [], []]


def test_every_configuration_rule_has_a_failing_record() -> None:
    cases: list[tuple[str | None, dict[str, Any]]] = [
        (None, nested(1)),
        (None, flat(2)),
        (None, {**nested(3), "valid_from": "2024-04-01T10:00:00+02:00"}),
        (None, nested(4, vendor="tesla")),  # vendor casing is normalised
        ("site_id_present", {k: v for k, v in nested(5).items() if k != "id"}),
        ("battery_vendor_present", nested(6, vendor=" ")),
        ("battery_vendor_known", nested(7, vendor="Siemens")),
        ("battery_capacity_kwh_is_number", nested(8, capacity_kwh="lots")),
        ("battery_capacity_kwh_non_negative", nested(9, capacity_kwh=-1)),
        ("battery_capacity_kwh_non_negative", flat(10, battery_capacity_kwh="Infinity")),
        ("battery_max_power_kw_is_number", nested(11, max_power_kw=None)),
        ("battery_max_power_kw_non_negative", flat(12, battery_max_power_kw=-400)),
        ("production_bio_units_is_number", flat(13, production_bio_units=None)),
        ("production_pv_units_is_number", with_production(14, "pv", units=True)),
        ("production_cro_units_non_negative", with_production(15, "cro", units=-2, kwp=1)),
        ("units_whole_numbers", with_production(16, "pv", units=1.5, kwp=3)),
        ("production_kwp_numeric", with_production(17, "pv", units=1, kwp="big")),
        ("production_pv_kwp_non_negative", with_production(18, "pv", units=1, kwp=-3)),
        ("production_bio_kwp_non_negative", flat(19, production_bio_kwp=-0.5)),
        ("production_cro_kwp_non_negative", with_production(20, "cro", units=1, kwp=-1)),
        ("production_bio_units_non_negative", flat(21, production_bio_units=-1)),
        ("production_cro_units_is_number", flat(22, production_cro_units="two")),
        ("production_pv_units_non_negative", flat(23, production_pv_units=-15)),
        ("valid_from_parseable", {**nested(24), "valid_from": "03/05/2023, 21:37:00"}),
        ("no_conflicting_duplicate", nested(25)),
        ("no_conflicting_duplicate", nested(25, capacity_kwh=1)),
    ]
    prepared = prepare_site_configurations(site_bronze([record for _, record in cases])).collect()
    failed = site_failures(prepared, site_configurations.SUITE)
    for (rule, record), got in zip(cases, failed, strict=True):
        assert got == ([rule] if rule else []), (record, got)
    assert prepared["battery_vendor"][3] == "Tesla"
    assert prepared["valid_from"][2] == datetime(2024, 4, 1, 8, tzinfo=UTC)
    row_rules = {r.name for r in site_configurations.SUITE.row_rules}
    assert row_rules == {rule for rule, _ in cases if rule}


def test_configuration_file_without_battery_fails_required_columns() -> None:
    prepared = prepare_site_configurations(site_bronze([{"site": 1, "battery_vendor": "Tesla"}])).collect()
    assert validate(prepared, site_configurations.SUITE).blocking_failures == ["required_columns_present"]
    assert prepared["missing_columns"][0] == (
        "missing required columns: battery or battery_vendor+battery_capacity_kwh+battery_max_power_kw, "
        "production or production_pv_units+production_bio_units+production_cro_units; "
        "the file has: site, battery_vendor"
    )


def test_site_known_is_reported_not_quarantined() -> None:
    register = pl.LazyFrame({"site_id": ["1"]})
    prepared = prepare_site_configurations(site_bronze([nested(1), nested(2)]), sites=register).collect()
    assert prepared["site_known"].to_list() == [True, False]
    assert site_failures(prepared, site_configurations.SUITE) == [[], []]


# --------------------------------------------------------------------------- configuration history


def config_batch(records: list[dict[str, Any]], ingested_at: datetime, path: str) -> pl.LazyFrame:
    return prepare_site_configurations(site_bronze(records, path, ingested_at))


def history_rows(*batches: pl.LazyFrame) -> list[tuple[Any, ...]]:
    """Silver configuration history of every row of the given files, as refine rebuilds it."""
    valid = pl.concat(batches, how="diagonal_relaxed")
    return (
        kept(configuration_versions(valid))
        .select("site_id", "battery_capacity_kwh", "valid_from", "valid_to", "is_current")
        .sort("site_id", "valid_from")
        .collect()
        .rows()
    )


def test_new_configuration_closes_the_previous_one_and_resends_add_nothing() -> None:
    t1, t2, t3 = T0, T0 + timedelta(days=3), T0 + timedelta(days=5)
    first = config_batch([nested(1), nested(2)], t1, "c1.json")
    assert history_rows(first) == [("1", 3100.0, t1, None, True), ("2", 3100.0, t1, None, True)]

    # Site 1 gets a larger battery; site 2's configuration is sent again unchanged.
    second = config_batch([nested(1, capacity_kwh=6200), nested(2)], t2, "c2.json")
    expected = [
        ("1", 3100.0, t1, t2, False),
        ("1", 6200.0, t2, None, True),
        ("2", 3100.0, t1, None, True),
    ]
    assert history_rows(first, second) == expected
    # The unchanged configuration is a duplicate: silver keeps the original row and lineage.
    fates = configuration_versions(pl.concat([first, second], how="diagonal_relaxed")).collect()
    site2 = fates.filter(pl.col("site_id") == "2").sort("_ingested_at")
    assert site2.select("_source_file", "_fate").rows() == [("c1.json", history.KEPT), ("c2.json", history.DUPLICATE)]

    # The same configurations sent again in a later file add no version.
    again = config_batch([nested(1, capacity_kwh=6200), nested(2)], t3, "c2-again.json")
    assert history_rows(first, second, again) == expected

    # An explicit valid_from earlier than the current version is slotted into the history.
    late = config_batch([{**nested(1, capacity_kwh=4000), "valid_from": "2024-05-02 00:00:00"}], t3, "c3.json")
    t_late = datetime(2024, 5, 2, tzinfo=UTC)
    assert history_rows(first, second, late)[:3] == [
        ("1", 3100.0, t1, t_late, False),
        ("1", 4000.0, t_late, t2, False),
        ("1", 6200.0, t2, None, True),
    ]


def test_history_is_deterministic_within_one_batch() -> None:
    t = "2024-05-02T00:00:00Z"
    records = [
        {**nested(1, capacity_kwh=10), "valid_from": "2024-05-03T00:00:00Z"},
        {**nested(1, capacity_kwh=20), "valid_from": t},
        {**nested(1, capacity_kwh=10), "valid_from": "2024-05-04T00:00:00Z"},  # re-send: no version
    ]
    one = config_batch(records, T0, "one.json")
    # Same valid_from in two files of one batch: the later ingest wins.
    other = config_batch([{**nested(1, capacity_kwh=30), "valid_from": t}], T0 + timedelta(hours=1), "two.json")
    expected = [
        ("1", 30.0, datetime(2024, 5, 2, tzinfo=UTC), datetime(2024, 5, 3, tzinfo=UTC), False),
        ("1", 10.0, datetime(2024, 5, 3, tzinfo=UTC), None, True),
    ]
    # Refine rebuilds the history from all rows, so only the order they are stacked in could matter.
    assert history_rows(one, other) == expected
    assert history_rows(other, one) == expected


# --------------------------------------------------------------------------- live data


def test_explode_types_values_and_keeps_lineage() -> None:
    objects = [
        {
            "site_id": 1,
            "dt-stamp": ["2023-01-01 00:00:00", "2023-01-01T00:10:00+01:00", "2023-01-01T00:20:00Z"],
            "soc": [0, 10, "20.5"],
            "load_kwh": [350, 600, 1.5],
            "net_load_kwh": [400, 700, 0],
            "pv_notification": [True, False, True],
            "bio_notification": [False, False, False],
            "cro_notification": [False, True, False],
        },
        # A row-oriented record in the same file.
        {
            "site_id": "2",
            "dt-stamp": "2023-01-01 00:00:00",
            "soc": 55,
            "load_kwh": 1,
            "net_load_kwh": 2,
            "pv_notification": False,
            "bio_notification": True,
            "cro_notification": False,
        },
    ]
    out = explode_site_live_data(site_bronze(objects)).collect()
    assert out.select(
        "_row_number", "_element_index", "site_id", "dt_stamp", "soc", "load_kwh", "net_load_kwh"
    ).rows() == [
        (0, 0, "1", datetime(2023, 1, 1, tzinfo=UTC), 0.0, 350.0, 400.0),
        # Offsets are honoured: 00:10 at +01:00 is 23:10 UTC the day before.
        (0, 1, "1", datetime(2022, 12, 31, 23, 10, tzinfo=UTC), 10.0, 600.0, 700.0),
        (0, 2, "1", datetime(2023, 1, 1, 0, 20, tzinfo=UTC), 20.5, 1.5, 0.0),
        (1, 0, "2", datetime(2023, 1, 1, tzinfo=UTC), 55.0, 1.0, 2.0),
    ]
    assert out.select("pv_notification", "bio_notification", "cro_notification").rows() == [
        (True, False, False),
        (False, False, True),
        (True, False, False),
        (False, True, False),
    ]
    assert out["dt_stamp"].dtype == pl.Datetime("us", "UTC")
    assert out["_source_file"].unique().to_list() == ["landing/x/file.json"]
    assert out["soc_raw"].to_list() == ["0", "10", '"20.5"', "55"]
    assert site_failures(out, site_live_data.SUITE) == [[], [], [], []]


def test_unequal_arrays_reject_the_whole_object_with_a_readable_message() -> None:
    bad = live_object(7, 2, soc=[1, 2, 3])
    out = explode_site_live_data(site_bronze([live_object(1, 2), bad])).collect()
    message = (
        "arrays differ in length: dt-stamp=2, soc=3, load_kwh=2, net_load_kwh=2, "
        "pv_notification=2, bio_notification=2, cro_notification=2"
    )
    rejected = out.filter(pl.col("site_id") == "7")
    assert rejected.height == 3
    assert rejected["array_length_error"].to_list() == [message] * 3
    assert out.filter(pl.col("site_id") == "1")["array_length_error"].to_list() == [None, None]
    failed = site_failures(out, site_live_data.SUITE)
    assert failed[:2] == [[], []]
    assert all("array_lengths_equal" in rules for rules in failed[2:])
    # The rows that did line up fail only that rule: the reason stays readable.
    assert failed[2] == ["array_lengths_equal"]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (
            {k: v for k, v in live_object(1, 2).items() if k != "cro_notification"},
            "every field of a columnar object must be an array of one length: dt-stamp=2, soc=2, load_kwh=2, "
            "net_load_kwh=2, pv_notification=2, bio_notification=2, cro_notification=missing",
        ),
        (
            live_object(1, 2, soc=5),
            "every field of a columnar object must be an array of one length: dt-stamp=2, soc=not an array, "
            "load_kwh=2, net_load_kwh=2, pv_notification=2, bio_notification=2, cro_notification=2",
        ),
        (
            live_object(1, 2, soc=[[1], [2]]),
            "every field of a columnar object must be an array of one length: dt-stamp=2, "
            "soc=not a flat array of JSON values, load_kwh=2, net_load_kwh=2, pv_notification=2, "
            "bio_notification=2, cro_notification=2",
        ),
        (
            live_object(1, 0),
            "arrays are empty: dt-stamp=0, soc=0, load_kwh=0, net_load_kwh=0, pv_notification=0, "
            "bio_notification=0, cro_notification=0",
        ),
    ],
)
def test_malformed_columnar_objects_are_named(record: dict[str, Any], message: str) -> None:
    out = explode_site_live_data(site_bronze([record, live_object(2, 1)])).collect()
    first = out.filter(pl.col("_row_number") == 0)
    assert first.height >= 1
    assert first["array_length_error"].unique().to_list() == [message]


def test_every_live_rule_has_a_failing_record() -> None:
    cases: list[tuple[str | None, dict[str, Any]]] = [
        (None, live_object(1)),
        ("site_id_present", live_object(" ")),
        ("array_lengths_equal", live_object(3, 1, load_kwh=[1, 2])),
        ("dt_stamp_parseable", live_object(4, 1, **{"dt-stamp": ["03/05/2023, 21:37:00"]})),
        ("dt_stamp_parseable", live_object(5, 1, **{"dt-stamp": [1672531200]})),
        ("soc_is_number", live_object(6, soc=["half"])),
        ("soc_is_number", live_object(7, soc=[float("nan")])),
        ("soc_is_number", live_object(8, soc=[True])),
        ("soc_between_0_and_100", live_object(9, soc=[100.5])),
        ("soc_between_0_and_100", live_object(10, soc=[-1])),
        ("load_kwh_is_number", live_object(11, load_kwh=[None])),
        ("load_kwh_non_negative", live_object(12, load_kwh=[-0.1])),
        ("load_kwh_non_negative", live_object(13, load_kwh=[float("inf")])),
        ("net_load_kwh_is_number", live_object(14, net_load_kwh=["x"])),
        ("net_load_kwh_non_negative", live_object(15, net_load_kwh=[-5])),
        ("pv_notification_is_boolean", live_object(16, pv_notification=["true"])),
        ("bio_notification_is_boolean", live_object(17, bio_notification=[1])),
        ("cro_notification_is_boolean", live_object(18, cro_notification=[None])),
        ("no_conflicting_duplicate", live_object(19, 2, **{"dt-stamp": ["2024-05-01 00:00:00"] * 2, "soc": [2, 3]})),
        (None, live_object(20, 2, **{"dt-stamp": ["2024-05-01 00:00:00"] * 2})),  # identical repeat
    ]
    out = explode_site_live_data(site_bronze([record for _, record in cases])).collect()
    failed = site_failures(out, site_live_data.SUITE)
    by_object: dict[int, list[list[str]]] = {}
    for row, rules in zip(out["_row_number"].to_list(), failed, strict=True):
        by_object.setdefault(row, []).append(rules)
    for index, (rule, record) in enumerate(cases):
        for got in by_object[index]:
            if rule == "array_lengths_equal":
                assert rule in got, (record, got)
            else:
                assert got == ([rule] if rule else []), (record, got)
    row_rules = {r.name for r in site_live_data.SUITE.row_rules}
    assert row_rules == {rule for rule, _ in cases if rule}


def test_row_oriented_notifications_reject_numbers() -> None:
    record = {**{k: v[0] for k, v in live_object(1).items() if isinstance(v, list)}, "site_id": 1}
    out = explode_site_live_data(site_bronze([record, {**record, "site_id": 2, "pv_notification": 1}])).collect()
    assert site_failures(out, site_live_data.SUITE) == [[], ["pv_notification_is_boolean"]]


def test_unknown_sites_wait_and_missing_fields_fail_the_file() -> None:
    register = pl.LazyFrame({"site_id": ["1"]})
    out = explode_site_live_data(site_bronze([live_object(1), live_object(99)]), sites=register).collect()
    assert out["site_known"].to_list() == [True, False]
    assert site_failures(out, site_live_data.SUITE) == [[], []]

    no_cro = [{k: v for k, v in live_object(1).items() if k != "cro_notification"}]
    prepared = explode_site_live_data(site_bronze(no_cro)).collect()
    assert validate(prepared, site_live_data.SUITE).blocking_failures == ["required_columns_present"]
    assert prepared["missing_columns"][0].startswith("missing required columns: cro_notification; the file has:")


# --------------------------------------------------------------------------- silver and gold


def reading(site: str, minutes: int, soc: float, load: float, net: float, pv: bool = False, bio: bool = False,
            cro: bool = False, ingested: datetime = T0) -> dict[str, Any]:  # fmt: skip
    return {
        "site_id": site,
        "dt_stamp": datetime(2024, 5, 1, tzinfo=UTC) + timedelta(minutes=minutes),
        "soc": soc,
        "load_kwh": load,
        "net_load_kwh": net,
        "pv_notification": pv,
        "bio_notification": bio,
        "cro_notification": cro,
        "_source_file": "f",
        "_file_hash": "h",
        "_ingested_at": ingested,
        "_row_number": 0,
        "_element_index": 0,
    }


def live_frame(rows: list[dict[str, Any]]) -> pl.LazyFrame:
    return pl.LazyFrame(rows).with_columns(pl.col("dt_stamp", "_ingested_at").cast(pl.Datetime("us", "UTC")))


def test_live_silver_latest_ingest_wins() -> None:
    rows = [
        reading("1", 0, 10, 1, 1, ingested=T0 + timedelta(hours=1)),
        reading("1", 0, 20, 2, 2, ingested=T0),
        reading("1", 10, 30, 3, 3),
    ]
    fates = latest_wins("site_live_data", live_frame(rows)).collect()
    assert fates.sort("soc").select("soc", "_fate").rows() == [
        (10.0, history.KEPT),
        (20.0, history.SUPERSEDED),
        (30.0, history.KEPT),
    ]
    silver = fates.filter(pl.col("_fate") == history.KEPT).sort("dt_stamp")
    assert silver.select("site_id", "dt_stamp", "soc").rows() == [
        ("1", T0, 10.0),
        ("1", T0 + timedelta(minutes=10), 30.0),
    ]


def configs_silver() -> pl.LazyFrame:
    change = T0 + timedelta(hours=12)  # 2024-05-01 12:00 UTC
    first = config_batch([nested(1), nested(2, vendor="KATL", capacity_kwh=500)], T0, "c1.json")
    second = config_batch([nested(1, vendor="KATL", capacity_kwh=6200)], change, "c2.json")
    return kept(configuration_versions(pl.concat([first, second], how="diagonal_relaxed")))


def register() -> pl.LazyFrame:
    records = [{"id": 1, "name": "Willo Woods", "location": "north"}, {"id": 2, "name": "Oak", "location": "south"}]
    return kept(latest_wins("sites", prepare_sites(site_bronze(records))))


def test_site_latest_shows_the_latest_reading_and_current_configuration() -> None:
    live = live_frame(
        [
            reading("1", 0, 40, 10, 8),
            reading("1", 20, 42, 11, 9, pv=True),
            reading("1", 10, 41, 12, 7),
            reading("2", 5, 90, 3, 0, cro=True),
        ]
    )
    latest = site_latest(register(), configs_silver(), live).collect()
    assert latest.select(
        "site_id", "name", "location", "dt_stamp", "soc", "load_kwh", "net_load_kwh",
        "pv_notification", "bio_notification", "cro_notification", "battery_vendor", "battery_capacity_kwh",
    ).rows() == [
        ("1", "Willo Woods", "north", T0 + timedelta(minutes=20), 42.0, 11.0, 9.0, True, False, False, "KATL", 6200.0),
        ("2", "Oak", "south", T0 + timedelta(minutes=5), 90.0, 3.0, 0.0, False, False, True, "KATL", 500.0),
    ]  # fmt: skip
    assert latest["production_pv_kwp"].to_list() == [500.0, 500.0]


def test_daily_stats_by_hand() -> None:
    day2 = 24 * 60
    live = live_frame(
        [
            reading("1", 0, 40, 10, 8, pv=True),
            reading("1", 10, 50, 20, 0),
            reading("1", 20, 60, 30, 5, pv=True, bio=True),
            reading("1", day2, 70, 1.5, 1),
            reading("2", 30, 90, 3, 0, cro=True),
        ]
    )
    stats = site_daily_stats(live, configs_silver()).collect()
    assert stats.columns == [
        "site_id", "date", "readings", "soc_min", "soc_avg", "soc_max", "load_kwh", "net_load_kwh",
        "pv_notifications", "bio_notifications", "cro_notifications", "battery_vendor", "battery_capacity_kwh",
    ]  # fmt: skip
    # Site 1's configuration changed at 12:00 on 1 May: the day reports the one in force at its end.
    assert stats.rows() == [
        ("1", date(2024, 5, 1), 3, 40.0, 50.0, 60.0, 60.0, 13.0, 2, 1, 0, "KATL", 6200.0),
        ("1", date(2024, 5, 2), 1, 70.0, 70.0, 70.0, 1.5, 1.0, 0, 0, 0, "KATL", 6200.0),
        ("2", date(2024, 5, 1), 1, 90.0, 90.0, 90.0, 3.0, 0.0, 0, 0, 1, "KATL", 500.0),
    ]


def test_daily_stats_before_any_configuration_has_no_battery() -> None:
    live = live_frame([reading("1", -24 * 60, 40, 10, 8)])
    stats = site_daily_stats(live, configs_silver()).collect()
    assert stats.select("date", "battery_vendor", "battery_capacity_kwh").rows() == [(date(2024, 4, 30), None, None)]
