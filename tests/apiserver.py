"""A real `gridlake serve` process for tests: a free loopback port, the lake's keys, a log file
to grep, and a small HTTP client (urllib) that returns status, headers (lower-cased) and body."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestration.service import free_port
from warehouse.lake import Lake

GRIDLAKE = str(Path(sys.executable).parent / "gridlake")


@dataclass
class Server:
    url: str
    lake: Lake
    keys: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes]

    def get(self, path: str, key: str | None = None, **headers: str) -> tuple[int, dict[str, str], bytes]:
        return self.call("GET", path, key, None, headers)

    def call(
        self, method: str, path: str, key: str | None, body: Any, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        sent = {**(headers or {})}
        if key is not None:
            sent["X-API-Key"] = self.keys.get(key, key)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        request = urllib.request.Request(self.url + path, data=data, headers=sent, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, _lower(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, _lower(error.headers), error.read()

    def call_raw(
        self, method: str, path: str, key: str | None, data: bytes | None, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        """A request with a body of bytes as they are (ingest)."""
        sent = {**headers}
        if key is not None:
            sent["X-API-Key"] = self.keys.get(key, key)
        request = urllib.request.Request(self.url + path, data=data, headers=sent, method=method)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, _lower(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, _lower(error.headers), error.read()

    def json(self, path: str, key: str = "admin") -> dict[str, Any]:
        status, _, body = self.get(path, key)
        assert status == 200, (path, status, body[:500])
        return json.loads(body)


def _lower(headers: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


@contextmanager
def serve(lake: Lake, keys: dict[str, str], base: Path, **env: str) -> Iterator[Server]:
    """`gridlake serve` for `lake` on a free port until the block ends."""
    port = free_port()
    log = base / f"serve-{port}.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("GRIDLAKE_", "DAGSTER_"))}
    environment |= {"GRIDLAKE_STATE": os.environ.get("GRIDLAKE_STATE", str(base / "state")), **env}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [GRIDLAKE, "serve", "--lake", lake.root, "--port", str(port)],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(url + "/openapi.json", timeout=5):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"gridlake serve did not come up: {log.read_text()[-2000:]}") from None
            time.sleep(0.2)
    try:
        yield Server(url, lake, keys, log, process)
    finally:
        process.terminate()
        process.wait(30)
