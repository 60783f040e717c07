"""Shared fixtures: a fresh local lake per test, a file-drop helper, and the real S3 server."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.pgserver import postgres  # noqa: F401 - module fixture, a PostgreSQL server
from tests.s3server import s3_server  # noqa: F401 - session fixture, one SeaweedFS per run
from warehouse.lake import Lake

Drop = Callable[[str, str, bytes], str]
# Copies of real producer files (tests/data/real/SOURCES.md says where each comes from).
REAL_DATA = Path(__file__).parent / "data" / "real"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's lake, S3 settings or Dagster home."""
    for name in (
        "GRIDLAKE_ROOT",
        "GRIDLAKE_STATE",
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_ALLOW_HTTP",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("GRIDLAKE_STATE", str(tmp_path / "state"))
    # A warm parent the `gridlake` commands start lingers a short while only (ended at session end).
    monkeypatch.setenv("GRIDLAKE_WARM_IDLE_SECONDS", "300")


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake.from_env(str(tmp_path / "lake"))


@pytest.fixture
def drop(lake: Lake) -> Drop:
    """Write a file into landing/<source>/<name>; returns its path relative to the lake root
    (what the ingest log and bronze record)."""

    def _drop(source: str, name: str, data: bytes) -> str:
        uri = lake.uri("landing", source, name)
        path = lake.fs_path(uri)
        lake.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        with lake.fs.open(path, "wb") as f:
            f.write(data)
        return lake.relative(uri)

    return _drop


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((Path(__file__).parents[1] / "dagster.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    yield home
    os.environ.pop("DAGSTER_HOME", None)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The warm parent `gridlake` commands started (orchestration/zygote.py) ends with the session."""
    if not hasattr(session.config, "workerinput"):
        from orchestration.zygote import stop_commands

        stop_commands()


# The longest modules first (seconds measured in one `make test`, 2026-12-06): `--dist loadscope`
# hands whole modules to the two workers in this order (with `--no-loadscope-reorder`; xdist's
# default puts the modules with the most tests first, which left the two 3-minute modules,
# of 2 tests each, for the end), so the long ones run side by side from the start.
LONGEST_FIRST = (
    "test_daemon.py",  # 179
    "test_production_profile.py",  # 179
    "test_parallel_backfill.py",  # 78
    "test_pipeline_parks.py",  # 59
    "test_kill_drill.py",  # 56
    "test_s3_drills.py",  # 51
    "test_bench_smoke.py",  # 47
    "test_maintain.py",  # 42
    "test_ingest_api.py",  # 41
    "test_api.py",  # 39
    "test_commit_races.py",  # 31
    "test_cli_outside_repo.py",  # 31
    "test_concurrent_runs.py",  # 29
    "test_pipeline_sites.py",  # 27
    "test_dagster.py",  # 25
    "test_bad_inputs.py",  # 20
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


# Debian's Chromium for the browser tests (marked `browser`); installed with apt-get when missing.
INSTALL_TIMEOUT_S = 900


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium binary, installed with apt-get (as root) when missing."""
    found = shutil.which("chromium")
    if found:
        return found
    if not shutil.which("apt-get") or os.geteuid() != 0:
        pytest.skip("Chromium is missing and cannot be installed here (needs apt-get as root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lock = ["-o", "DPkg::Lock::Timeout=300"]
    started = time.monotonic()
    for command in (["apt-get", *lock, "update"], ["apt-get", *lock, "install", "-y", "chromium"]):
        left = INSTALL_TIMEOUT_S - (time.monotonic() - started)
        try:
            subprocess.run(command, check=True, capture_output=True, text=True, timeout=max(left, 1), env=env)
        except subprocess.CalledProcessError as e:
            pytest.skip(f"Chromium is missing and `{' '.join(command)}` failed: {e.stderr.strip()[-500:]}")
        except subprocess.TimeoutExpired:
            pytest.skip(f"Chromium is missing and its install took over {INSTALL_TIMEOUT_S} s")
    found = shutil.which("chromium")
    if not found:
        pytest.skip("apt-get installed chromium but no `chromium` command is on PATH")
    return found
