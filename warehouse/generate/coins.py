"""Synthetic coin prices, one file per minute, for the ``coin_prices`` landing source.

Each pair follows a geometric random walk with its own volatility: most pairs move a few basis
points a minute, some are very quiet (stablecoins pegged near 1), and every other pair now
and then jumps by 3-12 %. Values depend only on (seed, pairs, minute since start), so the first minutes are
the same however many are generated. Two shapes: records (``{"pair", "time", "value"}``, time in epoch
seconds) or, with ``snapshot``, a market snapshot as a price API returns it (``{"id", "symbol",
"current_price", "last_updated"}``, the quote currency in the file name: ``markets_vs_usd_…``)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import numpy as np

SOURCE = "coin_prices"
_KNOWN = (
    ("bitcoin", "btc", 97_000.0),
    ("ethereum", "eth", 3_600.0),
    ("tether", "usdt", 1.0),
    ("solana", "sol", 230.0),
    ("binancecoin", "bnb", 700.0),
    ("ripple", "xrp", 2.4),
    ("usd-coin", "usdc", 1.0),
    ("cardano", "ada", 1.1),
    ("dogecoin", "doge", 0.42),
    ("tron", "trx", 0.3),
)
_STABLE = {"tether", "usd-coin"}
JUMP_PROBABILITY = 0.0005


def coins(pairs: int) -> list[tuple[str, str, float]]:
    """(id, symbol, starting price) of the first `pairs` coins: real names first, then alts."""
    out = list(_KNOWN[:pairs])
    rng = np.random.default_rng(12345)
    for i in range(len(out), pairs):
        out.append((f"altcoin-{i:03d}", f"alt{i:03d}", float(10 ** rng.uniform(-3, 3))))
    return out


def walk(pairs: int, minutes: int, seed: int = 0) -> np.ndarray:
    """Prices, shape (minutes, pairs): a random walk of log prices with jumps. Minute k's step
    comes from its own generator, so the first k minutes do not depend on how many follow."""
    listed = coins(pairs)
    rng = np.random.default_rng([seed, pairs])
    # Per-minute volatility: 0.5 to 30 basis points; a tenth of a basis point for stablecoins
    # and a few very quiet alts, which never jump.
    sigma = 10 ** rng.uniform(-4.3, -2.5, pairs)
    quiet = np.array([c in _STABLE for c, _, _ in listed]) | (rng.random(pairs) < 0.05)
    sigma[quiet] = 1e-5
    steps = np.zeros((minutes, pairs))
    for k in range(1, minutes):
        step = np.random.default_rng([seed, pairs, k])
        jump = (step.random(pairs) < JUMP_PROBABILITY) & ~quiet
        size = step.choice([-1.0, 1.0], pairs) * step.uniform(0.03, 0.12, pairs)
        steps[k] = step.normal(0.0, 1.0, pairs) * sigma + jump * size
    start = np.array([p for _, _, p in listed])
    return start * np.exp(np.cumsum(steps, axis=0))


def _round(value: float) -> float:
    return float(f"{value:.10g}")


def minute_records(
    listed: list[tuple[str, str, float]], prices: np.ndarray, when: dt.datetime, snapshot: bool, quote: str
) -> list[dict]:
    if snapshot:
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return [
            {"id": c, "symbol": s, "current_price": _round(p), "last_updated": stamp}
            for (c, s, _), p in zip(listed, prices, strict=True)
        ]
    epoch = int(when.timestamp())
    return [
        {"pair": f"{c}/{quote}", "time": epoch, "value": _round(p)} for (c, _, _), p in zip(listed, prices, strict=True)
    ]


def file_name(when: dt.datetime, snapshot: bool, quote: str) -> str:
    stamp = f"{when:%Y%m%dT%H%M}"
    return f"{SOURCE}/markets_vs_{quote}_{stamp}.json" if snapshot else f"{SOURCE}/prices_{stamp}.json"


def generate_coins(
    pairs: int, start: dt.datetime, minutes: int, snapshot: bool = False, quote: str = "usd", seed: int = 0,
    first_minute: int = 0,
) -> Iterator[tuple[str, bytes]]:  # fmt: skip
    """One JSON file per minute from `start` + `first_minute`: (relative path, bytes)."""
    listed = coins(pairs)
    prices = walk(pairs, first_minute + minutes, seed)
    for k in range(first_minute, first_minute + minutes):
        when = start + dt.timedelta(minutes=k)
        records = minute_records(listed, prices[k], when, snapshot, quote)
        yield file_name(when, snapshot, quote), json.dumps(records).encode()
