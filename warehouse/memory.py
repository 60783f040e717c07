"""Handing freed memory back to the operating system between the pieces of a large step.

Polars allocates through its own jemalloc (configured in warehouse/__init__.py), but Parquet
writers, Arrow exports and pandas allocate through glibc's malloc, which keeps freed blocks in
its arenas: spilling a 28.8 M-row date into buckets left ~700 MB of free but resident memory
(measured). `malloc_trim` returns it; without glibc (macOS, musl) this does nothing."""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache


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
