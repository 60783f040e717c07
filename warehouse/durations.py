"""Durations written as a number and a unit letter: `30s`, `5m`, `48h`, `2d`, `0.5h`.

One parser for every place that reads one (retention windows, warehouse/retention.py; the solar
generator's period, `gridlake generate solar --every`); each caller says which units it takes,
whether a bare number means a unit, and words its own error."""

from __future__ import annotations

import datetime as dt
import re

UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
# A non-negative decimal number, then (after optional spaces) at most one unit letter.
_DURATION = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*([a-z]?)")


def parse_duration(text: str, units: str, *, bare: str | None = None) -> dt.timedelta:
    """`text` as a number and one of the unit letters in `units` (of s, m, h, d; any case,
    spaces around ignored), or a bare number of the `bare` unit. Raises ValueError otherwise."""
    match = _DURATION.fullmatch(text.strip().lower())
    unit = (match.group(2) or bare) if match else None
    if match is None or unit is None or unit not in units or unit not in UNITS:
        raise ValueError(f"{text!r} is not a duration in {', '.join(units)}")
    return dt.timedelta(**{UNITS[unit]: float(match.group(1))})
