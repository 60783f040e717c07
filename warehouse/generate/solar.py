"""Synthetic solar generation batches for the ``solar_readings`` landing source.

A batch holds `records` readings spread over `sites` sites, at evenly spaced times within one
period starting at `start`: generation follows a daylight bell (zero before SUNRISE_UTC and
after SUNSET_UTC, a sine bell between, times cloud noise per reading), consumption a base load
with morning and evening peaks. A share `anomaly_rate` of the readings is made negative
(generation or consumption), the fault the pipeline must flag. Values depend only on
(seed, site, time), so the same reading is the same in any batch layout."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator

import numpy as np

SOURCE = "solar_readings"
SUNRISE_UTC = 6.0
SUNSET_UTC = 18.0


def site_ids(sites: int) -> list[str]:
    return [f"SITE_{i:03d}" for i in range(1, sites + 1)]


def _rng(seed: int, site: int, ts: dt.datetime) -> np.random.Generator:
    return np.random.default_rng([seed, site, int(ts.timestamp())])


def reading(seed: int, site: int, ts: dt.datetime, step: dt.timedelta, anomaly_rate: float) -> dict:
    """One record as the producer writes it."""
    rng = _rng(seed, site, ts)
    hours = step.total_seconds() / 3600
    capacity_kw = 1_500 + 250 * (site % 5)
    hour = ts.hour + ts.minute / 60 + ts.second / 3600
    sun = (
        math.sin(math.pi * (hour - SUNRISE_UTC) / (SUNSET_UTC - SUNRISE_UTC)) if SUNRISE_UTC < hour < SUNSET_UTC else 0
    )
    clouds = 0.55 + 0.45 * rng.random()
    generated = capacity_kw * max(sun, 0.0) ** 1.5 * clouds * hours
    pattern = 0.6 + 0.4 * math.exp(-0.5 * ((hour - 8) / 1.5) ** 2) + 0.5 * math.exp(-0.5 * ((hour - 19) / 2) ** 2)
    consumed = 0.35 * capacity_kw * pattern * (0.9 + 0.2 * rng.random()) * hours
    fault = rng.random()
    if fault < anomaly_rate / 2:
        generated = -generated - 1.0
    elif fault < anomaly_rate:
        consumed = -consumed - 1.0
    return {
        "site_id": f"SITE_{site:03d}",
        "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "energy_generated_kwh": round(generated, 3),
        "energy_consumed_kwh": round(consumed, 3),
    }


def batch(
    start: dt.datetime, sites: int = 5, records: int = 25, period: dt.timedelta = dt.timedelta(minutes=5),
    anomaly_rate: float = 0.02, seed: int = 0,
) -> list[dict]:  # fmt: skip
    """Readings of one batch: `records` split over the sites, each site's at even steps."""
    per_site = max(1, math.ceil(records / sites))
    step = period / per_site
    out = []
    for j in range(records):
        site, k = j % sites + 1, j // sites
        out.append(reading(seed, site, start + k * step, step, anomaly_rate))
    return out


def batch_file(start: dt.datetime, **options: object) -> tuple[str, bytes]:
    """(relative path, JSON array bytes) named like the producer's batch_YYYYmmdd_HHMMSS.json."""
    rows = batch(start, **options)  # type: ignore[arg-type]
    return f"{SOURCE}/batch_{start:%Y%m%d_%H%M%S}.json", json.dumps(rows).encode()


def batches(start: dt.datetime, count: int, period: dt.timedelta, **options: object) -> Iterator[tuple[str, bytes]]:
    for i in range(count):
        yield batch_file(start + i * period, period=period, **options)
