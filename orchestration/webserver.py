"""The Dagster webserver `gridlake ui` starts: Dagster's own app for the code location, behind a
guard, served by uvicorn on loopback.

Bound to 127.0.0.1, the UI is still reachable from any web page open in a browser on the same
machine. Dagster's webserver answers GraphQL mutations sent by GET and accepts any Host header,
so such a page could launch runs or wipe assets with a plain GET, or through DNS rebinding
(a hostile name resolved to 127.0.0.1). The guard refuses, before Dagster sees them:

* a Host header other than the addresses it serves (127.0.0.1, localhost, [::1] on its port,
  plus GRIDLAKE_UI_HOSTS): DNS rebinding;
* an Origin header (sent by browsers with cross-site requests and WebSocket handshakes) other
  than those addresses: a foreign page's POST or subscription;
* a GraphQL mutation sent by GET (the UI itself sends them by POST).

What it does not do (docs/operations.md): authenticate users. Anyone who can open a connection to
the port, any local account included, can use the UI."""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


class Guard:
    """ASGI middleware: the checks of this module's docstring, in front of `app`."""

    def __init__(self, app: App, port: int, extra_hosts: tuple[str, ...] = ()) -> None:
        self.app = app
        self.hosts = {f"{h}:{port}" for h in LOOPBACK} | {h.lower() for h in extra_hosts}
        self.origins = {f"http://{h}" for h in self.hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": refusal})
        else:
            status, text = refusal.split(" ", 1)
            body = json.dumps({"error": text}).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": int(status), "headers": headers})
            await send({"type": "http.response.body", "body": body})

    def refusal(self, scope: Scope) -> str | None:
        """`"<status> <reason>"` for a request the guard refuses, else None."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if headers.get("host", "").lower() not in self.hosts:
            return "403 unknown Host header: open the UI at http://127.0.0.1:<port>"
        origin = headers.get("origin")
        if origin is not None and origin.lower() not in self.origins:
            return "403 cross-site request refused"
        if (
            scope["type"] == "http"
            and scope.get("method") in ("GET", "HEAD")
            and scope.get("path", "").rstrip("/").endswith("/graphql")
            and _has_mutation(scope.get("query_string", b""))
        ):
            return "405 GraphQL mutations must be sent by POST"
        return None


def _has_mutation(query_string: bytes) -> bool:
    from graphql import OperationDefinitionNode, OperationType, parse
    from graphql.error import GraphQLError

    documents = parse_qs(query_string.decode("latin-1")).get("query", [])
    for text in documents:
        try:
            document = parse(text)
        except GraphQLError:
            continue  # not a document Dagster would run either
        for node in document.definitions:
            if isinstance(node, OperationDefinitionNode) and node.operation != OperationType.QUERY:
                return True
    return False


def serve(module: str, host: str, port: int) -> None:
    """Dagster's webserver for `module`'s definitions, behind the guard (blocks)."""
    import uvicorn
    from dagster import DagsterInstance
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import ModuleTarget
    from dagster_webserver.app import create_app_from_workspace_process_context
    from dagster_webserver.version import __version__

    target = ModuleTarget(module_name=module, attribute=None, working_directory=None, location_name=None)
    from warehouse.settings import Settings

    extra = tuple(h.strip() for h in Settings.load().ui_hosts.split(",") if h.strip())
    with (
        DagsterInstance.get() as instance,
        WorkspaceProcessContext(instance, target, version=__version__) as context,
    ):
        app = create_app_from_workspace_process_context(context)
        uvicorn.run(Guard(app, port, extra), host=host, port=port, log_level="warning")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--module", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    serve(args.module, args.host, args.port)


if __name__ == "__main__":
    main()
