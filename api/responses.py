"""Turning request parameters into read arguments, and reads into responses: times, ranges,
page sizes, opaque cursors, and the three formats (JSON, CSV, Parquet). Every response names the
table and Delta version it read and that version's commit time: in the JSON body, and in the
`X-Table`, `X-Table-Version` and `X-As-Of` headers of every format."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import hashlib
import hmac
import io
import json
from typing import Any

import polars as pl
from fastapi import HTTPException
from fastapi.responses import Response

from warehouse.serving import Result

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 10_000
FORMATS = ("json", "csv", "parquet")


def bad(message: str) -> HTTPException:
    return HTTPException(400, message)


def instant(name: str, text: str | None, *, offset: bool = True) -> dt.datetime:
    """An ISO-8601 time parameter; with `offset`, one carrying its UTC offset (returned in UTC),
    else a naive local time."""
    if text is None:
        raise bad(f"{name} is required (ISO-8601{' with an offset' if offset else ''}, e.g. 2020-08-05T00:00:00Z)")
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise bad(f"{name}={text!r} is not an ISO-8601 time, e.g. 2020-08-05T00:00:00Z") from None
    if offset:
        if value.tzinfo is None:
            raise bad(f"{name}={text!r} has no UTC offset: add Z or e.g. +02:00")
        return value.astimezone(dt.UTC)
    if value.tzinfo is not None:
        raise bad(f"{name}={text!r}: give the park's local time, without an offset")
    return value


def day(name: str, text: str | None) -> dt.date:
    if text is None:
        raise bad(f"{name} is required (a date, YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise bad(f"{name}={text!r} is not a date, e.g. 2020-08-05") from None


def ordered(start: Any, end: Any, cap: dt.timedelta | None = None, unit: str = "") -> None:
    if end <= start:
        raise bad(f"to ({end}) must be after from ({start}): the range is [from, to)")
    if cap is not None:
        span = (end - start) if isinstance(start, dt.datetime) else dt.timedelta(days=(end - start).days)
        if span > cap:
            raise bad(f"the range is {span}; at most {cap.days} days are answered at once{unit}: split it")


def page_size(value: int | None) -> int:
    size = DEFAULT_PAGE_SIZE if value is None else value
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise bad(f"page_size={size}: from 1 to {MAX_PAGE_SIZE:,}")
    return size


def fmt(value: str | None) -> str:
    chosen = (value or "json").lower()
    if chosen not in FORMATS:
        raise bad(f"format={value!r}: one of {', '.join(FORMATS)}")
    return chosen


class Cursors:
    """Opaque, signed cursors: the last row's key, bound to the question it answers (path and
    parameters), so a cursor cannot be edited or reused for another question."""

    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    def make(self, question: str, after: list[Any]) -> str:
        body = base64.urlsafe_b64encode(json.dumps({"q": _digest(question), "a": after}).encode()).decode().rstrip("=")
        return f"{body}.{self._sign(body)}"

    def read(self, question: str, cursor: str | None) -> list[Any] | None:
        if not cursor:
            return None
        body, _, signature = cursor.partition(".")
        if not hmac.compare_digest(signature, self._sign(body)):
            raise bad("cursor is not valid: use the next_cursor of the previous page, unchanged")
        try:
            data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            raise bad("cursor is not valid: use the next_cursor of the previous page, unchanged") from None
        if data.get("q") != _digest(question):
            raise bad("cursor belongs to another question: keep the other parameters as they were")
        after = data.get("a")
        if not isinstance(after, list):
            raise bad("cursor is not valid: use the next_cursor of the previous page, unchanged")
        return after

    def _sign(self, body: str) -> str:
        return hmac.new(self.secret, body.encode(), hashlib.sha256).hexdigest()[:32]


def _digest(question: str) -> str:
    return hashlib.sha256(question.encode()).hexdigest()[:16]


def respond(result: Result, form: str, next_cursor: str | None = None, extra: dict[str, Any] | None = None) -> Response:
    snapshot = result.snapshot
    headers = {
        "X-Table": result.table,
        "X-Table-Version": "" if snapshot is None else str(snapshot.version),
        "X-As-Of": "" if snapshot is None else snapshot.as_of.isoformat(),
    }
    if next_cursor:
        headers["X-Next-Cursor"] = next_cursor
    frame = result.frame
    if form == "csv":
        return Response(_csv(frame), media_type="text/csv; charset=utf-8", headers=headers)
    if form == "parquet":
        buffer = io.BytesIO()
        frame.write_parquet(buffer)
        return Response(buffer.getvalue(), media_type="application/vnd.apache.parquet", headers=headers)
    body = {
        "table": result.table,
        "table_version": None if snapshot is None else snapshot.version,
        "as_of": None if snapshot is None else snapshot.as_of.isoformat(),
        **(extra or {}),
        "count": frame.height,
        "next_cursor": next_cursor,
        "data": frame.to_dicts(),
    }
    return Response(json_text(body), media_type="application/json", headers=headers)


def json_text(body: Any) -> str:
    """JSON with times and dates as ISO-8601 text."""
    return json.dumps(body, default=_json)


def _csv(frame: pl.DataFrame) -> str:
    nested = [c for c, t in frame.schema.items() if t.is_nested()]
    if nested:
        frame = frame.with_columns(
            pl.Series(c, [None if v is None else json.dumps(v, default=_json) for v in frame[c].to_list()], pl.String)
            for c in nested
        )
    return frame.write_csv()


def _json(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"not JSON: {type(value).__name__}")
