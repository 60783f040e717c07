"""Rules for park readings (``landing/park_readings/``), checked on the output
of ``transforms.parks.prepare_park_readings``.

Validate only rows with ``awaits_park`` false: readings of a park that is not
in the register yet are held in bronze, not quarantined. Row rules read
Boolean helper columns that are never null, plus one bounds rule on ``mw``;
null and NaN MW are reported by ``mw_numeric`` and ``mw_finite``, and +/-inf
fails the finite bounds.
"""

from __future__ import annotations

import great_expectations as gx

from expectations.spec import DatasetRule, RowRule, Suite, quarantine_share_at_most
from transforms.parks import MW_MAX, MW_MIN, RAW_READING_COLUMNS


def _is_true(column: str) -> gx.expectations.Expectation:
    return gx.expectations.ExpectColumnValuesToBeInSet(column=column, value_set=[True])


SUITE = Suite(
    name="park_readings",
    row_rules=(
        RowRule(
            name="park_name_present",
            expectation=_is_true("park_name_present"),
            description="The row names its park (park_name column or file stem).",
        ),
        RowRule(
            name="ts_parseable",
            expectation=_is_true("ts_parseable"),
            description="datetime is a local timestamp YYYY-MM-DD HH:MM[:SS] (space or T).",
        ),
        RowRule(
            name="mw_numeric",
            expectation=_is_true("mw_numeric"),
            description="MW is present and a number.",
        ),
        RowRule(
            name="mw_finite",
            expectation=_is_true("mw_finite"),
            description="MW is not NaN or infinite.",
        ),
        RowRule(
            name="mw_within_bounds",
            expectation=gx.expectations.ExpectColumnValuesToBeBetween(column="mw", min_value=MW_MIN, max_value=MW_MAX),
            description=(
                f"MW is between {MW_MIN:,.0f} and {MW_MAX:,.0f}; small negatives (own consumption) are valid."
            ),
        ),
        RowRule(
            name="local_time_exists",
            expectation=_is_true("local_time_exists"),
            description="The local time exists in the park's timezone (not in a spring-forward gap).",
        ),
        RowRule(
            name="no_conflicting_duplicate",
            expectation=gx.expectations.ExpectColumnValuesToBeInSet(column="conflicting_duplicate", value_set=[False]),
            description=(
                "No other row of the same file has the same park and instant with a "
                "different MW (the repeated hour when clocks go back is two instants)."
            ),
        ),
    ),
    dataset_rules=(
        DatasetRule(
            name="required_columns_present",
            expectation=gx.expectations.ExpectTableColumnsToMatchSet(
                column_set=list(RAW_READING_COLUMNS.values()), exact_match=False
            ),
            description=("The file has the columns datetime and MW (kept as datetime_raw and mw_raw)."),
        ),
        DatasetRule(
            name="few_rows_quarantined",
            expectation=quarantine_share_at_most(0.05),
            description="At most 5% of the rows are quarantined.",
            blocking=False,
        ),
    ),
)
