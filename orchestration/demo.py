"""`make demo`: sample data for every source, one end-to-end run, a look at gold through DuckDB."""

import datetime as dt

import click

from orchestration.display import table
from warehouse import catalog
from warehouse.lake import Lake

START = dt.date(2020, 8, 5)
PARKS_START = dt.date(2024, 3, 25)
SITES_START = dt.date(2023, 1, 1)
SOLAR_START = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
COINS_START = dt.datetime(2024, 12, 4, tzinfo=dt.UTC)

DEMO_QUERIES = {
    "Hourly usage and cost (gold.hourly_usage)": (
        "SELECT customer_id, hour_start, round(usage_kwh, 3) AS usage_kwh, round(cost, 4) AS cost, intervals, "
        "is_complete FROM gold.hourly_usage ORDER BY customer_id, hour_start LIMIT 5"
    ),
    "Most expensive customers per day (gold.cost_per_interval)": (
        "SELECT date, customer_id, round(sum(usage_kwh), 2) AS kwh, round(sum(cost), 2) AS cost "
        "FROM gold.cost_per_interval GROUP BY ALL ORDER BY cost DESC LIMIT 5"
    ),
    "Parks on Europe's spring-forward day, 92 quarter-hours (gold.park_daily_stats)": (
        "SELECT park_name, energy_type, date, round(energy_mwh, 1) AS energy_mwh, readings, expected_readings, "
        "round(completeness, 3) AS completeness, negative_readings FROM gold.park_daily_stats "
        "WHERE date = DATE '2024-03-31' ORDER BY park_name"
    ),
    "Battery sites: latest reading and current configuration (gold.site_latest)": (
        "SELECT site_id, name, location, dt_stamp, soc, load_kwh, net_load_kwh, battery_vendor, "
        "battery_capacity_kwh, configuration_valid_from FROM gold.site_latest "
        "ORDER BY try_cast(site_id AS HUGEINT)"
    ),
    "Solar sites per day, anomalies counted not summed (gold.solar_site_daily)": (
        "SELECT site_id, date, readings, round(generated_kwh, 1) AS generated_kwh, round(consumed_kwh, 1) "
        "AS consumed_kwh, round(net_kwh, 1) AS net_kwh, anomalies FROM gold.solar_site_daily ORDER BY ALL"
    ),
    "Most volatile coin pairs in the latest minute (gold.coin_volatility)": (
        "SELECT rank, pair, time, value, round(stddev_24h, 6) AS stddev_24h, samples FROM gold.coin_volatility "
        "WHERE date_trunc('minute', time) = (SELECT date_trunc('minute', max(time)) FROM gold.coin_latest) "
        "ORDER BY rank LIMIT 5"
    ),
    "Completeness: readings each source's cadence expects and misses, per day (gold.completeness)": (
        "SELECT source, date, count(*) AS series, sum(expected)::BIGINT AS expected, sum(missing)::BIGINT AS missing, "
        "round(min(coverage), 3) AS worst_coverage FROM gold.completeness GROUP BY ALL HAVING sum(missing) > 0 "
        "ORDER BY source, date LIMIT 8"
    ),
    "Files landed (ops.ingest_log)": (
        "SELECT source, status, count(*) AS files, sum(rows_read)::BIGINT AS rows_read, "
        "sum(rows_valid)::BIGINT AS valid, sum(rows_quarantined)::BIGINT AS quarantined "
        "FROM ops.ingest_log GROUP BY ALL ORDER BY ALL"
    ),
}


def _drop(lake: Lake, files) -> int:
    n = 0
    for relative, data in files:
        path = lake.fs_path(lake.uri("landing", relative))
        lake.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        with lake.fs.open(path, "wb") as f:
            f.write(data)
        n += 1
    return n


def _serve_hint(lake: Lake) -> None:
    """A key for customer 1 and the request it opens, for `make serve` (gridlake serve)."""
    from warehouse.keys import KeyStore

    _, key = KeyStore(lake).create(["customer:1"], name="demo")
    url = f"http://127.0.0.1:8000/v1/customers/1/usage?from={START}T00:00:00Z&to={START}T06:00:00Z&interval=1h"
    click.echo("\nThe HTTP API: start it with `make serve` (gridlake serve), then, with a key made for customer 1")
    click.echo("(shown once; `gridlake keys list` lists keys, `gridlake keys create --scope admin` makes more):")
    click.echo(f'  curl -H "X-API-Key: {key}" "{url}"')
    click.echo("  dashboard: http://127.0.0.1:8000/dashboard   docs: http://127.0.0.1:8000/docs")


def _gaps_of_one_customer(lake: Lake, day: dt.date) -> None:
    from warehouse.gaps import report

    found = report(lake, "customer_usage", series="1", start=day, end=day)
    click.echo(f"\nThe hour held back, as a gap (gridlake gaps customer_usage --series 1 --date {day})")
    click.echo("  " + found.summary())
    click.echo(table(found.gaps))


def drop_sample(lake: Lake, customers: int = 50, days: int = 2) -> int:
    """Write the demo's sample files of every source into landing; returns how many."""
    from warehouse.generate.coins import generate_coins
    from warehouse.generate.parks import generate_parks
    from warehouse.generate.prices import generate_prices
    from warehouse.generate.sites import generate_sites
    from warehouse.generate.solar import batches
    from warehouse.generate.usage import generate_usage

    # One hourly usage file is held back, as if the meters' head-end missed an hour: a gap that
    # gold.completeness and `gridlake gaps` show.
    held = f"usage_{START + dt.timedelta(days=days - 1)}T13-00.csv"
    usage = generate_usage(customers, START, days, per="hour", fmt="csv")
    n = _drop(lake, [(path, data) for path, data in usage if not path.endswith(held)])
    n += _drop(
        lake, generate_usage(customers, START, 1, per="day", fmt="ndjson", gzip=True, first_customer=customers + 1)
    )
    n += _drop(lake, generate_prices(START, days, per="day", fmt="json"))
    # Two weeks around Europe's spring-forward day (2024-03-31) and Adelaide's fall-back day.
    n += _drop(lake, generate_parks(parks=4, start=PARKS_START, days=14))
    # A week of 10-minute battery telemetry; site 1 gets a larger battery half way through.
    n += _drop(lake, generate_sites(sites=5, start=SITES_START, days=7))
    # A day of solar batches from 5 sites, one every 30 minutes, 2 % of readings faulty.
    n += _drop(lake, batches(SOLAR_START, 48, dt.timedelta(minutes=30), sites=5, records=50, anomaly_rate=0.02))
    # Two hours of minute prices of 25 coin pairs.
    n += _drop(lake, generate_coins(25, COINS_START, 120))
    return n


def run_demo(lake: Lake, customers: int, days: int) -> None:
    from orchestration.run import run_pending

    click.echo(f"lake: {lake.root}")
    n = drop_sample(lake, customers, days)
    click.echo(f"dropped {n} files into {lake.uri('landing')}")
    summary = run_pending(lake.root, echo=lambda text: click.echo(f"  {text}"))
    for title, sql in DEMO_QUERIES.items():
        click.echo(f"\n{title}\n  {sql}")
        click.echo(table(catalog.query(lake, sql)))
    _gaps_of_one_customer(lake, START + dt.timedelta(days=days - 1))
    click.echo('\nTry: gridlake sql "select * from gold.hourly_usage limit 5" | gridlake gaps coin_prices | make ui')
    _serve_hint(lake)
    if not summary.ok:
        raise click.ClickException("some runs failed; see above")
