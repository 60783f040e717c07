"""The warm path: a parent process that has imported Dagster, the code location (Polars, delta-rs,
DuckDB) and Great Expectations once, and forks a child per piece of work, which then starts in
milliseconds instead of paying Python start-up and ~6-15 s of imports.

Two kinds of parent:

* **Runs** (`orchestration/launcher.py`): the daemon's run launcher starts one per Dagster home;
  it lives in the daemon's process group and dies with the daemon. A child executes one run, as
  `dagster api execute_run` would, and reports its pid like Dagster's own run workers, so run
  monitoring checks it.
* **Commands** (`gridlake run`, `backfill`, `demo`): the CLI starts one per user and code version,
  detached, that exits after GRIDLAKE_WARM_IDLE_SECONDS without work (600). The `gridlake`
  process hands it its arguments, environment, working folder and standard streams (passed as
  file descriptors), and the child runs the command there, writing straight to the terminal;
  Ctrl-C is forwarded, and a child whose `gridlake` process dies (even by kill -9) exits at once.
  GRIDLAKE_WARM=0 runs every command in its own process instead.

Forking is safe because a parent never uses what it imported: no Polars, delta-rs or DuckDB
work, no Dagster instance, no GX context, only an accept loop, so no thread pool exists that a
child would inherit half-made (the background threads the libraries start at import, jemalloc's
among them, hold no lock while idle; jemalloc resets itself after a fork)."""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import io
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

START_TIMEOUT_SECONDS = 120.0
IDLE_SECONDS = 600.0
_PACKAGES = ("orchestration", "assets", "warehouse", "transforms", "expectations", "api")


def run_socket(home: str) -> Path:
    return Path(home) / "gridlake-zygote.sock"


def code_version() -> str:
    """The interpreter and every source file's size and time: a parent started from other code
    must not run this code's commands."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(sys.executable.encode())
    for package in _PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            stat = path.stat()
            digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def command_socket() -> Path:
    folder = Path(tempfile.gettempdir()) / f"gridlake-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder / f"cli-{code_version()}.sock"


def _warm() -> None:
    """Import everything the work needs, and use none of it."""
    import dagster
    import dagster._core.storage.event_log.sqlite
    import dagster._core.storage.runs.sqlite
    import dagster._core.storage.schedules.sqlite
    import dagster._core.storage.sqlite_storage  # noqa: F401
    import dagster_postgres  # noqa: F401
    import great_expectations  # noqa: F401
    import upath  # noqa: F401
    from dagster._cli import api  # noqa: F401

    # A run opens its instance's storage (SQLite or PostgreSQL, with alembic) and records its
    # validation results (GX's file context): imported here, not again in every run (~1 s each).
    import expectations.docs
    import expectations.runner  # noqa: F401
    import orchestration.cli
    import orchestration.definitions
    import orchestration.run  # noqa: F401


def serve(path: Path, parent: int | None, idle: float | None) -> None:
    """Listen on `path` and fork a child per request. With `parent`, end with that process;
    with `idle`, end after that many seconds without a request."""
    if parent is not None:
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:
            return
    _warm()
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(partial))
    listener.listen(64)
    os.replace(partial, path)  # clients never meet a socket that does not answer yet
    # Children are reaped by the kernel; each reports its own end.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    while True:
        ready, _, _ = select.select([listener], [], [], idle)
        if not ready:
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_ino == os.stat(listener.fileno()).st_ino:
                    path.unlink()
            return
        connection, _ = listener.accept()
        try:
            request, fds = _receive(connection)
        except (OSError, ValueError):
            connection.close()
            continue
        if request.get("kind") == "stop":
            connection.close()
            path.unlink(missing_ok=True)
            return
        pid = os.fork()
        if pid == 0:
            listener.close()
            _child(request, fds, connection)
        for fd in fds:
            os.close(fd)
        with contextlib.suppress(OSError):
            connection.sendall((json.dumps({"pid": pid}) + "\n").encode())
        connection.close()


def _receive(connection: socket.socket) -> tuple[dict[str, Any], list[int]]:
    data = b""
    fds: list[int] = []
    while not data.endswith(b"\n"):
        chunk, received, _, _ = socket.recv_fds(connection, 1 << 20, 3)
        if not chunk:
            raise ValueError("connection closed mid-request")
        data += chunk
        fds += received
    return json.loads(data), fds


def _child(request: dict[str, Any], fds: list[int], connection: socket.socket) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    code = 1
    try:
        if request["kind"] == "run":
            connection.close()
            code = _execute_run(request)
        else:
            code = _execute_command(request, fds, connection)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except KeyboardInterrupt:
        code = 130
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        if request.get("kind") == "cli":
            with contextlib.suppress(OSError):
                connection.sendall((json.dumps({"exit": code}) + "\n").encode())
        os._exit(code)


def _execute_run(request: dict[str, Any]) -> int:
    from dagster import DagsterInstance
    from dagster._cli.api import _execute_run_command_body
    from dagster._core.instance.ref import InstanceRef
    from dagster._serdes import deserialize_value

    ref = deserialize_value(request["instance_ref"], InstanceRef)
    with DagsterInstance.from_ref(ref) as instance:
        return int(_execute_run_command_body(request["run_id"], instance, lambda _: None, False))


def _execute_command(request: dict[str, Any], fds: list[int], connection: socket.socket) -> int:
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    sys.stdin = io.TextIOWrapper(open(0, "rb", closefd=False), encoding="utf-8")  # noqa: SIM115
    sys.stdout = io.TextIOWrapper(open(1, "wb", closefd=False), encoding="utf-8", line_buffering=True)  # noqa: SIM115
    sys.stderr = io.TextIOWrapper(open(2, "wb", closefd=False), encoding="utf-8", line_buffering=True)  # noqa: SIM115
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    os.setpgid(0, 0)
    _die_with(int(request["client"]))
    from orchestration.cli import invoke

    sys.argv = ["gridlake", *request["argv"]]
    invoke(list(request["argv"]))
    return 0


def _die_with(client: int) -> None:
    """The command's child ends within a fifth of a second of its `gridlake` process."""

    def watch() -> None:
        while True:
            try:
                os.kill(client, 0)
            except ProcessLookupError:
                os._exit(137)
            except PermissionError:
                pass
            time.sleep(0.2)

    threading.Thread(target=watch, name="gridlake-client-watch", daemon=True).start()


class RunParent:
    """The run launcher's side: starts the warm parent (at the daemon's start, or on first use),
    then asks it for runs. One per instance home in a process: the daemon's threads each build
    their own instance and launcher, and all of them share the parent."""

    _shared: ClassVar[dict[str, RunParent]] = {}
    _shared_lock = threading.Lock()

    def __init__(self, home: str) -> None:
        self.path = run_socket(home)
        self.process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    @classmethod
    def of(cls, home: str) -> RunParent:
        with cls._shared_lock:
            return cls._shared.setdefault(home, cls(home))

    def start(self) -> None:
        """Start the warm parent unless it runs; it does its imports in the background."""
        with self._lock:
            if self.process is None or self.process.poll() is not None:
                self.path.unlink(missing_ok=True)
                self.process = _spawn(self.path, ["--parent", str(os.getpid())], detached=False)

    def start_run(self, run_id: str, instance_ref: str) -> int:
        """Fork the run's process; returns its pid."""
        self.start()
        with _connect(self.path, self.process) as connection:
            request = {"kind": "run", "run_id": run_id, "instance_ref": instance_ref}
            connection.sendall((json.dumps(request) + "\n").encode())
            return int(json.loads(connection.makefile("r").readline())["pid"])


def run_command(argv: Sequence[str]) -> int | None:
    """Run a `gridlake` command in a warm child; its exit code, or None when the warm path is
    off or unavailable (the caller then runs it in its own process)."""
    if os.environ.get("GRIDLAKE_WARM", "1").strip() in ("0", "false", "no", ""):
        return None
    path = command_socket()
    try:
        connection = _connect(path, None, start_timeout=0)
    except (OSError, TimeoutError):
        idle = os.environ.get("GRIDLAKE_WARM_IDLE_SECONDS", str(IDLE_SECONDS))
        process = _spawn(path, ["--idle", idle], detached=True)
        try:
            connection = _connect(path, process)
        except (OSError, TimeoutError, RuntimeError):
            return None
    request = {"kind": "cli", "argv": list(argv), "env": dict(os.environ), "cwd": os.getcwd(), "client": os.getpid()}
    with connection:
        try:
            payload = (json.dumps(request) + "\n").encode()
            socket.send_fds(connection, [payload], [0, 1, 2])
            answers = connection.makefile("r")
            child = int(json.loads(answers.readline())["pid"])
        except (OSError, ValueError, KeyError):
            return None
        restore = _forward_signals(child)
        try:
            line = answers.readline()
        finally:
            restore()
        return int(json.loads(line)["exit"]) if line else 1


def _forward_signals(child: int) -> Any:
    """Ctrl-C and SIGTERM reach the child; returns the function that restores the handlers."""

    def forward(number: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child, number)

    old = {n: signal.signal(n, forward) for n in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    return lambda: [signal.signal(n, h) for n, h in old.items()]


def stop_commands() -> None:
    """Ask this code version's command parent to exit (tests end their session with it)."""
    with contextlib.suppress(OSError, TimeoutError), _connect(command_socket(), None, start_timeout=0) as connection:
        connection.sendall(b'{"kind": "stop"}\n')


def _spawn(path: Path, extra: list[str], detached: bool) -> subprocess.Popen[bytes]:
    from warehouse.memory import ALLOCATOR_ENV

    env = {**ALLOCATOR_ENV, **os.environ}
    log = open(path.with_suffix(".log"), "ab") if detached else None  # noqa: SIM115
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "orchestration.zygote", str(path), *extra],
            env=env,
            cwd="/" if detached else None,
            stdin=subprocess.DEVNULL if detached else None,
            stdout=log,
            stderr=log,
            start_new_session=detached,
        )
    finally:
        if log is not None:
            log.close()


def _connect(
    path: Path, process: subprocess.Popen[bytes] | None, start_timeout: float = START_TIMEOUT_SECONDS
) -> socket.socket:
    deadline = time.monotonic() + start_timeout
    while True:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            connection.connect(str(path))
            return connection
        except OSError:
            connection.close()
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"the warm parent exited with {process.returncode}") from None
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no warm parent listens on {path}") from None
            time.sleep(0.05)


def main(args: Sequence[str]) -> None:
    path = Path(args[0])
    options = dict(zip(args[1::2], args[2::2], strict=False))
    parent = int(options["--parent"]) if "--parent" in options else None
    idle = float(options["--idle"]) if "--idle" in options else None
    serve(path, parent, idle)


if __name__ == "__main__":
    main(sys.argv[1:])
