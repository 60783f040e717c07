"""Rules for the park register (``landing/parks/``), checked on the output of
``transforms.parks.prepare_parks``.

Row rules read the Boolean helper columns that ``prepare_parks`` computes, which
are never null, so GX's skipping of missing values cannot hide a failure.
"""

from __future__ import annotations

from expectations.spec import RowRule, Suite, is_true, no_conflicting_duplicate, required_columns_present
from transforms.parks import PARK_SOURCE_COLUMNS

SUITE = Suite(
    name="parks",
    row_rules=(
        RowRule("park_name_present", is_true("park_name_present"), "park_name is present and not blank."),
        RowRule("timezone_valid", is_true("timezone_valid"), "timezone is a valid IANA name such as Europe/Amsterdam."),
        RowRule(
            "energy_type_valid", is_true("energy_type_valid"), "energy_type is Wind or Solar (any casing on input)."
        ),
        no_conflicting_duplicate(
            "A park appears at most once per file, or only with identical timezone and energy_type."
        ),
    ),
    dataset_rules=(
        required_columns_present("The file has the columns park_name, timezone and energy_type.", PARK_SOURCE_COLUMNS),
    ),
)
