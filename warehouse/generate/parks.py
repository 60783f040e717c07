"""Synthetic wind and solar parks in the landing format of issue 3.

``generate_parks`` yields one register ``parks/park_info.csv``
(``park_name,timezone,energy_type``) and one ``park_readings/<park>.csv`` per
park (``datetime,MW``): 15-minute average MW at naive local timestamps of the
park's timezone, whole local days, so a spring-forward day has 92 rows and a
fall-back day 100 (the repeated hour appears twice, summer time first).

* Wind: wind speed with slow weather swings (sinusoids of 1-9 days plus
  smoothed noise) through a power curve (cut-in 3 m/s, rated 12 m/s, cut-out
  25 m/s), turbulence noise, capped at capacity; small negative MW (the
  park's own consumption) while idle.
* Solar: a daily bell from the sun's elevation at the park's latitude and
  longitude (local solar time, not clock time), dimmed by slow cloud cover;
  at night exactly 0 or a small negative consumption.

Everything is vectorised with NumPy; a park-year takes milliseconds.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

CADENCE_MINUTES = 15
REGISTER_PATH = "parks/park_info.csv"
READINGS_DIR = "park_readings"


@dataclass(frozen=True)
class ParkSpec:
    name: str
    timezone: str
    energy_type: str
    latitude: float
    longitude: float


# Mixed hemispheres and DST rules so the demo exercises every DST case.
_PARKS = (
    ParkSpec("Eemshaven", "Europe/Amsterdam", "Wind", 53.44, 6.83),
    ParkSpec("Andasol", "Europe/Madrid", "Solar", 37.23, -3.06),
    ParkSpec("Roscoe", "America/Chicago", "Wind", 32.45, -100.54),
    ParkSpec("Bungala", "Australia/Adelaide", "Solar", -32.43, 137.85),
    ParkSpec("Hornsrev", "Europe/Copenhagen", "Wind", 55.53, 7.91),
    ParkSpec("Topaz", "America/Los_Angeles", "Solar", 35.38, -120.07),
    ParkSpec("Jiuquan", "Asia/Shanghai", "Wind", 40.05, 97.05),
    ParkSpec("Veendam", "Europe/Amsterdam", "Solar", 53.10, 6.88),
)


def park_specs(parks: int) -> list[ParkSpec]:
    """The first ``parks`` parks; beyond the base list names get a number."""
    specs = []
    for i in range(parks):
        base = _PARKS[i % len(_PARKS)]
        round_ = i // len(_PARKS)
        if round_ == 0:
            specs.append(base)
            continue
        specs.append(
            ParkSpec(
                f"{base.name}{round_ + 1}",
                base.timezone,
                base.energy_type,
                base.latitude + 0.1 * round_,
                base.longitude + 0.1 * round_,
            )
        )
    return specs


def _local_midnight_utc(day: date, tz: str) -> datetime:
    """The UTC instant a local day starts (01:00 if clocks skip midnight)."""
    candidates = pl.Series([datetime(day.year, day.month, day.day, h) for h in (0, 1)])
    instants = candidates.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null").dt.convert_time_zone(
        "UTC"
    )
    return instants.drop_nulls()[0]


def local_grid(start: date, days: int, tz: str) -> tuple[pl.Series, np.ndarray]:
    """Naive local timestamps of whole local days and their UTC epoch hours."""
    begin = _local_midnight_utc(start, tz)
    end = _local_midnight_utc(start + timedelta(days=days), tz)
    utc = pl.datetime_range(
        begin,
        end,
        interval=f"{CADENCE_MINUTES}m",
        closed="left",
        time_zone="UTC",
        eager=True,
    )
    local = utc.dt.convert_time_zone(tz).dt.replace_time_zone(None)
    hours = utc.dt.epoch("s").to_numpy().astype(np.float64) / 3600.0
    return local.alias("datetime"), hours


def _smooth_noise(rng: np.random.Generator, n: int, span: int) -> np.ndarray:
    """Unit-variance noise correlated over about ``span`` samples."""
    kernel = np.exp(-np.arange(4 * span) / span)
    raw = rng.standard_normal(n + kernel.size)
    smooth = np.convolve(raw, kernel, mode="valid")[:n]
    return smooth / smooth.std() if n > 1 and smooth.std() > 0 else smooth


def wind_mw(rng: np.random.Generator, hours: np.ndarray, capacity: float) -> np.ndarray:
    n = hours.size
    speed = np.full(n, 7.5)
    for period_h, amplitude in ((30.0, 1.5), (84.0, 2.5), (216.0, 2.0)):
        speed += amplitude * np.sin(2 * np.pi * hours / period_h + rng.uniform(0, 2 * np.pi))
    speed += 1.8 * _smooth_noise(rng, n, span=24)  # gusts over a few hours
    speed = np.clip(speed, 0.0, None)
    cut_in, rated, cut_out = 3.0, 12.0, 25.0
    share = np.clip((speed**3 - cut_in**3) / (rated**3 - cut_in**3), 0.0, 1.0)
    share[speed > cut_out] = 0.0
    mw = capacity * share
    mw += rng.normal(0.0, 0.02 * capacity, n) * (share > 0)
    mw = np.clip(mw, 0.0, capacity)
    idle = mw < 0.005 * capacity
    mw[idle] = -capacity * rng.uniform(0.004, 0.0055, idle.sum())
    return mw


def _sin_elevation(hours: np.ndarray, latitude: float, longitude: float) -> np.ndarray:
    """Sine of the sun's elevation at each mid-interval UTC epoch hour."""
    day_of_year = (hours / 24.0) % 365.2425 + 1.0  # within a day over decades
    declination = np.radians(23.44) * np.sin(2 * np.pi * (284 + day_of_year) / 365.0)
    solar_hour = (hours % 24 + longitude / 15.0) % 24
    hour_angle = np.radians(15.0 * (solar_hour - 12.0))
    lat = np.radians(latitude)
    return np.sin(lat) * np.sin(declination) + np.cos(lat) * np.cos(declination) * np.cos(hour_angle)


def solar_mw(rng: np.random.Generator, hours: np.ndarray, capacity: float, spec: ParkSpec) -> np.ndarray:
    n = hours.size
    mid = hours + CADENCE_MINUTES / 120.0  # the middle of each interval
    sun = np.clip(_sin_elevation(mid, spec.latitude, spec.longitude), 0.0, None)
    # Cloud cover passes over hours: 40-100% of clear-sky output, mostly bright.
    clouds = 0.4 + 0.6 / (1.0 + np.exp(-1.5 * _smooth_noise(rng, n, span=48) - 1.0))
    flicker = np.clip(1.0 + 0.05 * rng.standard_normal(n), 0.7, 1.1)
    mw = np.clip(capacity * sun**1.2 * clouds * flicker, 0.0, capacity)
    night = sun <= 0.0
    # At night inverters draw a little power, or report exactly zero.
    consumption = rng.random(n) < 0.6
    mw[night] = np.where(consumption[night], -0.0012 * capacity, 0.0)
    return mw


def _csv(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_csv(buffer, datetime_format="%Y-%m-%d %H:%M:%S", float_precision=3)
    return buffer.getvalue()


def generate_parks(
    parks: int = 4,
    start: date = date(2024, 3, 25),
    days: int = 14,
    seed: int = 0,
) -> Iterator[tuple[str, bytes]]:
    """Yield ``(path under landing/, file content)``: the register first, then
    one readings file per park covering local days ``start`` .. ``start + days - 1``.

    The default window contains Europe's spring-forward day (2024-03-31) and
    Adelaide's fall-back day (2024-04-07). Output depends only on the arguments.
    """
    if parks < 1 or days < 1:
        raise ValueError("parks and days must be at least 1")
    specs = park_specs(parks)
    register = pl.DataFrame(
        {
            "park_name": [s.name for s in specs],
            "timezone": [s.timezone for s in specs],
            "energy_type": [s.energy_type for s in specs],
        }
    )
    yield REGISTER_PATH, _csv(register)
    for index, spec in enumerate(specs):
        rng = np.random.default_rng([seed, index])
        local, hours = local_grid(start, days, spec.timezone)
        if spec.energy_type == "Wind":
            capacity = float(rng.integers(20, 61))
            mw = wind_mw(rng, hours, capacity)
        else:
            capacity = float(rng.integers(5, 31))
            mw = solar_mw(rng, hours, capacity, spec)
        # Adding 0.0 turns -0.0 into 0.0 so the files never say "-0.000".
        values = np.round(mw, 3) + 0.0
        frame = pl.DataFrame({"datetime": local, "MW": values})
        yield f"{READINGS_DIR}/{spec.name}.csv", _csv(frame)
