"""Validate a Polars frame against a ``Suite`` with Great Expectations.

One GX run evaluates the row rules and the dataset rules on the frame (converted
to pandas, so it has a RangeIndex). With ``result_format`` COMPLETE every row
rule returns ``unexpected_index_list``, the row positions it failed; these become
a per-row list of failed rule names, which decides quarantine. Dataset rules on
the quarantine flag (see ``spec.quarantine_share_at_most``) run in a second,
one-column GX run once the row verdicts are known; both runs are merged into one
GX result.

Costs worth knowing:

* Creating a GX context and building expectation suites is slow, so both are
  cached per process (``_GxRuntime``); suites are compiled once per ``Suite``
  object.
* Every batch load fingerprints the whole frame (an md5 over
  ``pd.util.hash_pandas_object``), so each frame is loaded once.
* GX always materialises the full unexpected-value list for COMPLETE. Counting
  the most common values in it is pure Python, so ``exclude_unexpected_values``
  turns that off and the runner attaches a short sample of values itself.
* The full index lists are dropped from the returned GX result once read, so the
  result stays small enough to persist and render in Data Docs.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import great_expectations as gx
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
from great_expectations.core.expectation_validation_result import (
    ExpectationSuiteValidationResult,
    ExpectationValidationResult,
)
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.expectations.expectation import (
    ColumnMapExpectation,
    ColumnPairMapExpectation,
    MulticolumnMapExpectation,
)
from great_expectations.expectations.metadata_types import FailureSeverity
from great_expectations.validator.v1_validator import Validator
from great_expectations.validator.validation_statistics import (
    calc_validation_statistics,
)

from expectations.spec import QUARANTINED_COLUMN, DatasetRule, RowRule, Suite

# Sample size kept in results (and shown in Data Docs) per failing rule.
PARTIAL_UNEXPECTED_COUNT = 20

_META_KEY = "gridlake"
BATCH_LABEL_META_KEY = "gridlake_batch_label"

_ROW_RESULT_FORMAT: dict[str, Any] = {
    "result_format": "COMPLETE",
    "partial_unexpected_count": PARTIAL_UNEXPECTED_COUNT,
    "exclude_unexpected_values": True,
    # The query is the full index list rendered into a string: pure cost here.
    "return_unexpected_index_query": False,
}
# Rows of the quarantine flag GX judges at once: a larger group is judged in parts and summed.
LATE_PART_ROWS = 1_000_000
_BASIC_RESULT_FORMAT: dict[str, Any] = {
    "result_format": "BASIC",
    "partial_unexpected_count": PARTIAL_UNEXPECTED_COUNT,
    "return_unexpected_index_query": False,
}
# Keys that hold one entry per unexpected row; removed after use.
_UNBOUNDED_RESULT_KEYS = (
    "unexpected_index_list",
    "unexpected_list",
    "unexpected_index_query",
)

FAILED_RULES_DTYPE = pl.List(pl.String)

_MAP_EXPECTATION_TYPES = (ColumnMapExpectation, ColumnPairMapExpectation, MulticolumnMapExpectation)


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
class _CompiledSuite:
    suite: Suite
    # Row rules plus the dataset rules that only need the input columns.
    main: gx.ExpectationSuite
    # Dataset rules on the quarantine flag; they need the row verdicts first.
    late: gx.ExpectationSuite | None
    # Every column an expectation names: all GX is given.
    columns: frozenset[str]
    late_rules: tuple[DatasetRule, ...] = ()


class _GxRuntime:
    """Process-wide GX context, batch definition and compiled suites."""

    def __init__(self) -> None:
        context = gx.get_context(mode="ephemeral")
        # tqdm bars per validation are noise in pipeline logs.
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        source = context.data_sources.add_pandas(name="gridlake_frames")
        asset = source.add_dataframe_asset(name="frame")
        self.context = context
        self.batch_definition = asset.add_batch_definition_whole_dataframe(name="whole_frame")
        self._compiled: dict[int, _CompiledSuite] = {}
        self._lock = threading.Lock()

    def compiled(self, suite: Suite) -> _CompiledSuite:
        # Keyed by identity; the entry holds the Suite so its id cannot be reused.
        entry = self._compiled.get(id(suite))
        if entry is None or entry.suite is not suite:
            with self._lock:
                entry = self._compiled.get(id(suite))
                if entry is None or entry.suite is not suite:
                    entry = _compile(suite)
                    self._compiled[id(suite)] = entry
        return entry

    def validate(
        self,
        frame: pd.DataFrame,
        suite: gx.ExpectationSuite,
        result_format: dict[str, Any],
    ) -> ExpectationSuiteValidationResult:
        # Same path as ValidationDefinition.run, without storing the result in the
        # context. Batch.validate would load the batch a second time, and each load
        # fingerprints (hashes) the whole frame.
        validator = Validator(
            batch_definition=self.batch_definition,
            batch_parameters={"dataframe": frame},
            result_format=result_format,
        )
        return validator.validate_expectation_suite(suite)


_runtime: _GxRuntime | None = None
_runtime_lock = threading.Lock()


def _get_runtime() -> _GxRuntime:
    global _runtime
    if _runtime is None:
        with _runtime_lock:
            if _runtime is None:
                _runtime = _GxRuntime()
    return _runtime


def start_up() -> None:
    """Build this process's GX context now rather than on its first validation."""
    _get_runtime()


def to_gx_suite(suite: Suite) -> gx.ExpectationSuite:
    """A fresh GX suite holding every rule (row and dataset) of ``suite``."""
    return gx.ExpectationSuite(
        name=suite.name,
        expectations=[_build(rule) for rule in suite.rules],
        meta={_META_KEY: {"row_rules": list(suite.row_rule_names)}},
    )


@dataclass(frozen=True)
class RowCheck:
    """The rules that need only a piece's own rows (row rules, and batch rules on the input
    columns), run on one piece of a batch: `validate` checks one piece, a bounded-memory refine
    checks many and joins them with `combine`."""

    failed_rules: pl.Series
    quarantined: np.ndarray
    outcomes: dict[str, RuleOutcome]
    main: ExpectationSuiteValidationResult


def check_rows(frame: pl.DataFrame, suite: Suite) -> RowCheck:
    """Row rules (and batch rules on the input columns) on `frame`."""
    runtime = _get_runtime()
    compiled = runtime.compiled(suite)
    if QUARANTINED_COLUMN in frame.columns:
        raise ValueError(f"column {QUARANTINED_COLUMN!r} is reserved for the runner")
    height = frame.height
    # GX gets only the columns the suite reads: converting raw text and lineage columns to
    # pandas objects would cost more than the validation itself.
    pdf = _to_pandas(frame.select([c for c in frame.columns if c in compiled.columns]))
    main = runtime.validate(pdf, compiled.main, _ROW_RESULT_FORMAT)
    masks = {name: np.zeros(height, dtype=np.bool_) for name in suite.row_rule_names}
    outcomes: dict[str, RuleOutcome] = {}
    for res in main.results:
        rule = _rule_of(res, suite)
        if isinstance(rule, RowRule):
            outcomes[rule.name] = _row_outcome(res, rule, pdf, masks[rule.name])
        else:
            outcomes[rule.name] = _dataset_outcome(res, rule, height)
        _drop_unbounded(res)
    quarantined = np.zeros(height, dtype=np.bool_)
    for mask in masks.values():
        quarantined |= mask
    failed = _failed_rules_series(list(masks.values()), suite.row_rule_names, height)
    return RowCheck(failed, quarantined, outcomes, main)


def validate(
    frame: pl.DataFrame,
    suite: Suite,
    *,
    label: str | None = None,
    groups: pl.Series | None = None,
    part_rows: int = LATE_PART_ROWS,
) -> Validation:
    """Run every rule of ``suite`` on ``frame``.

    ``label`` (e.g. the source file) is kept in the result's meta and names the batch in Data
    Docs. With ``groups`` (one value per row, e.g. the event date), the rules on the quarantine
    flag are judged on each group's rows separately; rows whose group is null are not judged by
    them (their rows are still validated and quarantined like any other)."""
    return combine(suite, [check_rows(frame, suite)], groups, label=label, part_rows=part_rows)


def combine(
    suite: Suite,
    pieces: list[RowCheck],
    groups: pl.Series | None = None,
    *,
    label: str | None = None,
    part_rows: int = LATE_PART_ROWS,
) -> Validation:
    """One Validation from the row checks of a batch's pieces (`groups` lists their rows in the
    same order): row outcomes summed, then the rules on the quarantine flag judged on all the
    rows of each group at once."""
    runtime = _get_runtime()
    compiled = runtime.compiled(suite)
    quarantined = np.concatenate([p.quarantined for p in pieces])
    height = len(quarantined)
    outcomes = pieces[0].outcomes if len(pieces) == 1 else _summed_pieces([p.outcomes for p in pieces])
    results = [r for p in pieces for r in p.main.results]
    by_group: dict[Hashable, list[RuleOutcome]] = {}
    if compiled.late is not None:
        for group, rows in _groups(groups, height):
            parts = max(1, -(-len(rows) // part_rows))
            judged_parts: list[list[RuleOutcome]] = []
            for part in range(parts):
                # Only the flag column: GX fingerprints every frame it loads (a copy of a hash
                # per row), so a large group is judged in parts of bounded size.
                flags = pd.DataFrame({QUARANTINED_COLUMN: quarantined[_part(rows, part, part_rows)]})
                late = runtime.validate(flags, compiled.late, _BASIC_RESULT_FORMAT)
                judged = []
                for res in late.results:
                    rule = _rule_of(res, suite)
                    assert isinstance(rule, DatasetRule)
                    judged.append(_dataset_outcome(res, rule, len(flags)))
                    _drop_unbounded(res)
                    if groups is not None or parts > 1:
                        where = {"group": str(group)} | ({"part": f"{part + 1}/{parts}"} if parts > 1 else {})
                        res.meta = {**(res.meta or {}), _META_KEY: where}
                results.extend(late.results)
                judged_parts.append(judged)
            by_group[group] = judged_parts[0] if parts == 1 else _parts_judged(compiled.late_rules, judged_parts)
        outcomes = {**outcomes, **_summed(compiled.late_rules, list(by_group.values()))}

    missing = [r.name for r in suite.rules if r.name not in outcomes]
    if missing:
        raise RuntimeError(f"GX returned no result for rules {missing} of suite {suite.name!r}")
    result = _combined_result(pieces[0].main, results)
    if label is not None:
        result.meta[BATCH_LABEL_META_KEY] = label  # type: ignore[literal-required]  # GX meta is open
    failed = pieces[0].failed_rules if len(pieces) == 1 else pl.concat([p.failed_rules for p in pieces])
    return Validation(
        suite=suite,
        failed_rules=failed,
        rules=[outcomes[r.name] for r in suite.rules],
        result=result,
        by_group=by_group if groups is not None else {},
        grouped=groups is not None,
    )


def _parts_judged(rules: tuple[DatasetRule, ...], parts: list[list[RuleOutcome]]) -> list[RuleOutcome]:
    """A group judged in parts: its counts summed, and the rule's `mostly` applied to the sums,
    as GX applies it to one frame (success when at least `mostly` of the values are expected)."""
    out = []
    for rule in rules:
        judged = [o for outcomes in parts for o in outcomes if o.name == rule.name]
        evaluated = sum(o.evaluated for o in judged)
        unexpected = sum(o.unexpected or 0 for o in judged)
        mostly = float(rule.expectation.kwargs.get("mostly", 1.0))
        errors = [o.error for o in judged if o.error]
        success = not errors and (evaluated == 0 or (evaluated - unexpected) / evaluated >= mostly)
        out.append(
            replace(
                judged[0],
                success=success,
                evaluated=evaluated,
                unexpected=unexpected,
                unexpected_percent=100.0 * unexpected / evaluated if evaluated else None,
                error=errors[0] if errors else None,
            )
        )
    return out


def _summed_pieces(pieces: list[dict[str, RuleOutcome]]) -> dict[str, RuleOutcome]:
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


def _part(rows: np.ndarray | range, part: int, size: int) -> np.ndarray | slice:
    """The `part`-th run of `size` of a group's row positions."""
    if isinstance(rows, range):
        return slice(rows.start + part * size, min(rows.stop, rows.start + (part + 1) * size))
    return rows[part * size : (part + 1) * size]


def _groups(groups: pl.Series | None, height: int) -> Iterator[tuple[Hashable, np.ndarray | range]]:
    """(group value, row positions) per non-null group; the whole batch without groups. All rows
    in one group (the usual case: one date) come as a range, not an array of positions."""
    if groups is None:
        yield None, range(height)
        return
    if len(groups) != height:
        raise ValueError(f"groups has {len(groups)} values for {height} rows")
    if height and groups.null_count() == 0 and groups.n_unique() == 1:
        yield groups[0], range(height)
        return
    frame = pl.DataFrame({"g": groups}).with_row_index("i").filter(pl.col("g").is_not_null())
    for (value,), part in frame.group_by("g", maintain_order=True):
        yield value, part["i"].to_numpy()


def _summed(rules: tuple[DatasetRule, ...], groups: list[list[RuleOutcome]]) -> dict[str, RuleOutcome]:
    """Batch-wide outcome of each per-date rule: counts summed over the groups judged, success
    only if every group succeeded (a batch with no judged group succeeds)."""
    out: dict[str, RuleOutcome] = {}
    for rule in rules:
        judged = [o for outcomes in groups for o in outcomes if o.name == rule.name]
        evaluated = sum(o.evaluated for o in judged)
        unexpected = sum(o.unexpected or 0 for o in judged)
        out[rule.name] = RuleOutcome(
            name=rule.name,
            kind="dataset",
            success=all(o.success for o in judged),
            evaluated=evaluated,
            unexpected=unexpected,
            unexpected_percent=100.0 * unexpected / evaluated if evaluated else None,
            blocking=rule.blocking,
            description=rule.description,
            error="; ".join(o.error for o in judged if o.error) or None,
        )
    return out


def _to_pandas(frame: pl.DataFrame) -> pd.DataFrame:
    """Numbers and timestamps as numpy (GX's NaN and bounds semantics rely on it); text as
    Arrow-backed strings, which avoids one Python object per value."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    pdf = frame.drop(text).to_pandas()
    for name in text:
        arrow = frame.get_column(name).to_arrow().cast(pa.large_string())
        pdf[name] = pd.Series(pd.arrays.ArrowStringArray(arrow), index=pdf.index)
    return pdf[frame.columns]


def _compile(suite: Suite) -> _CompiledSuite:
    late_rules = tuple(r for r in suite.dataset_rules if r.per_date)
    late_names = {r.name for r in late_rules}
    main_rules = [r for r in suite.rules if r.name not in late_names]
    main = gx.ExpectationSuite(name=suite.name, expectations=[_build(r) for r in main_rules])
    late = gx.ExpectationSuite(name=suite.name, expectations=[_build(r) for r in late_rules]) if late_rules else None
    return _CompiledSuite(suite=suite, main=main, late=late, columns=suite.columns, late_rules=late_rules)


def _build(rule: RowRule | DatasetRule) -> gx.expectations.Expectation:
    """The GX expectation of a rule, annotated with its name, kind and description, so Data
    Docs show the rule names quarantine records. Each call builds a new object: a GX suite
    adopts the expectation it is given (sets its id, save hooks)."""
    kind = "row" if isinstance(rule, RowRule) else "dataset"
    blocking = True if isinstance(rule, RowRule) else rule.blocking
    cls = getattr(gx.expectations, rule.expectation.kind, None)
    if cls is None:
        raise ValueError(f"rule {rule.name!r}: GX has no expectation {rule.expectation.kind!r}")
    expectation = cls(
        **rule.expectation.kwargs,
        meta={_META_KEY: {"rule": rule.name, "kind": kind, "blocking": blocking}},
        # Data Docs show the description in place of GX's generated sentence.
        description=f"{rule.name}: {rule.description}",
        severity=FailureSeverity.CRITICAL if blocking else FailureSeverity.WARNING,
    )
    if isinstance(rule, RowRule) and not isinstance(expectation, _MAP_EXPECTATION_TYPES):
        raise TypeError(f"row rule {rule.name!r} needs a map expectation (one verdict per row), got {cls.__name__}")
    return expectation


def _rule_of(res: ExpectationValidationResult, suite: Suite) -> RowRule | DatasetRule:
    config = res.expectation_config
    meta = ((config.meta if config else None) or {}).get(_META_KEY) or {}
    name = meta.get("rule")
    for rule in suite.rules:
        if rule.name == name:
            return rule
    raise RuntimeError(f"GX result for an unknown rule {name!r} in suite {suite.name!r}")


def _row_outcome(
    res: ExpectationValidationResult,
    rule: RowRule,
    pdf: pd.DataFrame,
    failed: np.ndarray,
) -> RuleOutcome:
    """Summarise a row rule and set ``failed`` (this rule's row mask) in place."""
    height = len(pdf)
    error = _exception_message(res.exception_info)
    if error is not None:
        failed[:] = True
        return RuleOutcome(
            name=rule.name,
            kind="row",
            success=False,
            evaluated=height,
            unexpected=height,
            unexpected_percent=100.0 if height else None,
            blocking=True,
            description=rule.description,
            error=error,
        )

    result = res.result
    indexes = np.asarray(result.get("unexpected_index_list") or (), dtype=np.int64)
    unexpected = int(result.get("unexpected_count") or 0)
    if len(indexes) != unexpected:
        raise RuntimeError(
            f"rule {rule.name!r}: GX reported {unexpected} unexpected rows but listed {len(indexes)} indexes"
        )
    failed[indexes] = True
    if unexpected:
        _attach_sample(result, rule, pdf, indexes)
    return RuleOutcome(
        name=rule.name,
        kind="row",
        success=bool(res.success),
        evaluated=int(result.get("element_count", height)),
        unexpected=unexpected,
        unexpected_percent=result.get("unexpected_percent"),
        blocking=True,
        description=rule.description,
        missing=result.get("missing_count"),
    )


def _dataset_outcome(res: ExpectationValidationResult, rule: DatasetRule, height: int) -> RuleOutcome:
    result = res.result or {}
    unexpected = result.get("unexpected_count")
    return RuleOutcome(
        name=rule.name,
        kind="dataset",
        success=bool(res.success),
        evaluated=int(result.get("element_count", height)),
        unexpected=None if unexpected is None else int(unexpected),
        unexpected_percent=result.get("unexpected_percent"),
        blocking=rule.blocking,
        description=rule.description,
        observed_value=result.get("observed_value"),
        error=_exception_message(res.exception_info),
    )


def _attach_sample(result: dict[str, Any], rule: RowRule, pdf: pd.DataFrame, indexes: np.ndarray) -> None:
    """Put a few failing values back for Data Docs (GX left them out, see module doc)."""
    column = rule.expectation.kwargs.get("column")
    if column is None or column not in pdf.columns:
        return
    sample = pdf[column].iloc[indexes[:PARTIAL_UNEXPECTED_COUNT]]
    result["partial_unexpected_list"] = [None if pd.isna(v) else v for v in sample.tolist()]


def _drop_unbounded(res: ExpectationValidationResult) -> None:
    if res.result:
        for key in _UNBOUNDED_RESULT_KEYS:
            res.result.pop(key, None)


def _exception_message(info: Mapping[str, Any] | None) -> str | None:
    """GX nests exception info either flat or keyed by metric; find any raised one."""

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, Mapping):
            if node.get("raised_exception"):
                yield str(node.get("exception_message") or "GX raised an exception")
            for value in node.values():
                yield from walk(value)

    messages = list(dict.fromkeys(walk(info)))
    return "; ".join(messages) if messages else None


def _failed_rules_series(masks: list[np.ndarray], names: tuple[str, ...], height: int) -> pl.Series:
    """Build the List(String) column from one boolean mask per row rule.

    Each row's failures are packed into a bit pattern; only the distinct patterns
    (few in practice) get a Python list, and every row gathers its pattern's list.
    Linear in rows x rules however many rows fail; an index-by-index or per-row
    Python approach is what makes mass failures slow.
    """
    if not masks:
        return pl.Series("failed_rules", [[]] * height, dtype=FAILED_RULES_DTYPE)
    bits = np.zeros(height, dtype=np.uint64)
    for k, mask in enumerate(masks):
        bits |= mask.astype(np.uint64) << np.uint64(k)
    patterns = np.sort(pl.Series(bits).unique().to_numpy())
    lists = [[name for k, name in enumerate(names) if (pattern >> k) & 1] for pattern in patterns.tolist()]
    codes = np.searchsorted(patterns, bits).astype(np.uint32)
    lookup = pl.Series("failed_rules", lists, dtype=FAILED_RULES_DTYPE)
    return lookup.gather(pl.Series(codes))


def _combined_result(
    main: ExpectationSuiteValidationResult, results: list[ExpectationValidationResult]
) -> ExpectationSuiteValidationResult:
    if len(results) == len(main.results):
        return main
    stats = calc_validation_statistics(results)
    return ExpectationSuiteValidationResult(
        success=stats.success,
        results=results,
        suite_name=main.suite_name,
        suite_parameters=main.suite_parameters,
        statistics={
            "evaluated_expectations": stats.evaluated_expectations,
            "successful_expectations": stats.successful_expectations,
            "unsuccessful_expectations": stats.unsuccessful_expectations,
            "success_percent": stats.success_percent,
        },
        meta=main.meta,
        batch_id=main.batch_id,
    )
