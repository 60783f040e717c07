"""Rules for site live data (``landing/site_live_data/``), checked per reading on the output of
``transforms.sites.explode_site_live_data``.

Readings of a site that is not registered yet are not quarantined: ``site_known`` is false and
the caller leaves them waiting in bronze. A columnar object whose arrays do not line up fails
``array_lengths_equal`` on every one of its rows, and ``array_length_error`` says why.
"""

from __future__ import annotations

import great_expectations as gx

from expectations.site_configurations import is_number, non_negative
from expectations.sites import no_conflicting_duplicate, required_columns_present
from expectations.spec import RowRule, Suite
from transforms.sites import LIVE_SOURCE_COLUMNS, NOTIFICATIONS


def _is_boolean(column: str) -> RowRule:
    return RowRule(
        name=f"{column}_is_boolean",
        expectation=gx.expectations.ExpectColumnValuesToNotBeNull(column=column),
        description=f'{column} is a JSON boolean (not a string such as "true", not 1/0, not null).',
    )


SUITE = Suite(
    name="site_live_data",
    row_rules=(
        RowRule(
            name="site_id_present",
            expectation=gx.expectations.ExpectColumnValuesToNotBeNull(column="site_id"),
            description="site_id is present: an integer or a non-blank string.",
        ),
        RowRule(
            name="array_lengths_equal",
            expectation=gx.expectations.ExpectColumnValuesToBeNull(column="array_length_error"),
            description=(
                "In a columnar object every field is a flat array and all arrays have the same, "
                "non-zero length; otherwise the whole object is rejected (see array_length_error)."
            ),
        ),
        RowRule(
            name="dt_stamp_parseable",
            expectation=gx.expectations.ExpectColumnValuesToNotBeNull(column="dt_stamp"),
            description="dt-stamp is YYYY-MM-DD HH:MM:SS (naive means UTC) or ISO-8601 with Z or an offset.",
        ),
        is_number("soc", "soc"),
        RowRule(
            name="soc_between_0_and_100",
            expectation=gx.expectations.ExpectColumnValuesToBeBetween(column="soc", min_value=0, max_value=100),
            description="soc (state of charge, percent) is between 0 and 100.",
        ),
        is_number("load_kwh", "load_kwh"),
        non_negative("load_kwh", "load_kwh"),
        is_number("net_load_kwh", "net_load_kwh"),
        non_negative("net_load_kwh", "net_load_kwh"),
        *(_is_boolean(n) for n in NOTIFICATIONS),
        no_conflicting_duplicate("A site has at most one reading per dt-stamp in a file, or only identical ones."),
    ),
    dataset_rules=(required_columns_present(f"The file has the fields {', '.join(LIVE_SOURCE_COLUMNS)}."),),
)
