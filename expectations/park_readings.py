"""Rules for park readings (``landing/park_readings/``), checked on the output
of ``transforms.parks.prepare_park_readings``.

Validate only rows with ``awaits_park`` false: readings of a park that is not
in the register yet are held in bronze, not quarantined. Row rules read
Boolean helper columns that are never null, plus one bounds rule on ``mw``;
null and NaN MW are reported by ``mw_numeric`` and ``mw_finite``, and +/-inf
fails the finite bounds.
"""

from __future__ import annotations

from expectations.spec import (
    RowRule,
    Suite,
    between,
    is_true,
    no_conflicting_duplicate,
    quarantine_share_rule,
    required_columns_present,
)
from transforms.parks import MW_MAX, MW_MIN, RAW_READING_COLUMNS

SUITE = Suite(
    name="park_readings",
    row_rules=(
        RowRule(
            "park_name_present", is_true("park_name_present"), "The row names its park (park_name column or file stem)."
        ),
        RowRule(
            "ts_parseable",
            is_true("ts_parseable"),
            "datetime is a local timestamp YYYY-MM-DD HH:MM[:SS] (space or T).",
        ),
        RowRule("mw_numeric", is_true("mw_numeric"), "MW is present and a number."),
        RowRule("mw_finite", is_true("mw_finite"), "MW is not NaN or infinite."),
        RowRule(
            "mw_within_bounds",
            between("mw", MW_MIN, MW_MAX),
            f"MW is between {MW_MIN:,.0f} and {MW_MAX:,.0f}; small negatives (own consumption) are valid.",
        ),
        RowRule(
            "local_time_exists",
            is_true("local_time_exists"),
            "The local time exists in the park's timezone (not in a spring-forward gap).",
        ),
        no_conflicting_duplicate(
            "No other row of the same file has the same park and instant with a "
            "different MW (the repeated hour when clocks go back is two instants)."
        ),
    ),
    dataset_rules=(
        required_columns_present(
            "The file has the columns datetime and MW (kept as datetime_raw and mw_raw).",
            tuple(RAW_READING_COLUMNS.values()),
        ),
        quarantine_share_rule(0.05),
    ),
)
