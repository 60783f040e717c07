"""Suite for energy market prices per interval.

Expects typed columns computed in Polars before validation: interval_start /
interval_end (Datetime UTC, null when unparseable), price_per_kwh (Float64, null
when not numeric, may be NaN/inf), interval_seconds, interval_whole_minutes and
conflicting_duplicate. Negative prices are valid (oversupply).
"""

from __future__ import annotations

from expectations.spec import (
    Suite,
    interval_row_rules,
    no_conflicting_duplicate,
    quarantine_share_rule,
    typed_columns_present,
    value_row_rules,
)

PRICE_PER_KWH_MIN = -20
PRICE_PER_KWH_MAX = 20

COLUMNS = (
    "interval_start",
    "interval_end",
    "price_per_kwh",
    "interval_seconds",
    "interval_whole_minutes",
    "conflicting_duplicate",
)

SUITE = Suite(
    name="energy_prices",
    row_rules=(
        *interval_row_rules(),
        *value_row_rules("price_per_kwh", "price", PRICE_PER_KWH_MIN, PRICE_PER_KWH_MAX, "per kWh"),
        no_conflicting_duplicate("The row's key does not appear again in the same file with different values."),
    ),
    dataset_rules=(
        typed_columns_present(COLUMNS),
        quarantine_share_rule(0.05),
        quarantine_share_rule(0.5, blocking=True),
    ),
)
