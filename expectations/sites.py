"""Rules for the site register (``landing/sites/``), checked on the output of
``transforms.sites.prepare_sites``.

Row rules read Boolean helper columns that are never null, so GX's skipping of missing
values cannot hide a failure.
"""

from __future__ import annotations

import great_expectations as gx

from expectations.spec import DatasetRule, RowRule, Suite


def is_true(column: str) -> gx.expectations.Expectation:
    return gx.expectations.ExpectColumnValuesToBeInSet(column=column, value_set=[True])


def no_conflicting_duplicate(description: str) -> RowRule:
    return RowRule(
        name="no_conflicting_duplicate",
        expectation=gx.expectations.ExpectColumnValuesToBeInSet(column="conflicting_duplicate", value_set=[False]),
        description=description,
    )


def required_columns_present(description: str) -> DatasetRule:
    """Every row of a prepared frame carries ``missing_columns``: null when the file has all
    contract columns, else text naming the absent ones and the columns the file has instead
    (e.g. ``missing required columns: dt-stamp (found 'dt - stamp'); ...``)."""
    return DatasetRule(
        name="required_columns_present",
        expectation=gx.expectations.ExpectColumnValuesToBeNull(column="missing_columns"),
        description=description,
    )


SUITE = Suite(
    name="sites",
    row_rules=(
        RowRule(
            name="site_id_present",
            expectation=is_true("site_id_present"),
            description='id is present: an integer or a non-blank string (1 and "1" are the same site).',
        ),
        RowRule(
            name="name_not_empty",
            expectation=is_true("name_not_empty"),
            description="name is present and not blank.",
        ),
        RowRule(
            name="location_not_empty",
            expectation=is_true("location_not_empty"),
            description="location is present and not blank.",
        ),
        no_conflicting_duplicate("A site appears at most once per file, or only with the same name and location."),
    ),
    dataset_rules=(required_columns_present("The file has the columns id, name and location."),),
)
