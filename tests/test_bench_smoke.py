"""Smoke run of the benchmark harness at --quick sizes: the report has its sections and the row
counts it reports equal the rows generated. Timings belong in the benchmark, so none are asserted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks.__main__ import main
from benchmarks.measure import peak_rss, run_isolated

pytestmark = pytest.mark.e2e

CUSTOMERS = 20  # --quick
INTERVALS = 24 * 12  # 5-minute intervals in a day
# One usage row per customer and interval, one price row per interval.
ROWS = CUSTOMERS * INTERVALS + INTERVALS


def tables(text: str, heading: str) -> list[list[dict[str, str]]]:
    """The markdown tables of one `## ` section, each as rows keyed by the header cells."""
    section = text.split(heading + "\n", 1)[1].split("\n## ", 1)[0]
    found: list[list[list[str]]] = []
    previous = ""
    for line in section.splitlines():
        if line.startswith("|"):
            if not previous.startswith("|"):
                found.append([])
            found[-1].append([cell.strip() for cell in line.strip("|").split("|")])
        previous = line
    return [[dict(zip(t[0], row, strict=True)) for row in t[2:]] for t in found]


def table(text: str, heading: str) -> list[dict[str, str]]:
    return tables(text, heading)[0]


def test_quick_run_reports_every_section_with_the_generated_row_counts(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    # In-process (--no-isolate) to stay fast; the Dagster path and 2x/4x scaling are left out here
    # because they only repeat the same stages (the Dagster path has its own tests).
    main(
        [
            "--quick",
            "--rounds",
            "1",
            "--no-isolate",
            "--stages",
            "pipeline,plain,peer,floor,incremental",
            "--out",
            str(out),
        ]
    )
    text = out.read_text()

    for heading in (
        "## Machine",
        "## Workload",
        "## End to end (workload at 1x)",
        "## Stages: gridlake library, CSV",
        "## Stages: gridlake library, NDJSON",
        "## Stages: plain Polars pipeline, CSV",
        "## Stages: plain Polars pipeline, NDJSON",
        "## Stages: pandas peer, CSV",
        "## Stages: pandas peer, NDJSON",
        "## Incremental cost",
        "## Targets",
    ):
        assert heading in text, heading
    assert "failed" not in text.lower()

    workload = table(text, "## Workload")
    assert [(r["Input"], r["Usage rows"], r["Price rows"], r["Rows"]) for r in workload] == [
        ("CSV, 1 day(s)", "5,760", "288", "6,048"),
        ("NDJSON, 1 day(s)", "5,760", "288", "6,048"),
    ]
    assert ROWS == 6_048

    end_to_end = table(text, "## End to end (workload at 1x)")
    assert {(r["Variant"], r["Input"]) for r in end_to_end} == {
        ("gridlake library", "CSV"),
        ("gridlake library", "NDJSON"),
        ("plain Polars pipeline", "CSV"),
        ("plain Polars pipeline", "NDJSON"),
        ("pandas peer", "CSV"),
        ("pandas peer", "NDJSON"),
        ("floor: pyarrow Parquet (CSV rows)", "CSV"),
    }
    assert {r["Rows"] for r in end_to_end} == {f"{ROWS:,}"}

    # Land reads every row; gold prices every usage row and rolls it up to customer-hours.
    stages = {r["Stage"]: r["Rows"] for r in table(text, "## Stages: gridlake library, CSV")}
    assert stages["land (parse + bronze)"] == f"{ROWS:,}"
    assert stages["refine (validate + quarantine + silver)"] == f"{ROWS:,}"
    # One spec builds both tables for the same dates: every usage row priced, rolled up to customer-hours.
    assert stages["gold usage_cost (cost_per_interval + hourly_usage)"] == f"{CUSTOMERS * INTERVALS + CUSTOMERS * 24:,}"

    # History: usage for the days before the new day, prices for those days and the new day.
    history_table, increments, _ = tables(text, "## Incremental cost")
    history = {r["History"]: r["Rows generated / landed"] for r in history_table}
    assert history == {
        "1 day(s)": f"{ROWS + INTERVALS:,} / {ROWS + INTERVALS:,}",
        "2 day(s)": f"{2 * ROWS + INTERVALS:,} / {2 * ROWS + INTERVALS:,}",
    }
    # The new file is one 5-minute interval: one row per customer.
    assert [(r["Path"], r["Rows in file"]) for r in increments] == [("gridlake library", f"{CUSTOMERS:,}")]


def test_quick_coin_run_reports_throughput_and_the_incremental_ratio(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    main(["--quick", "--rounds", "2", "--no-isolate", "--stages", "coins", "--out", str(out)])
    text = out.read_text()
    assert "failed" not in text.lower()
    stages, increments = tables(text, "## Coin prices (`--stages coins`)")
    rows = {r["Stage"]: r["Rows"] for r in stages}
    # 20 pairs x 120 minutes, every sample landed, refined and given its statistics.
    assert rows["land (parse + bronze)"] == rows["refine (validate + quarantine + silver)"] == "2,400"
    assert rows["gold coins (coin_volatility + coin_latest)"] == f"{2_400 + 20:,}"
    assert [r["History"] for r in increments] == ["1 day(s)", "7 day(s)"]
    assert "Incremental ratio (7-day ÷ 1-day history)" in text


def allocate(megabytes: int) -> dict:
    block = bytearray(megabytes << 20)
    block[:: 1 << 12] = b"\x01" * len(block[:: 1 << 12])  # touch every page so it is resident
    return {"pid": os.getpid(), "peak": peak_rss()}


def explode() -> dict:
    raise ValueError("broken variant\nsecond line")


def test_variants_run_in_their_own_process_and_failures_are_recorded(tmp_path: Path) -> None:
    result = run_isolated(allocate, 200, log_path=str(tmp_path / "child.log"))
    assert result["pid"] != os.getpid()
    assert result["peak"] >= 200 << 20

    failed = run_isolated(explode, log_path=str(tmp_path / "failed.log"), isolate=False)
    assert failed["error"] == "ValueError: broken variant"


def test_quick_big_and_backfill_runs_report_every_row(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    main(["--quick", "--rounds", "1", "--no-isolate", "--stages", "big,backfill", "--out", str(out)])
    text = out.read_text()
    assert "failed" not in text.lower()
    big = {r["Stage"]: r["Rows"] for r in table(text, "## One date of 100,000 meters (`--stages big`)")}
    # 100 customers x 288 intervals and the day's 288 prices.
    assert big["**end to end**"] == f"{100 * INTERVALS + INTERVALS:,}"
    assert big["refine (validate + quarantine + silver)"] == f"{100 * INTERVALS + INTERVALS:,}"
    runs = table(text, "## Backfill on 1 and 2 processes (`--stages backfill`)")
    # Both days of the quick history re-validated: 20 customers' usage and the days' prices.
    assert [(r["Processes"], r["Rows"]) for r in runs] == [
        (p, f"{2 * (CUSTOMERS * INTERVALS + INTERVALS):,}") for p in "12"
    ]
    # The workers' own peak: each is a Python process with Polars and delta-rs loaded (over
    # 100 MB); they are the fork server's children, which the coordinator's rusage cannot see.
    worker = runs[1]["Peak RSS, largest worker"]
    assert worker.endswith(" MB") and int(worker.removesuffix(" MB").replace(",", "")) > 100, worker


def test_the_plain_pipeline_computes_the_same_gold_as_gridlake(tmp_path: Path) -> None:
    """The plain variant is only a fair distance if it does the same work: same silver rows, and
    the same cost and hourly figures, on a workload with a bad row in it."""
    import polars as pl

    from benchmarks.variants import run_library, run_plain
    from benchmarks.workload import write_landing

    for fmt in ("csv", "ndjson"):
        landing = write_landing(tmp_path / f"landing-{fmt}", 5, fmt)
        first = sorted((Path(landing.folder) / "customer_usage").iterdir())[0]
        if fmt == "csv":
            first.write_text(first.read_text() + "999999,2020-08-05T00:00:00Z,2020-08-05T00:05:00Z,-1\n")
        library = run_library(landing, str(tmp_path / f"library-{fmt}"))
        plain = run_plain(landing, str(tmp_path / f"plain-{fmt}"))
        assert library["rows"] == plain["rows"]
        for name, key in (
            ("cost_per_interval", ["customer_id", "interval_start"]),
            ("hourly_usage", ["customer_id", "hour_start"]),
        ):
            ours = pl.read_delta(str(tmp_path / f"library-{fmt}" / "lake" / "gold" / name)).sort(key)
            theirs = pl.read_delta(str(tmp_path / f"plain-{fmt}" / "plain_lake" / "gold" / name)).sort(key)
            assert ours.height == theirs.height > 0
            for column in ("usage_kwh", "cost"):
                assert ours[column].to_list() == pytest.approx(theirs[column].to_list(), rel=1e-12), (fmt, name, column)
        quarantined = (
            pl.read_delta(str(tmp_path / f"plain-{fmt}" / "plain_lake" / "quarantine" / "customer_usage"))
            if fmt == "csv"
            else None
        )
        if quarantined is not None:
            assert quarantined["failed_rules"].to_list() == [["usage_within_bounds"]]
