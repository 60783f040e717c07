"""The dashboard (`/dashboard`): server-rendered pages with Plotly served by the service itself,
so they work with no internet. Sign-in is a form that takes an API key and opens a session (an
HttpOnly, SameSite=Strict cookie holding a random token, never the key); each panel shows what
the key's scopes allow: a customer's daily usage and cost, park energy by day and type, battery
state of charge, solar generation against consumption with anomalies marked, completeness (per
source, the series with gaps on its latest date), and the ten most volatile coin pairs with the
top one over 24 hours."""

import datetime as dt
import json
from pathlib import Path
from typing import Any

import jinja2
import plotly
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.auth import SESSION_COOKIE, SESSION_SECONDS, Gate
from warehouse import reads
from warehouse.keys import ApiKey, KeyStore
from warehouse.serving import Engine

STATIC = Path(plotly.__file__).parent / "package_data"
_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
)


def _series(frame: Any, *columns: str) -> dict[str, list[Any]]:
    return {
        c: [v.isoformat() if isinstance(v, dt.date | dt.datetime) else v for v in frame[c].to_list()] for c in columns
    }


def panels(engine: Engine, key: ApiKey, customer: str | None) -> list[dict[str, Any]]:
    """The charts this key may see, each a title and Plotly traces."""
    out: list[dict[str, Any]] = []
    customers = sorted(key.customers)
    chosen = customer if customer and ("admin" in key.scopes or customer in customers) else None
    chosen = chosen or (
        customers[0] if customers else (reads.first_customer(engine) if "admin" in key.scopes else None)
    )
    if chosen is not None:
        days = reads.customer_days(engine, chosen).frame
        if days.height:
            data = _series(days, "start", "usage_kwh", "cost")
            out.append(
                {
                    "title": f"Customer {chosen}: daily usage (kWh) and cost",
                    "traces": [
                        {"type": "bar", "name": "usage kWh", "x": data["start"], "y": data["usage_kwh"]},
                        {"type": "scatter", "name": "cost", "x": data["start"], "y": data["cost"], "yaxis": "y2"},
                    ],
                    "layout": {"yaxis2": {"overlaying": "y", "side": "right", "title": "cost"}},
                }
            )
    if key.allows("operator"):
        energy = reads.energy_by_type(engine).frame
        if energy.height:
            out.append(
                {
                    "title": "Park energy by day and type (MWh)",
                    "traces": [
                        {"type": "bar", "name": kind, **_xy(energy.filter(energy_type=kind), "date", "energy_mwh")}
                        for kind in sorted(set(energy["energy_type"].to_list()))
                    ],
                    "layout": {"barmode": "stack"},
                }
            )
        charge = reads.site_charge(engine).frame
        if charge.height:
            out.append(
                {
                    "title": "Battery state of charge, last day (%)",
                    "traces": [
                        {"type": "scatter", "mode": "lines", "name": f"site {site}", **_xy(part, "dt_stamp", "soc")}
                        for (site,), part in charge.group_by("site_id", maintain_order=True)
                    ],
                    "layout": {},
                }
            )
        solar = reads.solar_day(engine).frame
        if solar.height:
            marked = solar.filter(solar["anomalies"] > 0)
            out.append(
                {
                    "title": "Solar generation and consumption, last day (kWh, all sites); anomalies marked",
                    "traces": [
                        {"type": "scatter", "mode": "lines", "name": "generated", **_xy(solar, "ts", "generated_kwh")},
                        {"type": "scatter", "mode": "lines", "name": "consumed", **_xy(solar, "ts", "consumed_kwh")},
                        {
                            "type": "scatter",
                            "mode": "markers",
                            "name": "anomalous readings",
                            "marker": {"color": "red", "size": 9, "symbol": "x"},
                            **_xy(marked, "ts", "generated_kwh"),
                        },
                    ],
                    "layout": {},
                }
            )
        latest = reads.latest_coverage(engine).frame
        if latest.height:
            labels = [f"{s}<br>{d.isoformat()}" for s, d in latest.select("source", "date").iter_rows()]
            gapped, series = latest["with_gaps"].to_list(), latest["series"].to_list()
            out.append(
                {
                    "title": "Completeness: series with gaps of all series, each source's latest date",
                    "traces": [
                        {
                            "type": "bar",
                            "name": "with gaps",
                            "x": labels,
                            "y": gapped,
                            "text": [f"{g} / {n}" for g, n in zip(gapped, series, strict=True)],
                            "marker": {"color": "#d62728"},
                        },
                        {
                            "type": "bar",
                            "name": "complete",
                            "x": labels,
                            "y": [n - g for g, n in zip(gapped, series, strict=True)],
                            "marker": {"color": "#2ca02c"},
                        },
                    ],
                    "layout": {"barmode": "stack", "yaxis": {"title": {"text": "series"}}},
                }
            )
    if key.allows("market"):
        top = reads.volatility_ranking(engine, True, 10, 1).frame
        if top.height:
            out.append(
                {
                    "title": "Most volatile pairs, 24-hour standard deviation",
                    "traces": [{"type": "bar", **_xy(top, "pair", "stddev_24h")}],
                    "layout": {},
                }
            )
            day = reads.pair_day(engine, top["pair"][0]).frame
            if day.height:
                out.append(
                    {
                        "title": f"{top['pair'][0]} over 24 hours: price and volatility",
                        "traces": [
                            {"type": "scatter", "mode": "lines", "name": "price", **_xy(day, "time", "value")},
                            {
                                "type": "scatter",
                                "mode": "lines",
                                "name": "stddev 24h",
                                "yaxis": "y2",
                                **_xy(day, "time", "stddev_24h"),
                            },
                        ],
                        "layout": {"yaxis2": {"overlaying": "y", "side": "right"}},
                    }
                )
    return out


def _xy(frame: Any, x: str, y: str) -> dict[str, list[Any]]:
    data = _series(frame, x, y)
    return {"x": data[x], "y": data[y]}


def install(app: FastAPI, engine: Engine, gate: Gate, store: KeyStore) -> None:
    @app.get("/dashboard", include_in_schema=False, response_model=None)
    def page(request: Request, customer: str | None = None) -> Response:
        try:
            key = gate.key(request, cookie=True)
        except Exception:
            # The sign-in page itself, not an error: a browser shows it as any page.
            return HTMLResponse(_TEMPLATES.get_template("login.html.j2").render(error=None))
        charts = panels(engine, key, customer)
        html = _TEMPLATES.get_template("dashboard.html.j2").render(
            key=key, charts=charts, charts_json=json.dumps(charts, default=str)
        )
        return HTMLResponse(html)

    @app.post("/dashboard/login", include_in_schema=False)
    def login(key: str = Form("")) -> Response:
        found = store.verify(key)
        if found is None:
            page = _TEMPLATES.get_template("login.html.j2").render(error="That key is not valid.")
            return HTMLResponse(page, status_code=401)
        response = RedirectResponse("/dashboard", status_code=303)
        token = gate.sessions.open(found)
        response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_SECONDS, httponly=True, samesite="strict", path="/")
        return response

    @app.post("/dashboard/logout", include_in_schema=False)
    def logout(request: Request) -> Response:
        gate.sessions.close(request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/dashboard", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
