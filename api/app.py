"""The HTTP service: read endpoints over the gold and silver tables, an administrator's SQL
endpoint, the dashboard, and OpenAPI docs at /docs (served from the installed Swagger UI, no
internet needed). Routes are thin: they check the key (api/auth.py), parse parameters
(api/responses.py) and hand typed arguments to warehouse/reads.py."""

import logging
import secrets
import threading
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import duckdb
from fastapi import Body, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import dashboard
from api.auth import Gate, Limiter, Sessions
from api.responses import Cursors, bad, day, fmt, instant, json_text, ordered, page_size, respond
from warehouse import ingest as ingest_
from warehouse import query as door
from warehouse import reads
from warehouse.datasets import DATASETS
from warehouse.gaps import UnknownSource, check_source
from warehouse.keys import KeyStore
from warehouse.lake import Lake
from warehouse.registry import Table
from warehouse.serving import Engine
from warehouse.stages.gold_completeness import COMPLETENESS, GAPS

log = logging.getLogger("gridlake.api")
# FastAPI reads route parameters from their annotations, evaluated here (no postponed annotations
# in this module: the routes are closures over the service's engine and keys).
From = Annotated[str | None, Query(alias="from", description="First date, YYYY-MM-DD.")]
To = Annotated[str | None, Query(description="Day after the last date, YYYY-MM-DD (exclusive).")]
Size = Annotated[int | None, Query(alias="page_size", description="Rows per page, 1 to 10,000 (100).")]
Format = Annotated[str | None, Query(alias="format", description="json (default), csv or parquet.")]
Series = Annotated[
    str | None,
    Query(description="One series: a customer id, park, site, pair, or 'all'; default every series the key reads."),
]


def _secret(lake: Lake) -> bytes:
    """The key cursors are signed with: random, made once per lake state, never sent."""
    path = lake.state_folder() / "api_secret"
    if not path.exists():
        partial = path.with_name(f".api_secret.{uuid.uuid4().hex}")
        partial.write_bytes(secrets.token_bytes(32))
        partial.chmod(0o600)
        partial.replace(path)
    return path.read_bytes()


def _warm_validation() -> None:
    from expectations import gx_runtime

    gx_runtime.runtime()


def create_app(lake: Lake) -> FastAPI:
    settings = lake.settings
    engine = Engine(lake, timeout=settings.api_timeout_seconds)
    store = KeyStore(lake)
    gate = Gate(store, Limiter(settings.api_rate_per_second, settings.api_burst), Sessions())
    cursors = Cursors(_secret(lake))
    app = FastAPI(
        title="gridlake",
        version="1",
        summary="Energy and market time series from the gridlake lakehouse.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.engine, app.state.gate, app.state.store = engine, gate, store
    # Great Expectations takes seconds to load: loaded now, beside start-up, not by the first batch.
    threading.Thread(target=_warm_validation, name="gridlake-warm-gx", daemon=True).start()
    swagger = Path(__import__("swagger_ui_bundle").swagger_ui_path)
    app.mount("/static/swagger", StaticFiles(directory=swagger), name="swagger")
    app.mount("/static/dashboard", StaticFiles(directory=dashboard.STATIC), name="dashboard-static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="gridlake API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon-32x32.png",
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {e['msg']}" for e in error.errors()]
        return JSONResponse({"error": "; ".join(problems)}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def refused(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": error.detail}, status_code=error.status_code, headers=error.headers)

    @app.exception_handler(Exception)
    async def failed(request: Request, error: Exception) -> JSONResponse:
        incident = uuid.uuid4().hex[:12]
        log.exception("request %s %s failed (incident %s)", request.method, request.url.path, incident)
        return JSONResponse({"error": f"internal error (incident {incident})"}, status_code=500)

    def paged(result: reads.Result, question: str, form: str, extra: dict[str, Any] | None = None) -> Response:
        next_cursor = cursors.make(question, result.after) if result.after else None
        return respond(result, form, next_cursor, extra)

    # Customers -------------------------------------------------------------------------------

    @app.get("/v1/customers/{customer}/usage", tags=["customers"])
    def customer_usage(
        request: Request,
        customer: str,
        start: Annotated[str | None, Query(alias="from", description="Inclusive, ISO-8601 with an offset.")] = None,
        to: Annotated[str | None, Query(description="Exclusive, ISO-8601 with an offset.")] = None,
        interval: Annotated[str, Query(description="5m, 1h, 1d or 1M.")] = "1h",
        size: Annotated[int | None, Query(alias="page_size")] = None,
        cursor: str | None = None,
        form: Annotated[str | None, Query(alias="format", description="json, csv or parquet.")] = None,
    ) -> Response:
        """A customer's usage (kWh), cost, mean price and completeness per interval or bucket."""
        key = gate.key(request)
        gate.customer(key, customer)
        if interval not in reads.INTERVALS:
            raise bad(f"interval={interval!r}: one of {', '.join(reads.INTERVALS)}")
        begin, end = instant("from", start), instant("to", to)
        ordered(begin, end, reads.INTERVALS[interval].cap, f" at interval={interval}")
        rows, form_ = page_size(size), fmt(form)
        question = f"usage|{customer}|{begin}|{end}|{interval}"
        result = reads.usage(engine, customer, begin, end, interval, rows, cursors.read(question, cursor))
        return paged(result, question, form_, {"customer_id": customer, "interval": interval})

    # Parks -----------------------------------------------------------------------------------

    @app.get("/v1/parks", tags=["parks"])
    def park_register(request: Request, form: Annotated[str | None, Query(alias="format")] = None) -> Response:
        """The park register in force."""
        gate.require(gate.key(request), "operator")
        return respond(reads.parks(engine), fmt(form))

    @app.get("/v1/parks/{park}/readings", tags=["parks"])
    def park_readings(
        request: Request,
        park: str,
        start: Annotated[str | None, Query(alias="from", description="Park-local time, no offset.")] = None,
        to: Annotated[str | None, Query(description="Park-local time, no offset (exclusive).")] = None,
        size: Annotated[int | None, Query(alias="page_size")] = None,
        cursor: str | None = None,
        form: Annotated[str | None, Query(alias="format")] = None,
    ) -> Response:
        """One park's readings between two times of the park's own clock."""
        gate.require(gate.key(request), "operator")
        begin, end = instant("from", start, offset=False), instant("to", to, offset=False)
        ordered(begin, end, reads.INTERVALS["1h"].cap)
        rows, form_ = page_size(size), fmt(form)
        question = f"park|{park}|{begin}|{end}"
        result = reads.park_readings(engine, park, begin, end, rows, cursors.read(question, cursor))
        return paged(result, question, form_, {"park_name": park})

    def dated(
        name: str,
        read: Any,
        start: str | None,
        to: str | None,
        only: Any,
        size: int | None,
        cursor: str | None,
        form: str | None,
        extra: dict[str, Any] | None = None,
    ) -> Response:
        """A list by date: dates [from, to), one optional filter (part of the cursor's question), paged."""
        begin, end = day("from", start), day("to", to)
        ordered(begin, end, reads.INTERVALS["1d"].cap)
        rows, form_ = page_size(size), fmt(form)
        question = f"{name}|{begin}|{end}|{only}"
        return paged(read(engine, begin, end, only, rows, cursors.read(question, cursor)), question, form_, extra)

    def daily(
        request: Request,
        name: str,
        read: Any,
        scope: str,
        start: str | None,
        to: str | None,
        only: str | None,
        size: int | None,
        cursor: str | None,
        form: str | None,
    ) -> Response:
        """A daily-stats list: the key needs `scope`."""
        gate.require(gate.key(request), scope)
        return dated(name, read, start, to, only, size, cursor, form)

    @app.get("/v1/parks/daily", tags=["parks"])
    def park_daily(
        request: Request,
        start: From = None,
        to: To = None,
        park: str | None = None,
        size: Size = None,
        cursor: str | None = None,
        form: Format = None,
    ) -> Response:
        """Daily stats per park (energy, power range, completeness) in park-local days."""
        return daily(request, "parks/daily", reads.park_daily, "operator", start, to, park, size, cursor, form)

    @app.get("/v1/energy-types/daily", tags=["parks"])
    def energy_type_daily(
        request: Request,
        start: From = None,
        to: To = None,
        energy_type: str | None = None,
        size: Size = None,
        cursor: str | None = None,
        form: Format = None,
    ) -> Response:
        """Daily stats per energy type (Wind, Solar)."""
        read = reads.energy_type_daily
        return daily(request, "types/daily", read, "operator", start, to, energy_type, size, cursor, form)

    # Battery sites ---------------------------------------------------------------------------

    @app.get("/v1/sites", tags=["sites"])
    def site_register(request: Request, form: Annotated[str | None, Query(alias="format")] = None) -> Response:
        """The site register."""
        gate.require(gate.key(request), "operator")
        return respond(reads.sites(engine), fmt(form))

    @app.get("/v1/sites/latest", tags=["sites"])
    def sites_latest(
        request: Request,
        ids: Annotated[str | None, Query(description="Comma-separated site ids; default all.")] = None,
        form: Annotated[str | None, Query(alias="format")] = None,
    ) -> Response:
        """The latest reading and the configuration in force of one or many sites."""
        gate.require(gate.key(request), "operator")
        chosen = [i.strip() for i in (ids or "").split(",") if i.strip()]
        return respond(reads.site_latest(engine, chosen or None), fmt(form))

    @app.get("/v1/sites/{site}/configurations", tags=["sites"])
    def site_configurations(
        request: Request, site: str, form: Annotated[str | None, Query(alias="format")] = None
    ) -> Response:
        """A site's configuration history (valid_from, valid_to, is_current)."""
        gate.require(gate.key(request), "operator")
        return respond(reads.site_configurations(engine, site), fmt(form), extra={"site_id": site})

    @app.get("/v1/sites/{site}/telemetry", tags=["sites"])
    def site_telemetry(
        request: Request,
        site: str,
        start: Annotated[str | None, Query(alias="from")] = None,
        to: str | None = None,
        size: Annotated[int | None, Query(alias="page_size")] = None,
        cursor: str | None = None,
        form: Annotated[str | None, Query(alias="format")] = None,
    ) -> Response:
        """A site's 10-minute readings in a UTC range."""
        gate.require(gate.key(request), "operator")
        begin, end = instant("from", start), instant("to", to)
        ordered(begin, end, reads.INTERVALS["1h"].cap)
        rows, form_ = page_size(size), fmt(form)
        question = f"telemetry|{site}|{begin}|{end}"
        result = reads.site_telemetry(engine, site, begin, end, rows, cursors.read(question, cursor))
        return paged(result, question, form_, {"site_id": site})

    @app.get("/v1/sites/daily", tags=["sites"])
    def site_daily(
        request: Request,
        start: From = None,
        to: To = None,
        site: str | None = None,
        size: Size = None,
        cursor: str | None = None,
        form: Format = None,
    ) -> Response:
        """Daily stats per battery site (state of charge, load, notifications, battery in force)."""
        return daily(request, "sites/daily", reads.site_daily, "operator", start, to, site, size, cursor, form)

    # Solar -----------------------------------------------------------------------------------

    @app.get("/v1/solar/sites/{site}/readings", tags=["solar"])
    def solar_readings(
        request: Request,
        site: str,
        start: Annotated[str | None, Query(alias="from")] = None,
        to: str | None = None,
        anomalies: Annotated[str | None, Query(description="'only': the anomalous readings.")] = None,
        size: Annotated[int | None, Query(alias="page_size")] = None,
        cursor: str | None = None,
        form: Annotated[str | None, Query(alias="format")] = None,
    ) -> Response:
        """A solar site's readings in a UTC range; anomalies=only for the anomalous ones."""
        gate.require(gate.key(request), "operator")
        if anomalies not in (None, "only"):
            raise bad(f"anomalies={anomalies!r}: 'only', or leave it out")
        begin, end = instant("from", start), instant("to", to)
        ordered(begin, end, reads.INTERVALS["1h"].cap)
        rows, form_ = page_size(size), fmt(form)
        question = f"solar|{site}|{begin}|{end}|{anomalies}"
        after = cursors.read(question, cursor)
        result = reads.solar_readings(engine, site, begin, end, anomalies == "only", rows, after)
        return paged(result, question, form_, {"site_id": site})

    @app.get("/v1/solar/sites/{site}/anomalies", tags=["solar"])
    def solar_site_anomalies(
        request: Request,
        site: str,
        size: Annotated[int | None, Query(alias="page_size")] = None,
        cursor: str | None = None,
        form: Annotated[str | None, Query(alias="format")] = None,
    ) -> Response:
        """Every anomalous reading of a solar site, with its reasons."""
        gate.require(gate.key(request), "operator")
        rows, form_ = page_size(size), fmt(form)
        question = f"anomalies|{site}"
        result = reads.solar_anomalies(engine, site, rows, cursors.read(question, cursor))
        return paged(result, question, form_, {"site_id": site})

    @app.get("/v1/solar/daily", tags=["solar"])
    def solar_daily(
        request: Request,
        start: From = None,
        to: To = None,
        site: str | None = None,
        size: Size = None,
        cursor: str | None = None,
        form: Format = None,
    ) -> Response:
        """Daily figures per solar site (readings, energy, anomalies counted, not summed)."""
        return daily(request, "solar/daily", reads.solar_daily, "operator", start, to, site, size, cursor, form)

    # Markets ---------------------------------------------------------------------------------

    @app.get("/v1/markets/volatility", tags=["markets"])
    def volatility(
        request: Request,
        order: Annotated[str, Query(description="volatility_desc (default) or volatility_asc.")] = "volatility_desc",
        per_page: int = 100,
        page: int = 1,
        form: Annotated[str | None, Query(alias="format")] = None,
    ) -> Response:
        """Pairs ranked by their latest 24-hour volatility."""
        gate.require(gate.key(request), "market")
        if order not in ("volatility_desc", "volatility_asc"):
            raise bad(f"order={order!r}: volatility_desc or volatility_asc")
        per_page_ = page_size(per_page)
        if page < 1:
            raise bad(f"page={page}: from 1")
        result = reads.volatility_ranking(engine, order == "volatility_desc", per_page_, page)
        return respond(result, fmt(form), extra={"order": order, "page": page, "per_page": per_page_})

    @app.get("/v1/markets/pairs/{base}/{quote}", tags=["markets"])
    def pair(
        request: Request,
        base: str,
        quote: str,
        start: Annotated[str | None, Query(alias="from")] = None,
        to: str | None = None,
        size: Annotated[int | None, Query(alias="page_size")] = None,
        cursor: str | None = None,
        form: Annotated[str | None, Query(alias="format")] = None,
    ) -> Response:
        """One pair's samples with their 24-hour volatility and rank, in a UTC range."""
        gate.require(gate.key(request), "market")
        begin, end = instant("from", start), instant("to", to)
        ordered(begin, end, reads.INTERVALS["5m"].cap)
        name = f"{base}/{quote}".lower()
        rows, form_ = page_size(size), fmt(form)
        question = f"pair|{name}|{begin}|{end}"
        result = reads.pair_history(engine, name, begin, end, rows, cursors.read(question, cursor))
        return paged(result, question, form_, {"pair": name})

    # Completeness ----------------------------------------------------------------------------

    def per_source(
        request: Request,
        t: Table,
        source: str,
        start: str | None,
        to: str | None,
        series: str | None,
        size: int | None,
        cursor: str | None,
        form: str | None,
    ) -> Response:
        """Rows of `t` for one source, dates [from, to), the series the key reads (api/auth.py)."""
        chosen = gate.series(gate.key(request), source, series)
        try:
            check_source(source)
        except UnknownSource as unknown:
            raise StarletteHTTPException(404, str(unknown)) from None

        def read(engine: Engine, begin: Any, end: Any, only: Any, rows: int, after: Any) -> reads.Result:
            return reads.source_rows(engine, t, source, begin, end, only, rows, after)

        return dated(f"{t.qualified}|{source}", read, start, to, chosen, size, cursor, form, {"source": source})

    @app.get("/v1/completeness/{source}", tags=["completeness"])
    def completeness(
        request: Request,
        source: str,
        start: From = None,
        to: To = None,
        series: Series = None,
        size: Size = None,
        cursor: str | None = None,
        form: Format = None,
    ) -> Response:
        """Per series and day of one source (customer_usage, energy_prices, park_readings,
        site_live_data, solar_readings, coin_prices): the readings its cadence expects, those
        present, missing, and coverage; by date and series."""
        return per_source(request, COMPLETENESS, source, start, to, series, size, cursor, form)

    @app.get("/v1/gaps/{source}", tags=["completeness"])
    def gaps(
        request: Request,
        source: str,
        start: From = None,
        to: To = None,
        series: Series = None,
        size: Size = None,
        cursor: str | None = None,
        form: Format = None,
    ) -> Response:
        """Every run of missing readings of one source's series, as [gap_start, gap_end), by date,
        series and gap_start."""
        return per_source(request, GAPS, source, start, to, series, size, cursor, form)

    # Administration --------------------------------------------------------------------------

    @app.post("/v1/sql", tags=["admin"])
    def sql(
        request: Request,
        query: Annotated[str, Body(embed=True, description="One read-only query (as gridlake sql).")],
        limit: Annotated[int, Body(embed=True)] = 1000,
    ) -> Response:
        """One read-only query on the registry views, with the service's time limit and a row limit."""
        gate.require(gate.key(request), "admin")
        rows = page_size(limit)
        try:
            frame = engine.sql(query, rows)
        except door.Refused as refusal:
            raise bad(f"refused (read-only, the lake's tables only): {refusal}") from None
        except door.Cancelled as cancelled:
            return JSONResponse({"error": str(cancelled)}, status_code=408)
        except duckdb.Error as error:
            raise bad(f"query failed: {str(error).splitlines()[0]}") from None
        truncated = frame.height > rows
        body = {"count": min(frame.height, rows), "truncated": truncated, "data": frame.head(rows).to_dicts()}
        return Response(json_text(body), media_type="application/json", headers={"X-Truncated": str(truncated).lower()})

    # Validated ingest -------------------------------------------------------------------------

    @app.post("/v1/ingest/{source}", tags=["ingest"])
    async def ingest(
        request: Request,
        source: str,
        on_error: Annotated[str, Query(description="reject (any bad row: 422, nothing stored) or quarantine.")] = (
            "reject"
        ),
        channel: Annotated[str | None, Query(description="Channel name, with offset (instead of a key).")] = None,
        offset: Annotated[int | None, Query(description="The batch's offset in the channel.")] = None,
    ) -> Response:
        """Post a batch (JSON array, NDJSON or CSV; Content-Type decides; at most 10 MB). It is
        judged by the source's suite at once and, if accepted, stored exactly once under its
        Idempotency-Key header, or its channel and offset; the daemon then refines it."""
        key = gate.key(request)
        gate.require(key, f"ingest:{source}")
        if source not in DATASETS:
            raise StarletteHTTPException(404, f"no source {source!r}; one of {', '.join(DATASETS)}")
        if on_error not in ("reject", "quarantine"):
            raise bad(f"on_error={on_error!r}: reject or quarantine")
        kind = _kind(request.headers.get("content-type", ""))
        body = await _body(request)
        try:
            identity = ingest_.Identity(request.headers.get("idempotency-key"), channel, offset)
            checked = await run_in_threadpool(ingest_.check, lake, DATASETS[source], body, kind)
            if checked.errors and on_error == "reject":
                errors = [asdict(e) for e in checked.errors]
                message = f"{checked.bad_rows} of {checked.rows} rows fail the {source} rules: nothing was stored"
                return Response(json_text({"error": message, "row_errors": errors}), 422, media_type="application/json")
            landed = await run_in_threadpool(ingest_.commit, lake, source, body, kind, identity)
        except ingest_.Refused as refusal:
            raise StarletteHTTPException(refusal.status, str(refusal)) from None
        return Response(json_text(ingest_.summary(checked, landed)), media_type="application/json")

    @app.put("/v1/ingest/{source}/channels/{channel}", tags=["ingest"])
    def open_channel(request: Request, source: str, channel: str) -> Response:
        """Open (or look at) a channel: its last committed offset, null before its first batch."""
        gate.require(gate.key(request), f"ingest:{source}")
        if source not in DATASETS:
            raise StarletteHTTPException(404, f"no source {source!r}; one of {', '.join(DATASETS)}")
        try:
            offset = ingest_.open_channel(lake, source, channel)
        except ingest_.Refused as refusal:
            raise StarletteHTTPException(refusal.status, str(refusal)) from None
        body = {"source": source, "channel": channel, "committed_offset": offset}
        return Response(json_text(body), media_type="application/json")

    dashboard.install(app, engine, gate, store)
    return app


def _kind(content_type: str) -> str:
    media = content_type.split(";")[0].strip().lower()
    kinds = {
        "application/json": "json",
        "application/x-ndjson": "ndjson",
        "application/jsonl": "ndjson",
        "application/ndjson": "ndjson",
        "text/csv": "csv",
    }
    if media not in kinds:
        raise StarletteHTTPException(
            415, f"Content-Type {media or '(none)'!r}: application/json, application/x-ndjson or text/csv"
        )
    return kinds[media]


async def _body(request: Request) -> bytes:
    """The body, refused with 413 past MAX_BODY_BYTES (before reading it when the size is sent)."""
    limit = ingest_.MAX_BODY_BYTES
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise StarletteHTTPException(413, f"the body is {int(declared):,} bytes; at most {limit:,} per batch")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise StarletteHTTPException(413, f"the body is over {limit:,} bytes; at most {limit:,} per batch")
        chunks.append(chunk)
    return b"".join(chunks)
