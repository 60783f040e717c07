"""A user's ordinary mistakes end in one line naming the value and what is expected, with exit
code 2: exact texts, so a change to any of them is a decision. A read command pointed at no lake
says so and creates nothing; an S3 lake without credentials is one line, not a botocore
traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestration.cli import main

GRIDLAKE = str(Path(sys.executable).parent / "gridlake")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["sql", "--as-of", "yesterday", "select 1"],
            "Error: Invalid value for '--as-of': 'yesterday' is not an ISO-8601 time: e.g. 2024-12-05T10:00:00Z",
        ),
        (
            ["backfill", "--start", "2020-8-5", "--end", "2020-08-06"],
            "Error: Invalid value for '--start': '2020-8-5' is not a date: use YYYY-MM-DD, e.g. 2020-08-05",
        ),
        (
            ["generate", "usage", "--start", "2020-13-01"],
            "Error: Invalid value for '--start': '2020-13-01' is not a date: use YYYY-MM-DD, e.g. 2020-08-05",
        ),
        (
            ["generate", "usage", "--customers", "0"],
            "Error: Invalid value for '--customers': 0 is not in the range x>=1.",
        ),
        (
            ["backfill", "--start", "2020-08-06", "--end", "2020-08-05"],
            "Error: Invalid value for '--end': 2020-08-05 is before --start 2020-08-06: the range is --start to --end",
        ),
        (
            ["gaps", "customer_usage", "--start", "2020-08-06", "--end", "2020-08-05"],
            "Error: Invalid value for '--end': 2020-08-05 is before --start 2020-08-06: the range is --start to --end",
        ),
        (
            ["gaps", "hourly_usage"],
            "Error: Invalid value for SOURCE: no completeness contract for 'hourly_usage': one of customer_usage, "
            "energy_prices, park_readings, site_live_data, solar_readings, coin_prices",
        ),
        (
            ["explain", "gold.cost_per_interval", "customer_id"],
            "Error: Invalid value for KEY: 'customer_id' is not COLUMN=VALUE",
        ),
    ],
)
def test_a_mistake_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    out = CliRunner().invoke(main, [*args, "--lake", str(tmp_path / "lake")], env={"COLUMNS": "400"})
    assert out.exit_code == 2, out.output
    assert out.output.strip().splitlines()[-1] == message
    assert out.exception is None or isinstance(out.exception, SystemExit)


@pytest.mark.parametrize(
    "args",
    [
        ["sql", "select * from gold.hourly_usage"],
        ["tables"],
        ["gaps", "coin_prices"],
        ["explain", "gold.coin_latest", "pair=x"],
    ],
)
def test_a_read_command_on_no_lake_says_so_and_creates_nothing(tmp_path: Path, args: list[str]) -> None:
    nope = tmp_path / "nope"
    out = CliRunner().invoke(main, [*args, "--lake", str(nope)], env={"COLUMNS": "400"})
    assert out.exit_code == 2, out.output
    assert out.output.strip().splitlines()[-1] == (
        f"Error: no lake at {nope}: check --lake (or GRIDLAKE_ROOT); `gridlake demo` makes one with sample data"
    )
    assert not nope.exists()


@pytest.mark.e2e
def test_an_s3_lake_without_credentials_is_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GRIDLAKE_"))}
    # A port nothing listens on: the credentials are missing before any request is sent.
    env |= {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ALLOW_HTTP": "true", "DAGSTER_HOME": str(tmp_path / "home")}
    for args in (["tables"], ["sql", "select 1"]):
        out = subprocess.run(
            [GRIDLAKE, *args, "--lake", "s3://bucket/lake"],
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=120,
        )
        assert out.returncode == 2, out.stderr
        assert out.stderr.strip().splitlines() == [
            "Error: no usable S3 credentials (Unable to locate credentials): set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (and AWS_ENDPOINT_URL for a server other than AWS); see docs/operations.md"
        ]
