"""Timestamp parsing with explicit formats on String columns (much faster than inference)."""

from __future__ import annotations

import re

import polars as pl

UTC = pl.Datetime("us", "UTC")

# Zoned ISO-8601 forms producers send: Z or a numeric offset, with or without fractions.
# The most common comes first: later formats are only tried on rows still unparsed.
_ZONED_FORMATS = (
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S%:z",
    "%Y-%m-%dT%H:%M:%S%.fZ",
    "%Y-%m-%dT%H:%M:%S%.f%:z",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S%:z",
    "%Y-%m-%d %H:%M:%SZ",
)
_EPOCH = r"^-?\d{1,12}(\.\d+)?$"
# Digits past the microsecond that are not all zero: the lake keeps timestamps to the microsecond,
# so such a value is quarantined (rule timestamp_within_microseconds), never silently cut.
_SUB_MICROSECOND = r"[.,]\d{6}\d*[1-9]"


def within_microseconds(*texts: pl.Expr) -> pl.Expr:
    """False where any of the texts is a timestamp (or epoch) with non-zero digits past the
    microsecond."""
    return ~pl.any_horizontal([t.str.contains(_SUB_MICROSECOND).fill_null(False) for t in texts])


def parse_utc(text: pl.Expr) -> pl.Expr:
    """ISO-8601 with `Z` or an offset, or epoch seconds, as a UTC timestamp; null if none fits.
    Naive timestamps are rejected on purpose: their zone is unknown."""
    return text.map_batches(_parse_series, return_dtype=UTC)


def _parse_series(text: pl.Series) -> pl.Series:
    """Staged parsing: each format sees only the rows the previous ones could not parse, so a
    file in one format costs one strptime instead of one per supported format. A column whose
    first value is epoch seconds is parsed as epochs first (ISO text never looks like one).

    The raw text is tried first: values rarely carry surrounding whitespace, and stripping a
    whole column cost twice the parse itself (workload S). The rows it does not parse are
    stripped and go through every stage, so the result is the stripped text's."""
    text = text.cast(pl.String)
    first = text.drop_nulls().head(1).to_list()
    if first and re.fullmatch(_EPOCH[1:-1], first[0].strip()):
        text = text.str.strip_chars()
        parsed = _epochs(text, pl.Series(dtype=UTC).extend_constant(None, text.len()))
    else:
        parsed = text.str.strptime(UTC, _ZONED_FORMATS[0], strict=False)
    missing = parsed.is_null() & text.is_not_null()
    if not missing.any():
        return parsed
    positions = missing.arg_true()
    return parsed.scatter(positions, _staged(text.gather(positions).str.strip_chars()))


def _staged(text: pl.Series) -> pl.Series:
    parsed = text.str.strptime(UTC, _ZONED_FORMATS[0], strict=False)
    for fmt in _ZONED_FORMATS[1:]:
        missing = parsed.is_null() & text.is_not_null()
        if not missing.any():
            return parsed
        retry = text.filter(missing).str.strptime(UTC, fmt, strict=False)
        parsed = parsed.scatter(missing.arg_true(), retry)
    return _epochs(text, parsed)


def _epochs(text: pl.Series, parsed: pl.Series) -> pl.Series:
    """`parsed` with its nulls filled where the text is epoch seconds (one expression: on the
    small columns of minute files, per-operation overhead is most of the cost)."""
    seconds = pl.col("text").cast(pl.Float64, strict=False)
    epoch = pl.from_epoch((seconds * 1_000_000).round(0).cast(pl.Int64), time_unit="us").dt.replace_time_zone("UTC")
    frame = pl.DataFrame({"text": text, "parsed": parsed})
    return frame.select(
        pl.coalesce("parsed", pl.when(pl.col("text").str.contains(_EPOCH)).then(epoch)).alias(text.name)
    ).to_series()


# Naive forms, for producers whose contract says a timestamp without a zone is UTC.
_NAIVE_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S%.f")


def parse_utc_naive_is_utc(text: pl.Expr) -> pl.Expr:
    """`parse_utc`, and naive ISO-8601 timestamps read as UTC (for contracts that say so)."""
    return text.map_batches(_parse_naive_is_utc, return_dtype=UTC)


def _parse_naive_is_utc(text: pl.Series) -> pl.Series:
    parsed = _parse_series(text)
    text = text.cast(pl.String).str.strip_chars()
    for fmt in _NAIVE_FORMATS:
        missing = parsed.is_null() & text.is_not_null()
        if not missing.any():
            break
        retry = text.filter(missing).str.strptime(pl.Datetime("us"), fmt, strict=False).dt.replace_time_zone("UTC")
        parsed = parsed.scatter(missing.arg_true(), retry)
    return parsed
