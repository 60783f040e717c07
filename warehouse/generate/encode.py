"""Serialisation and time-grid helpers shared by the synthetic landing-file generators.

The generators only build Polars frames; this module turns a frame into the bytes of one
landing file and defines the interval grid / file-splitting rules so that every source lays
out its files the same way.
"""

from __future__ import annotations

import gzip as gz
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import numpy as np
import polars as pl
import polars.selectors as cs

Format = Literal["csv", "json", "ndjson"]
Granularity = Literal["interval", "hour", "day"]

FORMATS: tuple[str, ...] = ("csv", "json", "ndjson")
GRANULARITIES: tuple[str, ...] = ("interval", "hour", "day")
MINUTES_PER_DAY = 1440

# Level 1 keeps gzip from dominating generation time for the JSON-array path (the only one
# Polars cannot compress natively); the size difference to level 6 is ~20 %.
_PY_GZIP_LEVEL = 1


def extension(fmt: Format, gzip: bool) -> str:
    """File extension for a format, e.g. ".ndjson" or ".csv.gz"."""
    _check_format(fmt)
    return f".{fmt}.gz" if gzip else f".{fmt}"


def encode(frame: pl.DataFrame, fmt: Format, gzip: bool) -> bytes:
    """Serialise a frame as one landing file.

    "json" is a single array of row objects, "ndjson" one object per line. Float columns are
    expected to be rounded already; negative zero is normalised so files never contain "-0.0".
    """
    _check_format(fmt)
    # Polars drops "x + 0.0" as a no-op, so map negative zero explicitly.
    floats = frame.select(cs.float()).columns
    frame = frame.with_columns(pl.when(pl.col(c) == 0.0).then(0.0).otherwise(pl.col(c)).alias(c) for c in floats)
    if fmt == "json":
        data = frame.write_json().encode()
        # mtime=0 keeps the output byte-identical across runs, like Polars' own gzip writer.
        return gz.compress(data, compresslevel=_PY_GZIP_LEVEL, mtime=0) if gzip else data
    buf = io.BytesIO()
    compression: Literal["uncompressed", "gzip"] = "gzip" if gzip else "uncompressed"
    if fmt == "csv":
        frame.write_csv(buf, float_scientific=False, compression=compression)
    else:
        frame.write_ndjson(buf, compression=compression)
    return buf.getvalue()


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")


def check_grid(per: str, interval_minutes: int) -> None:
    """Validate a file granularity against the interval length."""
    if per not in GRANULARITIES:
        raise ValueError(f"per must be one of {GRANULARITIES}, got {per!r}")
    if interval_minutes <= 0 or MINUTES_PER_DAY % interval_minutes:
        raise ValueError(f"interval_minutes must divide 1440, got {interval_minutes}")
    if per == "hour" and 60 % interval_minutes:
        raise ValueError(f"hourly files need interval_minutes dividing 60, got {interval_minutes}")


def intervals_per_day(interval_minutes: int) -> int:
    return MINUTES_PER_DAY // interval_minutes


def files_per_day(per: Granularity, interval_minutes: int) -> int:
    check_grid(per, interval_minutes)
    if per == "interval":
        return intervals_per_day(interval_minutes)
    return 24 if per == "hour" else 1


@dataclass(frozen=True)
class DayGrid:
    """The intervals of one UTC day: offsets in minutes and ISO-8601 "Z" text for both ends."""

    day: date
    interval_minutes: int
    minutes: np.ndarray  # start offset of each interval within the day, int64
    starts: pl.Series  # "2020-08-05T00:00:00Z"
    ends: pl.Series

    @property
    def size(self) -> int:
        return len(self.minutes)


def day_grid(day: date, interval_minutes: int) -> DayGrid:
    minutes = np.arange(0, MINUTES_PER_DAY, interval_minutes, dtype=np.int64)
    base = np.datetime64(day.isoformat(), "m")
    start_ts = base + minutes.astype("timedelta64[m]")
    end_ts = start_ts + np.timedelta64(interval_minutes, "m")
    # Text is built once per day and gathered per row later, which is far cheaper than
    # formatting millions of datetimes.
    starts = np.char.add(np.datetime_as_string(start_ts, unit="s"), "Z")
    ends = np.char.add(np.datetime_as_string(end_ts, unit="s"), "Z")
    return DayGrid(
        day=day,
        interval_minutes=interval_minutes,
        minutes=minutes,
        starts=pl.Series("intervalStart", starts.tolist(), dtype=pl.String),
        ends=pl.Series("intervalEnd", ends.tolist(), dtype=pl.String),
    )


def file_slices(grid: DayGrid, per: Granularity) -> Iterator[tuple[str, slice]]:
    """Split a day's intervals into files: yields (sortable time label, slice of intervals).

    Labels are "2020-08-05T00-05" for interval and hour files and "2020-08-05" for day files;
    colons are avoided because they are awkward in object-store keys and on some filesystems.
    """
    check_grid(per, grid.interval_minutes)
    day_label = grid.day.isoformat()
    if per == "day":
        yield day_label, slice(0, grid.size)
        return
    step = 1 if per == "interval" else 60 // grid.interval_minutes
    for first in range(0, grid.size, step):
        minute = int(grid.minutes[first])
        yield (
            f"{day_label}T{minute // 60:02d}-{minute % 60:02d}",
            slice(first, first + step),
        )


def day_range(start: date, count: int) -> Iterator[date]:
    if count < 0:
        raise ValueError(f"days must be >= 0, got {count}")
    for offset in range(count):
        yield start + timedelta(days=offset)
