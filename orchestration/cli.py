"""The `gridlake` command line. Imports stay inside the commands: `--help`, `sql` and `tables`
answer without loading Dagster or Great Expectations, and `run`, `backfill` and `demo` go to a
warm process that has loaded them already (orchestration/zygote.py)."""

from __future__ import annotations

import datetime as dt
import json
import signal
import sys
import time
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    import polars as pl

    from warehouse.lake import Lake


class DateType(click.ParamType):
    """A calendar date, YYYY-MM-DD: a mistake is one line naming the value (exit 2)."""

    name = "date"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(f"{value!r} is not a date: use YYYY-MM-DD, e.g. 2020-08-05", param, ctx)


class InstantType(click.ParamType):
    """An ISO-8601 time; naive means UTC."""

    name = "time"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return value
        try:
            when = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            self.fail(f"{value!r} is not an ISO-8601 time: e.g. 2024-12-05T10:00:00Z", param, ctx)
        return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


DATE, INSTANT = DateType(), InstantType()
COUNT = click.IntRange(min=1)

# Commands that run pipelines: handed to a warm process when one can be had.
WARM_COMMANDS = ("run", "backfill", "demo")


def entry() -> None:
    """The `gridlake` executable."""
    from warehouse.memory import configure_allocator

    configure_allocator()
    argv = sys.argv[1:]
    if argv and argv[0] in WARM_COMMANDS and not {"--help", "-h"} & set(argv):
        from orchestration.zygote import run_command

        code = run_command(argv)
        if code is not None:
            sys.exit(code)
    invoke(argv)


def invoke(argv: list[str]) -> None:
    """Run a command; an unreachable object store ends in one line, not a botocore traceback."""
    try:
        main.main(args=argv, prog_name="gridlake")
    except Exception as error:
        problem = _storage_problem(error)
        if problem is None:
            raise
        click.echo(f"Error: {problem}", err=True)
        sys.exit(2)


def _storage_problem(error: BaseException) -> str | None:
    """One line for an object store the lake cannot reach without credentials (botocore raises
    it many frames deep; delta-rs words it in its message)."""
    seen: BaseException | None = error
    while seen is not None:
        name, text = type(seen).__name__, str(seen)
        if name in ("NoCredentialsError", "PartialCredentialsError") or (
            "credential" in text.lower() and ("s3" in text.lower() or "aws" in text.lower())
        ):
            return (
                f"no usable S3 credentials ({text.splitlines()[0] if text else name}): set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (and AWS_ENDPOINT_URL for a server other than AWS); see docs/operations.md"
            )
        seen = seen.__cause__ or seen.__context__
    return None


def _ordered(start: dt.date | None, end: dt.date | None) -> None:
    if start is not None and end is not None and end < start:
        message = f"{end} is before --start {start}: the range is --start to --end"
        raise click.BadParameter(message, param_hint="'--end'")


def _lake(root: str | None) -> Lake:
    from warehouse.lake import Lake

    return Lake.from_env(root)


lake_option = click.option(
    "--lake",
    "lake_root",
    default=None,
    envvar="GRIDLAKE_ROOT",
    help="Lake root: a folder or s3://bucket/prefix (default: GRIDLAKE_ROOT, else ./lake).",
)


@click.group()
def main() -> None:
    """gridlake: energy and market time series, from file drops to queryable tables."""


def _write(lake: Lake, files, total: int, label: str) -> int:
    count = 0
    with click.progressbar(files, length=total, label=label) as bar:
        for relative, data in bar:
            uri = lake.uri("landing", relative)
            path = lake.fs_path(uri)
            lake.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
            with lake.fs.open(path, "wb") as f:
                f.write(data)
            count += 1
    return count


@main.group()
def generate() -> None:
    """Write realistic sample files into the lake's landing folders."""


@generate.command("usage")
@lake_option
@click.option("--customers", default=100, show_default=True, type=COUNT, help="Customers (meters) to write.")
@click.option("--start", default="2020-08-05", show_default=True, type=DATE, help="First day (UTC).")
@click.option("--days", default=1, show_default=True, type=COUNT, help="Days to write.")
@click.option(
    "--per",
    type=click.Choice(["interval", "hour", "day"]),
    default="hour",
    show_default=True,
    help="One file per 5-minute interval, hour or day.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json", "ndjson"]),
    default="csv",
    show_default=True,
    help="File format.",
)
@click.option("--gzip/--no-gzip", default=False, help="Gzip every file.")
@click.option("--seed", default=0, show_default=True, help="Values depend only on the seed, customer and interval.")
def generate_usage_cmd(lake_root, customers, start, days, per, fmt, gzip, seed) -> None:
    """5-minute meter usage, one file per interval, hour or day."""
    from warehouse.generate.usage import count_files, generate_usage

    lake = _lake(lake_root)
    args = {"customers": customers, "start": start, "days": days, "per": per, "fmt": fmt}
    args |= {"gzip": gzip, "seed": seed}
    n = _write(lake, generate_usage(**args), count_files(**args), "usage files")
    click.echo(f"wrote {n} files to {lake.landing_uri('customer_usage')}")


@generate.command("prices")
@lake_option
@click.option("--start", default="2020-08-05", show_default=True, type=DATE, help="First day (UTC).")
@click.option("--days", default=1, show_default=True, type=COUNT, help="Days to write.")
@click.option(
    "--per",
    type=click.Choice(["interval", "hour", "day"]),
    default="day",
    show_default=True,
    help="One file per 5-minute interval, hour or day.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json", "ndjson"]),
    default="csv",
    show_default=True,
    help="File format.",
)
@click.option("--gzip/--no-gzip", default=False, help="Gzip every file.")
@click.option("--seed", default=0, show_default=True, help="Values depend only on the seed and interval.")
def generate_prices_cmd(lake_root, start, days, per, fmt, gzip, seed) -> None:
    """5-minute energy prices."""
    from warehouse.generate.prices import count_files, generate_prices

    lake = _lake(lake_root)
    args = {"start": start, "days": days, "per": per, "fmt": fmt, "gzip": gzip, "seed": seed}
    n = _write(lake, generate_prices(**args), count_files(**args), "price files")
    click.echo(f"wrote {n} files to {lake.landing_uri('energy_prices')}")


@generate.command("parks")
@lake_option
@click.option(
    "--parks", default=4, show_default=True, type=COUNT, help="Number of parks (wind and solar, several timezones)."
)
@click.option("--start", default="2024-03-25", show_default=True, type=DATE, help="First park-local day.")
@click.option("--days", default=14, show_default=True, type=COUNT, help="Days to write.")
@click.option("--seed", default=0, show_default=True)
def generate_parks_cmd(lake_root: str | None, parks: int, start: dt.date, days: int, seed: int) -> None:
    """A park register and one 15-minute readings CSV per park, in park-local time."""
    from warehouse.generate.parks import generate_parks

    lake = _lake(lake_root)
    files = generate_parks(parks=parks, start=start, days=days, seed=seed)
    n = _write(lake, files, parks + 1, "park files")
    click.echo(f"wrote {n} files to {lake.landing_uri('parks')} and {lake.landing_uri('park_readings')}")


# A runaway uploader must not fill a bucket: --continuous stops at --max-batches, at most this.
SOLAR_MAX_BATCHES = 10_000


def _duration(text: str) -> dt.timedelta:
    from warehouse.durations import parse_duration

    try:
        return parse_duration(text, "smh")
    except ValueError:
        raise click.BadParameter(f"{text!r}: use a number and s, m or h, e.g. 5m") from None


@generate.command("solar")
@lake_option
@click.option("--sites", default=5, show_default=True)
@click.option("--records", default=25, show_default=True, help="Records per batch.")
@click.option("--anomaly-rate", default=0.02, show_default=True, help="Share of readings made negative.")
@click.option("--seed", default=0)
@click.option("--start", default=None, help="First batch time (ISO-8601 UTC); default: now, rounded down to --every.")
@click.option("--continuous", is_flag=True, help="Keep writing one batch per --every, up to --max-batches.")
@click.option("--every", default="5m", show_default=True, help="Period of one batch (s, m or h).")
@click.option("--max-batches", default=12, show_default=True, type=click.IntRange(1, SOLAR_MAX_BATCHES))
@click.option(
    "--wait/--no-wait", default=True, show_default=True, help="With --continuous: sleep --every between batches."
)
@click.option(
    "--post",
    "post_url",
    default=None,
    help="POST each batch to this ingest URL (…/v1/ingest/solar_readings) instead of writing files.",
)
@click.option("--key", envvar="GRIDLAKE_API_KEY", default=None, help="API key for --post (or GRIDLAKE_API_KEY).")
def generate_solar_cmd(
    lake_root: str | None, sites: int, records: int, anomaly_rate: float, seed: int, start: str | None,
    continuous: bool, every: str, max_batches: int, wait: bool, post_url: str | None, key: str | None,
) -> None:  # fmt: skip
    """Solar generation batches (a JSON array of readings per file), once or continuously;
    written into the lake's landing folder, or posted to the HTTP service with --post."""
    import time

    from warehouse.generate.solar import batch_file

    lake = _lake(lake_root)
    period = _duration(every)
    if start:
        first = dt.datetime.fromisoformat(start.replace("Z", "+00:00")).astimezone(dt.UTC)
    else:
        now = dt.datetime.now(dt.UTC)
        first = now - dt.timedelta(seconds=now.timestamp() % max(period.total_seconds(), 1))
    count = max_batches if continuous else 1
    options = {"sites": sites, "records": records, "period": period, "anomaly_rate": anomaly_rate, "seed": seed}

    def files():
        for i in range(count):
            if continuous and wait and i:
                time.sleep(period.total_seconds())
            yield batch_file(first + i * period, **options)

    if post_url:
        from warehouse.generate.post import Rejected, post

        if not key:
            raise click.BadParameter("--post needs an API key with the ingest:solar_readings scope", param_hint="--key")
        sent = 0
        for relative, data in files():
            try:
                answer = post(post_url, key, relative, data).answer
            except Rejected as refusal:
                raise click.ClickException(f"the service refused {relative}: {refusal}") from None
            sent += 1
            click.echo(f"posted {relative}: {answer.get('accepted')} accepted, {answer.get('quarantined')} quarantined")
        click.echo(f"posted {sent} batch(es) to {post_url}")
        return
    n = _write(lake, files(), count, "solar batches")
    click.echo(f"wrote {n} batch(es) to {lake.landing_uri('solar_readings')}")


@generate.command("coins")
@lake_option
@click.option("--pairs", default=250, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--start", default="2024-12-04T00:00:00Z", show_default=True, help="First minute (ISO-8601 UTC).")
@click.option("--minutes", default=60, show_default=True, type=click.IntRange(1, 60 * 24 * 31))
@click.option("--snapshot", is_flag=True, help="Market-snapshot shape (id, symbol, current_price, last_updated).")
@click.option("--quote", default="usd", show_default=True, help="Quote currency (in snapshot file names).")
@click.option("--seed", default=0)
def generate_coins_cmd(
    lake_root: str | None, pairs: int, start: str, minutes: int, snapshot: bool, quote: str, seed: int
) -> None:
    """Minute prices of coin pairs (random walks with jumps), one JSON file per minute."""
    from warehouse.generate.coins import generate_coins

    lake = _lake(lake_root)
    first = dt.datetime.fromisoformat(start.replace("Z", "+00:00")).astimezone(dt.UTC)
    files = generate_coins(pairs, first, minutes, snapshot=snapshot, quote=quote.lower(), seed=seed)
    n = _write(lake, files, minutes, "coin minutes")
    click.echo(f"wrote {n} files to {lake.landing_uri('coin_prices')}")


@generate.command("sites")
@lake_option
@click.option("--sites", default=5, show_default=True, type=COUNT, help="Number of battery sites.")
@click.option("--start", default="2023-01-01", show_default=True, type=DATE, help="First UTC day.")
@click.option("--days", default=7, show_default=True, type=COUNT, help="Days to write.")
@click.option("--seed", default=0, show_default=True)
def generate_sites_cmd(lake_root: str | None, sites: int, start: dt.date, days: int, seed: int) -> None:
    """A site register, configurations (one change half way) and one 10-minute live-data file per day."""
    from warehouse.generate.sites import generate_sites

    lake = _lake(lake_root)
    files = generate_sites(sites=sites, start=start, days=days, seed=seed)
    n = _write(lake, files, days + 3, "site files")
    click.echo(f"wrote {n} files to {lake.uri('landing')} (sites, site_configurations, site_live_data)")


@main.command()
@lake_option
def run(lake_root: str | None) -> None:
    """Do all pending work: land, validate, transform, publish. Exit 1 if anything failed."""
    from orchestration.run import closing, run_pending

    _progress()
    summary = run_pending(lake_root, echo=click.echo)
    for text in closing(_lake(lake_root), summary):
        click.echo(text)
    _report(summary, printed=True)


def _progress() -> None:
    """Landing's per-file lines as they happen (the stages log them at INFO)."""
    import logging

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("  %(message)s"))
    handler.setLevel(logging.INFO)
    stage = logging.getLogger("warehouse.stages.land")
    stage.addHandler(handler)
    stage.setLevel(logging.INFO)
    stage.propagate = False


def _report(summary, printed: bool = False) -> None:
    if not printed:
        for label, ok in summary.runs:
            cause = f": {summary.causes[label]}" if label in summary.causes else ""
            click.echo(f"{'ok    ' if ok else 'FAILED'} {label}{cause}")
    for error in summary.failed_files:
        click.echo(f"FAILED file {error}", err=True)
    for blocked in summary.blocked:
        click.echo(f"BLOCKED (gold not rebuilt) {blocked}", err=True)
    if not summary.ok:
        sys.exit(1)


@main.command()
@lake_option
@click.option("--start", required=True, type=DATE, help="First date, YYYY-MM-DD.")
@click.option("--end", required=True, type=DATE, help="Last date, YYYY-MM-DD (inclusive).")
@click.option(
    "--parallel",
    "processes",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Processes to split the dates over (each uses up to GRIDLAKE_MEMORY_MB).",
)
@click.option(
    "--source",
    "sources",
    multiple=True,
    help="Only this source (repeat for several; default: all). Registers refined whole are refined only when named.",
)
def backfill(lake_root: str | None, start: dt.date, end: dt.date, processes: int, sources: tuple[str, ...]) -> None:
    """Re-validate bronze and rebuild silver and gold for a date range: the dates of the range
    each source has data for, and the gold they feed, nothing else."""
    from orchestration.run import backfill as do_backfill
    from warehouse.stages.backfill import UnknownSource

    _ordered(start, end)
    try:
        summary = do_backfill(start, end, lake_root, processes, sources, echo=click.echo)
    except UnknownSource as err:
        raise click.BadParameter(str(err), param_hint="--source") from None
    _report(summary, printed=True)


@main.command()
@lake_option
@click.option("--port", default=3000, show_default=True, help="Webserver port (bound to 127.0.0.1).")
def ui(lake_root: str | None, port: int) -> None:
    """The Dagster webserver and daemon for this lake: sensors, runs, partitions, backfills."""
    from orchestration.instance import ensure_home
    from orchestration.service import Service

    lake = _lake(lake_root)
    home = ensure_home()
    service = Service(home=home, lake_root=lake.root, webserver=True, port=port, fresh_config=False)
    service.log_path = home / "ui.log"
    click.echo(f"starting Dagster for {lake.root} (instance {home}, log {service.log_path}) ...")
    # Ctrl-C and SIGTERM (a service manager) both stop the webserver and daemon cleanly, even when
    # started from a shell that ignores SIGINT for background jobs.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    service.start(timeout=600)
    click.echo(f"Dagster UI on {service.url}; sensors are on. Ctrl-C stops it.")
    try:
        while service.exited() is None:
            time.sleep(1)
        click.echo(f"the Dagster service exited ({service.exited()}); log: {service.log_path}", err=True)
    except KeyboardInterrupt:
        click.echo("stopping ...")
    finally:
        service.stop()


@main.command()
@lake_option
@click.argument("query")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option(
    "--as-of",
    "as_of",
    default=None,
    type=INSTANT,
    help="Read every table as it was at this time (ISO-8601; naive = UTC), e.g. 2024-12-05T10:00:00Z.",
)
@click.option(
    "--timeout",
    default=300.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Cancel the query after this many seconds (Ctrl-C cancels it at once).",
)
def sql(lake_root: str | None, query: str, fmt: str, as_of: dt.datetime | None, timeout: float) -> None:
    """Run a read-only SQL query against the lake's DuckDB catalog. `gridlake tables` lists the
    tables (`<layer>.<name>`, e.g. gold.hourly_usage)."""
    import duckdb

    from warehouse import catalog
    from warehouse import query as door

    lake = _lake(lake_root)
    try:
        if as_of is None:
            frame = catalog.query(lake, query, timeout=timeout)
        else:
            frame = catalog.query_as_of(lake, query, as_of, timeout=timeout)
    except catalog.NoLake as missing:
        raise click.UsageError(str(missing)) from None
    except (door.Refused, duckdb.PermissionException) as refused:
        raise click.ClickException(f"refused (gridlake sql is read-only, inside the lake): {refused}") from None
    except door.Cancelled as cancelled:
        click.echo(f"Error: {cancelled}", err=True)
        sys.exit(130)
    except duckdb.Error as error:
        raise click.ClickException(f"query failed: {error}") from None
    _print(frame, fmt)


def _print(frame: pl.DataFrame, fmt: str) -> None:
    import polars as pl

    if fmt in ("csv", "json"):
        # Lists and structs (failed_rules, event_dates) as JSON text: CSV has no nested values.
        nested = [c for c, t in frame.schema.items() if t.is_nested()]
        if fmt == "csv" and nested:
            frame = frame.with_columns(
                pl.Series(c, [None if v is None else json.dumps(_plain(v)) for v in frame[c].to_list()], pl.String)
                for c in nested
            )
        click.echo(frame.write_csv() if fmt == "csv" else frame.write_json(), nl=fmt == "json")
    else:
        from orchestration.display import table

        click.echo(table(frame))


def _plain(value: object) -> object:
    """A nested value as JSON can carry it: dates and times as ISO text."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return value


@main.command()
@lake_option
def tables(lake_root: str | None) -> None:
    """List every table with its row count and Delta version (query them with `gridlake sql`)."""
    from warehouse import catalog

    try:
        _print(catalog.table_stats(_lake(lake_root)), "table")
    except catalog.NoLake as missing:
        raise click.UsageError(str(missing)) from None


@main.command()
@lake_option
@click.argument("source")
@click.option("--series", default=None, help="One series: its key as in gold.completeness (e.g. a customer id).")
@click.option("--date", "day", default=None, type=DATE, help="One date (the source's day: UTC, park-local for parks).")
@click.option("--start", default=None, type=DATE, help="First date (inclusive).")
@click.option("--end", default=None, type=DATE, help="Last date (inclusive).")
@click.option("--all", "every", is_flag=True, help="List complete series-days too (default: only those with gaps).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
def gaps(
    lake_root: str | None,
    source: str,
    series: str | None,
    day: dt.date | None,
    start: dt.date | None,
    end: dt.date | None,
    every: bool,
    fmt: str,
) -> None:
    """Is SOURCE complete? Readings expected by its cadence, present and missing per series and
    day; with --series or --date, every gap as [gap_start, gap_end)."""
    import polars as pl

    from warehouse import catalog
    from warehouse import gaps as read_gaps

    if day is not None:
        start = end = day
    _ordered(start, end)
    try:
        found = read_gaps.report(_lake(lake_root), source, series, start, end)
    except read_gaps.UnknownSource as unknown:
        raise click.BadParameter(str(unknown), param_hint="SOURCE") from None
    except catalog.NoLake as missing:
        raise click.UsageError(str(missing)) from None
    days = found.days if every else found.days.filter(pl.col("missing") > 0)
    detail = series is not None or day is not None
    if fmt != "table":
        _print(found.gaps if detail else days, fmt)
        return
    click.echo(found.summary())
    if days.height:
        click.echo(_print_table(days.with_columns(pl.col("coverage").round(4))))
    if detail and found.gaps.height:
        click.echo(_print_table(found.gaps, title="gaps: [gap_start, gap_end), all times UTC"))
    elif days.height and not detail:
        click.echo("--series or --date lists each gap")


def _print_table(frame: pl.DataFrame, title: str | None = None) -> str:
    from orchestration.display import table

    return table(frame, title=title)


@main.command()
@lake_option
@click.argument("table_name", metavar="TABLE")
@click.argument("key", nargs=-1, required=True, metavar="COLUMN=VALUE...")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def explain(lake_root: str | None, table_name: str, key: tuple[str, ...], fmt: str) -> None:
    """Where a gold value came from: the row, the build that wrote it, the silver rows it read
    (at the versions it read), their bronze rows (file, hash, row number, ingest time, run; kept,
    superseded, duplicate or quarantined) and the rules they passed. Times are ISO-8601 (naive =
    UTC), e.g. `gridlake explain gold.cost_per_interval customer_id=42 interval_start=2020-08-05T10:05:00Z`."""
    from warehouse import catalog
    from warehouse import explain as lineage

    pairs = {}
    for item in key:
        column, sep, value = item.partition("=")
        if not sep or not column:
            raise click.BadParameter(f"{item!r} is not COLUMN=VALUE", param_hint="KEY")
        pairs[column] = value
    lake = _lake(lake_root)
    try:
        catalog.require_tables(lake)
        found = lineage.explain(lake, table_name, pairs)
    except catalog.NoLake as missing:
        raise click.UsageError(str(missing)) from None
    except lineage.ExplainError as problem:
        raise click.UsageError(str(problem)) from None
    if fmt == "json":
        click.echo(json.dumps(found.to_json(), indent=2))
        return
    from orchestration.display import explanation

    click.echo(explanation(found))


@main.command()
@lake_option
@click.option(
    "--vacuum-hours",
    default=7 * 24,
    show_default=True,
    type=click.IntRange(min=0),
    help="Keep files a version of the last N hours references (at least 168 unless --force).",
)
@click.option("--force", is_flag=True, help="Allow a vacuum retention under 7 days.")
@click.option("--min-files", default=8, show_default=True, help="Compact partitions with at least this many files.")
def maintain(lake_root: str | None, vacuum_hours: int, force: bool, min_files: int) -> None:
    """Purge raw rows past their retention, compact small files, vacuum old ones."""
    from warehouse.maintain import RetentionTooShort
    from warehouse.maintain import maintain as do_maintain

    try:
        report = do_maintain(_lake(lake_root), vacuum_hours=vacuum_hours, force=force, min_files=min_files)
    except RetentionTooShort as err:
        raise click.ClickException(str(err)) from None
    if not report.actions:
        click.echo("nothing to do")
        return
    _print(report.frame(), "table")


@main.command()
@lake_option
@click.option("--customers", default=50, show_default=True, type=COUNT, help="Customers of the usage sample.")
@click.option("--days", default=2, show_default=True, type=COUNT, help="Days of usage and prices.")
def demo(lake_root: str | None, customers: int, days: int) -> None:
    """Generate sample data, run every pipeline, and print a few gold rows."""
    from orchestration.demo import run_demo

    run_demo(_lake(lake_root), customers=customers, days=days)


@main.command()
@lake_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
def serve(lake_root: str | None, host: str, port: int) -> None:
    """The HTTP API and dashboard for this lake (OpenAPI docs at /docs)."""
    import uvicorn

    from api.app import create_app

    lake = _lake(lake_root)
    click.echo(f"serving {lake.root} on http://{host}:{port} (docs /docs, dashboard /dashboard); Ctrl-C stops it")
    uvicorn.run(create_app(lake), host=host, port=port, log_level="warning", access_log=False)


@main.group()
def keys() -> None:
    """API keys for `gridlake serve`: create (shown once), list, revoke."""


@keys.command("create")
@lake_option
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    help="admin, operator, market, customer:<id> or ingest:<source> (repeat for several).",
)
@click.option("--name", default="", help="A note to tell keys apart in `keys list`.")
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Requests a second for this key (bursts of twice that); default GRIDLAKE_API_RATE_PER_SECOND.",
)
def keys_create(lake_root: str | None, scopes: tuple[str, ...], name: str, rate: float | None) -> None:
    """Create a key and print it: it is shown this once and stored only as a salted hash."""
    from warehouse.keys import KeyProblem, KeyStore

    try:
        record, text = KeyStore(_lake(lake_root)).create(list(scopes), name, rate)
    except KeyProblem as problem:
        raise click.BadParameter(str(problem), param_hint="--scope") from None
    click.echo(text)
    click.echo(f"key {record.id} ({', '.join(record.scopes)}): store it now, it is not shown again", err=True)


@keys.command("list")
@lake_option
def keys_list(lake_root: str | None) -> None:
    """Every key: id, name, scopes, created, revoked (never the key itself)."""
    from warehouse.keys import KeyStore

    found = KeyStore(_lake(lake_root)).keys()
    if not found:
        click.echo("no keys yet: gridlake keys create --scope …")
        return
    for k in found.values():
        state = f"revoked {k.revoked_at}" if k.revoked_at else "active"
        click.echo(f"{k.id}  {', '.join(k.scopes):<28}  created {k.created_at}  {state}  {k.name}")


@keys.command("revoke")
@lake_option
@click.argument("key_id")
def keys_revoke(lake_root: str | None, key_id: str) -> None:
    """Revoke a key by its id: it fails on its next request."""
    from warehouse.keys import KeyProblem, KeyStore

    try:
        record = KeyStore(_lake(lake_root)).revoke(key_id)
    except KeyProblem as problem:
        raise click.BadParameter(str(problem), param_hint="KEY_ID") from None
    click.echo(f"revoked {record.id} at {record.revoked_at}")


@main.group()
def report() -> None:
    """Write reports on the lake's data (self-contained HTML files)."""


@report.command("solar")
@lake_option
@click.option(
    "--days", default=None, type=click.IntRange(min=1), help="Only the last N UTC days with data (default: all)."
)
@click.option(
    "--out",
    "out",
    default="solar_report.html",
    show_default=True,
    type=click.Path(dir_okay=False, writable=True),
    help="HTML file to write; relative paths are from the current directory.",
)
def report_solar_cmd(lake_root: str | None, days: int | None, out: str) -> None:
    """The solar report: KPIs per site, generation vs consumption, net energy, anomalies.

    One HTML file with Plotly embedded, so it opens offline. Written to ./solar_report.html
    unless --out says otherwise."""
    from pathlib import Path

    from warehouse.solar_report import write_report

    path = write_report(_lake(lake_root), Path(out), days=days)
    click.echo(str(path.resolve()))


if __name__ == "__main__":
    main()
