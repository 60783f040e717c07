"""When the daemon asks for the same work again. The sensors tag each run with the work it does
(`gridlake/work`: a digest of what is pending); a run that failed, or was killed and failed by run
monitoring, is requested again after RETRY_DELAYS, then once an hour for as long as the same
work stays pending and keeps failing. While a run of the work is queued or running, nothing is
requested; work that succeeded and is somehow pending again is requested after an hour."""

from __future__ import annotations

import datetime as dt
import hashlib

import dagster as dg

WORK_TAG = "gridlake/work"
# Seconds after the 1st, 2nd, ... failure; every later retry waits RETRY_CAP.
RETRY_DELAYS = (10.0, 60.0, 300.0, 1200.0)
RETRY_CAP = 3600.0
_UNFINISHED = (
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
)


def work_tag(fingerprint: str) -> str:
    """The tag value naming a run's work (fingerprints can be long)."""
    return hashlib.sha256(fingerprint.encode()).hexdigest()[:24]


def delay_after(failures: int) -> float:
    return RETRY_DELAYS[failures - 1] if failures <= len(RETRY_DELAYS) else RETRY_CAP


def due_attempt(instance: dg.DagsterInstance, fingerprint: str, now: dt.datetime | None = None) -> int | None:
    """The attempt number to request the work as now (0: never run), or None: a run of it is
    queued or running, or the next attempt is not due yet."""
    records = instance.get_run_records(filters=dg.RunsFilter(tags={WORK_TAG: work_tag(fingerprint)}), limit=100)
    if not records:
        return 0
    if any(r.dagster_run.status in _UNFINISHED for r in records):
        return None
    ended = max((r.end_time or r.update_timestamp.timestamp()) for r in records)
    succeeded = any(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records)
    wait = RETRY_CAP if succeeded else delay_after(len(records))
    clock = (now or dt.datetime.now(dt.UTC)).timestamp()
    return len(records) if clock - ended >= wait else None


def unfinished_run_ids(instance: dg.DagsterInstance) -> set[str]:
    return {r.dagster_run.run_id for r in instance.get_run_records(filters=dg.RunsFilter(statuses=list(_UNFINISHED)))}
