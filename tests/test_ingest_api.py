"""Validated ingest through a real `gridlake serve`: a producer posts a batch and learns at once
what was wrong, with each rule's name; an accepted batch is stored exactly once (same key twice,
two racing, a channel's offsets, a server killed between commit and answer) and reaches gold like
the same rows dropped as a file."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.apiserver import Server, serve
from warehouse import delta
from warehouse.datasets import DATASETS
from warehouse.keys import KeyStore
from warehouse.lake import Lake
from warehouse.registry import table
from warehouse.stages.pipeline import process_pending

pytestmark = pytest.mark.e2e

T = "2020-08-05T00:%02d:00Z"


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    lake = Lake.from_env(str(tmp_path_factory.mktemp("ingest") / "lake"))
    # References the checks read: a registered park and site.
    register = Path(lake.root) / "landing"
    (register / "parks").mkdir(parents=True)
    (register / "parks" / "parks.csv").write_text("park_name,timezone,energy_type\nNetterden,Europe/Amsterdam,Wind\n")
    (register / "sites").mkdir(parents=True)
    (register / "sites" / "sites.json").write_text(json.dumps({"id": 7, "name": "Cedar", "location": "south"}))
    process_pending(lake)
    return lake


@pytest.fixture(scope="module")
def server(lake: Lake, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    store = KeyStore(lake)
    keys = {f"ingest:{s}": store.create([f"ingest:{s}"])[1] for s in DATASETS}
    keys["operator"] = store.create(["operator"])[1]
    keys["admin"] = store.create(["admin"])[1]
    with serve(lake, keys, tmp_path_factory.mktemp("ingest-server")) as running:
        yield running


def post(
    server: Server,
    source: str,
    body: Any,
    key: str | None = None,
    kind: str = "application/json",
    query: str = "",
    idempotency: str | None = "k",
) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": kind}
    if idempotency:
        headers["Idempotency-Key"] = idempotency
    status, _, answer = server.call_raw("POST", f"/v1/ingest/{source}{query}", key or f"ingest:{source}", data, headers)
    return status, json.loads(answer)


def usage(customer: Any = 1, start: str = T % 0, end: str | None = T % 5, kwh: Any = 1.0) -> dict[str, Any]:
    record = {"customerId": customer, "intervalStart": start, "usage": kwh}
    if end is not None:
        record["intervalEnd"] = end
    return record


def solar(site: Any = "S1", ts: Any = "2025-06-01T10:00:00Z", gen: Any = 1.0, con: Any = 0.5) -> dict[str, Any]:
    return {"site_id": site, "timestamp": ts, "energy_generated_kwh": gen, "energy_consumed_kwh": con}


# One row per rule (and a good row first): the endpoint names each rule it breaks.
BAD_ROWS: dict[str, tuple[list[dict[str, Any]], list[str]]] = {
    "customer_usage": (
        [
            usage(),
            usage(customer=""),
            usage(start="yesterday"),
            usage(customer=2, end="later"),
            usage(customer=3, end=T % 0),
            usage(customer=4, end="2020-08-05T00:04:30Z"),
            usage(customer=5, end="2020-08-07T00:00:00Z"),
            usage(customer=6, start="2020-08-05T00:00:00.000000001Z"),
            usage(customer=7, kwh="lots"),
            usage(customer=8, kwh=-1),
            usage(customer=9, kwh=1.0),
            usage(customer=9, kwh=2.0),
            usage(customer=10, start="1970-01-01T00:00:00Z", end="1970-01-01T00:05:00Z"),
        ],
        [
            "customer_id_present", "interval_start_parseable", "interval_end_parseable", "interval_end_after_start",
            "interval_whole_minutes", "interval_at_most_one_day", "timestamp_within_microseconds", "usage_numeric",
            "usage_within_bounds", "no_conflicting_duplicate", "event_date_in_range",
        ],
    ),
    "energy_prices": (
        [
            {"intervalStart": T % 0, "price": 0.1},
            {"intervalStart": "x", "price": 0.1},
            {"intervalStart": T % 5, "intervalEnd": "x", "price": 0.1},
            {"intervalStart": T % 10, "intervalEnd": T % 10, "price": 0.1},
            {"intervalStart": T % 15, "intervalEnd": "2020-08-05T00:19:59Z", "price": 0.1},
            {"intervalStart": T % 20, "intervalEnd": "2020-08-07T00:20:00Z", "price": 0.1},
            {"intervalStart": "2020-08-05T00:25:00.0000001Z", "price": 0.1},
            {"intervalStart": T % 30, "price": "free"},
            {"intervalStart": T % 35, "price": 99},
            {"intervalStart": T % 40, "price": 0.1},
            {"intervalStart": T % 40, "price": 0.2},
        ],
        [
            "interval_start_parseable", "interval_end_parseable", "interval_end_after_start", "interval_whole_minutes",
            "interval_at_most_one_day", "timestamp_within_microseconds", "price_numeric", "price_within_bounds",
            "no_conflicting_duplicate",
        ],
    ),
    "solar_readings": (
        [
            solar(),
            solar(site=""),
            solar(site="S2", ts="noon"),
            solar(site="S3", ts="2025-06-01T10:00:00.000000001Z"),
            solar(site="S4", gen="sunny"),
            solar(site="S5", gen=1e9),
            solar(site="S6", con="none"),
            solar(site="S7", con=-1e9),
            solar(site="S8", gen=1.0),
            solar(site="S8", gen=2.0),
        ],
        [
            "site_id_present", "timestamp_parseable", "timestamp_within_microseconds", "generated_numeric",
            "generated_within_bounds", "consumed_numeric", "consumed_within_bounds", "no_conflicting_duplicate",
        ],
    ),
    "coin_prices": (
        [
            {"pair": "btc/usd", "time": 1733270400, "value": 1.0},
            {"pair": "", "time": 1733270400, "value": 1.0},
            {"pair": "btcusd", "time": 1733270400, "value": 1.0},
            {"pair": "eth/usd", "time": "soon", "value": 1.0},
            {"pair": "sol/usd", "time": "2024-12-04T00:00:00.0000001Z", "value": 1.0},
            {"pair": "ada/usd", "time": 1733270400, "value": "many"},
            {"pair": "dot/usd", "time": 1733270400, "value": 0},
            {"pair": "xrp/usd", "time": 1733270460, "value": 1.0},
            {"pair": "xrp/usd", "time": 1733270460, "value": 2.0},
        ],
        [
            "pair_present", "pair_is_base_slash_quote", "time_parseable", "timestamp_within_microseconds",
            "value_numeric", "value_positive", "no_conflicting_duplicate",
        ],
    ),
    "parks": (
        [
            {"park_name": "Ok", "timezone": "Europe/Paris", "energy_type": "Wind"},
            {"park_name": "", "timezone": "Europe/Paris", "energy_type": "Wind"},
            {"park_name": "B", "timezone": "Mars/Olympus", "energy_type": "Wind"},
            {"park_name": "C", "timezone": "Europe/Paris", "energy_type": "Hamster"},
            {"park_name": "D", "timezone": "Europe/Paris", "energy_type": "Wind"},
            {"park_name": "D", "timezone": "Europe/Rome", "energy_type": "Wind"},
        ],
        ["park_name_present", "timezone_valid", "energy_type_valid", "no_conflicting_duplicate"],
    ),
    "sites": (
        [
            {"id": 1, "name": "A", "location": "north"},
            {"id": "", "name": "B", "location": "north"},
            {"id": 2, "name": "", "location": "north"},
            {"id": 3, "name": "C", "location": ""},
            {"id": 4, "name": "D", "location": "north"},
            {"id": 4, "name": "E", "location": "north"},
        ],
        ["site_id_present", "name_not_empty", "location_not_empty", "no_conflicting_duplicate"],
    ),
}  # fmt: skip


@pytest.mark.parametrize("source", list(BAD_ROWS))
def test_every_rule_is_named_by_the_endpoint_and_nothing_is_stored(server: Server, source: str) -> None:
    rows, rules = BAD_ROWS[source]
    status, answer = post(server, source, rows, idempotency=f"bad-{source}")
    assert status == 422, answer
    assert "nothing was stored" in answer["error"]
    named = {e["rule"] for e in answer["row_errors"]}
    assert named == set(rules), named ^ set(rules)
    assert 0 not in {e["index"] for e in answer["row_errors"]}  # the good first row
    assert all(e["message"] and e["field"] for e in answer["row_errors"] if e["rule"] != "event_date_in_range")
    assert not (Path(server.lake.root) / "landing" / source / "_api").exists()


def test_readings_of_unregistered_parks_and_sites_wait_instead_of_failing(server: Server) -> None:
    readings = b"datetime,MW,park_name\n2024-03-25 00:00:00,1.5,Netterden\n2024-03-25 00:15:00,2.5,Elsewhere\n"
    status, answer = post(server, "park_readings", readings, kind="text/csv", idempotency="parks-wait")
    assert status == 200 and (answer["rows"], answer["accepted"], answer["waiting"]) == (2, 2, 1), answer
    bad = b"datetime,MW,park_name\n2024-03-25 00:00:00,lots,Netterden\n2024-03-31 02:30:00,1,Netterden\n"
    status, answer = post(server, "park_readings", bad, kind="text/csv", idempotency="parks-bad")
    assert status == 422 and {e["rule"] for e in answer["row_errors"]} == {"mw_numeric", "local_time_exists"}
    live = {"site_id": 99, "dt-stamp": ["2023-01-01 00:00:00"], "soc": [20], "load_kwh": [1.0],
            "net_load_kwh": [0.5], "pv_notification": [False], "bio_notification": [False],
            "cro_notification": [False]}  # fmt: skip
    status, answer = post(server, "site_live_data", live, idempotency="site-wait")
    assert status == 200 and answer["waiting"] == 1, answer
    broken = dict(live, site_id=7, soc=[120])
    status, answer = post(server, "site_live_data", broken, idempotency="site-bad")
    assert status == 422 and {e["rule"] for e in answer["row_errors"]} == {"soc_between_0_and_100"}


def test_quarantine_mode_accepts_and_the_bad_rows_reach_quarantine(server: Server, lake: Lake) -> None:
    rows, _ = BAD_ROWS["solar_readings"]
    status, answer = post(server, "solar_readings", rows, query="?on_error=quarantine", idempotency="q-solar")
    assert status == 200, answer
    assert (answer["rows"], answer["accepted"], answer["quarantined"]) == (10, 1, 9)
    assert answer["landed_as"].startswith("landing/solar_readings/_api/keys/")
    process_pending(lake)
    quarantined = delta.scan(lake, table("quarantine.solar_readings")).collect()
    assert quarantined.filter(quarantined["_source_file"] == answer["landed_as"]).height == 9


def test_the_same_key_twice_or_racing_lands_once(server: Server, lake: Lake) -> None:
    batch = [usage(customer=501), usage(customer=502)]
    first = post(server, "customer_usage", batch, idempotency="twice")
    again = post(server, "customer_usage", batch, idempotency="twice")
    assert first[0] == again[0] == 200
    assert first[1]["batch_id"] == again[1]["batch_id"] and (first[1]["replayed"], again[1]["replayed"]) == (
        False,
        True,
    )
    other = post(server, "customer_usage", [usage(customer=503)], idempotency="twice")
    assert other[0] == 409 and "another body" in other[1]["error"]
    results: list[tuple[int, dict[str, Any]]] = []

    def race() -> None:
        results.append(post(server, "customer_usage", [usage(customer=504)], idempotency="race"))

    racers = [threading.Thread(target=race) for _ in range(4)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert sorted(r[0] for r in results) == [200] * 4
    assert sorted(r[1]["replayed"] for r in results) == [False, True, True, True]
    process_pending(lake)
    silver = delta.scan(lake, table("bronze.customer_usage")).collect()
    assert sorted(silver.filter(silver["customerId"].is_in(["501", "502", "504"]))["customerId"].to_list()) == [
        "501", "502", "504"
    ]  # fmt: skip


def test_a_channel_acknowledges_committed_offsets_as_no_ops(server: Server, lake: Lake) -> None:
    status, _, answer = server.call_raw(
        "PUT", "/v1/ingest/solar_readings/channels/ctrl", "ingest:solar_readings", None, {}
    )
    assert status == 200 and json.loads(answer)["committed_offset"] is None
    for offset, site in ((0, "C0"), (1, "C1"), (1, "C1"), (0, "C0"), (5, "C5")):
        status, body = post(
            server, "solar_readings", [solar(site=site)], query=f"?channel=ctrl&offset={offset}", idempotency=None
        )
        assert status == 200, body
    status, _, answer = server.call_raw(
        "PUT", "/v1/ingest/solar_readings/channels/ctrl", "ingest:solar_readings", None, {}
    )
    assert json.loads(answer)["committed_offset"] == 5
    files = sorted(p.name for p in (Path(lake.root) / "landing/solar_readings/_api/channels/ctrl").iterdir())
    assert files == ["00000000000000000000.json", "00000000000000000001.json", "00000000000000000005.json"]


@pytest.mark.parametrize(
    ("headers", "body", "key", "status", "message"),
    [
        ({"Content-Type": "application/xml"}, b"<a/>", "ingest:solar_readings", 415, "Content-Type"),
        ({"Content-Type": "text/csv"}, b"site_id,timestamp\nS1,x\n", "ingest:solar_readings", 400,
         "missing required column"),
        ({"Content-Type": "text/csv"}, b"site_id,timestamp,energy_generated_kwh,energy_consumed_kwh\n\xff,x,1,1\n",
         "ingest:solar_readings", 400, "not valid UTF-8"),
        ({"Content-Type": "application/json"}, b"[{", "ingest:solar_readings", 400, "not valid JSON"),
        ({"Content-Type": "application/json"}, b"[]", "operator", 403, "ingest:solar_readings"),
        ({"Content-Type": "application/json"}, b"[]", "ingest:customer_usage", 403, "ingest:solar_readings"),
        ({"Content-Type": "application/json"}, b"[]", "nope", 401, "missing or invalid API key"),
    ],
)  # fmt: skip
def test_bad_requests_are_refused_with_a_reason(
    server: Server, headers: dict[str, str], body: bytes, key: str, status: int, message: str
) -> None:
    got, _, answer = server.call_raw(
        "POST", "/v1/ingest/solar_readings", key, body, {**headers, "Idempotency-Key": "x"}
    )
    assert got == status and message in json.loads(answer)["error"], answer


def test_a_body_over_ten_megabytes_is_413_and_a_missing_identity_400(server: Server) -> None:
    # The service answers as soon as it sees the size, before the body: a client that sends the
    # headers and then reads gets the 413 (one that keeps writing meets a closed connection).
    connection = http.client.HTTPConnection(server.url.removeprefix("http://"), timeout=30)
    connection.putrequest("POST", "/v1/ingest/solar_readings")
    for name, value in (("X-API-Key", server.keys["ingest:solar_readings"]), ("Content-Type", "application/json"),
                        ("Idempotency-Key", "huge"), ("Content-Length", str(11 << 20))):  # fmt: skip
        connection.putheader(name, value)
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413 and "at most 10,485,760" in json.loads(response.read())["error"]
    connection.close()
    status, answer_ = post(server, "solar_readings", [solar()], idempotency=None)
    assert status == 400 and "Idempotency-Key" in answer_["error"]


def test_a_posted_batch_reaches_gold_like_the_same_rows_dropped_as_a_file(server: Server, tmp_path: Path) -> None:
    """Posted through the endpoint on one lake, dropped as a file on another: the same gold."""
    rows = [
        solar(site=f"G{i % 3}", ts=f"2025-06-03T{10 + i // 3:02d}:00:00Z", gen=float(i), con=0.25) for i in range(12)
    ]
    status, answer = post(server, "solar_readings", rows, idempotency="gold")
    assert status == 200, answer
    process_pending(server.lake)
    dropped = Lake.from_env(str(tmp_path / "dropped"))
    (Path(dropped.root) / "landing" / "solar_readings").mkdir(parents=True)
    (Path(dropped.root) / "landing" / "solar_readings" / "batch.json").write_text(json.dumps(rows))
    process_pending(dropped)

    def gold(lake: Lake) -> list[tuple]:
        frame = delta.scan(lake, table("gold.solar_site_daily")).collect()
        frame = frame.filter(frame["site_id"].str.starts_with("G")).sort("site_id")
        return frame.select("site_id", "date", "readings", "generated_kwh", "consumed_kwh").rows()

    assert gold(server.lake) == gold(dropped) and len(gold(dropped)) == 3


def test_a_server_killed_mid_stream_loses_and_duplicates_nothing(lake: Lake, tmp_path: Path) -> None:
    """A producer posts 60 batches with retries while the server is killed (-9) and restarted:
    bronze holds exactly the rows of the batches the producer was told were stored."""
    keys = {"ingest:customer_usage": KeyStore(lake).create(["ingest:customer_usage"])[1]}
    told: dict[str, int] = {}
    batches = {f"kill-{n}": [usage(customer=10_000 + n, kwh=float(n))] for n in range(60)}
    pending = list(batches)
    with serve(lake, keys, tmp_path) as first:
        for name in pending[:30]:
            status, answer = post(first, "customer_usage", batches[name], idempotency=name)
            assert status == 200
            told[name] = answer["rows"]
        first.process.send_signal(signal.SIGKILL)
        first.process.wait()
    # The last answer before the kill may have been lost: the producer sends it again, with the rest.
    with serve(lake, keys, tmp_path) as second:
        for name in pending[29:]:
            status, answer = post(second, "customer_usage", batches[name], idempotency=name)
            assert status == 200
            told[name] = answer["rows"]
    process_pending(lake)
    bronze = delta.scan(lake, table("bronze.customer_usage")).collect()
    mine = bronze.filter(bronze["customerId"].cast(int, strict=False) >= 10_000)
    assert mine.height == sum(told.values()) == 60
    assert mine["customerId"].n_unique() == 60
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_the_generator_posts_batches_and_a_second_run_lands_nothing_twice(server: Server, lake: Lake) -> None:
    command = [
        str(Path(sys.executable).parent / "gridlake"), "generate", "solar", "--lake", lake.root,
        "--post", f"{server.url}/v1/ingest/solar_readings", "--start", "2025-06-05T00:00:00Z",
        "--continuous", "--max-batches", "3", "--no-wait", "--every", "5m",
    ]  # fmt: skip
    env = {**os.environ, "GRIDLAKE_API_KEY": server.keys["ingest:solar_readings"]}
    for _ in range(2):
        out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "posted 3 batch(es)" in out.stdout
    posted = list((Path(lake.root) / "landing" / "solar_readings" / "_api" / "keys").iterdir())
    before = len(posted)
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and len(list((Path(lake.root) / "landing/solar_readings/_api/keys").iterdir())) == before
    refused = subprocess.run([*command[:-6], "--max-batches", "1"], env={**env, "GRIDLAKE_API_KEY": "nope"},
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert refused.returncode == 1 and "refused" in refused.stderr and "401" in refused.stderr
