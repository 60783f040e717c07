"""Dates of a backfill split over spawned processes. Each process refines its own run of dates
(and builds their gold), so no two write the same partition; the writes they share (file counts,
the gold queue) retry on a lost commit (warehouse/commits.py). Processes are spawned, never
forked: a fork after deltalake has started its threads can hang.

The processes die with the command that started them: killed (even with -9), it takes its
workers along before their next commit, rather than leaving them writing to the lake."""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import multiprocessing
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def split(dates: Sequence[dt.date], parts: int) -> list[list[dt.date]]:
    """`dates` sorted and cut into at most `parts` contiguous runs of near-equal length
    (contiguous: a file's rows of neighbouring dates are mostly refined by one process)."""
    ordered = sorted(set(dates))
    parts = max(1, min(parts, len(ordered)))
    size, extra = divmod(len(ordered), parts)
    runs, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        runs.append(ordered[start:end])
        start = end
    return [r for r in runs if r]


def spawned_map(fn: Callable[..., T], calls: Sequence[tuple[Any, ...]]) -> list[T]:
    """`fn(*args)` for every args tuple, each in its own spawned process, all at once; results in
    order. A failure in any process is raised here once all have finished."""
    if len(calls) <= 1:
        return [fn(*args) for args in calls]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=len(calls), mp_context=context, initializer=die_with_parent, initargs=(os.getpid(),)
    ) as pool:
        futures = [pool.submit(_reporting, fn, *args) for args in calls]
        return [f.result() for f in futures]


class PartFailed(RuntimeError):
    """A process of a parallel run failed; the message carries its traceback."""


def _reporting(fn: Callable[..., T], *args: Any) -> T:
    # Some exceptions (delta-rs's, from Rust) cannot be pickled back to the parent: send the
    # traceback as text instead, so the parent reports what failed and where.
    try:
        return fn(*args)
    except Exception as err:
        raise PartFailed(f"{type(err).__name__}: {err}\n{traceback.format_exc()}") from None


def die_with_parent(parent: int) -> None:
    """In a worker: end this process when `parent` ends. The kernel sends SIGKILL when the
    parent dies (Linux's PR_SET_PDEATHSIG); a watcher thread also checks the parent every half
    second, should the signal not come (another system, or a parent thread that exited)."""
    with contextlib.suppress(Exception):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="gridlake-parent-watch", daemon=True).start()
