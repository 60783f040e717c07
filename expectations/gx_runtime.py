"""The Great Expectations side of the runner: the process's GX context, suites compiled to GX
objects, one GX validation run on a pandas frame, and its results read back as ``RuleOutcome``s.

Importing this module imports GX (seconds); only code that validates does (``expectations.runner``,
imported lazily by the stages). Costs worth knowing:

* Creating a GX context and building expectation suites is slow, so both are
  cached per process (``_GxRuntime``); suites are compiled once per ``Suite``
  object.
* GX fingerprints every pandas batch it loads (an md5 over ``pd.util.hash_pandas_object``)
  for a batch marker, skipping frames of 1 GB or more (``HASH_THRESHOLD``). Nothing here
  reads that marker: the frames are built in memory for one validation and never loaded
  again. It was 29 % of a piece's validation at workload S (0.17 of 0.57 s for 450,000
  rows, most of it hashing Arrow strings), so the runtime sets the threshold to 0, which
  GX then treats as it treats a large frame. Each frame is still loaded once.
* GX always materialises the full unexpected-value list for COMPLETE. Counting
  the most common values in it is pure Python, so ``exclude_unexpected_values``
  turns that off and the runner attaches a short sample of values itself.
* The full index lists are dropped from the returned GX result once read, so the
  result stays small enough to persist and render in Data Docs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import great_expectations as gx
import numpy as np
import pandas as pd
from great_expectations.core.expectation_validation_result import (
    ExpectationSuiteValidationResult,
    ExpectationValidationResult,
)
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.execution_engine import pandas_execution_engine
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

from expectations.outcomes import RuleOutcome
from expectations.spec import DatasetRule, RowRule, Suite

# Sample size kept in results (and shown in Data Docs) per failing rule.
PARTIAL_UNEXPECTED_COUNT = 20

META_KEY = "gridlake"
BATCH_LABEL_META_KEY = "gridlake_batch_label"

ROW_RESULT_FORMAT: dict[str, Any] = {
    "result_format": "COMPLETE",
    "partial_unexpected_count": PARTIAL_UNEXPECTED_COUNT,
    "exclude_unexpected_values": True,
    # The query is the full index list rendered into a string: pure cost here.
    "return_unexpected_index_query": False,
}
BASIC_RESULT_FORMAT: dict[str, Any] = {
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

_MAP_EXPECTATION_TYPES = (ColumnMapExpectation, ColumnPairMapExpectation, MulticolumnMapExpectation)


@dataclass(frozen=True)
class CompiledSuite:
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
        # No batch fingerprints (see the module docstring).
        pandas_execution_engine.HASH_THRESHOLD = 0
        context = gx.get_context(mode="ephemeral")
        # tqdm bars per validation are noise in pipeline logs.
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        source = context.data_sources.add_pandas(name="gridlake_frames")
        asset = source.add_dataframe_asset(name="frame")
        self.context = context
        self.batch_definition = asset.add_batch_definition_whole_dataframe(name="whole_frame")
        self._compiled: dict[int, CompiledSuite] = {}
        self._lock = threading.Lock()

    def compiled(self, suite: Suite) -> CompiledSuite:
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
        # context. Batch.validate would load the batch a second time.
        validator = Validator(
            batch_definition=self.batch_definition,
            batch_parameters={"dataframe": frame},
            result_format=result_format,
        )
        return validator.validate_expectation_suite(suite)


_runtime: _GxRuntime | None = None
_runtime_lock = threading.Lock()


def runtime() -> _GxRuntime:
    """This process's GX runtime, built on first use."""
    global _runtime
    if _runtime is None:
        with _runtime_lock:
            if _runtime is None:
                _runtime = _GxRuntime()
    return _runtime


def start_up() -> None:
    """Build this process's GX context now rather than on its first validation."""
    runtime()


def to_gx_suite(suite: Suite) -> gx.ExpectationSuite:
    """A fresh GX suite holding every rule (row and dataset) of ``suite``."""
    return gx.ExpectationSuite(
        name=suite.name,
        expectations=[_build(rule) for rule in suite.rules],
        meta={META_KEY: {"row_rules": list(suite.row_rule_names)}},
    )


def _compile(suite: Suite) -> CompiledSuite:
    late_rules = tuple(r for r in suite.dataset_rules if r.per_date)
    late_names = {r.name for r in late_rules}
    main_rules = [r for r in suite.rules if r.name not in late_names]
    main = gx.ExpectationSuite(name=suite.name, expectations=[_build(r) for r in main_rules])
    late = gx.ExpectationSuite(name=suite.name, expectations=[_build(r) for r in late_rules]) if late_rules else None
    return CompiledSuite(suite=suite, main=main, late=late, columns=suite.columns, late_rules=late_rules)


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
        meta={META_KEY: {"rule": rule.name, "kind": kind, "blocking": blocking}},
        # Data Docs show the description in place of GX's generated sentence.
        description=f"{rule.name}: {rule.description}",
        severity=FailureSeverity.CRITICAL if blocking else FailureSeverity.WARNING,
    )
    if isinstance(rule, RowRule) and not isinstance(expectation, _MAP_EXPECTATION_TYPES):
        raise TypeError(f"row rule {rule.name!r} needs a map expectation (one verdict per row), got {cls.__name__}")
    return expectation


# ---- reading GX results ----------------------------------------------------------------------


def rule_of(res: ExpectationValidationResult, suite: Suite) -> RowRule | DatasetRule:
    config = res.expectation_config
    meta = ((config.meta if config else None) or {}).get(META_KEY) or {}
    name = meta.get("rule")
    for rule in suite.rules:
        if rule.name == name:
            return rule
    raise RuntimeError(f"GX result for an unknown rule {name!r} in suite {suite.name!r}")


def row_outcome(
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


def dataset_outcome(res: ExpectationValidationResult, rule: DatasetRule, height: int) -> RuleOutcome:
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


def drop_unbounded(res: ExpectationValidationResult) -> None:
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


def combined_result(
    main: ExpectationSuiteValidationResult, results: list[ExpectationValidationResult]
) -> ExpectationSuiteValidationResult:
    """One GX suite result holding `results` (those of `main` and of later runs), its statistics
    computed again; `main` itself when nothing was added."""
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
