"""The solar report: one self-contained HTML file (Plotly's JavaScript embedded, so it opens with
no network) for reading the solar sites at a glance.

Sections, over the last `days` UTC days present in the lake (all of them by default):

* headline figures: generated, consumed and net energy, readings, anomalies, anomaly rate;
* a KPI table per site with the same figures (from `gold.solar_site_daily`);
* generation vs consumption per site over time, as mean power (kW) at the site's own cadence
  (inferred from its readings' spacing), averaged over wider buckets only when the span shown
  has more than MAX_POINTS readings; from `silver.solar_readings` without row anomalies;
* net energy per site and day (`gold.solar_site_daily`);
* anomalous readings per day, stacked per site (`gold.solar_anomalies`).

Energy sums exclude anomalous readings, as gold does; `readings` and `anomalies` count them all.
A lake without solar data gets a page that says so. The page is the Jinja2 template
warehouse/templates/solar_report.html.j2 (autoescaped; the charts go in as Plotly's HTML). No
Dagster here: the CLI (`gridlake report
solar`) and the `solar_report` asset both call `write_report`."""

from __future__ import annotations

import datetime as dt
import html
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jinja2
import plotly.graph_objects as go
import plotly.io as pio
import polars as pl
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from transforms.completeness import inferred_cadence
from warehouse import delta
from warehouse.lake import Lake
from warehouse.registry import table

READINGS = table("silver.solar_readings")
DAILY = table("gold.solar_site_daily")
ANOMALIES = table("gold.solar_anomalies")

TITLE = "Solar sites report"
# Chart 1 buckets, narrowest first: the first that keeps a site's series at most MAX_POINTS long.
BUCKETS: tuple[tuple[str, str], ...] = (
    ("5m", "5 min"),
    ("15m", "15 min"),
    ("30m", "30 min"),
    ("1h", "hour"),
    ("3h", "3 hours"),
    ("1d", "day"),
)
MAX_POINTS = 600
PLOT_CONFIG = {"displaylogo": False, "responsive": True}
GENERATED_COLOUR = "#f2a900"
CONSUMED_COLOUR = "#1f5fa8"


@dataclass(frozen=True)
class SiteKpi:
    site_id: str
    generated_kwh: float
    consumed_kwh: float
    net_kwh: float
    readings: int
    anomalies: int

    @property
    def anomaly_rate(self) -> float:
        return self.anomalies / self.readings if self.readings else 0.0


@dataclass(frozen=True)
class SolarData:
    readings: pl.DataFrame
    daily: pl.DataFrame
    anomalies: pl.DataFrame
    dates: list[dt.date]

    @property
    def empty(self) -> bool:
        return self.readings.is_empty() and self.daily.is_empty()

    @property
    def sites(self) -> list[str]:
        names = set(self.daily["site_id"].to_list()) | set(self.readings["site_id"].to_list())
        return sorted(n for n in names if n is not None)


def load(lake: Lake, days: int | None = None) -> SolarData:
    """The report's rows: the last `days` UTC dates present in silver or gold daily (all if None)."""
    if days is not None and days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    silver_dates = delta.scan(lake, READINGS).select(pl.col("event_date").alias("d")).unique().collect()["d"]
    gold_dates = delta.scan(lake, DAILY).select(pl.col("date").alias("d")).unique().collect()["d"]
    present = sorted({d for d in [*silver_dates.to_list(), *gold_dates.to_list()] if d is not None})
    dates = present[-days:] if days is not None else present
    readings = (
        delta.scan(lake, READINGS)
        .filter(pl.col("event_date").is_in(dates))
        .select("site_id", "ts", "generated_kwh", "consumed_kwh", "net_kwh", "is_anomaly")
        .collect()
    )
    daily = delta.scan(lake, DAILY).filter(pl.col("date").is_in(dates)).collect()
    anomalies = delta.scan(lake, ANOMALIES).filter(pl.col("date").is_in(dates)).collect()
    return SolarData(readings=readings, daily=daily, anomalies=anomalies, dates=dates)


def site_kpis(daily: pl.DataFrame) -> list[SiteKpi]:
    """Per site over the report's days, from gold daily."""
    totals = (
        daily.group_by("site_id")
        .agg(
            pl.col("generated_kwh").sum(),
            pl.col("consumed_kwh").sum(),
            pl.col("net_kwh").sum(),
            pl.col("readings").sum(),
            pl.col("anomalies").sum(),
        )
        .sort("site_id")
    )
    return [
        SiteKpi(
            site_id=r["site_id"],
            generated_kwh=float(r["generated_kwh"]),
            consumed_kwh=float(r["consumed_kwh"]),
            net_kwh=float(r["net_kwh"]),
            readings=int(r["readings"]),
            anomalies=int(r["anomalies"]),
        )
        for r in totals.iter_rows(named=True)
    ]


def total_kpi(kpis: list[SiteKpi]) -> SiteKpi:
    return SiteKpi(
        site_id="All sites",
        generated_kwh=sum(k.generated_kwh for k in kpis),
        consumed_kwh=sum(k.consumed_kwh for k in kpis),
        net_kwh=sum(k.net_kwh for k in kpis),
        readings=sum(k.readings for k in kpis),
        anomalies=sum(k.anomalies for k in kpis),
    )


def write_report(lake: Lake, out: Path, days: int | None = None) -> Path:
    """Write the report to `out` (parents created, replaced atomically) and return its path."""
    data = load(lake, days)
    generated_at = dt.datetime.now(dt.UTC)
    page = _empty_page(lake, generated_at) if data.empty else _page(lake, data, days, generated_at)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out


# ---- figures ---------------------------------------------------------------------------------


def _colours(sites: list[str]) -> dict[str, str]:
    palette = qualitative.Plotly
    return {s: palette[i % len(palette)] for i, s in enumerate(sites)}


def _naive(values: list[dt.datetime]) -> list[str]:
    # plotly.js ignores UTC offsets: send wall-clock UTC, and say UTC on the axis.
    return [v.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S") for v in values]


def power(readings: pl.DataFrame) -> pl.DataFrame:
    """Each reading as mean power over its interval (kW = kWh / hours), at its site's own cadence
    (the most common spacing of its readings: transforms.completeness.inferred_cadence). Summing
    energy into fixed buckets would zig-zag wherever the cadence does not divide the bucket (3-minute
    readings give one or two per 5 minutes); a mean power does not."""
    rows = readings.lazy().select(series="site_id", date=pl.lit(0), time="ts")
    cadence = inferred_cadence(rows).collect().select(site_id="series", cadence_s="cadence_s")
    hours = pl.col("cadence_s") / 3600
    return (
        readings.join(cadence, on="site_id", how="inner")
        .with_columns(generated_kw=pl.col("generated_kwh") / hours, consumed_kw=pl.col("consumed_kwh") / hours)
        .sort("site_id", "ts")
    )


def _bucket(readings: pl.DataFrame) -> tuple[str | None, str]:
    """(None, the cadence) when every reading fits as a point; else the narrowest wider bucket that
    keeps a site's series at most MAX_POINTS long, averaged."""
    span = readings["ts"].max() - readings["ts"].min()  # type: ignore[operator]
    assert isinstance(span, dt.timedelta)
    cadence = int(readings["cadence_s"].max())  # type: ignore[arg-type]
    if span.total_seconds() / cadence <= MAX_POINTS:
        return None, "reading"
    widths = {"5m": 5, "15m": 15, "30m": 30, "1h": 60, "3h": 180, "1d": 1440}
    for every, label in BUCKETS:
        if widths[every] * 60 > cadence and span / dt.timedelta(minutes=widths[every]) <= MAX_POINTS:
            return every, label
    return BUCKETS[-1]


def _duration(seconds: int) -> str:
    minutes = seconds / 60
    return f"{minutes:g} min" if minutes < 60 else f"{minutes / 60:g} h"


def _generation_figure(data: SolarData) -> go.Figure | None:
    normal = data.readings.filter(~pl.col("is_anomaly"))
    if normal.is_empty():
        return None
    points = power(normal)
    if points.is_empty():  # one reading per site: no spacing to tell its power by
        return None
    every, label = _bucket(points)
    series = points
    if every is not None:
        series = (
            points.group_by_dynamic("ts", every=every, group_by="site_id")
            .agg(pl.col("generated_kw").mean(), pl.col("consumed_kw").mean())
            .sort("site_id", "ts")
        )
    sites = sorted(series["site_id"].unique().to_list())
    fig = make_subplots(
        rows=len(sites), cols=1, shared_xaxes=True, subplot_titles=sites, vertical_spacing=min(0.08, 0.3 / len(sites))
    )
    for row, site in enumerate(sites, start=1):
        part = series.filter(site_id=site)
        x = _naive(part["ts"].to_list())
        for column, name, colour in (
            ("generated_kw", "Generated", GENERATED_COLOUR),
            ("consumed_kw", "Consumed", CONSUMED_COLOUR),
        ):
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=part[column].to_list(),
                    name=name,
                    legendgroup=name,
                    showlegend=row == 1,
                    mode="lines",
                    line={"color": colour, "width": 2},
                    fill="tozeroy" if column == "generated_kw" else None,
                    hovertemplate=f"{html.escape(site)}<br>%{{x}} UTC<br>{name}: %{{y:,.1f}} kW<extra></extra>",
                ),
                row=row,
                col=1,
            )
        if every is None:
            label = _duration(int(part["cadence_s"][0]))
        fig.update_yaxes(title_text=f"kW, mean per {label}", row=row, col=1)
    fig.update_xaxes(title_text="Time (UTC)", row=len(sites), col=1)
    fig.update_layout(
        template="plotly_white",
        height=140 + 220 * len(sites),
        margin={"t": 40, "b": 50, "l": 70, "r": 20},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        hovermode="x unified",
    )
    return fig


def _net_figure(data: SolarData, colours: dict[str, str]) -> go.Figure | None:
    if data.daily.is_empty():
        return None
    fig = go.Figure()
    daily = data.daily.sort("site_id", "date")
    for site in sorted(daily["site_id"].unique().to_list()):
        part = daily.filter(site_id=site)
        fig.add_trace(
            go.Bar(
                x=[d.isoformat() for d in part["date"].to_list()],
                y=part["net_kwh"].to_list(),
                name=site,
                marker_color=colours.get(site),
                hovertemplate=f"{html.escape(site)}<br>%{{x}}<br>Net: %{{y:,.1f}} kWh<extra></extra>",
            )
        )
    fig.update_layout(
        template="plotly_white",
        barmode="group",
        height=420,
        margin={"t": 30, "b": 50, "l": 70, "r": 20},
        xaxis={"title": "UTC day", "type": "category"},
        yaxis={"title": "Net energy (kWh)", "zeroline": True, "zerolinewidth": 2},
        legend={"title": "Site"},
    )
    return fig


def _anomaly_figure(data: SolarData, colours: dict[str, str]) -> go.Figure | None:
    if data.daily.is_empty() and data.anomalies.is_empty():
        return None
    days = [d.isoformat() for d in data.dates]
    counts = data.anomalies.group_by("site_id", "date").agg(n=pl.len())
    per = {(r["site_id"], r["date"].isoformat()): r["n"] for r in counts.iter_rows(named=True)}
    fig = go.Figure()
    for site in data.sites:
        fig.add_trace(
            go.Bar(
                x=days,
                y=[per.get((site, d), 0) for d in days],
                name=site,
                marker_color=colours.get(site),
                hovertemplate=f"{html.escape(site)}<br>%{{x}}<br>%{{y}} anomalous readings<extra></extra>",
            )
        )
    fig.update_layout(
        template="plotly_white",
        barmode="stack",
        height=380,
        margin={"t": 30, "b": 50, "l": 70, "r": 20},
        xaxis={"title": "UTC day", "type": "category"},
        yaxis={"title": "Anomalous readings", "rangemode": "tozero"},
        legend={"title": "Site"},
    )
    return fig


# ---- page ------------------------------------------------------------------------------------

# The page's markup and style: warehouse/templates/solar_report.html.j2 (package data).
TEMPLATE = "solar_report.html.j2"


@dataclass(frozen=True)
class Card:
    label: str
    value: str
    css_class: str = ""


@dataclass(frozen=True)
class Chart:
    chart_id: str
    title: str
    note: str
    # Plotly's HTML of the figure (put in the page unescaped); None when the period has no data for it.
    html: str | None


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("warehouse", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(repr=repr, kwh=_kwh, pct=_pct, signed=_signed, thousands="{:,}".format)
    return env


def _kwh(value: float) -> str:
    return f"{value:,.1f}"


def _pct(value: float) -> str:
    return f"{100 * value:.2f} %"


def _signed(value: float) -> str:
    return "pos" if value >= 0 else "neg"


def _cards(total: SiteKpi, sites: int) -> list[Card]:
    return [
        Card("Generated", f"{_kwh(total.generated_kwh)} kWh"),
        Card("Consumed", f"{_kwh(total.consumed_kwh)} kWh"),
        Card("Net energy", f"{_kwh(total.net_kwh)} kWh", _signed(total.net_kwh)),
        Card("Sites", f"{sites}"),
        Card("Readings", f"{total.readings:,}"),
        Card("Anomaly rate", _pct(total.anomaly_rate), "neg" if total.anomalies else ""),
    ]


def _period(dates: list[dt.date]) -> str:
    if not dates:
        return "no days"
    first, last = dates[0].isoformat(), dates[-1].isoformat()
    n = len(dates)
    return f"{first} (1 UTC day)" if n == 1 else f"{first} to {last} ({n} UTC days with data)"


def _charts(charts: list[tuple[str, str, str, go.Figure | None]]) -> list[Chart]:
    out = []
    first = True
    for chart_id, title, note, fig in charts:
        body = None
        if fig is not None:
            # plotly.js is embedded once, with the first chart; the others use it.
            body = pio.to_html(
                fig,
                full_html=False,
                include_plotlyjs=first,
                div_id=chart_id,
                config=PLOT_CONFIG,
                default_height=f"{fig.layout.height}px",
            )
            first = False
        out.append(Chart(chart_id, title, note, body))
    return out


def _render(lake: Lake, period: str, generated_at: dt.datetime, **content: object) -> str:
    template = _environment().get_template(TEMPLATE)
    return template.render(title=TITLE, period=period, lake_root=lake.root, generated_at=generated_at, **content)


def _page(lake: Lake, data: SolarData, days: int | None, generated_at: dt.datetime) -> str:
    colours = _colours(data.sites)
    kpis = site_kpis(data.daily)
    total = total_kpi(kpis)
    scope = f"the last {days} UTC day(s) with data" if days is not None else "every UTC day with data"
    charts = _charts(
        [
            (
                "chart-generation",
                "Generation vs consumption per site",
                "Mean power (kW) at each site's own reading cadence; anomalous readings left out.",
                _generation_figure(data),
            ),
            (
                "chart-net",
                "Net energy per site and day",
                "Generated minus consumed per UTC day: above zero a site exported more than it used.",
                _net_figure(data, colours),
            ),
            (
                "chart-anomalies",
                "Anomalous readings per day and site",
                "Readings flagged as anomalous (negative generation or consumption, generation above "
                "the site's usual range).",
                _anomaly_figure(data, colours),
            ),
        ]
    )
    return _render(
        lake,
        _period(data.dates),
        generated_at,
        empty=False,
        scope=scope,
        cards=_cards(total, len(data.sites)),
        kpis=kpis,
        total=total,
        charts=charts,
    )


def _empty_page(lake: Lake, generated_at: dt.datetime) -> str:
    return _render(lake, "no data", generated_at, empty=True)
