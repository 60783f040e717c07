"""Optimistic Delta commits that lost a race are computed again and retried."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import TypeVar

from deltalake.exceptions import CommitFailedError
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

log = logging.getLogger(__name__)
T = TypeVar("T")
COMMIT_ATTEMPTS = 20
# After attempt n: 0.05 * 2**n seconds (0.1, 0.2, 0.4, ...), at most 2 s, before the jitter.
_BACKOFF = wait_exponential(multiplier=0.1, max=2.0)


def retrying(write: Callable[[], T], what: str) -> T:
    """Run a read-then-commit write again when another writer committed first. Delta commits are
    optimistic: a conflicting commit fails whole, nothing of it is visible, and the write is
    computed again from the table's new version. Every write passed here is self-contained (its
    rows do not depend on rows another writer may have changed), so a retry is the same write.
    After COMMIT_ATTEMPTS attempts the last CommitFailedError is raised; other errors at once."""

    def logged(state: RetryCallState) -> None:
        # An internal retry, not a failure a user should see: info, not warning.
        err = state.outcome.exception() if state.outcome is not None else None
        log.info("commit conflict (%s), retry %d: %s", err, state.attempt_number, what)

    retry = Retrying(
        retry=retry_if_exception_type(CommitFailedError),
        stop=stop_after_attempt(COMMIT_ATTEMPTS),
        wait=_jittered,
        before_sleep=logged,
        reraise=True,
    )
    return retry(write)


def _jittered(state: RetryCallState) -> float:
    # Writers that lost the same race do not retry in step.
    return _BACKOFF(state) * random.uniform(0.5, 1.0)
