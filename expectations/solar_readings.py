"""Suite for solar generation readings.

Expects typed columns computed in Polars before validation (transforms/solar.py): site_id
(String, null when missing or empty), ts (Datetime UTC, null when unparseable), generated_kwh /
consumed_kwh (Float64, null when not numeric, may be NaN/inf) and conflicting_duplicate.
Negative energies pass: they are anomalies, kept in silver and flagged, not quarantined.
"""

from __future__ import annotations

from expectations.spec import (
    RowRule,
    Suite,
    no_conflicting_duplicate,
    not_null,
    quarantine_share_rule,
    timestamp_precision_rule,
    typed_columns_present,
    value_row_rules,
)

# One reading of one site covers minutes: more than 10 MWh either way is not a measurement.
ENERGY_KWH_BOUND = 10_000

COLUMNS = ("site_id", "ts", "generated_kwh", "consumed_kwh", "conflicting_duplicate")

SUITE = Suite(
    name="solar_readings",
    row_rules=(
        RowRule("site_id_present", not_null("site_id"), "site_id is present and not empty."),
        RowRule("timestamp_parseable", not_null("ts"), "timestamp is present and parses as ISO-8601 (naive = UTC)."),
        timestamp_precision_rule("timestamp"),
        *value_row_rules("generated_kwh", "generated", -ENERGY_KWH_BOUND, ENERGY_KWH_BOUND, "kWh"),
        *value_row_rules("consumed_kwh", "consumed", -ENERGY_KWH_BOUND, ENERGY_KWH_BOUND, "kWh"),
        no_conflicting_duplicate("The same site and timestamp do not appear again in the file with other values."),
    ),
    dataset_rules=(
        typed_columns_present(COLUMNS),
        quarantine_share_rule(0.05),
        quarantine_share_rule(0.5, blocking=True),
    ),
)
