"""A real PostgreSQL server for tests: the Debian package's `initdb` and `pg_ctl` (installed with
apt-get when missing and running as root), a cluster in a temp folder, listening on a free
loopback port, trust authentication for one user, stopped and deleted at the end. As root the
server runs as the `postgres` user the package creates (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestration.service import free_port

USER = "gridlake"
DB = "dagster"


def _bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))[-1:]), None)
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], check=True, env=env, capture_output=True)
        return _bin(name)
    raise RuntimeError(f"PostgreSQL's {name} was not found: install the postgresql package (docs/operations.md)")


class Postgres:
    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="gridlake-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()

    def _as_owner(self, *command: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)

    def start(self) -> Postgres:
        initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        subprocess.run(
            self._as_owner(initdb, "-D", str(self.data), "-U", USER, "--auth=trust", "--no-sync", "-E", "UTF8"),
            check=True,
            capture_output=True,
        )
        options = f"-p {self.port} -h 127.0.0.1 -k {self.folder} -c fsync=off -c max_connections=200"
        subprocess.run(
            self._as_owner(pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"), "-w", "start"),
            check=True,
            capture_output=True,
        )
        import psycopg2

        deadline = time.monotonic() + 30
        while True:
            try:
                con = psycopg2.connect(host="127.0.0.1", port=self.port, user=USER, dbname="postgres")
                con.autocommit = True
                con.cursor().execute(f"CREATE DATABASE {DB}")
                con.close()
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        return self

    def env(self) -> dict[str, str]:
        """The variables deploy/dagster.prod.yaml reads."""
        return {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_DB": DB,
            "DAGSTER_PG_USER": USER,
            "DAGSTER_PG_PASSWORD": "",
        }

    def stop(self) -> None:
        subprocess.run(
            self._as_owner(_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"),
            capture_output=True,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    server = Postgres().start()
    try:
        yield server
    finally:
        server.stop()
