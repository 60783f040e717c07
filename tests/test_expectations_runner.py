"""Row rules, dataset rules and Data Docs of the GX suites.

Expected failures are written by hand per row; the larger test checks the runner
against the same rules evaluated independently with Polars expressions.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from expectations import customer_usage, docs, energy_prices, runner
from expectations.spec import QUARANTINED_COLUMN, DatasetRule, Expect, RowRule, Suite, columns_include, not_null
from warehouse.datasets import DATASETS

UTC = dt.UTC
T0 = dt.datetime(2024, 3, 1, tzinfo=UTC)
MIN15 = dt.timedelta(minutes=15)
INF = math.inf
NAN = math.nan

INTERVAL_SCHEMA = {
    "interval_start": pl.Datetime("us", "UTC"),
    "interval_end": pl.Datetime("us", "UTC"),
    "conflicting_duplicate": pl.Boolean,
    "within_microseconds": pl.Boolean,
}


def _with_derived(frame: pl.DataFrame) -> pl.DataFrame:
    """The derived columns the product computes before validation."""
    seconds = (pl.col("interval_end") - pl.col("interval_start")).dt.total_microseconds() / 1_000_000
    return frame.with_columns(interval_seconds=seconds).with_columns(
        interval_whole_minutes=pl.col("interval_seconds") % 60 == 0
    )


def usage_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    defaults = {
        "customer_id": "c-1",
        "interval_start": T0,
        "interval_end": T0 + MIN15,
        "usage_kwh": 1.25,
        "conflicting_duplicate": False,
        "within_microseconds": True,
    }
    schema: dict[str, Any] = {"customer_id": pl.String, "usage_kwh": pl.Float64, **INTERVAL_SCHEMA}
    return _with_derived(pl.DataFrame([{**defaults, **r} for r in rows], schema=schema))


def price_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    defaults = {
        "interval_start": T0,
        "interval_end": T0 + MIN15,
        "price_per_kwh": 0.31,
        "conflicting_duplicate": False,
        "within_microseconds": True,
    }
    schema: dict[str, Any] = {"price_per_kwh": pl.Float64, **INTERVAL_SCHEMA}
    return _with_derived(pl.DataFrame([{**defaults, **r} for r in rows], schema=schema))


# (row overrides, row rules the row must fail)
USAGE_CASES: list[tuple[dict[str, Any], list[str]]] = [
    ({}, []),
    ({"within_microseconds": False}, ["timestamp_within_microseconds"]),
    ({"customer_id": "c-2", "usage_kwh": 0.0}, []),
    ({"usage_kwh": 1_000_000.0}, []),
    ({"interval_end": T0 + dt.timedelta(days=1)}, []),
    ({"customer_id": None}, ["customer_id_present"]),
    ({"interval_start": None}, ["interval_start_parseable"]),
    ({"interval_end": None}, ["interval_end_parseable"]),
    ({"interval_end": T0}, ["interval_end_after_start"]),
    ({"interval_end": T0 - MIN15}, ["interval_end_after_start"]),
    ({"interval_end": T0 + dt.timedelta(seconds=90)}, ["interval_whole_minutes"]),
    ({"interval_end": T0 + dt.timedelta(days=1, minutes=1)}, ["interval_at_most_one_day"]),
    ({"usage_kwh": None}, ["usage_numeric"]),
    ({"usage_kwh": NAN}, ["usage_numeric"]),
    ({"usage_kwh": INF}, ["usage_within_bounds"]),
    ({"usage_kwh": -INF}, ["usage_within_bounds"]),
    ({"usage_kwh": -0.5}, ["usage_within_bounds"]),
    ({"usage_kwh": 1_000_000.5}, ["usage_within_bounds"]),
    ({"conflicting_duplicate": True}, ["no_conflicting_duplicate"]),
    ({"customer_id": None, "usage_kwh": 2e6}, ["customer_id_present", "usage_within_bounds"]),
    (
        {"interval_start": None, "usage_kwh": NAN, "conflicting_duplicate": True},
        ["interval_start_parseable", "usage_numeric", "no_conflicting_duplicate"],
    ),
]

PRICE_CASES: list[tuple[dict[str, Any], list[str]]] = [
    ({}, []),
    ({"within_microseconds": False}, ["timestamp_within_microseconds"]),
    ({"price_per_kwh": -20.0}, []),
    ({"price_per_kwh": 20.0}, []),
    ({"price_per_kwh": -3.5}, []),
    ({"interval_start": None}, ["interval_start_parseable"]),
    ({"interval_end": None}, ["interval_end_parseable"]),
    ({"interval_end": T0 - MIN15}, ["interval_end_after_start"]),
    ({"interval_end": T0 + dt.timedelta(seconds=30)}, ["interval_whole_minutes"]),
    ({"interval_end": T0 + dt.timedelta(days=2)}, ["interval_at_most_one_day"]),
    ({"price_per_kwh": None}, ["price_numeric"]),
    ({"price_per_kwh": NAN}, ["price_numeric"]),
    ({"price_per_kwh": INF}, ["price_within_bounds"]),
    ({"price_per_kwh": -INF}, ["price_within_bounds"]),
    ({"price_per_kwh": 20.01}, ["price_within_bounds"]),
    ({"price_per_kwh": -20.01}, ["price_within_bounds"]),
    ({"conflicting_duplicate": True}, ["no_conflicting_duplicate"]),
    (
        {"interval_end": T0 + dt.timedelta(seconds=59), "price_per_kwh": 99.0},
        ["interval_whole_minutes", "price_within_bounds"],
    ),
]


def _check_cases(validation: runner.Validation, suite: Suite, cases: list[tuple[dict[str, Any], list[str]]]) -> None:
    expected = [rules for _, rules in cases]
    assert validation.failed_rules.dtype == pl.List(pl.String)
    assert validation.failed_rules.to_list() == expected
    assert validation.passed_mask.to_list() == [not rules for rules in expected]

    counts = Counter(name for rules in expected for name in rules)
    by_name = {o.name: o for o in validation.rules}
    assert [o.name for o in validation.rules] == [r.name for r in suite.rules]
    for rule in suite.row_rules:
        outcome = by_name[rule.name]
        assert outcome.kind == "row"
        assert outcome.unexpected == counts[rule.name], rule.name
        assert outcome.success is (counts[rule.name] == 0)
        assert outcome.evaluated == len(cases)
        assert outcome.error is None
    # Every row rule has at least one failing row in the cases.
    assert set(counts) == set(suite.row_rule_names)


def test_customer_usage_rows_fail_exactly_their_rules() -> None:
    frame = usage_frame([overrides for overrides, _ in USAGE_CASES])
    validation = runner.validate(frame, customer_usage.SUITE)
    _check_cases(validation, customer_usage.SUITE, USAGE_CASES)

    columns = validation.outcome("typed_columns_present")
    assert (columns.kind, columns.success, columns.blocking) == ("dataset", True, True)
    share = validation.outcome("quarantine_share_at_most_5_percent")
    quarantined = sum(1 for _, rules in USAGE_CASES if rules)
    assert (share.success, share.blocking, share.unexpected) == (False, False, quarantined)
    majority_bad = quarantined / len(USAGE_CASES) > 0.5
    gate = validation.outcome("quarantine_share_at_most_50_percent")
    assert (gate.success, gate.blocking) == (not majority_bad, True)
    assert validation.blocking_failures == (["quarantine_share_at_most_50_percent"] if majority_bad else [])
    assert validation.quarantined_count == quarantined


def test_energy_prices_rows_fail_exactly_their_rules() -> None:
    frame = price_frame([overrides for overrides, _ in PRICE_CASES])
    validation = runner.validate(frame, energy_prices.SUITE)
    _check_cases(validation, energy_prices.SUITE, PRICE_CASES)
    assert [r.name for r in energy_prices.SUITE.dataset_rules] == [
        "typed_columns_present",
        "quarantine_share_at_most_5_percent",
        "quarantine_share_at_most_50_percent",
    ]
    assert validation.outcome("typed_columns_present").success


def test_inf_fails_bounds_and_nan_fails_numeric() -> None:
    values = [INF, -INF, NAN, None, 5.0]
    validation = runner.validate(usage_frame([{"usage_kwh": v} for v in values]), customer_usage.SUITE)
    assert validation.failed_rules.to_list() == [
        ["usage_within_bounds"],
        ["usage_within_bounds"],
        ["usage_numeric"],
        ["usage_numeric"],
        [],
    ]
    # GX counts NaN and null as missing: the bounds rule skips them.
    bounds = validation.result.results[[r.name for r in customer_usage.SUITE.rules].index("usage_within_bounds")]
    assert bounds.result["missing_count"] == 2
    assert bounds.result["unexpected_count"] == 2


def test_empty_frame_has_no_failures() -> None:
    for frame, suite in (
        (usage_frame([{}]).clear(), customer_usage.SUITE),
        (price_frame([{}]).clear(), energy_prices.SUITE),
    ):
        validation = runner.validate(frame, suite)
        assert validation.failed_rules.len() == 0
        assert validation.failed_rules.dtype == pl.List(pl.String)
        assert validation.passed_mask.len() == 0
        assert all(o.success and o.evaluated == 0 for o in validation.rules)
        assert all(o.unexpected == 0 for o in validation.rules if o.kind == "row")


def test_quarantine_share_boundary() -> None:
    # mostly=0.95: 5 of 100 rows quarantined passes, 6 of 100 fails.
    for bad, success in ((5, True), (6, False)):
        rows = [{"customer_id": None}] * bad + [{}] * (100 - bad)
        outcome = runner.validate(usage_frame(rows), customer_usage.SUITE).outcome("quarantine_share_at_most_5_percent")
        assert (outcome.success, outcome.unexpected, outcome.evaluated) == (success, bad, 100)


@pytest.mark.parametrize("parts", [1, 3, 7])
def test_a_large_group_judged_in_parts_meets_the_same_verdict(monkeypatch: pytest.MonkeyPatch, parts: int) -> None:
    # 100 rows in parts of at most 100 // parts rows: the share rules sum the parts, and the
    # boundary (5 of 100 passes the 5 % rule, 6 fails) holds as for one frame.
    for bad, success in ((5, True), (6, False), (50, False), (0, True)):
        rows: list[dict[str, Any]] = [{}] * (100 - bad) + [
            {"customer_id": None}
        ] * bad  # the bad rows all in the last part
        validation = runner.validate(usage_frame(rows), customer_usage.SUITE, part_rows=-(-100 // parts))
        share = validation.outcome("quarantine_share_at_most_5_percent")
        gate = validation.outcome("quarantine_share_at_most_50_percent")
        assert (share.success, share.unexpected, share.evaluated) == (success, bad, 100)
        assert (gate.success, gate.unexpected) == (bad <= 50, bad)


def test_share_rules_are_judged_per_group_and_null_groups_are_not_judged() -> None:
    a, b = dt.date(2024, 3, 1), dt.date(2024, 3, 2)
    rows: list[dict[str, Any]] = (
        [{}] * 9 + [{"customer_id": None}] + [{}] * 4 + [{"customer_id": None}] * 6 + [{"customer_id": None}]
    )
    groups = pl.Series([a] * 10 + [b] * 10 + [None], dtype=pl.Date)
    validation = runner.validate(usage_frame(rows), customer_usage.SUITE, groups=groups)
    gate = "quarantine_share_at_most_50_percent"
    assert validation.blocking_failures_of(a) == []
    assert validation.blocking_failures_of(b) == [gate]
    # The one row without a date is quarantined, but it is no batch of its own: 1 of 1 bad blocks nothing.
    assert validation.blocking_failures_of(None) == []
    assert validation.quarantined_count == 8
    by_date = {
        g: {o.name: (o.success, o.unexpected, o.evaluated) for o in outs} for g, outs in validation.by_group.items()
    }
    assert by_date == {
        a: {"quarantine_share_at_most_5_percent": (False, 1, 10), gate: (True, 1, 10)},
        b: {"quarantine_share_at_most_5_percent": (False, 6, 10), gate: (False, 6, 10)},
    }
    # Batch-wide, a per-date rule sums the judged dates: 7 of 20.
    assert (validation.outcome(gate).success, validation.outcome(gate).unexpected) == (False, 7)
    assert validation.outcome(gate).evaluated == 20


def test_missing_column_fails_required_columns_and_closes_rows() -> None:
    frame = usage_frame([{}, {"customer_id": None}]).drop("usage_kwh")
    validation = runner.validate(frame, customer_usage.SUITE)
    required = validation.outcome("typed_columns_present")
    assert not required.success
    # Both rows fail a row rule, so the 50 % gate fails too.
    assert validation.blocking_failures == ["typed_columns_present", "quarantine_share_at_most_50_percent"]
    for name in ("usage_numeric", "usage_within_bounds"):
        outcome = validation.outcome(name)
        assert not outcome.success and outcome.unexpected == 2
        assert "usage_kwh" in (outcome.error or "")
    assert validation.failed_rules.to_list() == [
        ["usage_numeric", "usage_within_bounds"],
        ["customer_id_present", "usage_numeric", "usage_within_bounds"],
    ]


def test_many_failures_match_independent_polars_evaluation() -> None:
    n = 200_000
    rng = np.random.default_rng(7)
    seconds = rng.choice([900, 900, 900, -900, 90, 172_800], n)
    usage = rng.choice([1.0, 2.0, -1.0, NAN, INF, 3e6], n)
    raw = pl.DataFrame(
        {
            "customer_id": pl.Series([None if m else "c" for m in rng.random(n) < 0.5], dtype=pl.String),
            "interval_start": pl.datetime_range(T0, T0 + MIN15 * (n - 1), MIN15, eager=True, time_unit="us"),
            "seconds": seconds,
            "usage_kwh": usage,
            "conflicting_duplicate": rng.random(n) < 0.3,
            "within_microseconds": rng.random(n) > 0.1,
        }
    )
    frame = _with_derived(
        raw.with_columns(interval_end=pl.col("interval_start") + pl.duration(seconds=pl.col("seconds"))).drop("seconds")
    )
    validation = runner.validate(frame, customer_usage.SUITE)

    checks = {
        "customer_id_present": pl.col("customer_id").is_null(),
        "interval_start_parseable": pl.col("interval_start").is_null(),
        "interval_end_parseable": pl.col("interval_end").is_null(),
        "interval_end_after_start": pl.col("interval_seconds") <= 0,
        "interval_whole_minutes": ~pl.col("interval_whole_minutes"),
        "interval_at_most_one_day": pl.col("interval_seconds") > 86_400,
        "timestamp_within_microseconds": ~pl.col("within_microseconds"),
        "usage_numeric": pl.col("usage_kwh").is_null() | pl.col("usage_kwh").is_nan(),
        # Polars orders NaN above every number, so NaN is excluded explicitly.
        "usage_within_bounds": pl.col("usage_kwh").is_not_nan()
        & (pl.col("usage_kwh").is_infinite() | (pl.col("usage_kwh") < 0) | (pl.col("usage_kwh") > 1_000_000)),
        "no_conflicting_duplicate": pl.col("conflicting_duplicate"),
    }
    expected = frame.select(
        pl.concat_list([pl.when(expr.fill_null(False)).then(pl.lit(name)) for name, expr in checks.items()])
        .list.drop_nulls()
        .alias("failed_rules")
    ).to_series()
    assert validation.failed_rules.equals(expected)
    for name in checks:
        assert validation.outcome(name).unexpected == int(expected.list.contains(name).sum())
    assert validation.quarantined_count > n // 2


def test_result_is_compact_and_serialisable() -> None:
    n = 500
    frame = usage_frame([{"customer_id": None}] * n)
    validation = runner.validate(frame, customer_usage.SUITE, label="drop/usage.csv")
    for res in validation.result.results:
        assert "unexpected_index_list" not in res.result
        assert "unexpected_list" not in res.result
    first = validation.result.results[0]
    assert first.result["unexpected_count"] == n
    assert len(first.result["partial_unexpected_index_list"]) == runner.PARTIAL_UNEXPECTED_COUNT
    assert validation.result.meta[runner.BATCH_LABEL_META_KEY] == "drop/usage.csv"  # type: ignore[literal-required]
    assert validation.result.statistics["evaluated_expectations"] == len(customer_usage.SUITE.rules)
    json.dumps(validation.result.to_json_dict())


def test_record_results_builds_data_docs(tmp_path: Path) -> None:
    usage = runner.validate(usage_frame([{}, {"usage_kwh": INF}]), customer_usage.SUITE, label="a/usage.csv")
    prices = runner.validate(price_frame([{}]), energy_prices.SUITE, label="b/prices.json")
    docs_dir = tmp_path / "docs"

    index = docs.record_results(
        [(customer_usage.SUITE, usage.result), (energy_prices.SUITE, prices.result)], str(docs_dir), run_name="run-1"
    )
    assert index == str(docs_dir.resolve() / "index.html")
    html = Path(index).read_text()
    assert "customer_usage" in html and "energy_prices" in html and "run-1" in html

    pages = sorted(p.relative_to(docs_dir).as_posix() for p in docs_dir.glob("validations/**/*.html"))
    assert len(pages) == 2 and all("/run-1/" in p for p in pages)
    usage_page = next(p for p in pages if p.startswith("validations/customer_usage/"))
    assert "usage_within_bounds" in (docs_dir / usage_page).read_text()
    assert (docs_dir / "expectations" / "customer_usage.html").exists()

    # A second run with the same batch twice keeps both and the first run's pages.
    docs.record_results(
        [(customer_usage.SUITE, usage.result), (customer_usage.SUITE, usage.result)], str(docs_dir), run_name="run-2"
    )
    assert len(list(docs_dir.glob("validations/customer_usage/run-2/*/*.html"))) == 2
    assert len(list(docs_dir.glob("validations/customer_usage/run-1/*/*.html"))) == 1
    assert "run-2" in Path(index).read_text()

    # Run names become folder names: unsafe characters are replaced.
    docs.record_results([(energy_prices.SUITE, prices.result)], str(docs_dir), run_name="dagster/run 3")
    assert len(list(docs_dir.glob("validations/energy_prices/dagster_run_3-*/*/*.html"))) == 1

    # The file context opened for docs must not disturb later validations.
    again = runner.validate(usage_frame([{"usage_kwh": -1.0}]), customer_usage.SUITE)
    assert again.failed_rules.to_list() == [["usage_within_bounds"]]


def test_suite_definitions_are_checked() -> None:
    with pytest.raises(TypeError, match="map expectation"):
        RowRule("cols", columns_include(["a"]), "x")
    with pytest.raises(ValueError, match="snake_case"):
        RowRule("Bad-Name", not_null("a"), "x")
    with pytest.raises(ValueError, match="repeats rule names"):
        Suite("s", (RowRule("a", not_null("a"), "x"), RowRule("a", not_null("b"), "x")))
    # GX would silently keep only one of two equal expectations.
    with pytest.raises(ValueError, match="same expectation"):
        Suite("s", (RowRule("a", not_null("a"), "x"), RowRule("b", not_null("a"), "y")))
    # The runner checks the GX class too, and names a kind GX does not have.
    unknown = Suite("s", (RowRule("a", Expect.of("ExpectColumnValuesToBeGreen", column="a"), "x"),))
    with pytest.raises(ValueError, match="no expectation"):
        runner.validate(pl.DataFrame({"a": [1]}), unknown)
    with pytest.raises(ValueError, match="reserved"):
        runner.validate(pl.DataFrame({QUARANTINED_COLUMN: [True]}), customer_usage.SUITE)


def test_every_suite_compiles_to_gx() -> None:
    for ds in DATASETS.values():
        compiled = runner.to_gx_suite(ds.suite)
        assert [e.description.split(":")[0] for e in compiled.expectations] == [r.name for r in ds.suite.rules]
        assert isinstance(ds.suite.dataset_rules[0], DatasetRule)


def test_defining_suites_does_not_import_great_expectations() -> None:
    code = "import sys, warehouse.datasets, orchestration.definitions; print('great_expectations' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
