"""Dates of a backfill split over spawned processes. Each process refines its own run of dates
(and builds their gold), so no two write the same partition; the writes they share (file counts,
the gold queue) retry on a lost commit (warehouse/commits.py). Processes are spawned, never
forked from the caller: a fork after deltalake or Polars has started its thread pools can hang.
They are forked instead from a fork server (a fresh process that imports what they need once
and uses none of it), so N processes pay the imports once rather than N times.

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
    """`fn(*args)` for every args tuple, each in its own process, all at once; results in order.
    A failure in any process is raised here once all have finished."""
    if len(calls) <= 1:
        return [fn(*args) for args in calls]
    context = multiprocessing.get_context("forkserver")
    # The modules the workers need, imported once by the fork server.
    context.set_forkserver_preload([fn.__module__, "warehouse.stages.pipeline", "expectations.runner"])
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
    """In a worker: end this process when `parent` (the caller) ends. The worker's own parent is
    the fork server, which exits when the caller does: the kernel then sends SIGKILL (Linux's
    PR_SET_PDEATHSIG). A watcher thread also checks the caller every half second, should the
    signal not come (another system, or a fork server that lingers)."""
    with contextlib.suppress(Exception):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)

    def alive() -> bool:
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    if not alive():
        os._exit(1)

    def watch() -> None:
        while alive():
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="gridlake-parent-watch", daemon=True).start()
