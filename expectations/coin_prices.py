"""Suite for coin price samples.

Expects typed columns computed in Polars before validation (transforms/coins.py): pair (String,
lower case, null when missing or empty), pair_well_formed (null when pair is), time (Datetime
UTC, null when unparseable), value (Float64, null when not numeric, may be NaN/inf) and
conflicting_duplicate.
"""

from __future__ import annotations

from expectations.spec import (
    FINITE_MAX,
    RowRule,
    Suite,
    between,
    is_true,
    no_conflicting_duplicate,
    not_null,
    quarantine_share_rule,
    timestamp_precision_rule,
    typed_columns_present,
)

COLUMNS = ("pair", "pair_well_formed", "time", "value", "conflicting_duplicate")

SUITE = Suite(
    name="coin_prices",
    row_rules=(
        RowRule("pair_present", not_null("pair"), "pair (or a snapshot's coin id) is present and not empty."),
        RowRule(
            "pair_is_base_slash_quote",
            is_true("pair_well_formed"),
            "pair is <base>/<quote>: two non-empty parts, one slash, no spaces.",
        ),
        RowRule(
            "time_parseable",
            not_null("time"),
            "time (or last_updated) is epoch seconds or ISO-8601 (Z, an offset, or naive = UTC).",
        ),
        timestamp_precision_rule("time (or last_updated)"),
        RowRule("value_numeric", not_null("value"), "value (or current_price) is present and numeric (not NaN)."),
        RowRule(
            "value_positive",
            between("value", 0, FINITE_MAX, strict_min=True),
            "value is above zero and finite: a price of zero or less is not a price.",
        ),
        no_conflicting_duplicate("The same pair and time do not appear again in the file with another value."),
    ),
    dataset_rules=(
        typed_columns_present(COLUMNS),
        quarantine_share_rule(0.05),
        quarantine_share_rule(0.5, blocking=True),
    ),
)
