"""Rules for the site register (``landing/sites/``), checked on the output of
``transforms.sites.prepare_sites``.

Row rules read Boolean helper columns that are never null, so GX's skipping of missing
values cannot hide a failure.
"""

from __future__ import annotations

from expectations.spec import RowRule, Suite, is_true, no_conflicting_duplicate, required_columns_present

SUITE = Suite(
    name="sites",
    row_rules=(
        RowRule(
            "site_id_present",
            is_true("site_id_present"),
            'id is present: an integer or a non-blank string (1 and "1" are the same site).',
        ),
        RowRule("name_not_empty", is_true("name_not_empty"), "name is present and not blank."),
        RowRule("location_not_empty", is_true("location_not_empty"), "location is present and not blank."),
        no_conflicting_duplicate("A site appears at most once per file, or only with the same name and location."),
    ),
    dataset_rules=(required_columns_present("The file has the columns id, name and location."),),
)
