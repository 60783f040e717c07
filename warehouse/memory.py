"""Handing freed memory back to the operating system: Polars' allocator configured when a process
starts, and glibc's malloc trimmed between the pieces of a large step.

Polars allocates through its own jemalloc (configured by `configure_allocator`), but Parquet
writers, Arrow exports and pandas allocate through glibc's malloc, which keeps freed blocks in
its arenas: spilling a 28.8 M-row date into pieces left ~700 MB of free but resident memory
(measured). `malloc_trim` returns it; without glibc (macOS, musl) this does nothing."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from functools import cache

# Polars configures its jemalloc when it loads (freed pages kept 0.5 s dirty, then 1 s "muzzy",
# still counted in RSS), adding any _RJEM_MALLOC_CONF it finds. The stages of one run then stack
# their high-water marks; returning muzzy pages at once keeps RSS near what is in use (measured at
# workload S: ~80 MB lower peaks, a few % more time).
ALLOCATOR_ENV = {"_RJEM_MALLOC_CONF": "muzzy_decay_ms:0"}


def configure_allocator() -> None:
    """Called by every entry point (the `gridlake` command, the warm parents, `python -m
    benchmarks`) before anything imports Polars; a value already in the environment wins."""
    for name, value in ALLOCATOR_ENV.items():
        os.environ.setdefault(name, value)


@cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        libc.malloc_trim  # noqa: B018 - glibc only
    except (OSError, AttributeError):
        return None
    return libc


def release() -> None:
    """Return malloc's free memory to the operating system (a few ms)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
