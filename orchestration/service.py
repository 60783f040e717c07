"""The operated path as processes: the Dagster daemon (`dagster-daemon run`, through
orchestration/daemon.py, which starts the warm run parent first) and, for `gridlake ui`,
the webserver behind its guard (orchestration/webserver.py), for one lake and one instance home,
on loopback. Each runs in a process group of its own (with the code server and runs it starts),
and `stop` ends both.

`make ui` runs it in the foreground (`gridlake ui`); the daemon tests and the latency benchmark
start it in the background with a fresh home and lake, wait until the daemon's heartbeats are in
the instance, and stop it when done."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from orchestration.instance import instance_config, prepare_storage

CODE_LOCATION = "orchestration.definitions"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def daemon_command() -> list[str]:
    return [sys.executable, "-m", "orchestration.daemon", "run", "-m", CODE_LOCATION]


def webserver_command(port: int, host: str = "127.0.0.1") -> list[str]:
    return [sys.executable, "-m", "orchestration.webserver", "-m", CODE_LOCATION, "--host", host, "-p", str(port)]


@dataclass
class Service:
    """A background daemon, and with webserver=True the guarded webserver, for one lake."""

    home: Path
    lake_root: str
    webserver: bool = False
    log_path: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    # Write the repository's dagster.yaml into home even if one is there (a fresh test instance).
    fresh_config: bool = True
    process: subprocess.Popen[bytes] | None = None
    web: subprocess.Popen[bytes] | None = None
    last_error: str = "none"

    def start(self, timeout: float = 120.0) -> Service:
        self.home.mkdir(parents=True, exist_ok=True)
        if self.fresh_config or not (self.home / "dagster.yaml").exists():
            shutil.copy(instance_config(), self.home / "dagster.yaml")
        if self.webserver and not self.port:
            self.port = free_port()
        env = {**os.environ, "DAGSTER_HOME": str(self.home), "GRIDLAKE_ROOT": self.lake_root, **self.env}
        prepare_storage(self.home)
        log = (self.log_path or self.home / "service.log").open("ab")
        self.process = subprocess.Popen(
            daemon_command(),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own process group: stopping it stops the code server and runs it started.
            start_new_session=True,
        )
        try:
            if self.webserver:
                self.web = subprocess.Popen(
                    webserver_command(self.port),
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            self.wait(self._daemon_running, timeout, "the daemon to report its heartbeats")
            if self.webserver:
                self.wait(self._webserver_answering, timeout, f"the webserver on {self.url}")
        except BaseException:
            # Never leave a daemon behind a start that failed.
            self.stop()
            raise
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def exited(self) -> int | None:
        """The exit code of the daemon or the webserver, whichever ended first; None while both run."""
        for p in (self.process, self.web):
            if p is not None and p.poll() is not None:
                return p.returncode
        return None

    def _daemon_running(self) -> bool:
        if self.exited() is not None:
            raise RuntimeError(f"the Dagster service exited with {self.exited()}: {self.log_tail()}")
        from dagster import DagsterInstance

        try:
            with DagsterInstance.from_config(str(self.home)) as inst:
                beats = inst.get_daemon_heartbeats()
        except Exception as error:
            # While the daemon creates or migrates the instance's storage, a reader can meet a
            # locked or half-made database; that is "not yet", and the timeout still bounds it.
            self.last_error = f"{type(error).__name__}: {error}"
            return False
        return {"SENSOR", "QUEUED_RUN_COORDINATOR"} <= set(beats)

    def _webserver_answering(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/server_info", timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    def wait(self, check: Callable[[], T], timeout: float, what: str, every: float = 0.5) -> T:
        """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"waited {timeout:.0f} s for {what} (last error: {self.last_error}); service log: {self.log_tail()}"
                )
            time.sleep(every)

    def log_tail(self, lines: int = 20) -> str:
        path = self.log_path or self.home / "service.log"
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM to each process group (daemon, webserver), SIGKILL after `timeout`."""
        running = [p for p in (self.web, self.process) if p is not None and p.poll() is None]
        for p in running:
            os.killpg(p.pid, signal.SIGTERM)
        for p in running:
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()

    def __enter__(self) -> Service:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
