"""Rules for the park register (``landing/parks/``), checked on the output of
``transforms.parks.prepare_parks``.

Row rules read the Boolean helper columns that ``prepare_parks`` computes, which
are never null, so GX's skipping of missing values cannot hide a failure.
"""

from __future__ import annotations

import great_expectations as gx

from expectations.spec import DatasetRule, RowRule, Suite
from transforms.parks import PARK_SOURCE_COLUMNS


def _is_true(column: str) -> gx.expectations.Expectation:
    return gx.expectations.ExpectColumnValuesToBeInSet(column=column, value_set=[True])


SUITE = Suite(
    name="parks",
    row_rules=(
        RowRule(
            name="park_name_present",
            expectation=_is_true("park_name_present"),
            description="park_name is present and not blank.",
        ),
        RowRule(
            name="timezone_valid",
            expectation=_is_true("timezone_valid"),
            description="timezone is a valid IANA name such as Europe/Amsterdam.",
        ),
        RowRule(
            name="energy_type_valid",
            expectation=_is_true("energy_type_valid"),
            description="energy_type is Wind or Solar (any casing on input).",
        ),
        RowRule(
            name="no_conflicting_duplicate",
            expectation=gx.expectations.ExpectColumnValuesToBeInSet(column="conflicting_duplicate", value_set=[False]),
            description=("A park appears at most once per file, or only with identical timezone and energy_type."),
        ),
    ),
    dataset_rules=(
        DatasetRule(
            name="required_columns_present",
            expectation=gx.expectations.ExpectTableColumnsToMatchSet(
                column_set=list(PARK_SOURCE_COLUMNS), exact_match=False
            ),
            description="The file has the columns park_name, timezone and energy_type.",
        ),
    ),
)
