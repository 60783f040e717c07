"""The run launcher both instance profiles use: Dagster's DefaultRunLauncher (each run in its own
process, started by the code server), plus a health check, so run monitoring can tell that a run's
process is gone. Without it a run whose process died with the daemon's process group (or a
`gridlake run` killed with -9) stays STARTED for good, and with one run at a time every later run
waits behind it. With it, the monitoring daemon marks such a run failed within one poll, and the
sensors request its work again (orchestration/retries.py).

A run's process id comes from the engine event Dagster writes when the run process starts, or,
for the CLI's in-process runs, from the `gridlake/pid` tag. The process must still exist on this
machine and be older than the run (a recycled process id belongs to another process)."""

from __future__ import annotations

import os
import socket
from typing import Any

import psutil
from dagster import DagsterEventType, DagsterRun, DefaultRunLauncher
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus

PID_TAG = "gridlake/pid"
HOST_TAG = "gridlake/host"


def process_tags() -> dict[str, str]:
    """Tags naming the current process, for runs executed in it (the CLI's in-process runs)."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


class LocalRunLauncher(DefaultRunLauncher):
    """DefaultRunLauncher whose runs' processes can be checked (runs on this machine only)."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        host = run.tags.get(HOST_TAG)
        if host is not None and host != socket.gethostname():
            return CheckRunHealthResult(WorkerStatus.UNKNOWN, f"the run's process is on {host}")
        pid = self._pid(run)
        if pid is None:
            return CheckRunHealthResult(WorkerStatus.UNKNOWN, "no process id recorded for the run yet")
        record = self._instance.get_run_record_by_id(run.run_id)
        started = record.start_time if record else None
        try:
            process = psutil.Process(pid)
            alive = process.is_running() and process.status() != psutil.STATUS_ZOMBIE
            # Created after the run started: the id was recycled by another process.
            if alive and (started is None or process.create_time() <= started + 1.0):
                return CheckRunHealthResult(WorkerStatus.RUNNING)
        except psutil.Error:
            pass
        return CheckRunHealthResult(WorkerStatus.FAILED, f"the run's process (pid {pid}) is gone")

    def _pid(self, run: DagsterRun) -> int | None:
        if PID_TAG in run.tags:
            return int(run.tags[PID_TAG])
        for entry in self._instance.all_logs(run.run_id, of_type=DagsterEventType.ENGINE_EVENT):
            event = entry.dagster_event
            data: Any = event.engine_event_data if event is not None else None
            pid = data.metadata.get("pid") if data is not None and data.metadata else None
            if pid is not None:
                return int(pid.value)
        return None
