"""`--stages coins`: minute coin prices through the library path, and the cost of one new minute
on top of a short and a long history.

Throughput: 2 days of 250 pairs (720,000 samples), one JSON file per minute as the producer
writes them, landed, refined and built into gold in one process; rows/s and peak RSS per stage.
Incremental: two lakes hold 1 and 7 days of history (the same pairs, ending at noon of the same
day, so the day being written is as full in both); each round drops the next minute (250 rows)
into each lake and times everything pending. Rolling windows and date-scoped rebuilds should make
the two cost the same: the ratio is the figure."""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.measure import Meter, run_isolated
from benchmarks.variants import library_stages

PAIRS = 250
DAYS = 2
HISTORY_DAYS = (1, 7)
START = dt.datetime(2024, 12, 1, tzinfo=dt.UTC)
QUICK_PAIRS = 20
QUICK_MINUTES = 120


@dataclass
class CoinResults:
    pairs: int
    minutes: int
    files: int
    rows: int
    runs: list[dict] = field(default_factory=list)
    history: dict[int, dict] = field(default_factory=dict)
    increments: dict[int, list[dict]] = field(default_factory=dict)

    def ratio(self) -> list[float]:
        short, long = self.increments.get(HISTORY_DAYS[0], []), self.increments.get(HISTORY_DAYS[1], [])
        return [
            b["wall"] / a["wall"] for a, b in zip(short, long, strict=False) if "error" not in a and "error" not in b
        ]


def _write_minutes(folder: Path, pairs: int, start: dt.datetime, minutes: int, first: int = 0) -> tuple[int, int]:
    from warehouse.generate.coins import generate_coins

    files = rows = 0
    for relative, data in generate_coins(pairs, start, minutes, first_minute=first):
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files, rows = files + 1, rows + pairs
    return files, rows


def _write_hours(folder: Path, pairs: int, start: dt.datetime, minutes: int) -> int:
    """History in hourly files (the same samples, fewer files: quicker to build)."""
    from warehouse.generate.coins import coins, minute_records, walk

    listed, prices = coins(pairs), walk(pairs, minutes)
    hours: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for k in range(minutes):
        hours[k // 60] += minute_records(listed, prices[k], start + dt.timedelta(minutes=k), False, "usd")
    for h, records in hours.items():
        path = folder / "coin_prices" / f"history_{h:05d}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(records))
    return minutes * pairs


def run_coins(landing: str, work: str) -> dict:
    """The library path's stages on the minute files, each timed."""
    from benchmarks.workload import Landing, link_landing

    lake = Path(work) / "lake"
    size = sum(p.stat().st_size for p in Path(landing).rglob("*.json"))
    link_landing(Landing(landing, "json", 0, 0, 0, 0, 0, size), lake)
    meter = Meter()
    rows = library_stages(str(lake), meter, size)
    return meter.result(rows, size)


def build_history(lake: str, pairs: int, days: int, end: dt.datetime) -> dict:
    start = end - dt.timedelta(days=days)
    rows = _write_hours(Path(lake) / "landing", pairs, start, days * 1440)
    meter = Meter()
    library_stages(lake, meter, 0)
    return meter.result(rows, 0)


def run_minute(lake: str, pairs: int, when: dt.datetime, minute: int) -> dict:
    """Drop the minute `minute` after `when` and process everything pending."""
    from warehouse.generate.coins import coins, minute_records, walk

    prices = walk(pairs, minute + 1)
    records = minute_records(coins(pairs), prices[minute], when, False, "usd")
    data = json.dumps(records).encode()
    (Path(lake) / "landing" / "coin_prices" / f"minute_{when:%Y%m%dT%H%M}.json").write_bytes(data)
    meter = Meter()
    library_stages(lake, meter, len(data))
    return meter.result(len(records), len(data))


def measure(work: Path, rounds: int, quick: bool, isolate: bool, echo: Any) -> CoinResults:
    pairs = QUICK_PAIRS if quick else PAIRS
    minutes = QUICK_MINUTES if quick else DAYS * 1440
    landing = work / "coins-landing"
    echo(f"coins: generating {pairs} pairs x {minutes:,} minute files")
    files, rows = _write_minutes(landing, pairs, START, minutes)
    results = CoinResults(pairs, minutes, files, rows)
    for round_no in range(1, rounds + 1):
        run_dir = work / f"coins-{round_no}"
        run_dir.mkdir()
        result = run_isolated(run_coins, str(landing), str(run_dir), log_path=str(work / "coins.log"), isolate=isolate)
        results.runs.append(result)
        echo(f"coins round {round_no}: {_summary(result)}")
    end = START + dt.timedelta(days=max(HISTORY_DAYS) + 1, hours=12)
    lakes = {d: work / f"coins-history-{d}d" / "lake" for d in HISTORY_DAYS}
    for d, lake in lakes.items():
        lake.mkdir(parents=True)
        echo(f"coins: building {d}-day history")
        results.history[d] = run_isolated(
            build_history, str(lake), pairs, d, end, log_path=str(work / f"coins-history-{d}d.log"), isolate=isolate
        )
    for round_no in range(rounds):
        when = end + dt.timedelta(minutes=round_no)
        for d, lake in lakes.items():
            result = run_isolated(
                run_minute, str(lake), pairs, when, round_no, log_path=str(work / "coins-minute.log"), isolate=isolate
            )
            results.increments.setdefault(d, []).append(result)
            echo(f"coins minute {round_no + 1} on {d}-day history: {_summary(result)}")
    return results


def _summary(result: dict) -> str:
    return result.get("error") or f"{result['wall']:.2f} s, peak {result['peak'] >> 20} MB"


def _med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def render(results: CoinResults) -> list[str]:
    ok = [r for r in results.runs if "error" not in r]
    lines = [
        "## Coin prices (`--stages coins`)",
        "",
        f"{results.pairs} pairs x {results.minutes:,} minutes of samples: {results.rows:,} rows in "
        f"{results.files:,} JSON files (one per minute), through the library path in one process. "
        f"Medians of {len(ok)} round(s).",
        "",
    ]
    if not ok:
        return [*lines, f"All rounds failed: {results.runs[0].get('error') if results.runs else 'none ran'}", ""]
    lines += ["| Stage | Rows | Time | Rows/s | Peak RSS |", "|---|---:|---:|---:|---:|"]
    names = [s["name"] for s in ok[0]["stages"]]
    for i, name in enumerate(names):
        wall = _med([r["stages"][i]["wall"] for r in ok])
        rows = ok[0]["stages"][i]["rows"]
        peak = _med([r["stages"][i]["peak"] for r in ok])
        rate = f"{rows / wall:,.0f}" if rows and wall else "–"
        lines.append(f"| {name} | {rows:,} | {wall:.2f} s | {rate} | {peak / (1 << 20):,.0f} MB |")
    total = _med([r["wall"] for r in ok])
    peak = _med([r["peak"] for r in ok])
    lines += [
        f"| **end to end** | {results.rows:,} | {total:.2f} s | {results.rows / total:,.0f} | "
        f"{peak / (1 << 20):,.0f} MB |",
        "",
    ]
    short, long = HISTORY_DAYS
    inc = {d: [r["wall"] for r in results.increments.get(d, []) if "error" not in r] for d in HISTORY_DAYS}
    ratios = results.ratio()
    if inc[short] and inc[long]:
        lines += [
            f"One new minute ({results.pairs} rows) on top of {short} day(s) vs {long} days of history "
            "(land, refine, gold, publish; the day being written holds 12 hours in both):",
            "",
            "| History | Time (median, min–max) |",
            "|---|---:|",
            *(f"| {d} day(s) | {_med(inc[d]):.2f} s ({min(inc[d]):.2f}–{max(inc[d]):.2f}) |" for d in HISTORY_DAYS),
            "",
            f"**Incremental ratio ({long}-day ÷ {short}-day history): {_med(ratios):.2f}x** "
            f"(per round: {', '.join(f'{r:.2f}' for r in ratios)}).",
            "",
        ]
    return lines
