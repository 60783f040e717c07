"""What a validation yields, free of Great Expectations: one ``RuleOutcome`` per rule, the
``RowCheck`` of one piece of a batch, the ``Validation`` of a batch, and the sums that join
outcomes judged separately into one.

Outcomes are summed in two ways, which differ on purpose:

* ``summed_pieces``: the outcomes of every rule over the pieces of a batch (each piece checked
  on its own rows). A rule that counts no rows (a column-set check) keeps ``unexpected`` None,
  GX's missing (null or NaN) values are summed and the percentage is of the others, as GX
  reports it; success only if every piece passed.
* ``summed_runs``: the outcomes of the per-date rules (those on the quarantine flag) over
  several runs of GX, either the parts of one large group (the parts make one frame: the rule's
  ``mostly`` is applied to the summed counts, as GX applies it to one frame) or the groups of a
  batch (each group is judged on its own: success only if every group succeeded).

GX result types are named for type checking only: importing this module does not import GX."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl

from expectations.spec import DatasetRule, Suite

if TYPE_CHECKING:
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResult


@dataclass(frozen=True)
class RuleOutcome:
    name: str
    kind: Literal["row", "dataset"]
    success: bool
    # Rows (element_count) the expectation looked at; batch row count when GX
    # reports no element count (table-level expectations).
    evaluated: int
    # None when the expectation does not count rows (e.g. a column-set check).
    unexpected: int | None
    # As GX reports it: percent of non-missing values, None on an empty batch.
    unexpected_percent: float | None
    blocking: bool
    description: str
    # GX's observed value for aggregate expectations (e.g. the column list).
    observed_value: Any = None
    # Set when GX raised while evaluating the rule. Such a row rule fails closed:
    # every row is marked as failing it.
    error: str | None = None
    # Null or NaN values GX skipped (unexpected_percent is of the others).
    missing: int | None = None


@dataclass(frozen=True)
class Validation:
    suite: Suite
    # List(String), one entry per input row in input order: the row rules the row failed.
    failed_rules: pl.Series
    # One outcome per rule over the whole batch; a per-date rule's is the sum over its groups.
    rules: list[RuleOutcome]
    result: ExpectationSuiteValidationResult
    # With `groups`: the outcomes of the per-date rules (those on the quarantine flag) per group.
    by_group: dict[Hashable, list[RuleOutcome]] = field(default_factory=dict)
    grouped: bool = False

    @property
    def passed_mask(self) -> pl.Series:
        return (self.failed_rules.list.len() == 0).alias("passed")

    @property
    def quarantined_count(self) -> int:
        return int((self.failed_rules.list.len() > 0).sum())

    @property
    def blocking_failures(self) -> list[str]:
        return [r.name for r in self.rules if r.kind == "dataset" and r.blocking and not r.success]

    def outcome(self, name: str) -> RuleOutcome:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(name)

    def blocking_failures_of(self, group: Hashable) -> list[str]:
        """Blocking failures that hold one group (date) back: those of the rules judged on the
        whole batch, and those of the per-date rules judged on the group's rows."""
        if not self.grouped:
            return self.blocking_failures
        per_date = {r.name for r in self.suite.dataset_rules if r.per_date}
        batch = [r.name for r in self.rules if r.name not in per_date and r.kind == "dataset" and r.blocking]
        batch = [n for n in batch if not self.outcome(n).success]
        own = [r.name for r in self.by_group.get(group, []) if r.blocking and not r.success]
        return batch + own


@dataclass(frozen=True)
class RowCheck:
    """The rules that need only a piece's own rows (row rules, and batch rules on the input
    columns), run on one piece of a batch: `validate` checks one piece, a bounded-memory refine
    checks many and joins them with `combine`."""

    failed_rules: pl.Series
    quarantined: np.ndarray
    outcomes: dict[str, RuleOutcome]
    main: ExpectationSuiteValidationResult


def summed_pieces(pieces: list[dict[str, RuleOutcome]]) -> dict[str, RuleOutcome]:
    """Each rule's outcome over all pieces: counts summed, success only if every piece passed."""
    out: dict[str, RuleOutcome] = {}
    for name, first in pieces[0].items():
        every = [p[name] for p in pieces]
        evaluated = sum(o.evaluated for o in every)
        counted = [o.unexpected for o in every if o.unexpected is not None]
        unexpected = sum(counted) if counted else None
        missing = sum(o.missing or 0 for o in every)
        judged = evaluated - missing
        out[name] = replace(
            first,
            success=all(o.success for o in every),
            evaluated=evaluated,
            unexpected=unexpected,
            unexpected_percent=100.0 * unexpected / judged if unexpected is not None and judged else None,
            missing=missing,
            error="; ".join(dict.fromkeys(o.error for o in every if o.error)) or None,
        )
    return out


def summed_runs(rules: tuple[DatasetRule, ...], runs: list[list[RuleOutcome]], *, one_frame: bool) -> list[RuleOutcome]:
    """Each per-date rule's outcome over several GX runs of it, in `rules` order: counts summed
    (an uncounted run counts 0), the percentage of the rows evaluated.

    `one_frame`: the runs are the parts of one group, judged as one frame would be: success when
    no part raised and at least the rule's `mostly` of the summed values are expected (the
    first error is kept). Otherwise the runs are the groups of a batch: success only if every
    group succeeded (a batch with no judged group succeeds), every error kept."""
    out = []
    for rule in rules:
        judged = [o for outcomes in runs for o in outcomes if o.name == rule.name]
        evaluated = sum(o.evaluated for o in judged)
        unexpected = sum(o.unexpected or 0 for o in judged)
        errors = [o.error for o in judged if o.error]
        if one_frame:
            mostly = float(rule.expectation.kwargs.get("mostly", 1.0))
            success = not errors and (evaluated == 0 or (evaluated - unexpected) / evaluated >= mostly)
            error = errors[0] if errors else None
            base = judged[0]
        else:
            success = all(o.success for o in judged)
            error = "; ".join(errors) or None
            base = _untested(rule)
        out.append(
            replace(
                base,
                success=success,
                evaluated=evaluated,
                unexpected=unexpected,
                unexpected_percent=100.0 * unexpected / evaluated if evaluated else None,
                error=error,
            )
        )
    return out


def _untested(rule: DatasetRule) -> RuleOutcome:
    return RuleOutcome(
        name=rule.name,
        kind="dataset",
        success=True,
        evaluated=0,
        unexpected=0,
        unexpected_percent=None,
        blocking=rule.blocking,
        description=rule.description,
    )
