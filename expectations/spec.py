"""Suites as code: the rules a dataset must satisfy, each backed by a GX expectation.

Two kinds of rule:

* ``RowRule`` wraps a map expectation (one verdict per row). A row that fails it
  is quarantined and the rule's ``name`` is recorded against the row.
* ``DatasetRule`` wraps any expectation and yields one verdict per batch; the
  orchestration layer turns it into an asset check (``blocking`` decides whether a
  failure stops downstream assets).

Null handling (read before writing a rule): GX evaluates pandas frames, where a
Float64 null becomes NaN, and GX counts NaN as *missing*. Most map expectations
(between, in-set, regex, ...) skip missing values, so a null or NaN never fails
them. ``ExpectColumnValuesToNotBeNull`` is the exception: it fails both null and
NaN. A value column therefore needs two rules: a not-null rule (catches null and
NaN) and a bounds rule (catches out-of-range values, including +/-inf, which GX
compares like any other float). Derived columns that are null because an input is
unparseable are skipped by their own rules, so the row is reported once, by the
rule on the input.
"""

from __future__ import annotations

from dataclasses import dataclass

import great_expectations as gx
from great_expectations.expectations.expectation import (
    ColumnMapExpectation,
    ColumnPairMapExpectation,
    MulticolumnMapExpectation,
)

# The runner adds this Boolean column (True = the row failed at least one row
# rule) before evaluating dataset rules that reference it, so a batch-level rule
# can speak about the quarantine share.
QUARANTINED_COLUMN = "_gx_row_quarantined"

# The runner packs a row's failures into a 64-bit pattern.
MAX_ROW_RULES = 64

MAP_EXPECTATION_TYPES = (
    ColumnMapExpectation,
    ColumnPairMapExpectation,
    MulticolumnMapExpectation,
)

# Fields GX ignores when it decides two expectations in a suite are the same one.
_IDENTITY_EXCLUDED_FIELDS = {
    "id",
    "rendered_content",
    "notes",
    "meta",
    "severity",
    "description",
}


@dataclass(frozen=True)
class RowRule:
    """Row-level rule; a failing row is quarantined under this rule's name."""

    name: str
    expectation: gx.expectations.Expectation
    description: str

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not isinstance(self.expectation, MAP_EXPECTATION_TYPES):
            raise TypeError(
                f"row rule {self.name!r} needs a map expectation (one verdict per row), "
                f"got {type(self.expectation).__name__}"
            )


@dataclass(frozen=True)
class DatasetRule:
    """Batch-level rule; becomes an asset check."""

    name: str
    expectation: gx.expectations.Expectation
    description: str
    blocking: bool = True

    def __post_init__(self) -> None:
        _check_name(self.name)


@dataclass(frozen=True)
class Suite:
    name: str
    row_rules: tuple[RowRule, ...]
    dataset_rules: tuple[DatasetRule, ...] = ()

    def __post_init__(self) -> None:
        if len(self.row_rules) > MAX_ROW_RULES:
            raise ValueError(f"suite {self.name!r} has more than {MAX_ROW_RULES} row rules")
        names = [rule.name for rule in self.rules]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"suite {self.name!r} repeats rule names: {duplicates}")
        # An ExpectationSuite silently drops an expectation equal to one it already
        # holds (meta and notes are ignored), which would lose a rule's results.
        seen: dict[tuple[str, str], str] = {}
        for rule in self.rules:
            key = _expectation_identity(rule.expectation)
            if key in seen:
                raise ValueError(f"suite {self.name!r}: rules {seen[key]!r} and {rule.name!r} use the same expectation")
            seen[key] = rule.name

    @property
    def rules(self) -> tuple[RowRule | DatasetRule, ...]:
        return (*self.row_rules, *self.dataset_rules)

    @property
    def row_rule_names(self) -> tuple[str, ...]:
        return tuple(rule.name for rule in self.row_rules)


def quarantine_share_at_most(share: float) -> gx.expectations.Expectation:
    """Expectation for a dataset rule: at most ``share`` of rows are quarantined.

    Expressed with GX's ``mostly`` on the runner-provided quarantine flag, so the
    check is evaluated (and shown in Data Docs) by GX itself.
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be within [0, 1], got {share}")
    return gx.expectations.ExpectColumnValuesToBeInSet(column=QUARANTINED_COLUMN, value_set=[False], mostly=1.0 - share)


def uses_quarantine_column(expectation: gx.expectations.Expectation) -> bool:
    kwargs = expectation.configuration.kwargs
    columns = [kwargs.get("column"), kwargs.get("column_A"), kwargs.get("column_B")]
    columns.extend(kwargs.get("column_list") or ())
    return QUARANTINED_COLUMN in columns


def _check_name(name: str) -> None:
    if not name or not name.replace("_", "").isalnum() or not name.islower() or name[0] == "_":
        raise ValueError(f"rule names are lower snake_case, got {name!r}")


def _expectation_identity(expectation: gx.expectations.Expectation) -> tuple[str, str]:
    body = expectation.dict(exclude=_IDENTITY_EXCLUDED_FIELDS)
    return expectation.expectation_type, repr(sorted(body.items()))


# Builders for rules that several sources share. Each call returns new
# expectation objects, so suites never share one.

SECONDS_PER_DAY = 86_400


def interval_row_rules() -> tuple[RowRule, ...]:
    """Rules on interval_start / interval_end and the derived interval_seconds and
    interval_whole_minutes (null when an input is null, so only the parse rule fires).
    """
    e = gx.expectations
    return (
        RowRule(
            name="interval_start_parseable",
            expectation=e.ExpectColumnValuesToNotBeNull(column="interval_start"),
            description="interval_start is present and parses as a timestamp.",
        ),
        RowRule(
            name="interval_end_parseable",
            expectation=e.ExpectColumnValuesToNotBeNull(column="interval_end"),
            description="interval_end is present and parses as a timestamp.",
        ),
        RowRule(
            name="interval_end_after_start",
            expectation=e.ExpectColumnValuesToBeBetween(column="interval_seconds", min_value=0, strict_min=True),
            description="interval_end is strictly later than interval_start.",
        ),
        RowRule(
            name="interval_whole_minutes",
            expectation=e.ExpectColumnValuesToBeInSet(column="interval_whole_minutes", value_set=[True]),
            description="The interval length is a whole number of minutes.",
        ),
        RowRule(
            name="interval_at_most_one_day",
            expectation=e.ExpectColumnValuesToBeBetween(column="interval_seconds", max_value=SECONDS_PER_DAY),
            description="The interval is at most one day long.",
        ),
    )


def value_row_rules(column: str, prefix: str, min_value: float, max_value: float, unit: str) -> tuple[RowRule, ...]:
    """``<prefix>_numeric`` (not null, not NaN) and ``<prefix>_within_bounds``.

    The bounds rule skips null/NaN (they belong to the numeric rule) and fails
    +/-inf because inf lies outside any finite range.
    """
    e = gx.expectations
    return (
        RowRule(
            name=f"{prefix}_numeric",
            expectation=e.ExpectColumnValuesToNotBeNull(column=column),
            description=f"{column} is present and numeric (not null, not NaN).",
        ),
        RowRule(
            name=f"{prefix}_within_bounds",
            expectation=e.ExpectColumnValuesToBeBetween(column=column, min_value=min_value, max_value=max_value),
            description=f"{column} is finite and within [{min_value:g}, {max_value:g}] {unit}.",
        ),
    )


def no_conflicting_duplicate_rule() -> RowRule:
    return RowRule(
        name="no_conflicting_duplicate",
        expectation=gx.expectations.ExpectColumnValuesToBeInSet(column="conflicting_duplicate", value_set=[False]),
        description=("The row's key does not appear again in the same file with different values."),
    )


def required_columns_rule(columns: tuple[str, ...]) -> DatasetRule:
    return DatasetRule(
        name="required_columns_present",
        # Extra columns (ingest metadata, raw fields) are allowed.
        expectation=gx.expectations.ExpectTableColumnsToMatchSet(column_set=list(columns), exact_match=False),
        description=f"The typed columns the rules read are all present: {', '.join(columns)}.",
        blocking=True,
    )


def quarantine_share_rule(max_share: float, blocking: bool = False) -> DatasetRule:
    return DatasetRule(
        name=f"quarantine_share_at_most_{round(max_share * 100)}_percent",
        expectation=quarantine_share_at_most(max_share),
        description=(
            f"At most {max_share:.0%} of the batch's rows fail a row rule; more suggests a "
            "format change upstream rather than a few bad readings."
            + (" Blocking: gold is not rebuilt from such a batch." if blocking else "")
        ),
        blocking=blocking,
    )
