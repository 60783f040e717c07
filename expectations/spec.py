"""Suites as code: the rules a dataset must satisfy, each backed by a GX expectation.

Rules name their expectation declaratively (an ``Expect``: GX class name plus arguments), so
defining, listing and documenting suites never imports Great Expectations, which takes seconds
to import. ``expectations.runner`` builds the GX objects when a batch is first validated.

Two kinds of rule:

* ``RowRule`` wraps a map expectation (one verdict per row). A row that fails it
  is quarantined and the rule's ``name`` is recorded against the row.
* ``DatasetRule`` wraps any expectation and yields one verdict per batch; the
  orchestration layer turns it into an asset check (``blocking`` decides whether a
  failure keeps the batch's dates out of gold).

Null handling (read before writing a rule): GX evaluates pandas frames, where a
Float64 null becomes NaN, and GX counts NaN as *missing*. Most map expectations
(between, in-set, regex, ...) skip missing values, so a null or NaN never fails
them. ``not_null`` is the exception: it fails both null and NaN. A value column
therefore needs two rules: a not-null rule (catches null and NaN) and a bounds rule
(catches out-of-range values, including +/-inf, which GX compares like any other
float). Derived columns that are null because an input is unparseable are skipped by
their own rules, so the row is reported once, by the rule on the input.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# The runner adds this Boolean column (True = the row failed at least one row
# rule) before evaluating dataset rules that reference it, so a batch-level rule
# can speak about the quarantine share.
QUARANTINED_COLUMN = "_gx_row_quarantined"

# The runner packs a row's failures into a 64-bit pattern.
MAX_ROW_RULES = 64

# GX's map expectations (one verdict per row) are the column, column-pair and multicolumn
# families; the runner checks the built object's class as well.
_MAP_PREFIXES = (
    "ExpectColumnValues",
    "ExpectColumnPairValues",
    "ExpectMulticolumn",
    "ExpectCompoundColumns",
    "ExpectSelectColumnValues",
)
_COLUMN_ARGUMENTS = ("column", "column_A", "column_B")
_COLUMN_LIST_ARGUMENTS = ("column_list", "column_set")

# Bounds rules need a finite maximum: GX compares +inf like any float and "x >= 0" alone would pass it.
FINITE_MAX = sys.float_info.max


@dataclass(frozen=True)
class Expect:
    """A GX expectation by class name (``gx.expectations.<kind>``) and its arguments."""

    kind: str
    arguments: tuple[tuple[str, Any], ...]

    @classmethod
    def of(cls, kind: str, **arguments: Any) -> Expect:
        return cls(kind, tuple(sorted((k, _frozen(v)) for k, v in arguments.items())))

    @property
    def kwargs(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.arguments}

    @property
    def is_map(self) -> bool:
        return self.kind.startswith(_MAP_PREFIXES)

    @property
    def columns(self) -> frozenset[str]:
        """Every column the expectation reads."""
        kwargs = self.kwargs
        names = {kwargs[k] for k in _COLUMN_ARGUMENTS if kwargs.get(k)}
        for k in _COLUMN_LIST_ARGUMENTS:
            names.update(kwargs.get(k) or ())
        return frozenset(names)


def _frozen(value: Any) -> Any:
    return tuple(value) if isinstance(value, list | tuple) else value


@dataclass(frozen=True)
class RowRule:
    """Row-level rule; a failing row is quarantined under this rule's name."""

    name: str
    expectation: Expect
    description: str

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not self.expectation.is_map:
            raise TypeError(
                f"row rule {self.name!r} needs a map expectation (one verdict per row), got {self.expectation.kind}"
            )


@dataclass(frozen=True)
class DatasetRule:
    """Batch-level rule; becomes an asset check."""

    name: str
    expectation: Expect
    description: str
    blocking: bool = True

    def __post_init__(self) -> None:
        _check_name(self.name)

    @property
    def per_date(self) -> bool:
        """A rule on the quarantine flag speaks about rows, so it is judged on each date's rows."""
        return uses_quarantine_column(self.expectation)


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
        seen: dict[Expect, str] = {}
        for rule in self.rules:
            if rule.expectation in seen:
                raise ValueError(
                    f"suite {self.name!r}: rules {seen[rule.expectation]!r} and {rule.name!r} use the same expectation"
                )
            seen[rule.expectation] = rule.name

    @property
    def rules(self) -> tuple[RowRule | DatasetRule, ...]:
        return (*self.row_rules, *self.dataset_rules)

    @property
    def row_rule_names(self) -> tuple[str, ...]:
        return tuple(rule.name for rule in self.row_rules)

    @property
    def columns(self) -> frozenset[str]:
        """Every column a rule reads: all the runner hands to GX."""
        return frozenset().union(*(r.expectation.columns for r in self.rules)) - {QUARANTINED_COLUMN}


def uses_quarantine_column(expectation: Expect) -> bool:
    return QUARANTINED_COLUMN in expectation.columns


def _check_name(name: str) -> None:
    if not name or not name.replace("_", "").isalnum() or not name.islower() or name[0] == "_":
        raise ValueError(f"rule names are lower snake_case, got {name!r}")


# Expectations the suites use.


def not_null(column: str) -> Expect:
    return Expect.of("ExpectColumnValuesToNotBeNull", column=column)


def is_null(column: str) -> Expect:
    return Expect.of("ExpectColumnValuesToBeNull", column=column)


def in_set(column: str, values: Sequence[Any], mostly: float | None = None) -> Expect:
    extra = {} if mostly is None else {"mostly": mostly}
    return Expect.of("ExpectColumnValuesToBeInSet", column=column, value_set=list(values), **extra)


def is_true(column: str) -> Expect:
    return in_set(column, [True])


def between(column: str, min_value: float | None = None, max_value: float | None = None, **options: Any) -> Expect:
    bounds = {k: v for k, v in (("min_value", min_value), ("max_value", max_value)) if v is not None}
    return Expect.of("ExpectColumnValuesToBeBetween", column=column, **bounds, **options)


def columns_include(columns: Sequence[str]) -> Expect:
    # Extra columns (ingest metadata, raw fields) are allowed.
    return Expect.of("ExpectTableColumnsToMatchSet", column_set=list(columns), exact_match=False)


def quarantine_share_at_most(share: float) -> Expect:
    """At most ``share`` of rows are quarantined: GX's ``mostly`` on the runner-provided
    quarantine flag, so the check is evaluated (and shown in Data Docs) by GX itself."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share must be within [0, 1], got {share}")
    return in_set(QUARANTINED_COLUMN, [False], mostly=1.0 - share)


# Rules that several sources share.

SECONDS_PER_DAY = 86_400


def interval_row_rules() -> tuple[RowRule, ...]:
    """Rules on interval_start / interval_end and the derived interval_seconds and
    interval_whole_minutes (null when an input is null, so only the parse rule fires)."""
    return (
        RowRule(
            "interval_start_parseable",
            not_null("interval_start"),
            "interval_start is present and parses as a timestamp.",
        ),
        RowRule(
            "interval_end_parseable",
            not_null("interval_end"),
            "interval_end is present and parses as a timestamp.",
        ),
        RowRule(
            "interval_end_after_start",
            between("interval_seconds", min_value=0, strict_min=True),
            "interval_end is strictly later than interval_start.",
        ),
        RowRule(
            "interval_whole_minutes",
            is_true("interval_whole_minutes"),
            "The interval length is a whole number of minutes.",
        ),
        RowRule(
            "interval_at_most_one_day",
            between("interval_seconds", max_value=SECONDS_PER_DAY),
            "The interval is at most one day long.",
        ),
        timestamp_precision_rule("interval_start and interval_end"),
    )


def timestamp_precision_rule(fields: str) -> RowRule:
    """Reads ``within_microseconds``, which prepare sets (never null)."""
    return RowRule(
        "timestamp_within_microseconds",
        is_true("within_microseconds"),
        f"{fields} carry at most microseconds: the lake keeps timestamps to the microsecond, so a value with "
        "non-zero digits past them is quarantined rather than cut.",
    )


def value_row_rules(column: str, prefix: str, min_value: float, max_value: float, unit: str) -> tuple[RowRule, ...]:
    """``<prefix>_numeric`` (not null, not NaN) and ``<prefix>_within_bounds``.

    The bounds rule skips null/NaN (they belong to the numeric rule) and fails
    +/-inf because inf lies outside any finite range."""
    return (
        RowRule(f"{prefix}_numeric", not_null(column), f"{column} is present and numeric (not null, not NaN)."),
        RowRule(
            f"{prefix}_within_bounds",
            between(column, min_value, max_value),
            f"{column} is finite and within [{min_value:g}, {max_value:g}] {unit}.",
        ),
    )


def is_number(column: str, what: str) -> RowRule:
    return RowRule(
        f"{column}_is_number",
        not_null(column),
        f"{what} is present and a number (a JSON number or numeric string; not NaN).",
    )


def non_negative(column: str, what: str) -> RowRule:
    return RowRule(f"{column}_non_negative", between(column, 0, FINITE_MAX), f"{what} is zero or more, and finite.")


def no_conflicting_duplicate(description: str) -> RowRule:
    """Reads ``conflicting_duplicate``, which the dataset's prepare sets (never null)."""
    return RowRule("no_conflicting_duplicate", in_set("conflicting_duplicate", [False]), description)


def typed_columns_present(columns: Sequence[str]) -> DatasetRule:
    """The typed columns a suite reads all exist (blocking): a structural check of prepare."""
    return DatasetRule(
        "typed_columns_present",
        columns_include(columns),
        f"The typed columns the rules read are all present: {', '.join(columns)}.",
    )


def required_columns_present(description: str, columns: Sequence[str] | None = None) -> DatasetRule:
    """The file has the contract's columns: the prepared frame has ``columns`` (prepare passes
    a source column through only when the file has it), or, without ``columns``, prepare's
    ``missing_columns`` is null on every row (it names the absent columns and what the file has)."""
    expectation = is_null("missing_columns") if columns is None else columns_include(columns)
    return DatasetRule("required_columns_present", expectation, description)


def quarantine_share_rule(max_share: float, blocking: bool = False) -> DatasetRule:
    return DatasetRule(
        f"quarantine_share_at_most_{round(max_share * 100)}_percent",
        quarantine_share_at_most(max_share),
        (
            f"At most {max_share:.0%} of a date's rows fail a row rule; more suggests a "
            "format change upstream rather than a few bad readings."
            + (" Blocking: gold is not rebuilt from such a date." if blocking else "")
        ),
        blocking=blocking,
    )
