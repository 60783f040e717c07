"""`dagster-daemon run`, with the warm run parent started first (`python -m orchestration.daemon
run -m orchestration.definitions`). Dagster builds the run launcher when it launches its first
run; the warm parent would then start with that run and make it wait for its imports (~5 s: the
first drop after the daemon started took 17.7 s to reach gold, the next ones 9-10 s). Started
here, it warms up while the daemon starts, and the daemon's launchers share it
(orchestration/zygote.py's RunParent.of)."""

from __future__ import annotations

import sys

from dagster import DagsterInstance
from dagster._daemon.cli import main as daemon_main

from orchestration.launcher import LocalRunLauncher


def main() -> None:
    with DagsterInstance.get() as instance:
        launcher = instance.run_launcher
        if isinstance(launcher, LocalRunLauncher):
            launcher.prewarm()
    sys.argv[0] = "dagster-daemon"
    daemon_main()


if __name__ == "__main__":
    main()
