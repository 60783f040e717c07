"""The solar report: its KPI figures against sums of the generated batches by hand, the last-N-days
cut, the empty lake, the Dagster wiring (the solar runs rewrite it), and the file opened in real
headless Chromium: no console errors and every chart rendered as SVG, with no network needed.

Chromium is installed with apt-get when missing (a session fixture, as root); the browser tests
are skipped only if that install fails."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from tests.conftest import Drop
from warehouse import delta
from warehouse.generate.solar import batches
from warehouse.lake import Lake
from warehouse.registry import table
from warehouse.solar_report import SolarData, _generation_figure, power, write_report
from warehouse.stages.pipeline import process_pending

UTC = dt.UTC
SITES = 3
# 12 records of 3 sites per 5-minute batch: 4 readings per site per batch. 20 batches a day keep
# each site under the 100 readings the site-range anomaly needs from earlier days, so only the
# row anomalies (negative values) can occur, and the sums by hand need no percentile.
RECORDS = 12
BATCHES_PER_DAY = 20
DAYS = (dt.datetime(2025, 6, 1, 10, tzinfo=UTC), dt.datetime(2025, 6, 2, 10, tzinfo=UTC))
CHARTS = ("chart-generation", "chart-net", "chart-anomalies")
INSTALL_TIMEOUT_S = 900


@dataclass
class Expected:
    generated_kwh: float = 0.0
    consumed_kwh: float = 0.0
    readings: int = 0
    anomalies: int = 0

    @property
    def net_kwh(self) -> float:
        return self.generated_kwh - self.consumed_kwh


@dataclass
class Dropped:
    # Per UTC date, per site: the figures computed from the JSON written.
    by_date: dict[dt.date, dict[str, Expected]] = field(default_factory=dict)

    def totals(self, dates: list[dt.date] | None = None) -> dict[str, Expected]:
        out: dict[str, Expected] = defaultdict(Expected)
        for date, sites in self.by_date.items():
            if dates is not None and date not in dates:
                continue
            for site, e in sites.items():
                t = out[site]
                t.generated_kwh += e.generated_kwh
                t.consumed_kwh += e.consumed_kwh
                t.readings += e.readings
                t.anomalies += e.anomalies
        return dict(out)


def drop_solar(drop: Drop) -> Dropped:
    """Two UTC days of batches with a high anomaly rate, summed by hand from the bytes written."""
    dropped = Dropped()
    for start in DAYS:
        files = batches(
            start, BATCHES_PER_DAY, dt.timedelta(minutes=5), sites=SITES, records=RECORDS, anomaly_rate=0.1, seed=11
        )
        for relative, data in files:
            source, name = relative.split("/")
            drop(source, name, data)
            for r in json.loads(data):
                date = dt.datetime.fromisoformat(r["timestamp"].replace("Z", "+00:00")).date()
                e = dropped.by_date.setdefault(date, {}).setdefault(r["site_id"], Expected())
                e.readings += 1
                gen, cons = r["energy_generated_kwh"], r["energy_consumed_kwh"]
                if gen < 0 or cons < 0:
                    e.anomalies += 1
                else:
                    e.generated_kwh += gen
                    e.consumed_kwh += cons
    return dropped


@pytest.fixture
def solar_lake(lake: Lake, drop: Drop) -> tuple[Lake, Dropped]:
    dropped = drop_solar(drop)
    process_pending(lake)
    return lake, dropped


# ---- reading the HTML ------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Page(HTMLParser):
    """The KPI rows (data-site / data-kpi cells) and, per chart div, the rendered SVG it holds."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.kpi: dict[str, dict[str, tuple[str, str]]] = {}
        self.headings: list[str] = []
        self.title = ""
        self.chart_divs: list[str] = []
        self.main_svgs: dict[str, int] = defaultdict(int)
        self.traces: dict[str, list[str]] = defaultdict(list)
        self._stack: list[tuple[str, str | None]] = []  # (tag, chart id it opens)
        self._site: str | None = None
        self._cell: tuple[str, str] | None = None
        self._text: list[str] = []
        self._in: str | None = None

    def _chart(self) -> str | None:
        return next((c for _, c in reversed(self._stack) if c), None)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = a.get("class", "").split()
        opens = a["id"] if tag == "div" and "plotly-graph-div" in classes else None
        if opens:
            self.chart_divs.append(opens)
        chart = opens or self._chart()
        if chart and tag == "svg" and "main-svg" in classes:
            self.main_svgs[chart] += 1
        if chart and tag == "g" and "trace" in classes:
            self.traces[chart].append(" ".join(classes))
        if tag == "tr" and "data-site" in a:
            self._site = a["data-site"]
            self.kpi[self._site] = {}
        if tag == "td" and "data-kpi" in a:
            self._cell = (a["data-kpi"], a["data-value"])
            self._text = []
        if tag in ("h1", "h2", "title"):
            self._in, self._text = tag, []
        if tag not in VOID:
            self._stack.append((tag, opens))

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell and self._site is not None:
            kpi, value = self._cell
            self.kpi[self._site][kpi] = (value, "".join(self._text).strip())
            self._cell = None
        if tag == self._in:
            text = "".join(self._text).strip()
            if tag == "title":
                self.title = text
            else:
                self.headings.append(text)
            self._in = None
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                del self._stack[i:]
                break

    def handle_data(self, data: str) -> None:
        if self._cell or self._in:
            self._text.append(data)


def parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    return page


def assert_kpis(page: Page, expected: dict[str, Expected]) -> None:
    total = Expected()
    for e in expected.values():
        total.generated_kwh += e.generated_kwh
        total.consumed_kwh += e.consumed_kwh
        total.readings += e.readings
        total.anomalies += e.anomalies
    assert list(page.kpi) == [*sorted(expected), "All sites"]
    for site, e in [*expected.items(), ("All sites", total)]:
        row = page.kpi[site]
        for kpi, want in (("generated_kwh", e.generated_kwh), ("consumed_kwh", e.consumed_kwh), ("net_kwh", e.net_kwh)):
            value, shown = row[kpi]
            assert float(value) == pytest.approx(want, rel=1e-9, abs=1e-6), (site, kpi)
            # Shown with one decimal and thousands separators.
            assert abs(float(shown.replace(",", "")) - want) <= 0.05 + 1e-6, (site, kpi, shown)
        assert row["readings"] == (str(e.readings), f"{e.readings:,}")
        assert row["anomalies"] == (str(e.anomalies), f"{e.anomalies:,}")
        rate = e.anomalies / e.readings
        assert float(row["anomaly_rate"][0]) == pytest.approx(rate)
        assert row["anomaly_rate"][1] == f"{100 * rate:.2f} %"


# ---- the report's content --------------------------------------------------------------------


def test_kpis_match_the_generated_batches_summed_by_hand(solar_lake: tuple[Lake, Dropped], tmp_path: Path) -> None:
    lake, dropped = solar_lake
    reasons = delta.scan(lake, table("gold.solar_anomalies")).collect()["anomaly_reasons"].explode().unique()
    assert set(reasons.to_list()) == {"negative_generation", "negative_consumption"}  # no range anomaly
    expected = dropped.totals()
    assert sum(e.anomalies for e in expected.values()) > 0 and all(e.generated_kwh > 0 for e in expected.values())

    out = write_report(lake, tmp_path / "out" / "solar.html")
    text = out.read_text()
    page = parse(text)
    assert_kpis(page, expected)
    assert page.title == "Solar sites report"
    assert {
        "At a glance",
        "Key figures per site",
        "Generation vs consumption per site",
        "Net energy per site and day",
        "Anomalous readings per day and site",
    } <= set(page.headings)
    assert page.chart_divs == list(CHARTS)
    assert "2025-06-01 to 2025-06-02 (2 UTC days with data)" in text
    # Self-contained: plotly.js inline, once; nothing loaded from elsewhere.
    assert text.count("* plotly.js v") == 1
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", text)


def test_days_keeps_the_last_utc_days_present(solar_lake: tuple[Lake, Dropped], tmp_path: Path) -> None:
    lake, dropped = solar_lake
    last = dt.date(2025, 6, 2)
    page = parse(write_report(lake, tmp_path / "last.html", days=1).read_text())
    assert_kpis(page, dropped.totals([last]))
    assert "2025-06-02 (1 UTC day)" in write_report(lake, tmp_path / "again.html", days=1).read_text()
    # More days than present: all of them.
    assert_kpis(parse(write_report(lake, tmp_path / "all.html", days=30).read_text()), dropped.totals())
    with pytest.raises(ValueError, match="at least 1"):
        write_report(lake, tmp_path / "none.html", days=0)


def test_generation_is_charted_as_mean_power_at_the_sites_own_cadence() -> None:
    """3-minute readings of a constant 0.1 kWh: 2 kW flat, never the 1-or-2-readings-per-5-minutes
    zig-zag of energy summed into 5-minute buckets; a 10-minute site next to it keeps its own."""
    start = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    three = [start + dt.timedelta(minutes=3 * i) for i in range(100)]
    ten = [start + dt.timedelta(minutes=10 * i) for i in range(30)]
    readings = pl.DataFrame(
        {
            "site_id": ["A"] * 100 + ["B"] * 30,
            "ts": three + ten,
            "generated_kwh": [0.1] * 100 + [0.5] * 30,
            "consumed_kwh": [0.05] * 100 + [1.0] * 30,
            "is_anomaly": [False] * 130,
        }
    )
    data = SolarData(readings, pl.DataFrame(schema={"site_id": pl.String}), pl.DataFrame(), [start.date()])
    points = power(readings)
    assert points.group_by("site_id").agg(pl.col("cadence_s").first()).sort("site_id").rows() == [
        ("A", 180),
        ("B", 600),
    ]
    figure = _generation_figure(data)
    assert figure is not None
    traces = {(t.legendgroup, t.x[0] and len(t.x)): list(t.y) for t in figure.data}
    assert traces[("Generated", 100)] == pytest.approx([2.0] * 100)  # 0.1 kWh / 0.05 h
    assert traces[("Consumed", 100)] == pytest.approx([1.0] * 100)
    assert traces[("Generated", 30)] == pytest.approx([3.0] * 30)  # 0.5 kWh / (1/6) h
    assert (figure.layout.yaxis.title.text, figure.layout.yaxis2.title.text) == (
        "kW, mean per 3 min",
        "kW, mean per 10 min",
    )


def test_an_empty_lake_gets_a_page_that_says_so(lake: Lake, tmp_path: Path) -> None:
    page = parse(write_report(lake, tmp_path / "empty.html").read_text())
    assert "No solar data yet" in page.headings
    assert page.chart_divs == [] and page.kpi == {}


@pytest.mark.e2e
def test_the_solar_runs_rewrite_the_report_through_dagster(lake: Lake, drop: Drop, dagster_home: Path) -> None:
    import polars as pl

    from orchestration.definitions import ALL_ASSETS
    from orchestration.instance import instance
    from orchestration.run import run_pending
    from orchestration.work import gold_work, refine_work
    from warehouse.datasets import DATASETS
    from warehouse.plan import GOLD
    from warehouse.stages import gold

    key = dg.AssetKey(["solar_report"])
    assert any(key in a.keys for a in ALL_ASSETS)

    def day(start: dt.datetime) -> None:
        for relative, data in batches(start, 3, dt.timedelta(minutes=5), sites=SITES, records=RECORDS, seed=1):
            source, name = relative.split("/")
            drop(source, name, data)

    # Only solar work carries the report: refine runs of solar_readings, gold runs of solar.
    day(DAYS[1])
    for ds in DATASETS.values():
        for w in refine_work(lake, ds, lambda cal: [])[0]:
            assert (key in w.selection) == (ds.source == "solar_readings"), w.label
    rows = pl.DataFrame({"date": [DAYS[1].date()], "change_id": ["c"]})
    for spec in GOLD:
        for w in gold_work(gold.Queued(spec, rows), lambda cal: [])[0]:
            assert (key in w.selection) == (spec.name == "solar"), w.label

    summary = run_pending(lake.root)
    assert summary.ok, summary
    path = lake.local_state_dir / "reports" / "solar.html"
    assert "2025-06-02 (1 UTC day)" in path.read_text()
    # An earlier day queues the later one (the site-range window): refine carries 06-01's gold,
    # a gold run rebuilds 06-02, and both rewrite the report.
    day(DAYS[0])
    summary = run_pending(lake.root)
    assert summary.ok, summary
    solar_runs = [label for label, _ in summary.runs if "solar" in label]
    assert solar_runs == ["refine solar_readings 2025-06-01..2025-06-01", "gold solar 2025-06-02..2025-06-02"]
    event = instance().get_latest_materialization_event(key)
    assert event is not None and event.asset_materialization is not None
    run = instance().get_run_by_id(event.run_id)
    assert run is not None and run.tags["gridlake/gold"] == "solar"
    metadata = event.asset_materialization.metadata
    assert metadata["path"].value == str(path)
    assert metadata["report"].value == "file://" + str(path)
    page = parse(path.read_text())
    assert page.chart_divs == list(CHARTS)
    assert "2025-06-01 to 2025-06-02 (2 UTC days with data)" in path.read_text()


# ---- in a real browser -----------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    dom: str
    # Chromium's log of console messages ("CONSOLE" lines): uncaught errors say "Uncaught".
    console_errors: list[str]
    # What the page itself reported: console.error calls, uncaught errors and rejections.
    page_errors: list[str]


# Chromium 15x logs every console message at INFO, so a console.error shows only through this
# recorder, put first in <head> of a copy of the page; the dumped DOM carries what it caught.
RECORDER = """<script>(function () {
  var seen = [];
  function show() {
    var out = document.getElementById("recorded-errors");
    if (!out && document.body) {
      out = document.createElement("pre"); out.id = "recorded-errors"; document.body.appendChild(out);
    }
    if (out) { out.textContent = JSON.stringify(seen); }
  }
  function keep(kind, parts) { seen.push(kind + ": " + Array.prototype.map.call(parts, String).join(" ")); show(); }
  var original = console.error;
  console.error = function () { keep("console.error", arguments); return original.apply(console, arguments); };
  window.addEventListener("error", function (e) { keep("error", [e.message]); });
  window.addEventListener("unhandledrejection", function (e) { keep("unhandledrejection", [e.reason]); });
  document.addEventListener("DOMContentLoaded", show);
})();</script>"""


def render(chromium: str, page: Path, profile: Path) -> Rendered:
    """The DOM after scripts ran, and the console errors, with every host unreachable (so the page
    must need nothing from the network)."""
    text = page.read_text()
    head = text.index("<head>") + len("<head>") if "<head>" in text else text.index("<html>") + len("<html>")
    probe = page.with_name(f"probe-{page.name}")
    probe.write_text(text[:head] + RECORDER + text[head:])
    command = [
        chromium,
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=10000",
        f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--no-first-run",
        "--dump-dom",
        probe.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    errors = [
        line for line in done.stderr.splitlines() if "CONSOLE" in line and ("ERROR" in line or "Uncaught" in line)
    ]
    recorded = re.search(r'<pre id="recorded-errors">(.*?)</pre>', done.stdout, flags=re.DOTALL)
    assert recorded, "the error recorder did not run: the page never loaded"
    page_errors = json.loads(html.unescape(recorded.group(1)))
    return Rendered(done.stdout, errors, page_errors)


@pytest.mark.timeout(INSTALL_TIMEOUT_S + 300)
@pytest.mark.browser
def test_the_report_renders_every_chart_in_headless_chromium_without_errors(
    chromium: str, solar_lake: tuple[Lake, Dropped], tmp_path: Path
) -> None:
    # The error check sees a failing script: it can fail.
    broken = tmp_path / "broken.html"
    broken.write_text("<html><body><script>console.error('boom'); missing_function();</script></body></html>")
    failing = render(chromium, broken, tmp_path / "profile-broken")
    assert any("Uncaught ReferenceError" in line for line in failing.console_errors), failing
    assert failing.page_errors[0] == "console.error: boom" and "missing_function" in failing.page_errors[1]

    lake, _ = solar_lake
    report = write_report(lake, tmp_path / "solar.html")
    rendered = render(chromium, report, tmp_path / "profile")
    assert (rendered.console_errors, rendered.page_errors) == ([], [])
    page = parse(rendered.dom)
    assert page.chart_divs == list(CHARTS)
    # Every chart drawn by plotly.js (its SVG exists only after rendering), and drawn fully: two
    # line traces per site, a bar trace per site in the net and anomaly charts.
    assert [c for c in CHARTS if page.main_svgs[c] >= 1] == list(CHARTS)
    assert rendered.dom.count('class="main-svg"') >= len(CHARTS)
    assert sum("scatter" in t for t in page.traces["chart-generation"]) == 2 * SITES
    assert sum("bars" in t for t in page.traces["chart-net"]) == SITES
    assert sum("bars" in t for t in page.traces["chart-anomalies"]) == SITES
    # The KPI table survives the browser unchanged.
    assert page.kpi == parse(report.read_text()).kpi

    empty = write_report(Lake.from_env(str(tmp_path / "no-lake")), tmp_path / "empty.html")
    shown = render(chromium, empty, tmp_path / "profile-empty")
    assert (shown.console_errors, shown.page_errors) == ([], [])
    assert "No solar data yet" in shown.dom
