"""Optimistic Delta commits that lost a race are computed again and retried."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from deltalake.exceptions import CommitFailedError

log = logging.getLogger(__name__)
T = TypeVar("T")
COMMIT_ATTEMPTS = 20


def retrying(write: Callable[[], T], what: str) -> T:
    """Run a read-then-commit write again when another writer committed first. Delta commits are
    optimistic: a conflicting commit fails whole, nothing of it is visible, and the write is
    computed again from the table's new version. Every write passed here is self-contained (its
    rows do not depend on rows another writer may have changed), so a retry is the same write."""
    for attempt in range(1, COMMIT_ATTEMPTS + 1):
        try:
            return write()
        except CommitFailedError as err:
            if attempt == COMMIT_ATTEMPTS:
                raise
            log.warning("commit conflict (%s), retry %d: %s", err, attempt, what)
            time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))
    raise AssertionError(f"unreachable: {what}")
