"""The solar report: one self-contained HTML file (Plotly's JavaScript embedded, so it opens with
no network) for reading the solar sites at a glance.

Sections, over the last `days` UTC days present in the lake (all of them by default):

* headline figures: generated, consumed and net energy, readings, anomalies, anomaly rate;
* a KPI table per site with the same figures (from `gold.solar_site_daily`);
* generation vs consumption per site over time (from `silver.solar_readings`, summed per time
  bucket over readings without a row anomaly, the bucket widening with the span shown);
* net energy per site and day (`gold.solar_site_daily`);
* anomalous readings per day, stacked per site (`gold.solar_anomalies`).

Energy sums exclude anomalous readings, as gold does; `readings` and `anomalies` count them all.
A lake without solar data gets a page that says so. No Dagster here: the CLI (`gridlake report
solar`) and the `solar_report` asset both call `write_report`."""

from __future__ import annotations

import datetime as dt
import html
import os
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio
import polars as pl
from plotly.colors import qualitative
from plotly.subplots import make_subplots

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


def _bucket(readings: pl.DataFrame) -> tuple[str, str]:
    span = readings["ts"].max() - readings["ts"].min()  # type: ignore[operator]
    assert isinstance(span, dt.timedelta)
    widths = {"5m": 5, "15m": 15, "30m": 30, "1h": 60, "3h": 180, "1d": 1440}
    for every, label in BUCKETS:
        if span / dt.timedelta(minutes=widths[every]) <= MAX_POINTS:
            return every, label
    return BUCKETS[-1]


def _generation_figure(data: SolarData) -> go.Figure | None:
    normal = data.readings.filter(~pl.col("is_anomaly"))
    if normal.is_empty():
        return None
    every, label = _bucket(normal)
    series = (
        normal.sort("ts")
        .group_by_dynamic("ts", every=every, group_by="site_id")
        .agg(pl.col("generated_kwh").sum(), pl.col("consumed_kwh").sum())
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
            ("generated_kwh", "Generated", GENERATED_COLOUR),
            ("consumed_kwh", "Consumed", CONSUMED_COLOUR),
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
                    fill="tozeroy" if column == "generated_kwh" else None,
                    hovertemplate=f"{html.escape(site)}<br>%{{x}} UTC<br>{name}: %{{y:,.1f}} kWh<extra></extra>",
                ),
                row=row,
                col=1,
            )
        fig.update_yaxes(title_text=f"kWh per {label}", row=row, col=1)
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

CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 0;
       color: #1d2733; background: #f5f7fa; }
header { background: #14324f; color: #fff; padding: 24px 32px; }
header h1 { margin: 0 0 6px; font-size: 28px; }
header p { margin: 0; opacity: .85; }
main { padding: 16px 32px 40px; max-width: 1400px; margin: 0 auto; }
section { background: #fff; border-radius: 8px; padding: 16px 20px; margin: 16px 0;
          box-shadow: 0 1px 3px rgba(0,0,0,.08); }
h2 { font-size: 20px; margin: 4px 0 4px; }
p.note { color: #5b6875; margin: 0 0 10px; font-size: 14px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { flex: 1 1 160px; background: #fff; border-radius: 8px; padding: 14px 16px;
        box-shadow: 0 1px 3px rgba(0,0,0,.08); }
.card .label { font-size: 13px; color: #5b6875; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 26px; font-weight: 600; margin-top: 4px; }
.pos { color: #1b7f3b; } .neg { color: #b3261e; }
table.kpi { border-collapse: collapse; width: 100%; font-size: 15px; }
table.kpi th, table.kpi td { padding: 8px 12px; border-bottom: 1px solid #e3e7ec; }
table.kpi th { text-align: left; background: #eef2f6; }
table.kpi td.num, table.kpi th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.kpi tfoot td { font-weight: 600; border-top: 2px solid #14324f; }
.empty { font-size: 18px; }
code { background: #eef2f6; padding: 1px 5px; border-radius: 4px; }
"""


def _kwh(value: float) -> str:
    return f"{value:,.1f}"


def _pct(value: float) -> str:
    return f"{100 * value:.2f} %"


def _signed(value: float) -> str:
    return "pos" if value >= 0 else "neg"


def _cards(total: SiteKpi, sites: int) -> str:
    items = [
        ("Generated", f"{_kwh(total.generated_kwh)} kWh", ""),
        ("Consumed", f"{_kwh(total.consumed_kwh)} kWh", ""),
        ("Net energy", f"{_kwh(total.net_kwh)} kWh", _signed(total.net_kwh)),
        ("Sites", f"{sites}", ""),
        ("Readings", f"{total.readings:,}", ""),
        ("Anomaly rate", _pct(total.anomaly_rate), "neg" if total.anomalies else ""),
    ]
    cards = "".join(
        f'<div class="card"><div class="label">{label}</div><div class="value {cls}">{value}</div></div>'
        for label, value, cls in items
    )
    return f'<div class="cards" id="headline">{cards}</div>'


def _kpi_row(k: SiteKpi, cell: str = "td") -> str:
    site = html.escape(k.site_id)
    return (
        f'<tr data-site="{site}">'
        f"<{cell}>{site}</{cell}>"
        f'<td class="num" data-kpi="generated_kwh" data-value="{k.generated_kwh!r}">{_kwh(k.generated_kwh)}</td>'
        f'<td class="num" data-kpi="consumed_kwh" data-value="{k.consumed_kwh!r}">{_kwh(k.consumed_kwh)}</td>'
        f'<td class="num {_signed(k.net_kwh)}" data-kpi="net_kwh" data-value="{k.net_kwh!r}">{_kwh(k.net_kwh)}</td>'
        f'<td class="num" data-kpi="readings" data-value="{k.readings}">{k.readings:,}</td>'
        f'<td class="num" data-kpi="anomalies" data-value="{k.anomalies}">{k.anomalies:,}</td>'
        f'<td class="num" data-kpi="anomaly_rate" data-value="{k.anomaly_rate!r}">{_pct(k.anomaly_rate)}</td>'
        "</tr>"
    )


def _kpi_table(kpis: list[SiteKpi], total: SiteKpi) -> str:
    head = (
        "<tr><th>Site</th><th class='num'>Generated (kWh)</th><th class='num'>Consumed (kWh)</th>"
        "<th class='num'>Net (kWh)</th><th class='num'>Readings</th><th class='num'>Anomalies</th>"
        "<th class='num'>Anomaly rate</th></tr>"
    )
    body = "".join(_kpi_row(k) for k in kpis)
    return (
        f'<table class="kpi" id="kpi-table"><thead>{head}</thead><tbody>{body}</tbody>'
        f"<tfoot>{_kpi_row(total)}</tfoot></table>"
    )


def _period(dates: list[dt.date]) -> str:
    if not dates:
        return "no days"
    first, last = dates[0].isoformat(), dates[-1].isoformat()
    n = len(dates)
    return f"{first} (1 UTC day)" if n == 1 else f"{first} to {last} ({n} UTC days with data)"


def _section(chart_id: str, title: str, note: str, fig: go.Figure | None, first: list[bool]) -> str:
    if fig is None:
        body = '<p class="note">No data for this chart in the period.</p>'
    else:
        # plotly.js is embedded once, with the first chart; the others use it.
        body = pio.to_html(
            fig,
            full_html=False,
            include_plotlyjs=first[0],
            div_id=chart_id,
            config=PLOT_CONFIG,
            default_height=f"{fig.layout.height}px",
        )
        first[0] = False
    return f'<section id="section-{chart_id}"><h2>{title}</h2><p class="note">{note}</p>{body}</section>'


def _document(title: str, subtitle: str, content: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head>"
        f"<body><header><h1>{html.escape(title)}</h1><p>{subtitle}</p></header>"
        f"<main>{content}</main></body></html>\n"
    )


def _subtitle(lake: Lake, period: str, generated_at: dt.datetime) -> str:
    return (
        f"{html.escape(period)} · lake <code>{html.escape(lake.root)}</code> · "
        f"generated {generated_at:%Y-%m-%d %H:%M} UTC"
    )


def _page(lake: Lake, data: SolarData, days: int | None, generated_at: dt.datetime) -> str:
    colours = _colours(data.sites)
    kpis = site_kpis(data.daily)
    total = total_kpi(kpis)
    first = [True]
    scope = f"the last {days} UTC day(s) with data" if days is not None else "every UTC day with data"
    parts = [
        f'<section id="section-summary"><h2>At a glance</h2><p class="note">All sites over {scope}. '
        "Energy sums leave out anomalous readings (negative meter values, generation above the site's "
        "usual range); readings and anomalies count every reading.</p>"
        f"{_cards(total, len(data.sites))}</section>",
        '<section id="section-kpi"><h2>Key figures per site</h2>'
        '<p class="note">Anomaly rate = anomalous readings / readings.</p>'
        f"{_kpi_table(kpis, total) if kpis else '<p class=note>No daily figures yet.</p>'}</section>",
        _section(
            "chart-generation",
            "Generation vs consumption per site",
            "Energy per time bucket from the validated readings, anomalous readings left out.",
            _generation_figure(data),
            first,
        ),
        _section(
            "chart-net",
            "Net energy per site and day",
            "Generated minus consumed per UTC day: above zero a site exported more than it used.",
            _net_figure(data, colours),
            first,
        ),
        _section(
            "chart-anomalies",
            "Anomalous readings per day and site",
            "Readings flagged as anomalous (negative generation or consumption, generation above "
            "the site's usual range).",
            _anomaly_figure(data, colours),
            first,
        ),
    ]
    return _document(TITLE, _subtitle(lake, _period(data.dates), generated_at), "".join(parts))


def _empty_page(lake: Lake, generated_at: dt.datetime) -> str:
    content = (
        '<section id="section-empty"><h2>No solar data yet</h2>'
        '<p class="empty">This lake holds no solar readings, so there is nothing to report.</p>'
        "<p>Solar batches appear here once they are landed and processed, for example:<br>"
        "<code>gridlake generate solar --continuous --every 5m --max-batches 12 --no-wait</code> then "
        "<code>gridlake run</code>, and run <code>gridlake report solar</code> again.</p></section>"
    )
    return _document(TITLE, _subtitle(lake, "no data", generated_at), content)
