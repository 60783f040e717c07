"""`make bench` / `python -m benchmarks`: measure speed, memory and scaling of the pipeline on
generated data, beside the Parquet floor and a pandas peer, and write docs/benchmarks.md.

Workload S: 10,000 customers x 1 day of 5-minute usage (2,880,000 rows) plus that day's prices,
as 24 hourly CSV files and again as 24 hourly NDJSON files per source. `--scale` multiplies the
customers. Incremental cost: one new 5-minute file on top of 1 day and of 30 days of history."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import click

from benchmarks.report import render
from benchmarks.suite import SECTIONS, Options, run_benchmark
from benchmarks.workload import QUICK_CUSTOMERS, QUICK_HISTORY_DAYS
from warehouse.memory import configure_allocator


@click.command("bench", context_settings={"show_default": True})
@click.option("--scale", default=1.0, show_default=True, help="Workload as a multiple of S (10,000 customers x 1 day).")
@click.option(
    "--stages",
    default=",".join(SECTIONS),
    show_default=True,
    help="Comma list of parts to run: pipeline (library path, CSV and NDJSON), dagster, floor, peer, "
    "incremental, scaling (1x, 2x, 4x), latency (drop → gold under the Dagster daemon), coins (minute "
    "coin prices: 2 days of 250 pairs, and one minute on 1 vs 7 days of history), big (100,000 customers x 1 "
    "day in one process), backfill (every date of the long history on 1 and 2 processes).",
)
@click.option("--rounds", default=3, show_default=True, type=click.IntRange(1), help="Rounds per variant (medians).")
@click.option(
    "--scaling-rounds", default=None, type=click.IntRange(1), help="Rounds for the 2x and 4x runs (default: --rounds)."
)
@click.option(
    "--quick", is_flag=True, help=f"Tiny smoke sizes: {QUICK_CUSTOMERS} customers, {QUICK_HISTORY_DAYS}-day history."
)
@click.option("--out", default="docs/benchmarks.md", show_default=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--history-customers",
    type=int,
    default=None,
    help="Customers in the incremental-cost history (default: the workload's). Fewer makes a 30-day "
    "history quick to build; the report states what was used.",
)
@click.option(
    "--history-days",
    default=30,
    show_default=True,
    type=click.IntRange(2),
    help="Long history for the incremental ratio.",
)
@click.option(
    "--raw",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also pickle the raw results here (render them again with benchmarks.report.render).",
)
@click.option(
    "--isolate/--no-isolate",
    default=True,
    show_default=True,
    help="Run each variant in its own spawned process. --no-isolate runs them in this process (for profilers).",
)
def bench(
    scale: float,
    stages: str,
    rounds: int,
    scaling_rounds: int | None,
    quick: bool,
    out: Path,
    history_customers: int | None,
    history_days: int,
    raw: Path | None,
    isolate: bool,
) -> None:
    """Measure speed, memory and scaling against the Parquet floor and a pandas peer; write the
    results as markdown to --out and print them."""
    sections = tuple(s.strip() for s in stages.split(",") if s.strip())
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        raise click.BadParameter(f"unknown part(s) {unknown}; choose from {', '.join(SECTIONS)}", param_hint="--stages")
    opts = Options(
        scale=scale,
        sections=sections,
        rounds=rounds,
        scaling_rounds=scaling_rounds or rounds,
        quick=quick,
        out=out,
        isolate=isolate,
        history_customers=history_customers,
        history_days=QUICK_HISTORY_DAYS if quick and history_days == 30 else history_days,
    )
    results = run_benchmark(opts)
    if opts.history_customers and opts.history_customers < opts.customers:
        results.notes.append(
            f"The incremental history used {opts.history_customers:,} customers instead of {opts.customers:,} "
            "to keep the backfill short; the new file still has the full customer count."
        )
    if raw is not None:
        raw.write_bytes(pickle.dumps(results))
    text = render(results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    click.echo(text)
    click.echo(f"\nwritten to {out}", err=True)


def main(argv: list[str] | None = None) -> None:
    configure_allocator()
    bench.main(args=argv, standalone_mode=False)


if __name__ == "__main__":
    main(sys.argv[1:])
