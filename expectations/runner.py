"""Validate a Polars frame against a ``Suite`` with Great Expectations: the public entry
(``validate``, ``check_rows``, ``combine``).

One GX run evaluates the row rules and the dataset rules on the frame (converted
to pandas, so it has a RangeIndex). With ``result_format`` COMPLETE every row
rule returns ``unexpected_index_list``, the row positions it failed; these become
a per-row list of failed rule names, which decides quarantine. Dataset rules on
the quarantine flag (see ``spec.quarantine_share_at_most``) run in a second,
one-column GX run once the row verdicts are known; both runs are merged into one
GX result.

The GX context, the compiled suites and the reading of GX results live in
``expectations.gx_runtime`` (which imports GX: so does this module); what a validation yields,
and how outcomes judged separately are summed, in ``expectations.outcomes`` (GX-free).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa

from expectations import gx_runtime
from expectations.gx_runtime import (
    BASIC_RESULT_FORMAT,
    BATCH_LABEL_META_KEY,
    META_KEY,
    PARTIAL_UNEXPECTED_COUNT,
    ROW_RESULT_FORMAT,
    start_up,
    to_gx_suite,
)
from expectations.outcomes import RowCheck, RuleOutcome, Validation, summed_pieces, summed_runs
from expectations.spec import QUARANTINED_COLUMN, DatasetRule, RowRule, Suite

__all__ = [
    "BATCH_LABEL_META_KEY",
    "FAILED_RULES_DTYPE",
    "LATE_PART_ROWS",
    "PARTIAL_UNEXPECTED_COUNT",
    "RowCheck",
    "RuleOutcome",
    "Validation",
    "check_rows",
    "combine",
    "start_up",
    "to_gx_suite",
    "validate",
]

# Rows of the quarantine flag GX judges at once: a larger group is judged in parts and summed.
LATE_PART_ROWS = 1_000_000

FAILED_RULES_DTYPE = pl.List(pl.String)


def check_rows(frame: pl.DataFrame, suite: Suite) -> RowCheck:
    """Row rules (and batch rules on the input columns) on `frame`."""
    runtime = gx_runtime.runtime()
    compiled = runtime.compiled(suite)
    if QUARANTINED_COLUMN in frame.columns:
        raise ValueError(f"column {QUARANTINED_COLUMN!r} is reserved for the runner")
    height = frame.height
    # GX gets only the columns the suite reads: converting raw text and lineage columns to
    # pandas objects would cost more than the validation itself.
    pdf = _to_pandas(frame.select([c for c in frame.columns if c in compiled.columns]))
    main = runtime.validate(pdf, compiled.main, ROW_RESULT_FORMAT)
    masks = {name: np.zeros(height, dtype=np.bool_) for name in suite.row_rule_names}
    outcomes: dict[str, RuleOutcome] = {}
    for res in main.results:
        rule = gx_runtime.rule_of(res, suite)
        if isinstance(rule, RowRule):
            outcomes[rule.name] = gx_runtime.row_outcome(res, rule, pdf, masks[rule.name])
        else:
            outcomes[rule.name] = gx_runtime.dataset_outcome(res, rule, height)
        gx_runtime.drop_unbounded(res)
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
    runtime = gx_runtime.runtime()
    compiled = runtime.compiled(suite)
    quarantined = np.concatenate([p.quarantined for p in pieces])
    height = len(quarantined)
    outcomes = pieces[0].outcomes if len(pieces) == 1 else summed_pieces([p.outcomes for p in pieces])
    results = [r for p in pieces for r in p.main.results]
    by_group: dict[Hashable, list[RuleOutcome]] = {}
    if compiled.late is not None:
        for group, rows in _groups(groups, height):
            parts = max(1, -(-len(rows) // part_rows))
            judged_parts: list[list[RuleOutcome]] = []
            for part in range(parts):
                # Only the flag column, and a large group in parts of bounded size: GX's map
                # metrics build several arrays of the frame's length per rule.
                flags = pd.DataFrame({QUARANTINED_COLUMN: quarantined[_part(rows, part, part_rows)]})
                late = runtime.validate(flags, compiled.late, BASIC_RESULT_FORMAT)
                judged = []
                for res in late.results:
                    rule = gx_runtime.rule_of(res, suite)
                    assert isinstance(rule, DatasetRule)
                    judged.append(gx_runtime.dataset_outcome(res, rule, len(flags)))
                    gx_runtime.drop_unbounded(res)
                    if groups is not None or parts > 1:
                        where = {"group": str(group)} | ({"part": f"{part + 1}/{parts}"} if parts > 1 else {})
                        res.meta = {**(res.meta or {}), META_KEY: where}
                results.extend(late.results)
                judged_parts.append(judged)
            by_group[group] = (
                judged_parts[0] if parts == 1 else summed_runs(compiled.late_rules, judged_parts, one_frame=True)
            )
        batch_wide = summed_runs(compiled.late_rules, list(by_group.values()), one_frame=False)
        outcomes = {**outcomes, **{o.name: o for o in batch_wide}}

    missing = [r.name for r in suite.rules if r.name not in outcomes]
    if missing:
        raise RuntimeError(f"GX returned no result for rules {missing} of suite {suite.name!r}")
    result = gx_runtime.combined_result(pieces[0].main, results)
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


def _to_pandas(frame: pl.DataFrame) -> pd.DataFrame:
    """Numbers and timestamps as numpy (GX's NaN and bounds semantics rely on it); text as
    Arrow-backed strings, which avoids one Python object per value."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    pdf = frame.drop(text).to_pandas()
    for name in text:
        arrow = frame.get_column(name).to_arrow().cast(pa.large_string())
        pdf[name] = pd.Series(pd.arrays.ArrowStringArray(arrow), index=pdf.index)
    return pdf[frame.columns]


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
