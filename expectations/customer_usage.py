"""Suite for customer interval usage readings.

Expects typed columns computed in Polars before validation: customer_id (String,
null when missing or empty), interval_start / interval_end (Datetime UTC, null
when unparseable), usage_kwh (Float64, null when not numeric, may be NaN/inf),
interval_seconds, interval_whole_minutes and conflicting_duplicate.
"""

from __future__ import annotations

import great_expectations as gx

from expectations.spec import (
    RowRule,
    Suite,
    interval_row_rules,
    no_conflicting_duplicate_rule,
    quarantine_share_rule,
    required_columns_rule,
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
        RowRule(
            name="customer_id_present",
            expectation=gx.expectations.ExpectColumnValuesToNotBeNull(column="customer_id"),
            description="customer_id is present and not empty.",
        ),
        *interval_row_rules(),
        *value_row_rules("usage_kwh", "usage", 0, USAGE_KWH_MAX, "kWh"),
        no_conflicting_duplicate_rule(),
    ),
    dataset_rules=(
        required_columns_rule(COLUMNS),
        quarantine_share_rule(0.05),
        quarantine_share_rule(0.5, blocking=True),
    ),
)
