"""Synthetic battery sites for the ``sites``, ``site_configurations`` and ``site_live_data`` sources.

Each site has solar (pv), bio and cro production, a daily load curve and a battery run by a simple
policy: charge from surplus production and, at night, from the grid when low; otherwise cover the
deficit down to a reserve (20 %, 5 % in the evening peak). So soc moves with load and net load
(grid import, clipped at zero when the site exports): per 10-minute step the energy stored is
``net_load - load + production``. Notifications fire now and then.

Files (paths relative to ``landing/``):

* ``sites/sites.json``: an array of ``{"id", "name", "location"}``.
* ``site_configurations/<start>.json``: one configuration per site valid from the start, in the
  nested form for odd site ids and the flat form for even ones (flat ids sent as strings).
* ``site_configurations/<day>-site-1.json``: site 1 gets a larger battery half way through the period,
  which exercises the configuration history.
* ``site_live_data/<day>.json``: per UTC day an array of columnar objects, one per site, 144
  readings each. Stamps are naive UTC ``YYYY-MM-DD HH:MM:SS``, except site 2 which sends
  ISO-8601 with ``+00:00``.

Everything is drawn from ``numpy.random.default_rng((seed, site_id))``, so a seed gives the same
files every time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np

STEPS_PER_DAY = 144
STEP_HOURS = 1 / 6

_FIRST = ("Willo", "Cedar", "Amber", "Harbour", "Juniper", "Maple", "Oak", "Silver", "Stone", "Heather")
_SECOND = ("Woods", "Ridge", "Fields", "Point", "Valley", "Hill", "Meadow", "Creek", "Park", "Farm")
_LOCATIONS = ("north", "south", "east", "west", "center")
_CAPACITIES_KWH = (100.0, 250.0, 500.0, 1000.0, 3100.0)


@dataclass(frozen=True)
class _Config:
    vendor: str
    capacity_kwh: float
    max_power_kw: float
    pv_units: int
    pv_kwp: float
    bio_units: int
    bio_kwp: float
    cro_units: int
    cro_kwp: float


@dataclass(frozen=True)
class _Site:
    site_id: int
    name: str
    location: str
    base_load_kw: float
    config: _Config


def _site(site_id: int, seed: int) -> _Site:
    rng = np.random.default_rng((seed, site_id, 0))
    capacity = float(rng.choice(_CAPACITIES_KWH))
    pv_units = int(rng.integers(0, 21))
    bio_units = int(rng.integers(0, 3))
    cro_units = int(rng.integers(0, 4))
    config = _Config(
        vendor="Tesla" if rng.random() < 0.5 else "KATL",
        capacity_kwh=capacity,
        max_power_kw=round(capacity * float(rng.uniform(0.25, 0.5))),
        pv_units=pv_units,
        pv_kwp=round(pv_units * float(rng.uniform(20, 40)), 1),
        bio_units=bio_units,
        bio_kwp=round(bio_units * float(rng.uniform(20, 60)), 1),
        cro_units=cro_units,
        cro_kwp=round(cro_units * float(rng.uniform(5, 15)), 1),
    )
    name = f"{_FIRST[int(rng.integers(len(_FIRST)))]} {_SECOND[int(rng.integers(len(_SECOND)))]}"
    if site_id > len(_FIRST) * len(_SECOND) // 2:
        name = f"{name} {site_id}"
    # The load is of the order of the site's own production, so the battery both fills and empties.
    production_kw = config.pv_kwp * 0.3 + config.bio_kwp * 0.8 + config.cro_kwp * 0.4
    base = (production_kw + capacity * 0.02) * float(rng.uniform(0.9, 1.4))
    return _Site(site_id, name, _LOCATIONS[(site_id - 1) % len(_LOCATIONS)], base, config)


def _nested(site_id: int, config: _Config, valid_from: str) -> dict[str, Any]:
    def production(units: int, kwp: float) -> dict[str, Any]:
        return {"units": units, "kwp": kwp} if units else {"units": 0}

    return {
        "id": site_id,
        "battery": {
            "vendor": config.vendor,
            "capacity_kwh": config.capacity_kwh,
            "max_power_kw": config.max_power_kw,
        },
        "production": {
            "pv": production(config.pv_units, config.pv_kwp),
            "bio": production(config.bio_units, config.bio_kwp),
            "cro": production(config.cro_units, config.cro_kwp),
        },
        "valid_from": valid_from,
    }


def _flat(site_id: int, config: _Config, valid_from: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "site": str(site_id),
        "battery_vendor": config.vendor,
        "battery_capacity_kwh": config.capacity_kwh,
        "battery_max_power_kw": config.max_power_kw,
    }
    for kind in ("pv", "bio", "cro"):
        units, kwp = getattr(config, f"{kind}_units"), getattr(config, f"{kind}_kwp")
        record[f"production_{kind}_units"] = units
        if units:
            record[f"production_{kind}_kwp"] = kwp
    record["valid_from"] = valid_from
    return record


def _bump(hour: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((hour - centre) / width) ** 2)


class _Battery:
    """One site's state across days: soc carries over from one day file to the next."""

    def __init__(self, site: _Site, seed: int) -> None:
        self.site = site
        self.rng = np.random.default_rng((seed, site.site_id, 1))
        self.soc = float(self.rng.uniform(30, 70))

    def day(self, config_at: list[_Config]) -> dict[str, np.ndarray]:
        rng = self.rng
        hour = np.arange(STEPS_PER_DAY) * STEP_HOURS
        field = {
            f.name: np.array([getattr(c, f.name) for c in config_at], dtype=float)
            for f in fields(_Config)
            if f.name != "vendor"
        }
        load_kw = self.site.base_load_kw * (0.55 + 0.35 * _bump(hour, 8, 1.5) + 0.6 * _bump(hour, 19, 2.0))
        load_kw *= rng.lognormal(0.0, 0.08, STEPS_PER_DAY)
        sun = np.clip(np.sin(np.pi * (hour - 6) / 12), 0, None)
        pv_kw = field["pv_kwp"] * sun * rng.uniform(0.3, 1.0) * rng.uniform(0.85, 1.0, STEPS_PER_DAY)
        production_kw = pv_kw + field["bio_kwp"] * 0.8 + field["cro_kwp"] * rng.uniform(0.2, 0.6, STEPS_PER_DAY)
        capacity, max_power = field["capacity_kwh"], field["max_power_kw"]
        # Cover the deficit down to a reserve: 5 % in the evening peak, 20 % otherwise.
        reserve = np.where((hour >= 17) & (hour < 22), 5.0, 20.0)
        charge_kw = np.empty(STEPS_PER_DAY)
        soc = np.empty(STEPS_PER_DAY)
        for i in range(STEPS_PER_DAY):
            room_kw = (100 - self.soc) / 100 * capacity[i] / STEP_HOURS
            surplus = production_kw[i] - load_kw[i]
            if surplus > 0:
                charge = min(surplus, max_power[i], room_kw)
            elif hour[i] < 5:
                # Cheap night hours: top up from the grid when low, keep the rest for the day.
                charge = min(0.3 * max_power[i], room_kw) if self.soc < 30 else 0.0
            else:
                available_kw = max(0.0, (self.soc - reserve[i]) / 100 * capacity[i] / STEP_HOURS)
                charge = -min(-surplus, max_power[i], available_kw)
            self.soc = min(100.0, max(0.0, self.soc + 100 * charge * STEP_HOURS / capacity[i]))
            charge_kw[i], soc[i] = charge, self.soc
        # Now and then: a production unit reports a fault or a low output.
        draws = rng.random((3, STEPS_PER_DAY))
        return {
            "soc": soc,
            "load": load_kw * STEP_HOURS,
            "net": np.maximum(0.0, (load_kw - production_kw + charge_kw) * STEP_HOURS),
            "pv": (field["pv_units"] > 0) & (sun > 0) & (draws[0] < 0.01),
            "bio": (field["bio_units"] > 0) & (draws[1] < 0.002),
            "cro": (field["cro_units"] > 0) & (draws[2] < 0.002),
        }


def _changed(config: _Config) -> _Config:
    # The second configuration: a larger battery from another vendor.
    bigger = config.capacity_kwh * 2
    return replace(
        config,
        vendor="KATL" if config.vendor == "Tesla" else "Tesla",
        capacity_kwh=bigger,
        max_power_kw=round(bigger * 0.4),
    )


def generate_sites(sites: int, start: date, days: int, seed: int = 0) -> Iterator[tuple[str, bytes]]:
    """Yield ``(path under landing/, file content)`` for the three site sources; see the module
    docstring for the layout."""
    if sites < 1 or days < 1:
        raise ValueError(f"need at least one site and one day, got sites={sites}, days={days}")
    specs = [_site(i, seed) for i in range(1, sites + 1)]
    yield "sites/sites.json", _json([{"id": s.site_id, "name": s.name, "location": s.location} for s in specs])

    begin = datetime.combine(start, time(), tzinfo=UTC)
    initial = [
        _nested(s.site_id, s.config, begin.strftime("%Y-%m-%dT%H:%M:%SZ"))
        if s.site_id % 2
        else _flat(s.site_id, s.config, begin.strftime("%Y-%m-%d %H:%M:%S"))
        for s in specs
    ]
    yield f"site_configurations/{start.isoformat()}.json", _json(initial)

    change_at = begin + timedelta(days=days / 2)
    second = _changed(specs[0].config)
    yield (
        f"site_configurations/{change_at.date().isoformat()}-site-1.json",
        _json(_nested(1, second, change_at.strftime("%Y-%m-%dT%H:%M:%S+00:00"))),
    )

    batteries = [_Battery(s, seed) for s in specs]
    for offset in range(days):
        day = start + timedelta(days=offset)
        stamps = [begin + timedelta(days=offset, minutes=10 * i) for i in range(STEPS_PER_DAY)]
        objects = []
        for battery in batteries:
            site = battery.site
            config_at = [second if site.site_id == 1 and t >= change_at else site.config for t in stamps]
            values = battery.day(config_at)
            stamp_format = "%Y-%m-%dT%H:%M:%S+00:00" if site.site_id == 2 else "%Y-%m-%d %H:%M:%S"
            objects.append(
                {
                    "site_id": site.site_id,
                    "dt-stamp": [t.strftime(stamp_format) for t in stamps],
                    "soc": [round(float(v), 1) for v in values["soc"]],
                    "load_kwh": [round(float(v), 2) for v in values["load"]],
                    "net_load_kwh": [round(float(v), 2) for v in values["net"]],
                    "pv_notification": [bool(v) for v in values["pv"]],
                    "bio_notification": [bool(v) for v in values["bio"]],
                    "cro_notification": [bool(v) for v in values["cro"]],
                }
            )
        yield f"site_live_data/{day.isoformat()}.json", _json(objects)


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
