"""The same pipeline with the lake on a real S3 server (SeaweedFS): landing on S3, Delta tables
on S3, DuckDB reading them through httpfs with a secret built from the same settings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tests.builders import FIVE_MIN_PRICES, prices_json, ts, usage_csv
from tests.s3server import SeaweedS3
from warehouse import catalog, delta
from warehouse.generate.usage import generate_usage
from warehouse.lake import Lake
from warehouse.registry import table
from warehouse.stages import land
from warehouse.stages.pipeline import process_pending

pytestmark = pytest.mark.s3


def _drop_all(lake: Lake, files: list[tuple[str, bytes]]) -> None:
    for relative, data in files:
        with lake.fs.open(lake.fs_path(lake.uri("landing", relative)), "wb") as f:
            f.write(data)


def _files() -> list[tuple[str, bytes]]:
    usage = list(generate_usage(5, dt.date(2020, 8, 5), 1, per="hour", fmt="csv", seed=1))
    return [
        *usage,
        ("customer_usage/bad.csv", usage_csv([("", ts(0), ts(5), 1.0), (9, ts(0), ts(5), -2)])),
        ("customer_usage/broken.json", b'{"customerId": 1,'),
        ("energy_prices/p.json", prices_json([(m, m + 5, p) for m, _, p in FIVE_MIN_PRICES * 1])),
    ]


def _gold(lake: Lake) -> pl.DataFrame:
    return delta.scan(lake, table("gold.hourly_usage")).collect().sort("customer_id", "hour_start")


def test_pipeline_on_s3_matches_local(s3_server: SeaweedS3, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    local = Lake.from_env(str(tmp_path / "local"))
    for relative, data in _files():
        path = Path(local.root) / "landing" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    process_pending(local)

    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    s3 = Lake.from_env(s3_server.new_prefix())
    assert s3.is_s3 and s3.storage_options["AWS_ENDPOINT_URL"] == s3_server.endpoint_url
    _drop_all(s3, _files())
    report = process_pending(s3)
    assert len(report.landed["customer_usage"].landed) == 25
    assert [r.path.rsplit("/", 1)[1] for r in report.landed["customer_usage"].failed] == ["broken.json"]

    # Same rows and flags; sums may differ in the last bit (float addition order is not fixed).
    assert_frame_equal(_gold(s3), _gold(local), check_exact=False, rel_tol=1e-12)
    log = land.ingest_log(s3, "customer_usage").filter(status="refined")
    assert int(log["rows_read"].sum()) == 5 * 288 + 2
    assert int(log["rows_quarantined"].sum()) == 2

    # A second run finds nothing new on S3.
    again = process_pending(s3)
    assert again.landed["customer_usage"].landed == [] and again.landed["customer_usage"].failed == []

    catalog.publish(s3)
    counts = catalog.query(s3, "select count(*) as n, round(sum(usage_kwh), 6) as kwh from gold.hourly_usage")
    assert counts["n"][0] == 5 * 24
    assert counts["kwh"][0] == pytest.approx(round(_gold(local)["usage_kwh"].sum(), 6))
    quarantined = catalog.query(s3, "select reason from quarantine.customer_usage order by reason")
    assert quarantined["reason"].to_list() == ["customer_id_present", "usage_within_bounds"]
