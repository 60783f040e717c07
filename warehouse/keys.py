"""API keys: who may read and post what through the HTTP service (api/).

A key is `gl_<id>_<secret>`: the id (8 hex characters) names the key in listings and logs, the
secret (43 characters, 256 random bits) is shown once, when the key is created, and stored only
as a salted SHA-256. A slow password hash is not needed: the secret is random, not chosen by a
person, so it cannot be guessed from its hash (the same reasoning as GitHub's token storage),
and every request checks it in microseconds.

The keys live in the lake's local state folder (`api_keys.json`, mode 0600), written under a
lock and replaced atomically; the service reads the file again whenever it changes, so a revoked
key fails on its next request.

Scopes:

| scope | reads |
|---|---|
| `customer:<id>` | that customer's usage and cost, nothing else |
| `operator` | parks, battery sites, solar |
| `market` | coin pairs and their volatility |
| `ingest:<source>` | posts batches to one landing source |
| `admin` | everything, and `POST /v1/sql` |"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import asdict, dataclass

from filelock import FileLock

from warehouse.lake import Lake

_SCOPE = re.compile(r"^(admin|operator|market|customer:[^\s,]{1,64}|ingest:[a-z_]{1,64})$")
_KEY = re.compile(r"^gl_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$")


class KeyProblem(ValueError):
    """A bad scope or an unknown key id, with a message for the person who typed it."""


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    scopes: tuple[str, ...]
    salt: str
    digest: str
    created_at: str
    revoked_at: str | None = None
    # Requests a second this key may make (bursts of twice that); None: the service's default.
    rate_per_second: float | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes

    @property
    def customers(self) -> set[str]:
        return {s.split(":", 1)[1] for s in self.scopes if s.startswith("customer:")}


def check_scope(scope: str) -> str:
    if not _SCOPE.match(scope):
        raise KeyProblem(f"unknown scope {scope!r}: use admin, operator, market, customer:<id> or ingest:<source>")
    if scope.startswith("ingest:"):
        from warehouse.datasets import DATASETS

        if scope.split(":", 1)[1] not in DATASETS:
            raise KeyProblem(f"unknown source in {scope!r}: one of {', '.join(DATASETS)}")
    return scope


class KeyStore:
    def __init__(self, lake: Lake) -> None:
        self.path = lake.local_state_dir / "api_keys.json"
        self._lock = FileLock(str(self.path) + ".lock", is_singleton=False)
        self._loaded: tuple[int, int] | None = None
        self._keys: dict[str, ApiKey] = {}

    def keys(self) -> dict[str, ApiKey]:
        """The keys, read again when the file changed since the last look."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._keys, self._loaded = {}, None
            return self._keys
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._loaded:
            rows = json.loads(self.path.read_text())
            self._keys = {r["id"]: ApiKey(**{**r, "scopes": tuple(r["scopes"])}) for r in rows}
            self._loaded = stamp
        return self._keys

    def create(self, scopes: list[str], name: str = "", rate_per_second: float | None = None) -> tuple[ApiKey, str]:
        """A new key; returns it and its full text (shown once, never stored)."""
        if not scopes:
            raise KeyProblem("a key needs at least one --scope")
        checked = tuple(check_scope(s) for s in scopes)
        with self._lock:
            keys = dict(self.keys())
            key_id = secrets.token_hex(4)
            while key_id in keys:
                key_id = secrets.token_hex(4)
            secret = secrets.token_urlsafe(32)
            salt = secrets.token_hex(16)
            record = ApiKey(
                id=key_id,
                name=name,
                scopes=checked,
                salt=salt,
                digest=_digest(salt, secret),
                created_at=_now(),
                rate_per_second=rate_per_second,
            )
            keys[key_id] = record
            self._write(keys)
        return record, f"gl_{key_id}_{secret}"

    def revoke(self, key_id: str) -> ApiKey:
        with self._lock:
            keys = dict(self.keys())
            if key_id not in keys:
                raise KeyProblem(f"no key with id {key_id!r} (gridlake keys list shows them)")
            keys[key_id] = ApiKey(**{**asdict(keys[key_id]), "revoked_at": keys[key_id].revoked_at or _now()})
            self._write(keys)
            return keys[key_id]

    def verify(self, text: str) -> ApiKey | None:
        """The active key `text` is, or None (wrong form, unknown, revoked or a wrong secret)."""
        match = _KEY.match(text.strip())
        if not match:
            return None
        record = self.keys().get(match.group(1))
        if record is None or not record.active:
            return None
        return record if hmac.compare_digest(record.digest, _digest(record.salt, match.group(2))) else None

    def _write(self, keys: dict[str, ApiKey]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        partial.write_text(json.dumps([asdict(k) for k in keys.values()], indent=1))
        partial.chmod(0o600)
        os.replace(partial, self.path)


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
