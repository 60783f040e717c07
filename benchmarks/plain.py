"""The benchmark's plain pipeline: the same stages and rules written as one straightforward
Polars + delta-rs script, with no Great Expectations and no orchestration: the distance from
gridlake to it is what the framework (suites through GX, the plan, the queue, lineage, counts)
costs per row.

Land reads every file as text (explicit formats, no inference), adds the lineage columns and
appends each source to bronze once, partitioned by event date. Refine types the columns with
`str.strptime` and explicit formats, applies the suite's row rules as Polars expressions (the
same rules: present, parseable, end after start, whole minutes, at most a day, microsecond
precision, numeric, within bounds, no conflicting duplicate in a file), splits quarantine from
the rest and keeps the latest ingest per key. Gold prices each usage interval at the price
interval that starts with it (the workload's intervals coincide; gridlake spreads usage over
every overlapping price interval) and rolls cost up per customer and hour. Publish creates the
DuckDB views."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import polars as pl
from deltalake import write_deltalake

from benchmarks.measure import Meter
from benchmarks.workload import SOURCES, Landing
from expectations.customer_usage import USAGE_KWH_MAX
from expectations.energy_prices import PRICE_PER_KWH_MAX, PRICE_PER_KWH_MIN

UTC = pl.Datetime("us", "UTC")
# The generated workload's one timestamp format (gridlake accepts several: transforms/timestamps.py).
FORMAT = "%Y-%m-%dT%H:%M:%SZ"
RAW = {
    "customer_usage": ["customerId", "intervalStart", "intervalEnd", "usage"],
    "energy_prices": ["intervalStart", "intervalEnd", "price"],
}
KEYS = {"customer_usage": ["customer_id", "interval_start"], "energy_prices": ["interval_start"]}
VALUES = {
    "customer_usage": ("usage", "usage_kwh", 0.0, float(USAGE_KWH_MAX)),
    "energy_prices": ("price", "price_per_kwh", float(PRICE_PER_KWH_MIN), float(PRICE_PER_KWH_MAX)),
}


def _read(path: Path, fmt: str, columns: list[str]) -> pl.DataFrame:
    if fmt == "csv":
        frame = pl.read_csv(path, infer_schema=False)
    else:
        frame = pl.read_ndjson(path, schema={c: pl.String for c in columns})
    return frame.select(
        pl.col(c).cast(pl.String) if c in frame.columns else pl.lit(None, pl.String).alias(c) for c in columns
    )


def land(root: Path, landing: Landing, source: str) -> int:
    now = dt.datetime.now(dt.UTC)
    frames = []
    for path in sorted((Path(landing.folder) / source).iterdir()):
        frame = _read(path, landing.fmt, RAW[source])
        frames.append(
            frame.with_columns(
                _source_file=pl.lit(str(path)),
                _file_hash=pl.lit(hashlib.sha256(path.read_bytes()).hexdigest()),
                _ingested_at=pl.lit(now, UTC),
                _row_number=pl.int_range(pl.len(), dtype=pl.Int64),
                _event_date=pl.col("intervalStart").str.strptime(UTC, FORMAT, strict=False).dt.date(),
            )
        )
    bronze = pl.concat(frames)
    write_deltalake(str(root / "bronze" / source), bronze.to_arrow(), mode="append", partition_by=["_event_date"])
    return bronze.height


def typed(bronze: pl.LazyFrame, source: str) -> pl.LazyFrame:
    raw, value, _, _ = VALUES[source]
    start = pl.col("intervalStart").str.strptime(UTC, FORMAT, strict=False)
    end = pl.col("intervalEnd").str.strptime(UTC, FORMAT, strict=False)
    ids = (
        [pl.col("customerId").str.strip_chars().replace("", None).alias("customer_id")]
        if "customerId" in RAW[source]
        else []
    )
    frame = bronze.with_columns(
        *ids,
        interval_start=start,
        interval_end=end,
        **{value: pl.col(raw).str.strip_chars().cast(pl.Float64, strict=False)},
    ).with_columns(
        interval_seconds=(pl.col("interval_end") - pl.col("interval_start")).dt.total_seconds(fractional=True)
    )
    keys = KEYS[source]
    conflicting = pl.col(value).n_unique().over(["_file_hash", *keys]) > 1
    return frame.with_columns(conflicting_duplicate=conflicting.fill_null(False))


def rules(source: str) -> dict[str, pl.Expr]:
    """The suite's row rules: each expression is true where a row passes."""
    _, value, low, high = VALUES[source]
    seconds = pl.col("interval_seconds")
    out = {
        "interval_start_parseable": pl.col("interval_start").is_not_null(),
        "interval_end_parseable": pl.col("interval_end").is_not_null(),
        "interval_end_after_start": seconds.is_null() | (seconds > 0),
        "interval_whole_minutes": seconds.is_null() | (seconds % 60 == 0),
        "interval_at_most_one_day": seconds.is_null() | (seconds <= 86_400),
        "timestamp_within_microseconds": pl.lit(True),  # microsecond parse: finer digits fail to parse
        f"{value.split('_')[0]}_numeric": pl.col(value).is_not_null() & ~pl.col(value).is_nan(),
        f"{value.split('_')[0]}_within_bounds": pl.col(value).is_null()
        | pl.col(value).is_nan()
        | pl.col(value).is_between(low, high),
        "no_conflicting_duplicate": ~pl.col("conflicting_duplicate"),
    }
    if source == "customer_usage":
        out["customer_id_present"] = pl.col("customer_id").is_not_null()
    return out


def refine(root: Path, source: str) -> int:
    bronze = pl.scan_delta(str(root / "bronze" / source))
    checked = (
        typed(bronze, source)
        .with_columns(
            failed_rules=pl.concat_list(
                [pl.when(~ok).then(pl.lit(name)) for name, ok in rules(source).items()]
            ).list.drop_nulls()
        )
        .collect()
    )
    bad = checked.filter(pl.col("failed_rules").list.len() > 0)
    if bad.height:
        quarantine = bad.select(
            *RAW[source],
            "_source_file",
            "_file_hash",
            "_ingested_at",
            "_row_number",
            "failed_rules",
            event_date="_event_date",
        )
        write_deltalake(
            str(root / "quarantine" / source), quarantine.to_arrow(), mode="overwrite", partition_by=["event_date"]
        )
    _, value, _, _ = VALUES[source]
    keys = KEYS[source]
    silver = (
        checked.filter(pl.col("failed_rules").list.len() == 0)
        .sort("_ingested_at", "_row_number")
        .unique(keys, keep="last", maintain_order=True)
        .select(
            *keys,
            *(c for c in ("interval_end", value) if c not in keys),
            "_source_file",
            "_file_hash",
            "_ingested_at",
            "_row_number",
            event_date="_event_date",
        )
    )
    write_deltalake(str(root / "silver" / source), silver.to_arrow(), mode="overwrite", partition_by=["event_date"])
    return checked.height


def gold(root: Path) -> int:
    usage = pl.scan_delta(str(root / "silver" / "customer_usage")).select(
        "customer_id", "interval_start", "interval_end", "usage_kwh"
    )
    prices = pl.scan_delta(str(root / "silver" / "energy_prices")).select("interval_start", "price_per_kwh")
    cost = (
        usage.join(prices, on="interval_start", how="left")
        .with_columns(cost=pl.col("usage_kwh") * pl.col("price_per_kwh"), date=pl.col("interval_start").dt.date())
        .collect()
    )
    write_deltalake(str(root / "gold" / "cost_per_interval"), cost.to_arrow(), mode="overwrite", partition_by=["date"])
    hourly = (
        cost.lazy()
        .group_by("customer_id", hour_start=pl.col("interval_start").dt.truncate("1h"))
        .agg(
            pl.col("usage_kwh").sum(),
            pl.col("cost").sum(),
            intervals=pl.len(),
            is_complete=(pl.col("interval_end") - pl.col("interval_start")).dt.total_seconds().sum() >= 3600,
        )
        .with_columns(date=pl.col("hour_start").dt.date())
        .collect()
    )
    write_deltalake(str(root / "gold" / "hourly_usage"), hourly.to_arrow(), mode="overwrite", partition_by=["date"])
    return cost.height + hourly.height


def publish(root: Path, database: str = "plain.duckdb") -> int:
    """DuckDB views over every table folder of a benchmark lake (the pandas peer's too)."""
    import duckdb

    from warehouse.catalog import prepare_connection
    from warehouse.lake import Lake

    with duckdb.connect(str(root / database)) as con:
        prepare_connection(con, Lake.from_env(str(root)))
        for layer in sorted(p for p in root.iterdir() if p.is_dir()):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {layer.name}")
            for t in sorted(layer.iterdir()):
                con.execute(f"CREATE OR REPLACE VIEW {layer.name}.{t.name} AS SELECT * FROM delta_scan('{t}')")
    return 0


def run_plain(landing: Landing, work: str) -> dict:
    root = Path(work) / "plain_lake"
    root.mkdir(parents=True, exist_ok=True)
    meter = Meter()
    rows = meter.time("land (parse + bronze)", landing.bytes, lambda: sum(land(root, landing, s) for s in SOURCES))
    meter.time("refine (rules + quarantine + silver)", landing.bytes, lambda: sum(refine(root, s) for s in SOURCES))
    meter.time("gold cost_per_interval + hourly_usage", landing.bytes, lambda: gold(root))
    meter.time("publish (DuckDB views)", landing.bytes, lambda: publish(root))
    return meter.result(rows, landing.bytes)
