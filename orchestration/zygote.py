"""The warm path for runs the daemon launches: a parent process that has imported Dagster, the
code location (Polars, delta-rs, DuckDB) and Great Expectations once, and forks a child per run.
A run then starts in milliseconds instead of paying Python start-up and ~10-15 s of imports.

Forking is safe here because the parent never uses what it imported: no Polars, delta-rs or
DuckDB work, no Dagster instance, no GX context, only an accept loop, so no thread pool exists
that a child would inherit half-made (the background threads the libraries start at import,
jemalloc's among them, hold no lock while idle; jemalloc resets itself after a fork). A child
is the run's process: it reports its pid, as Dagster's own run workers do, so run monitoring
checks it (orchestration/launcher.py).

Protocol: one line of JSON per connection, `{"run_id": …, "instance_ref": <serialized>}`; the
parent answers `{"pid": N}` once the child is forked. The parent lives in the daemon's process
group and dies with the daemon (PR_SET_PDEATHSIG); its children, the runs, finish on their own
unless the whole group is killed."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

START_TIMEOUT_SECONDS = 120.0


def socket_path(home: str) -> Path:
    return Path(home) / "gridlake-zygote.sock"


def _warm() -> None:
    """Import everything a run needs, and use none of it."""
    import dagster  # noqa: F401
    import great_expectations  # noqa: F401
    from dagster._cli import api  # noqa: F401

    import expectations.runner  # noqa: F401
    import orchestration.definitions  # noqa: F401


def serve(path: Path, parent: int) -> None:
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        return
    _warm()
    path.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(16)
    # Children are reaped by the kernel; each run reports its own end to the instance.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    while True:
        connection, _ = listener.accept()
        with connection:
            request = json.loads(connection.makefile("r").readline())
            pid = os.fork()
            if pid == 0:
                listener.close()
                connection.close()
                _run(request)
            connection.sendall((json.dumps({"pid": pid}) + "\n").encode())


def _run(request: dict[str, str]) -> None:
    """In the forked child: execute the run as `dagster api execute_run` would, then exit."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    code = 1
    try:
        from dagster import DagsterInstance
        from dagster._cli.api import _execute_run_command_body
        from dagster._core.instance.ref import InstanceRef
        from dagster._serdes import deserialize_value

        ref = deserialize_value(request["instance_ref"], InstanceRef)
        with DagsterInstance.from_ref(ref) as instance:
            code = _execute_run_command_body(request["run_id"], instance, lambda _: None, False)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


class Client:
    """The launcher's side: starts the warm parent on first use, then asks it for runs."""

    def __init__(self, home: str) -> None:
        self.path = socket_path(home)
        self.process: subprocess.Popen[bytes] | None = None

    def start_run(self, run_id: str, instance_ref: str) -> int:
        """Fork the run's process; returns its pid."""
        request = json.dumps({"run_id": run_id, "instance_ref": instance_ref}) + "\n"
        with self._connect() as connection:
            connection.sendall(request.encode())
            answer = json.loads(connection.makefile("r").readline())
        return int(answer["pid"])

    def _connect(self) -> socket.socket:
        if self.process is None or self.process.poll() is not None:
            self._start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                connection.connect(str(self.path))
                return connection
            except OSError:
                connection.close()
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(f"the warm run parent exited with {self.process.returncode}") from None
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the warm run parent did not listen on {self.path}") from None
                time.sleep(0.1)

    def _start(self) -> None:
        self.path.unlink(missing_ok=True)
        env = {**os.environ, "_RJEM_MALLOC_CONF": os.environ.get("_RJEM_MALLOC_CONF", "muzzy_decay_ms:0")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "orchestration.zygote", str(self.path), str(os.getpid())], env=env
        )


if __name__ == "__main__":
    serve(Path(sys.argv[1]), int(sys.argv[2]))
