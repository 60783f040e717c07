"""The run launcher both instance profiles use: each run in its own process, forked from a warm
parent that has done the imports once (orchestration/zygote.py; `warm: false`, or a failure to
start the parent, falls back to Dagster's DefaultRunLauncher, whose code server spawns a fresh
process), plus a health check, so run monitoring can tell that a run's process is gone. Without
it a run whose process died with the daemon's process group (or a `gridlake run` killed with -9)
stays STARTED for good, and with one run at a time every later run waits behind it. With it, the
monitoring daemon marks such a run failed within one poll, and the sensors request its work again
(orchestration/retries.py).

A run's process id is the `gridlake/pid` tag (set when the warm parent forks it, and on the CLI's
in-process runs), else the engine event Dagster writes when a run process starts. The process
must still exist on this machine and be older than the run (a recycled id is another process)."""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Mapping
from typing import Any

import psutil
from dagster import DagsterEventType, DagsterRun, DefaultRunLauncher, Field
from dagster._core.launcher import CheckRunHealthResult, LaunchRunContext, WorkerStatus
from dagster._serdes import ConfigurableClassData, serialize_value

from orchestration import zygote

PID_TAG = "gridlake/pid"
HOST_TAG = "gridlake/host"


def process_tags() -> dict[str, str]:
    """Tags naming the current process, for runs executed in it (the CLI's in-process runs)."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


class LocalRunLauncher(DefaultRunLauncher):
    """Runs forked from the warm parent (or DefaultRunLauncher's way), whose processes can be
    checked (runs on this machine only)."""

    def __init__(self, inst_data: ConfigurableClassData | None = None, warm: bool = True) -> None:
        super().__init__(inst_data=inst_data)
        self._warm = warm

    @classmethod
    def config_type(cls) -> dict[str, Field]:
        return {"warm": Field(bool, is_required=False, default_value=True)}

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]) -> LocalRunLauncher:
        return cls(inst_data=inst_data, warm=bool(config_value.get("warm", True)))

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        if not self._warm:
            super().launch_run(context)
            return
        try:
            parent = zygote.RunParent.of(self._instance.root_directory)
            pid = parent.start_run(run.run_id, serialize_value(self._instance.get_ref()))
        except (OSError, RuntimeError, TimeoutError, ValueError) as err:
            self._instance.report_engine_event(f"warm start failed ({err}); starting the run's own process", run)
            super().launch_run(context)
            return
        self._instance.add_run_tags(run.run_id, {PID_TAG: str(pid), HOST_TAG: socket.gethostname()})

    def prewarm(self) -> None:
        """Start the warm parent now, so the first run does not wait for its imports (the daemon
        calls this as it starts: orchestration/daemon.py)."""
        if self._warm:
            zygote.RunParent.of(self._instance.root_directory).start()

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        if run is None or run.is_finished or PID_TAG not in run.tags or run.tags.get(HOST_TAG) != socket.gethostname():
            return super().terminate(run_id)
        self._instance.report_run_canceling(run)
        try:
            os.kill(int(run.tags[PID_TAG]), signal.SIGINT)
        except ProcessLookupError:
            return False
        return True

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
