"""Posting generated batches to the HTTP service's ingest endpoint instead of writing files
(`gridlake generate solar --post URL`): each batch carries an Idempotency-Key made from its
source and file name, so a retry after a timeout or a lost answer never lands it twice. Failed
attempts are retried with exponential backoff, up to a hard bound in attempts and in seconds."""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from tenacity import retry, retry_if_exception, stop_after_attempt, stop_after_delay, wait_exponential

ATTEMPTS = 8
WITHIN_SECONDS = 120.0


class Rejected(RuntimeError):
    """The service refused the batch (4xx other than 429): retrying would not help."""


@dataclass(frozen=True)
class Posted:
    status: int
    answer: dict[str, Any]


def _retriable(error: BaseException) -> bool:
    return not isinstance(error, Rejected)


def post(url: str, key: str, relative: str, body: bytes, timeout: float = 30.0) -> Posted:
    """POST one batch (a landing file's relative path and bytes); 2xx or a Rejected error."""
    idempotency = hashlib.sha256(relative.encode()).hexdigest()[:32]
    kind = "application/x-ndjson" if relative.endswith((".ndjson", ".jsonl")) else "application/json"
    if relative.endswith(".csv"):
        kind = "text/csv"
    headers = {"X-API-Key": key, "Content-Type": kind, "Idempotency-Key": idempotency}

    @retry(
        retry=retry_if_exception(_retriable),
        stop=stop_after_attempt(ATTEMPTS) | stop_after_delay(WITHIN_SECONDS),
        wait=wait_exponential(multiplier=0.25, max=10),
        reraise=True,
    )
    def attempt() -> Posted:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return Posted(response.status, json.loads(response.read()))
        except urllib.error.HTTPError as error:
            text = error.read().decode(errors="replace")
            if 400 <= error.code < 500 and error.code != 429:
                raise Rejected(f"{error.code}: {text[:500]}") from None
            raise

    return attempt()
