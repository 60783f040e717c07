"""Alerts for solar anomalies: every anomaly in gold.solar_anomalies is recorded once in
ops.alerts, and posted to a webhook (one JSON body per site) until the webhook accepts it.

- Recorded once, ever: an anomaly (site_id, ts) already in ops.alerts is never recorded again,
  even when gold later re-detects it with other values or drops it after a correction.
- Delivery: rows not `sent` (new, `failed`, or `not_configured` from a time without a webhook)
  are posted whenever a webhook is configured; a 2xx marks them `sent`, anything else (refused
  connection, timeout, non-2xx, redirect) marks them `failed` with the error, to retry next time.
- One Delta commit per call (a merge on the keys: new rows inserted, retried rows updated, a
  `sent` row never touched), and none when there is nothing to record or send. Delivery is at
  least once: a crash between a POST and the commit posts those anomalies again.

A pure library: the Dagster sensor (orchestration/alerts.py) only calls `record_and_send`."""

from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import polars as pl

from warehouse import delta
from warehouse.lake import Lake
from warehouse.registry import table

ANOMALIES = table("gold.solar_anomalies")
ALERTS = table("ops.alerts")
KEYS = list(ALERTS.keys)

SENT = "sent"
FAILED = "failed"
NOT_CONFIGURED = "not_configured"
STATUSES = (SENT, FAILED, NOT_CONFIGURED)

TIMEOUT_SECONDS = 5.0
MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class AlertReport:
    """What one call did, counted in alert rows (anomalies), not POSTs."""

    new: int  # anomalies recorded by this call
    sent: int  # rows the webhook accepted in this call
    failed: int  # rows whose POST failed in this call (retried on the next)
    not_configured: int  # rows waiting for a webhook after this call (none configured)

    @property
    def summary(self) -> str:
        return (
            f"{self.new} new anomal{'y' if self.new == 1 else 'ies'} recorded; "
            f"{self.sent} sent, {self.failed} failed, {self.not_configured} waiting for a webhook"
        )


@dataclass(frozen=True)
class Delivery:
    """The outcome of one POST."""

    ok: bool
    error: str | None = None


def alert_id(site_id: str, ts: dt.datetime) -> str:
    return hashlib.sha256(f"{site_id}|{ts.isoformat()}".encode()).hexdigest()[:32]


def iso(ts: dt.datetime) -> str:
    """ISO-8601 in UTC with a Z."""
    return ts.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def pending_anomalies(lake: Lake) -> pl.DataFrame:
    """Anomalies in gold.solar_anomalies not yet in ops.alerts (by site_id and ts)."""
    recorded = delta.scan(lake, ALERTS).select(KEYS)
    return (
        delta.scan(lake, ANOMALIES)
        .select(*KEYS, "anomaly_reasons", "detected_at")
        .unique(subset=KEYS, keep="any")
        .join(recorded, on=KEYS, how="anti")
        .sort(KEYS)
        .collect()
    )


def alerts(lake: Lake) -> pl.DataFrame:
    """ops.alerts as it is now (empty, with its schema, before the first alert)."""
    return delta.scan(lake, ALERTS).collect()


def payload(site_id: str, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The JSON body posted for one site's alerts."""
    ordered = sorted(rows, key=lambda r: r["ts"])
    reasons = sorted({reason for r in ordered for reason in (r["anomaly_reasons"] or [])})
    return {
        "site_id": site_id,
        "count": len(ordered),
        "first_ts": iso(ordered[0]["ts"]),
        "last_ts": iso(ordered[-1]["ts"]),
        "reasons": reasons,
        "anomalies": [{"ts": iso(r["ts"]), "reasons": list(r["anomaly_reasons"] or [])} for r in ordered],
    }


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """urllib turns a redirected POST into a body-less GET; a redirect is a failure instead."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect())


def post(url: str, body: Mapping[str, Any], timeout: float = TIMEOUT_SECONDS) -> Delivery:
    """POST `body` as JSON; ok only on a 2xx answer. Never raises for a delivery failure."""
    if urlparse(url).scheme not in ("http", "https"):
        return Delivery(False, f"unsupported webhook URL {url!r}: use http:// or https://")
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "gridlake-alerts"},
        method="POST",
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as e:
        return Delivery(False, f"HTTP {e.code} {e.reason}"[:MAX_ERROR_CHARS])
    except (OSError, ValueError, http.client.HTTPException) as e:
        reason = e.reason if isinstance(e, urllib.error.URLError) else e
        return Delivery(False, f"{type(e).__name__}: {reason}"[:MAX_ERROR_CHARS])
    if not 200 <= status < 300:
        return Delivery(False, f"HTTP {status}")
    return Delivery(True)


def _new_rows(pending: pl.DataFrame, now: dt.datetime) -> list[dict[str, Any]]:
    return [
        {
            "alert_id": alert_id(r["site_id"], r["ts"]),
            "site_id": r["site_id"],
            "ts": r["ts"],
            "anomaly_reasons": r["anomaly_reasons"],
            "detected_at": r["detected_at"],
            "alerted_at": now,
            "webhook_status": NOT_CONFIGURED,
            "attempts": 0,
            "last_error": None,
            "sent_at": None,
        }
        for r in pending.iter_rows(named=True)
    ]


def _deliver(rows: list[dict[str, Any]], url: str, now: dt.datetime) -> None:
    """POST one body per site and set each row's status, attempts, error and sent_at."""
    by_site: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_site.setdefault(r["site_id"], []).append(r)
    for site_id in sorted(by_site):
        site_rows = by_site[site_id]
        outcome = post(url, payload(site_id, site_rows))
        for r in site_rows:
            r["attempts"] = (r["attempts"] or 0) + 1
            if outcome.ok:
                r["webhook_status"], r["sent_at"] = SENT, now
            else:
                r["webhook_status"], r["last_error"] = FAILED, outcome.error


def _write(lake: Lake, rows: list[dict[str, Any]]) -> None:
    """One atomic commit: insert rows not yet recorded, update recorded rows not yet sent."""
    frame = delta.conform(pl.DataFrame(rows, schema=ALERTS.schema), ALERTS)
    target = delta.open_table(lake, ALERTS)
    if target is None:
        delta.upsert(lake, ALERTS, frame)  # creates the table
        return
    on = " AND ".join(f"t.{k} = s.{k}" for k in KEYS)
    (
        target.merge(frame.to_arrow(), predicate=on, source_alias="s", target_alias="t")
        .when_matched_update_all(predicate=f"t.webhook_status <> '{SENT}'")
        .when_not_matched_insert_all()
        .execute()
    )


def record_and_send(lake: Lake, webhook_url: str | None, now: dt.datetime | None = None) -> AlertReport:
    """Record new anomalies in ops.alerts and, when a webhook is configured, post every alert
    not yet sent (one body per site); see the module docstring for the guarantees."""
    now = now or dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(dt.UTC)
    url = (webhook_url or "").strip() or None
    new = _new_rows(pending_anomalies(lake), now)
    existing = alerts(lake)
    waiting = existing.filter(pl.col("webhook_status") == NOT_CONFIGURED).height
    if url is None:
        if new:
            _write(lake, new)
        return AlertReport(new=len(new), sent=0, failed=0, not_configured=waiting + len(new))
    retry = existing.filter(pl.col("webhook_status") != SENT).to_dicts()
    rows = retry + new
    if not rows:
        return AlertReport(new=0, sent=0, failed=0, not_configured=0)
    _deliver(rows, url, now)
    _write(lake, rows)
    sent = sum(r["webhook_status"] == SENT for r in rows)
    return AlertReport(new=len(new), sent=sent, failed=len(rows) - sent, not_configured=0)
