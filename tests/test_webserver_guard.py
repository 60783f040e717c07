"""The guard in front of the Dagster webserver (orchestration/webserver.py), request by request;
tests/test_cli_outside_repo.py sends the same requests to a running `gridlake ui`."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from orchestration.webserver import Guard

GUARD = Guard(app=None, port=3000, extra_hosts=("dagster.internal:443",))  # type: ignore[arg-type]


def scope(method: str = "POST", path: str = "/graphql", query: str = "", **headers: str) -> dict:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query.encode(),
        "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
    }


@pytest.mark.parametrize(
    ("request_scope", "status"),
    [
        (scope(host="127.0.0.1:3000"), None),
        (scope(host="localhost:3000", origin="http://localhost:3000"), None),
        (scope(host="dagster.internal:443"), None),
        (scope(host="127.0.0.1:3001"), "403"),
        (scope(host="evil.example:3000"), "403"),
        (scope(), "403"),  # no Host at all
        (scope(host="127.0.0.1:3000", origin="http://evil.example"), "403"),
        (scope(host="127.0.0.1:3000", origin="null"), "403"),
        (scope("GET", query="query=" + quote("mutation { wipeAssets { __typename } }"), host="127.0.0.1:3000"), "405"),
        (scope("GET", query="query=" + quote("mutation W { x }") + "&operationName=W", host="localhost:3000"), "405"),
        (scope("HEAD", query="query=" + quote("subscription { x }"), host="localhost:3000"), "405"),
        (scope("GET", query="query=" + quote("{ version }"), host="127.0.0.1:3000"), None),
        (scope("GET", query="query=" + quote("{ broken"), host="127.0.0.1:3000"), None),
        (scope("POST", query="query=" + quote("mutation { x }"), host="127.0.0.1:3000"), None),
        (scope("GET", path="/assets", query="query=" + quote("mutation { x }"), host="127.0.0.1:3000"), None),
    ],
)
def test_the_guard_refuses_what_a_foreign_page_could_send(request_scope: dict, status: str | None) -> None:
    refusal = GUARD.refusal(request_scope)
    assert (refusal.split(" ", 1)[0] if refusal else None) == status
