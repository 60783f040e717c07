"""Typing of raw usage and price records, and the helper columns their suites check."""

from __future__ import annotations

import polars as pl

from transforms.ids import normalise_id
from transforms.timestamps import parse_utc, within_microseconds

DEFAULT_INTERVAL = pl.duration(minutes=5)


def _text(name: str, schema: pl.Schema) -> pl.Expr:
    """A raw field, stripped, with empty text as null; a field absent from the file is null."""
    if name not in schema:
        return pl.lit(None, dtype=pl.String)
    stripped = pl.col(name).str.strip_chars()
    return pl.when(stripped == "").then(None).otherwise(stripped)


def _interval(frame: pl.LazyFrame) -> pl.LazyFrame:
    """interval_start / interval_end and the interval rule columns. A missing end defaults to
    start + 5 minutes; an end that is present but unparseable stays null (and is quarantined)."""
    schema = frame.collect_schema()
    end_text = _text("intervalEnd", schema)
    start_text = _text("intervalStart", schema)
    start = parse_utc(start_text)
    return (
        frame.with_columns(
            within_microseconds=within_microseconds(start_text, end_text),
            interval_start=start,
            interval_end=pl.when(end_text.is_null()).then(start + DEFAULT_INTERVAL).otherwise(parse_utc(end_text)),
        )
        .with_columns(
            interval_seconds=(pl.col("interval_end") - pl.col("interval_start")).dt.total_microseconds() / 1e6,
        )
        .with_columns(
            interval_whole_minutes=(pl.col("interval_seconds") % 60) == 0,
        )
    )


def _number(name: str, schema: pl.Schema) -> pl.Expr:
    return _text(name, schema).cast(pl.Float64, strict=False)


def event_date(start_field: str = "intervalStart") -> pl.Expr:
    """The bronze partition: the UTC date of the interval start (null when unparseable)."""
    return parse_utc(pl.col(start_field)).dt.date()


def prepare_usage(bronze: pl.LazyFrame) -> pl.LazyFrame:
    schema = bronze.collect_schema()
    typed = _interval(
        bronze.with_columns(
            customer_id=normalise_id(_text("customerId", schema)),
            usage_kwh=_number("usage", schema),
        )
    )
    return typed


def prepare_prices(bronze: pl.LazyFrame) -> pl.LazyFrame:
    schema = bronze.collect_schema()
    typed = _interval(bronze.with_columns(price_per_kwh=_number("price", schema)))
    return typed
