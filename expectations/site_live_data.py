"""Rules for site live data (``landing/site_live_data/``), checked per reading on the output of
``transforms.sites.explode_site_live_data``.

Readings of a site that is not registered yet are not quarantined: ``site_known`` is false and
the caller leaves them waiting in bronze. A columnar object whose arrays do not line up fails
``array_lengths_equal`` on every one of its rows, and ``array_length_error`` says why.
"""

from __future__ import annotations

from expectations.spec import (
    RowRule,
    Suite,
    between,
    is_null,
    is_number,
    no_conflicting_duplicate,
    non_negative,
    not_null,
    required_columns_present,
)
from transforms.sites import LIVE_SOURCE_COLUMNS, NOTIFICATIONS


def _is_boolean(column: str) -> RowRule:
    return RowRule(
        f"{column}_is_boolean",
        not_null(column),
        f'{column} is a JSON boolean (not a string such as "true", not 1/0, not null).',
    )


SUITE = Suite(
    name="site_live_data",
    row_rules=(
        RowRule("site_id_present", not_null("site_id"), "site_id is present: an integer or a non-blank string."),
        RowRule(
            "array_lengths_equal",
            is_null("array_length_error"),
            "In a columnar object every field is a flat array and all arrays have the same, "
            "non-zero length; otherwise the whole object is rejected (see array_length_error).",
        ),
        RowRule(
            "dt_stamp_parseable",
            not_null("dt_stamp"),
            "dt-stamp is YYYY-MM-DD HH:MM:SS (naive means UTC) or ISO-8601 with Z or an offset.",
        ),
        is_number("soc", "soc"),
        RowRule(
            "soc_between_0_and_100",
            between("soc", 0, 100),
            "soc (state of charge, percent) is between 0 and 100.",
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
