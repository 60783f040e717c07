"""Dagster partitions for event dates: one dynamic partition set per calendar of the plan
(warehouse/plan.py), holding the dates that exist in the lake, not every day since some start.

A calendar's keys are added when work for new dates is requested (by the sensors and the CLI),
in date order within each request. Keys are ordered by when they were added, so a date that
arrives after later ones sits after them; a run covers a range of keys in that order, and
`runs_for` splits a set of dates into as few such ranges as cover exactly those dates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import dagster as dg

from warehouse.plan import calendars

CALENDARS: dict[str, dg.DynamicPartitionsDefinition] = {
    name: dg.DynamicPartitionsDefinition(name=name) for name in calendars()
}
# A backfill launched from the UI (or any Dagster backfill) runs this many dates per run: a month
# becomes ~15 runs the run queue starts side by side up to its limit (GRIDLAKE_MAX_RUNS in the
# production profile; one at a time in the local one), where one run of every date would use one
# core. Each run costs a process start, so not one date per run.
BACKFILL_DATES_PER_RUN = 2
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def calendar(name: str | None) -> dg.DynamicPartitionsDefinition | None:
    return CALENDARS[name] if name else None


def backfill_policy(partitions: dg.PartitionsDefinition | None) -> dg.BackfillPolicy | None:
    return dg.BackfillPolicy.multi_run(max_partitions_per_run=BACKFILL_DATES_PER_RUN) if partitions else None


def partition_dates(context: dg.AssetExecutionContext) -> list[dt.date]:
    """The dates of the partitions a run covers (none for an unpartitioned asset)."""
    if not context.has_partition_key_range and not context.has_partition_key:
        return []
    return sorted(dt.date.fromisoformat(k) for k in context.partition_keys)


def keys_of(dates: Iterable[dt.date | None]) -> list[str]:
    return [d.isoformat() for d in sorted(d for d in set(dates) if d is not None)]


def new_keys(existing: Sequence[str], dates: Iterable[dt.date | None]) -> list[str]:
    """Keys of `dates` the calendar does not have yet, in date order."""
    have = set(existing)
    return [k for k in keys_of(dates) if k not in have]


def runs_for(existing: Sequence[str], dates: Iterable[dt.date | None]) -> list[list[str]]:
    """Runs of keys, each contiguous in the calendar's order once `new_keys` are added, that
    together cover exactly `dates` (a run's range is its first and last key)."""
    dates = list(dates)
    order = [*existing, *new_keys(existing, dates)]
    position = {k: i for i, k in enumerate(order)}
    runs: list[list[str]] = []
    for p in sorted(position[k] for k in keys_of(dates)):
        if runs and p == position[runs[-1][-1]] + 1:
            runs[-1].append(order[p])
        else:
            runs.append([order[p]])
    return runs


def range_tags(keys: Sequence[str]) -> dict[str, str]:
    return {RANGE_START: keys[0], RANGE_END: keys[-1]}
