"""Synthetic smart-meter readings for the ``customer_usage`` landing source.

Every random draw is a counter-based hash of (seed, stream, customerId, interval), so a reading
does not depend on how the period is split into files or which other customers are generated:
the same seed gives the same kWh whether written as 5-minute, hourly or daily files.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import numpy as np
import polars as pl

from warehouse.generate.encode import (
    DayGrid,
    Format,
    Granularity,
    check_grid,
    day_grid,
    day_range,
    encode,
    extension,
    file_slices,
    files_per_day,
)

SOURCE = "customer_usage"

_U64 = np.uint64
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_M1 = _U64(0xBF58476D1CE4E5B9)
_M2 = _U64(0x94D049BB133111EB)
_SCALE = 2.0**-53

# Hash streams: one per independent random quantity.
(_S_TYPE, _S_BASE_A, _S_BASE_B, _S_PEAK_A, _S_PEAK_B, _S_SHIFT, _S_WEEKEND, _S_SIGMA,
 _S_SPIKE_RATE, _S_DAY_A, _S_DAY_B, _S_WEATHER_A, _S_WEATHER_B, _S_NOISE_A, _S_NOISE_B,
 _S_SPIKE, _S_SPIKE_KW) = range(17)  # fmt: skip


def _mix(x: np.ndarray) -> np.ndarray:
    # splitmix64 finaliser: a cheap, well-distributed 64-bit bijection.
    x = x ^ (x >> _U64(30))
    x = x * _M1
    x = x ^ (x >> _U64(27))
    x = x * _M2
    return x ^ (x >> _U64(31))


def _key(seed: int, stream: int) -> np.ndarray:
    return _mix(np.array([(seed & 0xFFFFFFFFFFFFFFFF)], dtype=_U64) * _GOLDEN + _U64(stream))


def _uniform(seed: int, stream: int, ids: np.ndarray, ticks: np.ndarray | None = None) -> np.ndarray:
    """Uniform [0, 1) per id (shape (n,)), or per (tick, id) (shape (k, n)) when ticks are given."""
    with np.errstate(over="ignore"):
        x = _mix(_key(seed, stream) ^ (ids.astype(_U64) * _GOLDEN))
        if ticks is not None:
            x = _mix(x[None, :] + ticks.astype(_U64)[:, None] * _M1)
    return (x >> _U64(11)).astype(np.float64) * _SCALE


def _normal(
    seed: int,
    streams: tuple[int, int],
    ids: np.ndarray,
    ticks: np.ndarray | None = None,
) -> np.ndarray:
    # Box-Muller; 1 - u keeps the log argument in (0, 1].
    u1 = _uniform(seed, streams[0], ids, ticks)
    u2 = _uniform(seed, streams[1], ids, ticks)
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)


def _bump(hour: np.ndarray, centre: float, width: float) -> np.ndarray:
    # Gaussian bump on the 24 h circle so evening load wraps smoothly into the night.
    d = (hour - centre + 12.0) % 24.0 - 12.0
    return np.exp(-0.5 * (d / width) ** 2)


def _plateau(hour: np.ndarray, opens: float, closes: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(hour - opens) * 2.0)) / (1.0 + np.exp((hour - closes) * 2.0))


class _Customers:
    """Per-customer load characteristics, fixed for the whole simulation."""

    def __init__(self, ids: np.ndarray, seed: int) -> None:
        self.ids = ids
        self.business = _uniform(seed, _S_TYPE, ids) < 0.12
        size = np.where(self.business, 3.0, 1.0)
        # Standby (fridge, electronics) and active amplitude in kW, log-normally spread.
        self.base_kw = size * np.exp(np.log(0.18) + 0.45 * _normal(seed, (_S_BASE_A, _S_BASE_B), ids))
        self.peak_kw = size * np.exp(0.4 * _normal(seed, (_S_PEAK_A, _S_PEAK_B), ids))
        self.shift_h = (_uniform(seed, _S_SHIFT, ids) - 0.5) * 2.0
        self.weekend = 0.8 + 0.4 * _uniform(seed, _S_WEEKEND, ids)
        self.sigma = 0.15 + 0.2 * _uniform(seed, _S_SIGMA, ids)
        self.spike_rate = 0.01 + 0.04 * _uniform(seed, _S_SPIKE_RATE, ids)

    def profile(self, hour: np.ndarray, weekend: bool) -> np.ndarray:
        """Relative active load, shape (intervals, customers); hour is the interval midpoint."""
        h = hour[:, None] - self.shift_h[None, :]
        if weekend:
            home = 0.05 + 0.5 * _bump(h, 9.5, 1.8) + 0.45 * _bump(h, 14.0, 3.0) + 0.95 * _bump(h, 19.0, 2.0)
            home = home * self.weekend
            work = 0.05 + 0.15 * _plateau(h, 9.0, 14.0)
        else:
            home = 0.05 + 0.45 * _bump(h, 7.0, 1.0) + 0.2 * _bump(h, 13.0, 3.0) + 1.0 * _bump(h, 19.5, 1.8)
            work = 0.05 + _plateau(h, 8.0, 18.0)
        return np.where(self.business[None, :], work, home)


def _season(day: date) -> float:
    # Peaks mid-January (heating) and mid-July (cooling).
    return 1.0 + 0.2 * float(np.cos(4.0 * np.pi * (day.timetuple().tm_yday - 15) / 365.25))


def _usage_kwh(cust: _Customers, grid: DayGrid, part: slice, day_level: np.ndarray, seed: int) -> np.ndarray:
    """kWh per (interval, customer) for the intervals in ``part``, shape (k, n)."""
    minutes = grid.minutes[part]
    hour = (minutes + grid.interval_minutes / 2.0) / 60.0
    ticks = grid.day.toordinal() * grid.size + np.arange(part.start, part.stop, dtype=np.int64)
    ids = cust.ids
    active_kw = cust.peak_kw * day_level
    profile = cust.profile(hour, grid.day.weekday() >= 5)
    kw = cust.base_kw[None, :] + active_kw[None, :] * profile
    sigma = cust.sigma[None, :]
    kw = kw * np.exp(sigma * _normal(seed, (_S_NOISE_A, _S_NOISE_B), ids, ticks) - 0.5 * sigma**2)
    # Short appliance cycles (kettle, oven, EV top-up) that the smooth profile misses.
    spike = _uniform(seed, _S_SPIKE, ids, ticks) < cust.spike_rate[None, :]
    kw = kw + spike * (0.5 + 2.5 * _uniform(seed, _S_SPIKE_KW, ids, ticks))
    return np.maximum(np.round(kw * (grid.interval_minutes / 60.0), 4), 0.0)


def _day_level(cust: _Customers, day: date, seed: int) -> np.ndarray:
    """Per-customer multiplier for one day: individual variation x shared weather x season."""
    ordinal = np.array([day.toordinal()], dtype=np.int64)
    own = np.exp(0.15 * _normal(seed, (_S_DAY_A, _S_DAY_B), cust.ids, ordinal)[0])
    # Id 0 with its own streams: one draw shared by every customer that day.
    shared = _normal(seed, (_S_WEATHER_A, _S_WEATHER_B), np.zeros(1, np.int64), ordinal)
    weather = np.exp(0.08 * shared[0, 0])
    return own * weather * _season(day)


def _frame(ids: np.ndarray, grid: DayGrid, part: slice, kwh: np.ndarray) -> pl.DataFrame:
    n = len(ids)
    # Interval-major order, like a head-end export: all meters for 00:00, then 00:05, ...
    rows = pl.Series(np.repeat(np.arange(part.start, part.stop, dtype=np.int64), n))
    return pl.DataFrame(
        {
            "customerId": np.tile(ids, part.stop - part.start),
            "intervalStart": grid.starts.gather(rows),
            "intervalEnd": grid.ends.gather(rows),
            "usage": kwh.ravel(),
        }
    )


def _validate(customers: int, per: str, interval_minutes: int, first_customer: int) -> None:
    if customers < 1:
        raise ValueError(f"customers must be >= 1, got {customers}")
    if first_customer < 0:
        raise ValueError(f"first_customer must be >= 0, got {first_customer}")
    check_grid(per, interval_minutes)


def count_files(
    customers: int,
    start: date,
    days: int,
    per: Granularity = "hour",
    fmt: Format = "csv",
    gzip: bool = False,
    interval_minutes: int = 5,
    seed: int = 0,
    first_customer: int = 1,
) -> int:
    """Number of files ``generate_usage`` yields for the same arguments."""
    _validate(customers, per, interval_minutes, first_customer)
    if days < 0:
        raise ValueError(f"days must be >= 0, got {days}")
    return days * files_per_day(per, interval_minutes)


def generate_usage(
    customers: int,
    start: date,
    days: int,
    per: Granularity = "hour",
    fmt: Format = "csv",
    gzip: bool = False,
    interval_minutes: int = 5,
    seed: int = 0,
    first_customer: int = 1,
) -> Iterator[tuple[str, bytes]]:
    """Yield (path under landing/, file bytes) for customer interval usage.

    One file per interval, hour or UTC day, e.g. ``customer_usage/usage_2020-08-05T00-00.csv``
    (``usage_2020-08-05.csv`` for daily files). When ``first_customer`` is not 1 the name gets a
    ``_c<first_customer>`` suffix so batches of different customers never overwrite each other.
    """
    count_files(customers, start, days, per, fmt, gzip, interval_minutes, seed, first_customer)
    ext = extension(fmt, gzip)
    return _generate(
        customers,
        start,
        days,
        per,
        fmt,
        gzip,
        interval_minutes,
        seed,
        first_customer,
        ext,
    )


def _generate(
    customers: int,
    start: date,
    n_days: int,
    per: Granularity,
    fmt: Format,
    gzip: bool,
    interval_minutes: int,
    seed: int,
    first_customer: int,
    ext: str,
) -> Iterator[tuple[str, bytes]]:
    ids = np.arange(first_customer, first_customer + customers, dtype=np.int64)
    cust = _Customers(ids, seed)
    suffix = "" if first_customer == 1 else f"_c{first_customer}"
    for day in day_range(start, n_days):
        grid = day_grid(day, interval_minutes)
        level = _day_level(cust, day, seed)
        for label, part in file_slices(grid, per):
            kwh = _usage_kwh(cust, grid, part, level, seed)
            yield (
                f"{SOURCE}/usage_{label}{suffix}{ext}",
                encode(_frame(ids, grid, part, kwh), fmt, gzip),
            )
