"""Exclusive locks that serialise the read-compute-write steps two runs must not interleave:
landing a source (two runs would land the same file twice), refining a date of a source and
building a date of a gold spec (a slower run would commit results computed from an older
version over a newer one's). A second run waits for the first and then finds the work done or
does it again on the new state: both end with the same tables.

The locks are `filelock.FileLock`s (an `flock` on a file) in the lake's local state folder: the
kernel releases them when their process dies, so a killed run never leaves one behind. They
serialise every process of one machine (the CLI, the daemon's runs, backfill workers). Runs on
other machines against one S3 lake are kept apart by the Dagster run queue instead
(docs/operations.md)."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from filelock import FileLock, Timeout

from warehouse.lake import Lake

log = logging.getLogger(__name__)
_held: dict[str, int] = {}
_guard = threading.Lock()


def lock_name(*parts: object) -> str:
    return ".".join(re.sub(r"[^A-Za-z0-9_-]", "_", str(p)) for p in parts)


@contextmanager
def held(lake: Lake, names: list[str]) -> Iterator[None]:
    """Hold every lock of `names` (taken in sorted order, so two runs wanting overlapping sets
    cannot deadlock). Re-entrant within a process: a lock this process holds is not taken again."""
    folder = lake.state_folder() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        for name in sorted(set(names)):
            with _guard:
                if _held.get(name):
                    _held[name] += 1
                    stack.callback(_release_count, name)
                    continue
            lock = FileLock(folder / f"{name}.lock")
            _acquire(lock, name)
            # Released by the ExitStack after the count below goes down.
            stack.callback(lock.release)
            with _guard:
                _held[name] = 1
            stack.callback(_release_count, name)
        yield


def _acquire(lock: FileLock, name: str) -> None:
    try:
        lock.acquire(blocking=False)
        return
    except Timeout:
        pass
    log.info("waiting for lock %s: another run holds it", name)
    started = time.monotonic()
    lock.acquire()
    log.info("lock %s taken after %.1f s", name, time.monotonic() - started)


def _release_count(name: str) -> None:
    # The file lock itself is released by the ExitStack after this runs.
    with _guard:
        _held[name] -= 1
        if not _held[name]:
            del _held[name]
