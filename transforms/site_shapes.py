"""The real battery-site producer's shape, recognised so the whole file is rejected with a
readable reason instead of being half-ingested (see the contract in ``transforms/sites.py``):
records wrapped in an object keyed by position, contract keys spelled differently
(``"dt - stamp"``), and ``03/05/2023, 21:37:00`` stamps whose day/month order cannot be known.

:func:`detect_unsupported_shape` works on parsed JSON records, :func:`unsupported_shape_in_bronze`
on bronze rows (text columns)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl

from transforms.sites import CONFIG_SOURCE_COLUMNS, LIVE_SOURCE_COLUMNS, SITE_SOURCE_COLUMNS, similar_column

_POSITION_KEY = re.compile(r"^\d+$")
_ISO_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}")
_KNOWN_FIELDS = {
    "sites": SITE_SOURCE_COLUMNS,
    "site_configurations": CONFIG_SOURCE_COLUMNS,
    "site_live_data": LIVE_SOURCE_COLUMNS,
}


def _positional_wrapper(record: Mapping[str, Any]) -> tuple[str, list[Any]] | None:
    """(wrapper key, inner records) for ``{"key": {"1": {...}, "2": {...}}}``, else None."""
    if len(record) != 1:
        return None
    key, inner = next(iter(record.items()))
    if (
        isinstance(inner, Mapping)
        and inner
        and all(isinstance(k, str) and _POSITION_KEY.match(k) for k in inner)
        and all(isinstance(v, Mapping) for v in inner.values())
    ):
        return key, list(inner.values())
    return None


def detect_unsupported_shape(records: Sequence[Mapping[str, Any]], source: str | None = None) -> str | None:
    """A readable reason why parsed JSON records do not follow the sites contracts, or None.

    Meant for the reader: when it returns text, the whole file is rejected with it (nothing is
    landed). Detects records wrapped in an object keyed by position, contract keys spelled
    differently (``"dt - stamp"``), and dt-stamp text that is not ``YYYY-MM-DD HH:MM:SS``.
    ``source`` (``sites``, ``site_configurations``, ``site_live_data``) narrows which contract
    keys are compared; None compares against all three.
    """
    problems: list[str] = []
    inner: list[Mapping[str, Any]] = []
    for record in records:
        wrapped = _positional_wrapper(record) if isinstance(record, Mapping) else None
        if wrapped is None:
            inner.append(record)
            continue
        key, values = wrapped
        if not any(p.startswith("records are wrapped") for p in problems):
            problems.append(
                f'records are wrapped in an object keyed by position ({{"{key}": {{"1": {{...}}, '
                f"...}}}}, {len(values)} record{'' if len(values) == 1 else 's'}); expected one JSON object per record "
                "(a single object, an array of objects or NDJSON)"
            )
        inner.extend(v for v in values if isinstance(v, Mapping))

    fields = _KNOWN_FIELDS[source] if source else tuple(dict.fromkeys(f for fs in _KNOWN_FIELDS.values() for f in fs))
    renamed: dict[str, str] = {}
    for record in inner:
        for key in record:
            if key not in fields:
                close = similar_column(key, fields)
                if close:
                    renamed.setdefault(key, close)
    problems.extend(f"key {k!r} instead of {v!r}" for k, v in renamed.items())

    stamp = _first_bad_stamp(inner)
    if stamp is not None:
        problems.append(
            f"dt-stamp {stamp!r} is not YYYY-MM-DD HH:MM:SS (its day/month order cannot be "
            "known and it has no timezone)"
        )
    return "unsupported shape: " + "; ".join(problems) if problems else None


def _first_bad_stamp(records: Iterable[Mapping[str, Any]]) -> str | None:
    for record in records:
        for key, value in record.items():
            if re.sub(r"[^a-z0-9]", "", key.lower()) != "dtstamp":
                continue
            for stamp in value if isinstance(value, list) else [value]:
                if isinstance(stamp, str) and not _ISO_STAMP.match(stamp.strip()):
                    return stamp
    return None


def unsupported_shape_in_bronze(bronze: pl.DataFrame, source: str | None = None) -> str | None:
    """:func:`detect_unsupported_shape` on a bronze frame (text columns), for callers that only
    see bronze. Only the first rows are inspected; a wrapper is a one-record file anyway."""
    fields = [c for c in bronze.columns if not c.startswith("_")]
    records = []
    for row in bronze.head(100).select(fields).iter_rows(named=True):
        record: dict[str, Any] = {}
        for key, text in row.items():
            if text is None:
                continue
            record[key] = _json_or_text(text)
        records.append(record)
    return detect_unsupported_shape(records, source)


def _json_or_text(text: str) -> Any:
    if text[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text
