"""Solar anomaly alerts end to end: anomalies processed into gold, the Dagster sensor evaluated,
and a real HTTP server on 127.0.0.1 receiving the webhook POSTs. Each anomaly is posted once
(one body per site), a failed POST is retried until it is accepted, and without a webhook the
alerts are still recorded and queryable with DuckDB."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import dagster as dg
import polars as pl
import pytest

from orchestration.alerts import WEBHOOK_ENV, solar_anomaly_alerts
from orchestration.resources import lake_for
from orchestration.sensors import SENSORS
from tests.conftest import Drop
from warehouse import alerts, catalog, delta
from warehouse.lake import Lake
from warehouse.registry import table
from warehouse.stages.pipeline import process_pending

UTC = dt.UTC
ALERTS = table("ops.alerts")
NEG_GEN, NEG_CONS = "negative_generation", "negative_consumption"


@dataclass
class Webhook:
    """A real HTTP server recording every POST body; `status` is what it answers."""

    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    status: int = 200


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            hook.bodies.append(json.loads(self.rfile.read(length)))
            hook.paths.append(self.path)
            self.send_response(hook.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/solar"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def closed_port_url() -> str:
    """A URL nothing listens on: the server is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks/solar"


Tick = Callable[[], str]


@pytest.fixture
def tick(lake: Lake) -> Iterator[Tick]:
    """Evaluate the alert sensor as the daemon does; returns its skip message."""
    with dg.instance_for_test() as instance:

        def _tick() -> str:
            ctx = dg.build_sensor_context(instance=instance, resources={"lake": lake_for(lake.root)})
            result = solar_anomaly_alerts(ctx)
            assert isinstance(result, dg.SkipReason)
            assert result.skip_message is not None
            return result.skip_message

        yield _tick


def rec(site: str, ts: str, gen: float, cons: float) -> dict[str, Any]:
    return {"site_id": site, "timestamp": ts, "energy_generated_kwh": gen, "energy_consumed_kwh": cons}


def land(lake: Lake, drop: Drop, name: str, records: list[dict[str, Any]]) -> None:
    drop("solar_readings", name, json.dumps(records).encode())
    process_pending(lake)


FIRST = [
    rec("SITE_001", "2025-06-01T10:00:00Z", -5.0, 1.0),  # negative generation
    rec("SITE_001", "2025-06-01T10:05:00Z", 10.0, -2.0),  # negative consumption
    rec("SITE_001", "2025-06-01T10:10:00Z", 10.0, 2.0),  # fine
    rec("SITE_001", "2025-06-02T11:00:00+02:00", -1.0, -1.0),  # 09:00 UTC; both
    rec("SITE_002", "2025-06-01T11:00:00Z", -3.0, 1.0),  # negative generation
    rec("SITE_003", "2025-06-01T11:00:00Z", 4.0, 1.0),  # fine: no alert for the site
]
# The POSTs for FIRST, worked out by hand from the records above.
SITE_001_BODY = {
    "site_id": "SITE_001",
    "count": 3,
    "first_ts": "2025-06-01T10:00:00Z",
    "last_ts": "2025-06-02T09:00:00Z",
    "reasons": [NEG_CONS, NEG_GEN],
    "anomalies": [
        {"ts": "2025-06-01T10:00:00Z", "reasons": [NEG_GEN]},
        {"ts": "2025-06-01T10:05:00Z", "reasons": [NEG_CONS]},
        {"ts": "2025-06-02T09:00:00Z", "reasons": [NEG_GEN, NEG_CONS]},
    ],
}
SITE_002_BODY = {
    "site_id": "SITE_002",
    "count": 1,
    "first_ts": "2025-06-01T11:00:00Z",
    "last_ts": "2025-06-01T11:00:00Z",
    "reasons": [NEG_GEN],
    "anomalies": [{"ts": "2025-06-01T11:00:00Z", "reasons": [NEG_GEN]}],
}
FIRST_KEYS = [
    ("SITE_001", dt.datetime(2025, 6, 1, 10, 0, tzinfo=UTC)),
    ("SITE_001", dt.datetime(2025, 6, 1, 10, 5, tzinfo=UTC)),
    ("SITE_001", dt.datetime(2025, 6, 2, 9, 0, tzinfo=UTC)),
    ("SITE_002", dt.datetime(2025, 6, 1, 11, 0, tzinfo=UTC)),
]


def alert_rows(lake: Lake) -> pl.DataFrame:
    rows = alerts.alerts(lake).sort("site_id", "ts")
    assert rows.select("site_id", "ts").is_unique().all(), "an anomaly was recorded twice"
    return rows


def by_site(bodies: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {b["site_id"]: b for b in bodies}


def test_the_sensor_is_registered_and_running_by_default() -> None:
    sensor = next(s for s in SENSORS if s.name == "solar_anomaly_alerts")
    assert sensor.minimum_interval_seconds == 30
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_each_site_gets_one_post_and_each_anomaly_alerts_once(
    lake: Lake, drop: Drop, webhook: Webhook, tick: Tick, monkeypatch: pytest.MonkeyPatch
) -> None:
    land(lake, drop, "batch_20250601_100000.json", FIRST)
    assert alerts.pending_anomalies(lake).select("site_id", "ts").rows() == FIRST_KEYS
    monkeypatch.setenv(WEBHOOK_ENV, webhook.url)

    message = tick()
    assert "4 new anomalies recorded; 4 sent, 0 failed" in message
    assert len(webhook.bodies) == 2 and set(webhook.paths) == {"/hooks/solar"}
    assert by_site(webhook.bodies) == {"SITE_001": SITE_001_BODY, "SITE_002": SITE_002_BODY}

    rows = alert_rows(lake)
    assert rows.select("site_id", "ts").rows() == FIRST_KEYS
    assert rows["webhook_status"].to_list() == ["sent"] * 4
    assert rows["attempts"].to_list() == [1] * 4
    assert rows["last_error"].is_null().all() and rows["sent_at"].is_not_null().all()
    assert rows["anomaly_reasons"].to_list() == [[NEG_GEN], [NEG_CONS], [NEG_GEN, NEG_CONS], [NEG_GEN]]
    assert rows["alert_id"].n_unique() == 4
    gold = delta.scan(lake, table("gold.solar_anomalies")).collect().sort("site_id", "ts")
    assert rows["detected_at"].to_list() == gold["detected_at"].to_list()
    assert alerts.pending_anomalies(lake).height == 0

    # Nothing new: no POST, and no commit either.
    version = delta.version(lake, ALERTS)
    assert "0 new anomalies recorded; 0 sent" in tick()
    assert "0 new anomalies recorded; 0 sent" in tick()
    assert len(webhook.bodies) == 2
    assert delta.version(lake, ALERTS) == version
    assert alert_rows(lake).height == 4


def test_a_failed_post_is_recorded_and_sent_on_the_next_tick(
    lake: Lake, drop: Drop, webhook: Webhook, tick: Tick, monkeypatch: pytest.MonkeyPatch
) -> None:
    land(lake, drop, "batch_20250601_100000.json", FIRST)
    monkeypatch.setenv(WEBHOOK_ENV, closed_port_url())  # the server is down for this tick

    assert "4 new anomalies recorded; 0 sent, 4 failed" in tick()
    rows = alert_rows(lake)
    assert rows.select("site_id", "ts").rows() == FIRST_KEYS  # recorded all the same
    assert rows["webhook_status"].to_list() == ["failed"] * 4
    assert rows["attempts"].to_list() == [1] * 4
    assert rows["sent_at"].is_null().all()
    assert all("refused" in e.lower() for e in rows["last_error"].to_list()), rows["last_error"].to_list()
    assert webhook.bodies == []

    monkeypatch.setenv(WEBHOOK_ENV, webhook.url)  # back up
    assert "0 new anomalies recorded; 4 sent, 0 failed" in tick()
    assert by_site(webhook.bodies) == {"SITE_001": SITE_001_BODY, "SITE_002": SITE_002_BODY}
    rows = alert_rows(lake)
    assert rows["webhook_status"].to_list() == ["sent"] * 4
    assert rows["attempts"].to_list() == [2] * 4
    assert rows["sent_at"].is_not_null().all()
    assert rows["last_error"].is_not_null().all()  # the earlier failure stays on record

    tick()
    assert len(webhook.bodies) == 2


def test_a_non_2xx_answer_is_a_failure_and_is_retried(
    lake: Lake, drop: Drop, webhook: Webhook, tick: Tick, monkeypatch: pytest.MonkeyPatch
) -> None:
    land(lake, drop, "batch_20250601_100000.json", FIRST[4:])  # SITE_002's anomaly only
    monkeypatch.setenv(WEBHOOK_ENV, webhook.url)
    webhook.status = 503
    assert "1 new anomaly recorded; 0 sent, 1 failed" in tick()
    row = alert_rows(lake).row(0, named=True)
    assert (row["webhook_status"], row["attempts"], row["sent_at"]) == ("failed", 1, None)
    assert row["last_error"].startswith("HTTP 503")

    webhook.status = 204
    assert "0 new anomalies recorded; 1 sent, 0 failed" in tick()
    row = alert_rows(lake).row(0, named=True)
    assert (row["webhook_status"], row["attempts"]) == ("sent", 2)
    assert webhook.bodies == [SITE_002_BODY, SITE_002_BODY]  # the same alert, posted twice


def test_only_a_later_files_new_anomaly_is_posted(
    lake: Lake, drop: Drop, webhook: Webhook, tick: Tick, monkeypatch: pytest.MonkeyPatch
) -> None:
    land(lake, drop, "batch_20250601_100000.json", FIRST)
    monkeypatch.setenv(WEBHOOK_ENV, webhook.url)
    tick()
    assert len(webhook.bodies) == 2
    sent_before = alert_rows(lake)

    later = [
        rec("SITE_002", "2025-06-01T10:00:00Z", -7.5, 3.0),  # new anomaly
        rec("SITE_002", "2025-06-01T11:00:00Z", -4.0, 1.0),  # already alerted (new value): not again
        rec("SITE_003", "2025-06-01T11:05:00Z", 5.0, 1.0),  # fine
    ]
    land(lake, drop, "batch_20250601_120000.json", later)
    assert alerts.pending_anomalies(lake).select("site_id", "ts").rows() == [
        ("SITE_002", dt.datetime(2025, 6, 1, 10, 0, tzinfo=UTC))
    ]
    assert "1 new anomaly recorded; 1 sent, 0 failed" in tick()
    assert webhook.bodies[2:] == [
        {
            "site_id": "SITE_002",
            "count": 1,
            "first_ts": "2025-06-01T10:00:00Z",
            "last_ts": "2025-06-01T10:00:00Z",
            "reasons": [NEG_GEN],
            "anomalies": [{"ts": "2025-06-01T10:00:00Z", "reasons": [NEG_GEN]}],
        }
    ]
    rows = alert_rows(lake)
    assert rows.height == 5
    assert rows["webhook_status"].to_list() == ["sent"] * 5
    # Rows alerted earlier are untouched.
    assert rows.join(sent_before, on=["site_id", "ts"], how="semi").equals(sent_before)


def test_without_a_webhook_alerts_are_recorded_queryable_and_sent_once_one_is_set(
    lake: Lake, drop: Drop, webhook: Webhook, tick: Tick, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(WEBHOOK_ENV, raising=False)
    land(lake, drop, "batch_20250601_100000.json", FIRST)

    message = tick()
    assert "4 new anomalies recorded; 0 sent, 0 failed, 4 waiting for a webhook" in message
    assert f"{WEBHOOK_ENV} is not set" in message
    assert "0 new anomalies recorded; 0 sent, 0 failed, 4 waiting" in tick()  # recorded once

    assert "ops.alerts" in catalog.publish(lake)
    got = catalog.query(
        lake,
        "SELECT site_id, ts, webhook_status, attempts, sent_at, list_sort(anomaly_reasons) AS reasons "
        "FROM ops.alerts ORDER BY site_id, ts",
    )
    assert got.select("site_id", "ts").rows() == FIRST_KEYS
    assert got["webhook_status"].to_list() == ["not_configured"] * 4
    assert got["attempts"].to_list() == [0] * 4
    assert got["sent_at"].is_null().all()
    assert got["reasons"].to_list() == [[NEG_GEN], [NEG_CONS], [NEG_CONS, NEG_GEN], [NEG_GEN]]
    per_status = catalog.query(lake, "SELECT webhook_status, count(*) AS n FROM ops.alerts GROUP BY 1")
    assert per_status.rows() == [("not_configured", 4)]
    assert webhook.bodies == []

    # The webhook is read at evaluation time: once it is set, the waiting alerts go out.
    monkeypatch.setenv(WEBHOOK_ENV, webhook.url)
    assert "0 new anomalies recorded; 4 sent, 0 failed" in tick()
    assert by_site(webhook.bodies) == {"SITE_001": SITE_001_BODY, "SITE_002": SITE_002_BODY}
    rows = alert_rows(lake)
    assert rows["webhook_status"].to_list() == ["sent"] * 4
    assert rows["attempts"].to_list() == [1] * 4


def test_record_and_send_is_idempotent_and_rejects_non_http_urls(lake: Lake, drop: Drop) -> None:
    land(lake, drop, "batch_20250601_100000.json", FIRST)
    now = dt.datetime(2025, 6, 3, 8, 0, tzinfo=UTC)
    report = alerts.record_and_send(lake, "file:///etc/passwd", now)
    assert report == alerts.AlertReport(new=4, sent=0, failed=4, not_configured=0)
    rows = alert_rows(lake)
    assert rows["alerted_at"].to_list() == [now] * 4
    assert rows["last_error"].str.contains("unsupported webhook URL").all()
    assert alerts.record_and_send(lake, None, now) == alerts.AlertReport(new=0, sent=0, failed=0, not_configured=0)
    assert alert_rows(lake).height == 4
    with pytest.raises(ValueError, match="timezone-aware"):
        alerts.record_and_send(lake, None, dt.datetime(2025, 6, 3, 8, 0))
