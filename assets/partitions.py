"""Daily partitions shared by silver and gold: one per event date (UTC; park-local for parks)."""

import datetime as dt

import dagster as dg

from warehouse.registry import EVENT_DATE_MIN

DAILY = dg.DailyPartitionsDefinition(start_date=EVENT_DATE_MIN.isoformat(), end_offset=1)


def partition_dates(context: dg.AssetExecutionContext) -> list[dt.date]:
    window = context.partition_time_window
    start, end = window.start.date(), window.end.date()
    return [start + dt.timedelta(days=i) for i in range((end - start).days)]


def contiguous_ranges(dates: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Group dates into inclusive (first, last) runs of consecutive days."""
    ranges: list[tuple[dt.date, dt.date]] = []
    for d in sorted(set(dates)):
        if ranges and d == ranges[-1][1] + dt.timedelta(days=1):
            ranges[-1] = (ranges[-1][0], d)
        else:
            ranges.append((d, d))
    return ranges


def range_tags(first: dt.date, last: dt.date) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": first.isoformat(),
        "dagster/asset_partition_range_end": last.isoformat(),
    }
