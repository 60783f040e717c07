"""Synthetic wholesale prices for the ``energy_prices`` landing source.

Prices are simulated a whole UTC day at a time from a generator seeded by (seed, day), then cut
into files, so the values do not depend on the file granularity or on the first day requested.
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

SOURCE = "energy_prices"

# Hard bound on |price| (currency per kWh); real markets cap scarcity pricing similarly.
PRICE_CAP = 19.99
# Separates the price generator from any other source seeded by day.
_STREAM = 0x50524943


def _bump(hour: np.ndarray, centre: float, width: float) -> np.ndarray:
    d = (hour - centre + 12.0) % 24.0 - 12.0
    return np.exp(-0.5 * (d / width) ** 2)


def _day_prices(grid: DayGrid, seed: int) -> np.ndarray:
    """Price per interval of one day, rounded to 5 decimals."""
    rng = np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, _STREAM, grid.day.toordinal()])
    hour = (grid.minutes + grid.interval_minutes / 2.0) / 60.0
    weekend = grid.day.weekday() >= 5
    doy = grid.day.timetuple().tm_yday

    # Daily level: fuel cost and demand, dearer in mid-winter and mid-summer, cheaper at weekends.
    season = 1.0 + 0.15 * np.cos(4.0 * np.pi * (doy - 15) / 365.25)
    level = 0.075 * season * np.exp(0.25 * rng.standard_normal()) * (0.85 if weekend else 1.0)
    shape = 0.8 + 0.45 * _bump(hour, 8.0, 1.5) + 0.9 * _bump(hour, 19.0, 2.0) - 0.2 * _bump(hour, 3.5, 2.5)
    price = level * shape

    # Solar depresses midday prices; on sunny, low-demand days the dip overshoots below zero.
    negative_day = rng.random() < (0.45 if weekend else 0.25)
    depth = rng.uniform(1.05, 1.6) if negative_day else rng.uniform(0.1, 0.7)
    price -= depth * level * 0.8 * _bump(hour, 13.0, 2.0)

    # Real-time noise is autocorrelated (prices drift rather than jump each step) and scales
    # with the day's level, so cheap nights stay positive and negatives come from the solar dip.
    shocks = rng.normal(0.0, 0.06 * level * np.sqrt(grid.interval_minutes / 5.0), grid.size)
    phi = 0.85 ** (grid.interval_minutes / 5.0)
    noise = np.empty(grid.size)
    acc = 0.0
    for i, shock in enumerate(shocks):
        acc = phi * acc + shock
        noise[i] = acc
    price += noise

    # Occasional scarcity event around the evening peak: a short, steep spike.
    if rng.random() < 0.12:
        centre = rng.uniform(17.0, 21.0)
        height = rng.lognormal(np.log(1.0), 0.8)
        price += height * _bump(hour, centre, rng.uniform(0.15, 0.5))

    return np.round(np.clip(price, -PRICE_CAP, PRICE_CAP), 5)


def _validate(per: str, interval_minutes: int, days: int) -> None:
    check_grid(per, interval_minutes)
    if days < 0:
        raise ValueError(f"days must be >= 0, got {days}")


def count_files(
    start: date,
    days: int,
    per: Granularity = "day",
    fmt: Format = "csv",
    gzip: bool = False,
    interval_minutes: int = 5,
    seed: int = 0,
) -> int:
    """Number of files ``generate_prices`` yields for the same arguments."""
    _validate(per, interval_minutes, days)
    return days * files_per_day(per, interval_minutes)


def generate_prices(
    start: date,
    days: int,
    per: Granularity = "day",
    fmt: Format = "csv",
    gzip: bool = False,
    interval_minutes: int = 5,
    seed: int = 0,
) -> Iterator[tuple[str, bytes]]:
    """Yield (path under landing/, file bytes) for interval energy prices.

    One file per interval, hour or UTC day, e.g. ``energy_prices/prices_2020-08-05.csv`` or
    ``energy_prices/prices_2020-08-05T13-00.csv``.
    """
    _validate(per, interval_minutes, days)
    ext = extension(fmt, gzip)
    return _generate(start, days, per, fmt, gzip, interval_minutes, seed, ext)


def _generate(
    start: date,
    n_days: int,
    per: Granularity,
    fmt: Format,
    gzip: bool,
    interval_minutes: int,
    seed: int,
    ext: str,
) -> Iterator[tuple[str, bytes]]:
    for day in day_range(start, n_days):
        grid = day_grid(day, interval_minutes)
        prices = _day_prices(grid, seed)
        for label, part in file_slices(grid, per):
            frame = pl.DataFrame(
                {
                    "intervalStart": grid.starts[part],
                    "intervalEnd": grid.ends[part],
                    "price": prices[part],
                }
            )
            yield f"{SOURCE}/prices_{label}{ext}", encode(frame, fmt, gzip)
