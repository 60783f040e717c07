"""Who is asking: API keys (warehouse/keys.py) from the `Authorization: Bearer` or `X-API-Key`
header, or a dashboard session cookie; the scope each route needs; a rate limit per key.

A missing, malformed, unknown or revoked key answers 401 with the same message, so a caller
learns nothing about which keys exist. A key without the route's scope answers 403; a customer
key asking for another customer answers 404, as if that customer did not exist. Completeness and
gaps are read per source: `operator` reads every source, `market` the price sources, a customer
key its own series of customer usage."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

from fastapi import HTTPException, Request

from warehouse.keys import ApiKey, KeyStore

SESSION_COOKIE = "gridlake_session"
SESSION_SECONDS = 12 * 3600
# The sources whose completeness and gaps the market scope reads (operator reads every source).
MARKET_SOURCES = ("coin_prices", "energy_prices")
UNAUTHORIZED = "missing or invalid API key: send it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"


@dataclass
class Bucket:
    tokens: float
    at: float


@dataclass
class Limiter:
    """A token bucket per key: `rate` requests a second, bursts up to `burst`."""

    rate: float
    burst: float
    buckets: dict[str, Bucket] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait(self, key: ApiKey) -> float:
        """0 when the request may go ahead (and takes a token), else the seconds to wait. A key
        with its own rate gets bursts of twice it."""
        rate = key.rate_per_second or self.rate
        burst = 2 * key.rate_per_second if key.rate_per_second else self.burst
        now = time.monotonic()
        with self.lock:
            bucket = self.buckets.setdefault(key.id, Bucket(burst, now))
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.at) * rate)
            bucket.at = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / rate


@dataclass
class Sessions:
    """Dashboard sessions: a random token in an HttpOnly cookie, mapped to a key id here."""

    by_token: dict[str, tuple[str, float]] = field(default_factory=dict)

    def open(self, key: ApiKey) -> str:
        token = secrets.token_urlsafe(32)
        self.by_token[token] = (key.id, time.time() + SESSION_SECONDS)
        return token

    def key_id(self, token: str | None) -> str | None:
        found = self.by_token.get(token or "")
        if found is None or found[1] < time.time():
            return None
        return found[0]

    def close(self, token: str | None) -> None:
        self.by_token.pop(token or "", None)


class Gate:
    """The checks every route runs, bound to one lake's keys."""

    def __init__(self, store: KeyStore, limiter: Limiter, sessions: Sessions) -> None:
        self.store, self.limiter, self.sessions = store, limiter, sessions

    def key(self, request: Request, cookie: bool = False) -> ApiKey:
        text = request.headers.get("x-api-key") or ""
        authorization = request.headers.get("authorization") or ""
        if authorization.lower().startswith("bearer "):
            text = authorization[7:].strip()
        key = self.store.verify(text) if text else None
        if key is None and cookie:
            key_id = self.sessions.key_id(request.cookies.get(SESSION_COOKIE))
            found = self.store.keys().get(key_id or "")
            key = found if found is not None and found.active else None
        if key is None:
            raise HTTPException(401, UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
        wait = self.limiter.wait(key)
        if wait:
            raise HTTPException(
                429, "too many requests for this key: slow down", headers={"Retry-After": str(max(1, round(wait)))}
            )
        request.state.key_id = key.id
        return key

    @staticmethod
    def require(key: ApiKey, scope: str) -> None:
        if not key.allows(scope):
            raise HTTPException(403, f"this key's scopes ({', '.join(key.scopes)}) do not include {scope}")

    @staticmethod
    def customer(key: ApiKey, customer: str) -> None:
        """A customer key reads only its own customers (any other id is 'not found'); a key with
        no customer scope is refused as for any other scope."""
        if "admin" in key.scopes:
            return
        if not key.customers:
            raise HTTPException(403, f"this key's scopes ({', '.join(key.scopes)}) do not include customer:<id>")
        if customer not in key.customers:
            raise HTTPException(404, f"no customer {customer!r}")

    @staticmethod
    def series(key: ApiKey, source: str, series: str | None) -> list[str] | None:
        """The series of `source` a key reads in completeness and gaps, given the one asked for:
        None for every series. A customer key reads customer_usage only, and only its own
        customers' series (the series is the customer id): forced to them when none is asked,
        another id is 'not found' as for usage. Any other source or scope answers 403."""
        if key.allows("operator") or (source in MARKET_SOURCES and key.allows("market")):
            return None if series is None else [series]
        if source == "customer_usage" and key.customers:
            if series is None:
                return sorted(key.customers)
            Gate.customer(key, series)
            return [series]
        needed = {"customer_usage": "operator or customer:<id>"} | dict.fromkeys(MARKET_SOURCES, "operator or market")
        raise HTTPException(
            403, f"this key's scopes ({', '.join(key.scopes)}) do not include {needed.get(source, 'operator')}"
        )
