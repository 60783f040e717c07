"""The one duration parser (warehouse/durations.py) behind retention windows and `generate solar
--every`: each caller's forms and its own error message."""

from __future__ import annotations

import datetime as dt

import click
import pytest

from orchestration.cli import _duration
from warehouse.durations import parse_duration
from warehouse.retention import parse_window


def test_each_caller_keeps_its_units_and_message() -> None:
    assert [_duration(t) for t in ("30s", "5m", "1h", "0.5h")] == [
        dt.timedelta(seconds=30),
        dt.timedelta(minutes=5),
        dt.timedelta(hours=1),
        dt.timedelta(minutes=30),
    ]
    for bad in ("2d", "5", "5x", "-5m", ""):
        with pytest.raises(click.BadParameter, match=r"use a number and s, m or h, e\.g\. 5m"):
            _duration(bad)
    assert [parse_window(t) for t in ("2d", "48h", "90m", "3", " 2.5 D ")] == [
        dt.timedelta(days=2),
        dt.timedelta(hours=48),
        dt.timedelta(minutes=90),
        dt.timedelta(days=3),
        dt.timedelta(days=2.5),
    ]
    for bad in ("30s", "two days", "-1d", ""):
        with pytest.raises(ValueError, match="use a number of days, or a number with d, h or m"):
            parse_window(bad, "GRIDLAKE_COIN_RETENTION")


def test_units_outside_the_known_four_are_refused() -> None:
    with pytest.raises(ValueError):
        parse_duration("5w", "smhdw")
    with pytest.raises(ValueError):
        parse_duration("5", "smh")
