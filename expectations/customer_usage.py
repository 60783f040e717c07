"""Suite for customer interval usage readings.

Expects typed columns computed in Polars before validation: customer_id (String,
null when missing or empty), interval_start / interval_end (Datetime UTC, null
when unparseable), usage_kwh (Float64, null when not numeric, may be NaN/inf),
interval_seconds, interval_whole_minutes and conflicting_duplicate.
"""

from __future__ import annotations

from expectations.spec import (
    RowRule,
    Suite,
    interval_row_rules,
    no_conflicting_duplicate,
    not_null,
    quarantine_share_rule,
    typed_columns_present,
    value_row_rules,
)

USAGE_KWH_MAX = 1_000_000

COLUMNS = (
    "customer_id",
    "interval_start",
    "interval_end",
    "usage_kwh",
    "interval_seconds",
    "interval_whole_minutes",
    "conflicting_duplicate",
)

SUITE = Suite(
    name="customer_usage",
    row_rules=(
        RowRule("customer_id_present", not_null("customer_id"), "customer_id is present and not empty."),
        *interval_row_rules(),
        *value_row_rules("usage_kwh", "usage", 0, USAGE_KWH_MAX, "kWh"),
        no_conflicting_duplicate("The row's key does not appear again in the same file with different values."),
    ),
    dataset_rules=(
        typed_columns_present(COLUMNS),
        quarantine_share_rule(0.05),
        quarantine_share_rule(0.5, blocking=True),
    ),
)
