"""The installed commands as a user runs them: from an empty working directory, with no
DAGSTER_HOME, no lake configured and nothing from the repository on the path but the package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from orchestration.service import free_port
from tests.builders import ts, usage_csv

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
BANNER = ("Welcome to Dagster", "Telemetry", "No dagster instance configuration file")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "GRIDLAKE_", "AWS_"))}
    return env


def test_run_from_an_empty_folder_prints_no_banner_and_one_bad_row_passes(tmp_path: Path) -> None:
    landing = tmp_path / "lake" / "landing" / "customer_usage"
    landing.mkdir(parents=True)
    # Six rows, one with an unparseable start: 1 of 6 quarantined, far below the blocking 50 %.
    good = [(1, ts(5 * i), ts(5 * i + 5), 1.0 + i) for i in range(5)]
    (landing / "six.csv").write_bytes(usage_csv([*good, (1, "not-a-time", ts(30), 1.0)]))
    out = subprocess.run([str(BIN / "gridlake"), "run"], cwd=tmp_path, env=_env(), capture_output=True, text=True)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert not any(b in text for b in BANNER), text
    assert "BLOCKED" not in text
    config = (tmp_path / ".dagster_home" / "dagster.yaml").read_text()
    assert "telemetry:\n  enabled: false" in config
    sql = [
        str(BIN / "gridlake"),
        "sql",
        "--format",
        "csv",
        "select count(*) as n, sum(usage_kwh) as kwh from gold.hourly_usage",
    ]
    got = subprocess.run(sql, cwd=tmp_path, env=_env(), capture_output=True, text=True, check=True)
    assert got.stdout.split() == ["n,kwh", "1,15.0"]  # 1+2+3+4+5 kWh, all in hour 00


def _graphql(url: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{url}/graphql", data=json.dumps({"query": query}).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


def _status(url: str, headers: dict[str, str] | None = None, body: bytes | None = None) -> int:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


SENSORS = """{ repositoriesOrError { ... on RepositoryConnection { nodes {
  sensors { name sensorState { status } } } } } }"""


def test_ui_serves_the_code_location_with_its_sensors_running(tmp_path: Path) -> None:
    port = free_port()
    env = {**_env(), "DAGSTER_HOME": str(tmp_path / "home")}
    process = subprocess.Popen(
        [str(BIN / "gridlake"), "ui", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 600  # a loaded 2-core CI machine
        line, printed = "", []
        while "Dagster UI on" not in line:
            line = process.stdout.readline()
            printed.append(line)
            assert line or process.poll() is None, "gridlake ui exited:\n" + "".join(printed)
            assert time.monotonic() < deadline, "gridlake ui did not come up"
        assert f"http://127.0.0.1:{port}" in line
        nodes = _graphql(f"http://127.0.0.1:{port}", SENSORS)["repositoriesOrError"]["nodes"]
        states = {s["name"]: s["sensorState"]["status"] for n in nodes for s in n["sensors"]}
        assert states == {
            "landing_drops": "RUNNING",
            "refine_landed": "RUNNING",
            "gold_queue": "RUNNING",
            "solar_anomaly_alerts": "RUNNING",
        }
        # What a web page in a browser on this machine could send: refused before Dagster sees it.
        url = f"http://127.0.0.1:{port}"
        wipe = urllib.parse.quote("mutation { wipeAssets(assetPartitionRanges: []) { __typename } }")
        assert _status(f"{url}/graphql?query={wipe}") == 405
        assert _status(f"{url}/graphql", {"Host": "rebound.example:80"}) == 403
        assert _status(f"{url}/graphql", {"Origin": "http://evil.example"}, b'{"query": "{ version }"}') == 403
        assert _status(f"{url}/graphql", {"Origin": url}, b'{"query": "{ version }"}') == 200
        assert _status(f"{url}/graphql?query={urllib.parse.quote('{ version }')}") == 200
    finally:
        process.terminate()  # as a service manager stops it; Ctrl-C takes the same path
        process.wait(60)
    assert process.returncode == 0
