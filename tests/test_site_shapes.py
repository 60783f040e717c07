"""The real battery-site producer's files: rejected whole with a specific error
(transforms/site_shapes.py), and nothing of them would pass the suites if they reached bronze."""

from __future__ import annotations

import json

import pytest

from expectations import site_configurations, site_live_data, sites
from expectations.runner import validate
from tests.builders import FLAT, NESTED, SITES_REALDATA, live_object, site_bronze, site_failures
from transforms.site_shapes import detect_unsupported_shape, unsupported_shape_in_bronze
from transforms.sites import explode_site_live_data, prepare_site_configurations, prepare_sites


@pytest.fixture(scope="module")
def real_files() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(SITES_REALDATA.glob("*.json"))}


def test_real_files_are_rejected_with_a_specific_error(real_files: dict[str, bytes]) -> None:
    assert set(real_files) == {"sites.json", "configuration.json", "live_data.json"}
    messages = {name: detect_unsupported_shape([json.loads(data)]) for name, data in real_files.items()}
    assert messages["sites.json"] == (
        'unsupported shape: records are wrapped in an object keyed by position ({"sites": {"1": {...}, ...}}, '
        "3 records); expected one JSON object per record (a single object, an array of objects or NDJSON)"
    )
    assert messages["configuration.json"].startswith(
        'unsupported shape: records are wrapped in an object keyed by position ({"Configurations": {"1": {...}'
    )
    assert messages["live_data.json"] == (
        'unsupported shape: records are wrapped in an object keyed by position ({"live_data": {"1": {...}, ...}}, '
        "1 record); expected one JSON object per record (a single object, an array of objects or NDJSON); "
        "key 'dt - stamp' instead of 'dt-stamp'; dt-stamp '03/05/2023, 21:37:00' is not YYYY-MM-DD HH:MM:SS "
        "(its day/month order cannot be known and it has no timezone)"
    )
    # Contract-shaped records are fine.
    assert detect_unsupported_shape([live_object(1, 2), NESTED, FLAT]) is None


def test_real_files_that_reach_bronze_land_nothing(real_files: dict[str, bytes]) -> None:
    cases = [
        ("sites.json", "sites", prepare_sites, sites.SUITE),
        ("configuration.json", "site_configurations", prepare_site_configurations, site_configurations.SUITE),
        ("live_data.json", "site_live_data", explode_site_live_data, site_live_data.SUITE),
    ]
    for name, source, prepare, suite in cases:
        bronze = site_bronze(real_files[name], f"landing/{source}/{name}")
        assert unsupported_shape_in_bronze(bronze.collect(), source) == detect_unsupported_shape(
            [json.loads(real_files[name])], source
        )
        prepared = prepare(bronze).collect()
        result = validate(prepared, suite)
        assert result.blocking_failures == ["required_columns_present"], name
        assert prepared.height >= 1
        assert all("site_id_present" in rules for rules in result.failed_rules.to_list()), name
    live = explode_site_live_data(site_bronze(real_files["live_data.json"])).collect()
    assert live["missing_columns"][0] == (
        "missing required columns: site_id, dt-stamp, soc, load_kwh, net_load_kwh, pv_notification, "
        "bio_notification, cro_notification; the file has: live_data"
    )


def test_unwrapped_real_live_data_still_fails_on_its_own_rules(real_files: dict[str, bytes]) -> None:
    # Even unwrapped by hand, the record would not pass: the key is misspelt, and with it renamed the
    # stamps are unparseable and the two readings conflict.
    record = json.loads(real_files["live_data.json"])["live_data"]["1"]
    prepared = explode_site_live_data(site_bronze([record])).collect()
    assert prepared["missing_columns"][0].startswith("missing required columns: dt-stamp (found 'dt - stamp')")
    record["dt-stamp"] = record.pop("dt - stamp")
    renamed = explode_site_live_data(site_bronze([record])).collect()
    assert renamed["site_id"].to_list() == ["97793139571608984782651508457645241472"] * 2
    assert site_failures(renamed, site_live_data.SUITE) == [["dt_stamp_parseable"]] * 2
