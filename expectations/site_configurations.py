"""Rules for site configurations (``landing/site_configurations/``), checked on the output of
``transforms.sites.prepare_site_configurations``.

Value rules come in pairs (see ``expectations.spec``): ``*_is_number`` fails a null, NaN or
non-numeric value, ``*_non_negative`` a value below zero or infinite. A configuration for a site
that is not registered yet is not an error (``site_known`` is informative only).
"""

from __future__ import annotations

from expectations.spec import (
    RowRule,
    Suite,
    in_set,
    is_number,
    is_true,
    no_conflicting_duplicate,
    non_negative,
    not_null,
    required_columns_present,
)
from transforms.sites import PRODUCTION_TYPES, VENDORS

_UNITS = tuple(f"production_{t}_units" for t in PRODUCTION_TYPES)
_KWP = tuple(f"production_{t}_kwp" for t in PRODUCTION_TYPES)

SUITE = Suite(
    name="site_configurations",
    row_rules=(
        RowRule(
            name="site_id_present",
            expectation=not_null("site_id"),
            description="The site id (id in the nested form, site in the flat form) is present.",
        ),
        RowRule(
            name="battery_vendor_present",
            expectation=not_null("battery_vendor"),
            description="battery.vendor (battery_vendor) is present and not blank.",
        ),
        RowRule(
            name="battery_vendor_known",
            expectation=in_set("battery_vendor", VENDORS),
            description="The battery vendor is Tesla or KATL (any casing on input).",
        ),
        is_number("battery_capacity_kwh", "battery.capacity_kwh"),
        non_negative("battery_capacity_kwh", "battery.capacity_kwh"),
        is_number("battery_max_power_kw", "battery.max_power_kw"),
        non_negative("battery_max_power_kw", "battery.max_power_kw"),
        *(is_number(c, c.replace("production_", "production.").replace("_units", ".units")) for c in _UNITS),
        *(non_negative(c, c.replace("production_", "production.").replace("_units", ".units")) for c in _UNITS),
        RowRule(
            name="units_whole_numbers",
            expectation=is_true("units_whole_numbers"),
            description="The pv, bio and cro unit counts are whole numbers.",
        ),
        RowRule(
            name="production_kwp_numeric",
            expectation=is_true("production_kwp_numeric"),
            description="Every kwp that is given is a number (kwp may be left out).",
        ),
        *(non_negative(c, c.replace("production_", "production.").replace("_kwp", ".kwp")) for c in _KWP),
        RowRule(
            name="valid_from_parseable",
            expectation=not_null("valid_from"),
            description=(
                "valid_from, when given, is ISO-8601 (naive means UTC) or YYYY-MM-DD; "
                "when absent the ingest time is used."
            ),
        ),
        no_conflicting_duplicate(
            "A site has at most one configuration per valid_from in a file, or only identical ones."
        ),
    ),
    dataset_rules=(
        required_columns_present(
            "The file has a site id (site or id), the battery (battery or the battery_* columns) "
            "and the production (production or the production_*_units columns)."
        ),
    ),
)
