"""Where did this number come from? One gold row, the silver rows it was built from (read at the
Delta versions the build recorded in ops.gold_builds), and for each of them the bronze rows that
carried its key: the file, content hash, row number, ingest time and run of each, and its fate
(kept: the row silver holds; superseded or duplicate: an ingest of the same key that lost;
quarantined: with the rules it failed). Every silver row passed its source's row rules, which are
listed with it.

Which silver rows a gold row reads is its table's lineage: shared key columns by default (and
the gold `date` as silver's event date); the tables whose rows read more (a cost reads the price
intervals its usage interval overlaps, an hour reads twelve intervals) say so in `LINEAGE`.

Read only, and without Great Expectations: bronze rows are typed with the source's own `prepare`
and labelled with refine's own silver strategy (warehouse/stages/fates.py)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from transforms.completeness import series_name
from warehouse import delta
from warehouse.datasets import DATASETS, Dataset
from warehouse.lake import Lake
from warehouse.plan import GOLD, GoldSpec
from warehouse.registry import TABLES, Table, table
from warehouse.stages import fates
from warehouse.stages.refine import reference_of

BUILDS = table("ops.gold_builds")
# Silver rows shown (and followed to bronze) per input; the total is always given.
MAX_ROWS = 200
LINEAGE_COLUMNS = ["_source_file", "_file_hash", "_row_number", "_ingested_at"]


class ExplainError(ValueError):
    """A table without keys, a key missing or unreadable, or no row with that key."""


@dataclass
class Input:
    table: str
    # The silver rows the gold row read (at most MAX_ROWS), with their lineage columns.
    rows: pl.DataFrame
    total: int
    version_read: int | None
    version_now: int | None
    # Row rules every silver row passed.
    rules: list[str]
    # Bronze rows that carried the keys of `rows`, with `fate` and `failed_rules`.
    bronze: pl.DataFrame

    @property
    def changed_since(self) -> bool:
        return self.version_read is not None and self.version_now != self.version_read


@dataclass
class Explanation:
    table: str
    key: dict[str, Any]
    row: dict[str, Any]
    spec: str
    date: dt.date | None
    build: dict[str, Any] | None
    inputs: list[Input] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return _plain(
            {
                "table": self.table,
                "key": self.key,
                "row": self.row,
                "gold": self.spec,
                "date": self.date,
                "build": self.build,
                "inputs": [
                    {
                        "table": i.table,
                        "version_read": i.version_read,
                        "version_now": i.version_now,
                        "rows_total": i.total,
                        "rules_passed": i.rules,
                        "rows": i.rows.to_dicts(),
                        "bronze": i.bronze.to_dicts(),
                    }
                    for i in self.inputs
                ],
            }
        )


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return value


Lineage = Callable[[dict[str, Any]], dict[str, pl.Expr]]


def _overlapping(start: dt.datetime, end: dt.datetime) -> pl.Expr:
    return (pl.col("interval_start") < end) & (pl.col("interval_end") > start)


def _cost(row: dict[str, Any]) -> dict[str, pl.Expr]:
    usage = (pl.col("customer_id") == row["customer_id"]) & (pl.col("interval_start") == row["interval_start"])
    return {"customer_usage": usage, "energy_prices": _overlapping(row["interval_start"], row["interval_end"])}


def _hourly(row: dict[str, Any]) -> dict[str, pl.Expr]:
    start = row["hour_start"]
    end = start + dt.timedelta(hours=1)
    usage = (pl.col("customer_id") == row["customer_id"]) & pl.col("interval_start").is_between(
        start, end, closed="left"
    )
    return {"customer_usage": usage, "energy_prices": _overlapping(start, end)}


def _series_day(row: dict[str, Any]) -> dict[str, pl.Expr]:
    ds = DATASETS[row["source"]]
    assert ds.series is not None
    mine = (series_name(ds.series.key) == row["series"]) & (pl.col("event_date") == row["date"])
    if "gap_start" in row:
        # The readings either side of the gap.
        time = pl.col(ds.series.time)
        before = time < row["gap_start"]
        mine = mine & (
            (before & (time == time.filter(mine & before).max())) | (time == time.filter(mine & ~before).min())
        )
    return {row["source"]: mine}


def _window(row: dict[str, Any]) -> dict[str, pl.Expr]:
    """A pair's samples in the 24 hours up to the row's time: what its volatility is over."""
    time = pl.col("time")
    since = row["time"] - dt.timedelta(hours=24)
    return {"coin_prices": (pl.col("pair") == row["pair"]) & (time > since) & (time <= row["time"])}


def _latest_site(row: dict[str, Any]) -> dict[str, pl.Expr]:
    site = pl.col("site_id") == row["site_id"]
    return {
        "sites": site,
        "site_configurations": site & (pl.col("valid_from") == row["configuration_valid_from"]),
        "site_live_data": site & (pl.col("dt_stamp") == row["dt_stamp"]),
    }


LINEAGE: Mapping[str, Lineage] = {
    "gold.cost_per_interval": _cost,
    "gold.hourly_usage": _hourly,
    "gold.coin_volatility": _window,
    "gold.coin_latest": _window,
    "gold.site_latest": _latest_site,
    "gold.completeness": _series_day,
    "gold.gaps": _series_day,
}


def _shared(spec: GoldSpec, gold: Table) -> Lineage:
    """Default lineage: each input's rows with the gold row's key values (and its date as event date)."""

    def filters(row: dict[str, Any]) -> dict[str, pl.Expr]:
        out = {}
        for source in spec.inputs:
            silver = table(f"silver.{source}")
            names = silver.column_names
            conditions = [pl.col(k) == row[k] for k in gold.keys if k in names and k != "date"]
            if not conditions:
                continue
            if "date" in gold.keys and "event_date" in names and DATASETS[source].per_date:
                conditions.append(pl.col("event_date") == row["date"])
            out[source] = pl.all_horizontal(conditions)
        return out

    return filters


def parse_key(t: Table, given: Mapping[str, str]) -> dict[str, Any]:
    """`column=value` texts typed by the table's schema: all of its key columns, nothing else."""
    if not t.keys:
        raise ExplainError(f"{t.qualified} has no key: explain works on gold tables with one")
    unknown = sorted(set(given) - set(t.keys))
    missing = [k for k in t.keys if k not in given]
    if unknown or missing:
        raise ExplainError(
            f"{t.qualified} is keyed by {', '.join(t.keys)}"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; not a key: {', '.join(unknown)}" if unknown else "")
        )
    return {k: _typed(t, k, given[k]) for k in t.keys}


def _typed(t: Table, column: str, text: str) -> Any:
    dtype = t.schema[column]
    try:
        if isinstance(dtype, pl.Datetime):
            value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
            return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
        if dtype == pl.Date:
            return dt.date.fromisoformat(text.strip())
        if dtype.is_integer():
            return int(text)
        if dtype.is_float():
            return float(text)
    except ValueError:
        raise ExplainError(f"{column}={text!r}: not a {dtype} (times: ISO-8601, naive = UTC)") from None
    return text


def explain(lake: Lake, name: str, given: Mapping[str, str]) -> Explanation:
    t = TABLES.get(name)
    if t is None or t.layer != "gold":
        gold = ", ".join(n for n, g in TABLES.items() if g.layer == "gold" and g.keys)
        raise ExplainError(f"{name!r} is not a gold table: one of {gold}")
    key = parse_key(t, given)
    found = delta.scan(lake, t).filter(pl.all_horizontal([pl.col(k) == v for k, v in key.items()])).collect()
    if found.is_empty():
        shown = " ".join(f"{k}={v}" for k, v in given.items())
        raise ExplainError(f"no row of {name} with {shown}")
    row = found.row(0, named=True)
    spec = next(s for s in GOLD if t in s.tables)
    date = row.get("date") if spec.partitioned else None
    build = _build(lake, spec, date)
    read = json.loads(build["read"]) if build else {}
    lineage = LINEAGE.get(name) or _shared(spec, t)
    inputs = [
        _input(lake, DATASETS[source], condition, read.get(f"silver.{source}"))
        for source, condition in lineage(row).items()
    ]
    if build:
        build = {**build, "read": read, "wrote": json.loads(build["wrote"])}
    return Explanation(name, key, row, spec.name, date, build, inputs)


def _build(lake: Lake, spec: GoldSpec, date: dt.date | None) -> dict[str, Any] | None:
    """The latest ops.gold_builds row of the spec and date (None: built before builds were recorded)."""
    on_date = pl.col("date").is_null() if date is None else pl.col("date") == date
    builds = delta.scan(lake, BUILDS).filter((pl.col("gold") == spec.name) & on_date).sort("built_at").collect()
    if builds.is_empty():
        return None
    last = builds.row(-1, named=True)
    return {"built_at": last["built_at"], "read": last["inputs"], "wrote": last["outputs"]}


def _silver_at(lake: Lake, t: Table, version: int | None) -> pl.LazyFrame:
    """Silver as the build read it; the current version when that one is gone (vacuumed)."""
    if version is None or not delta.exists(lake, t):
        return delta.scan(lake, t)
    try:
        return pl.scan_delta(lake.table_uri(t), version=version, storage_options=lake.delta_options)
    except Exception:
        return delta.scan(lake, t)


def _input(lake: Lake, ds: Dataset, condition: pl.Expr, version: int | None) -> Input:
    silver_table = ds.silver_table
    rows = _silver_at(lake, silver_table, version).filter(condition).collect()
    keys = list(ds.silver.keys)
    rows = rows.sort([*keys, *(c for c in ("valid_from",) if c in rows.columns and c not in keys)])
    shown = rows.head(MAX_ROWS)
    return Input(
        table=silver_table.qualified,
        rows=shown,
        total=rows.height,
        version_read=version,
        version_now=delta.version(lake, silver_table),
        rules=[rule.name for rule in ds.suite.row_rules],
        bronze=_bronze(lake, ds, shown),
    )


BRONZE_COLUMNS = ["fate", "failed_rules", "_source_file", "_file_hash", "_row_number", "_ingested_at", "_run_id"]


def _bronze(lake: Lake, ds: Dataset, silver: pl.DataFrame) -> pl.DataFrame:
    """Every bronze row with one of `silver`'s keys, typed by the source's prepare, with its fate."""
    keys = list(ds.silver.keys)
    values = [c for c in ds.silver.values if c not in keys]
    if silver.is_empty() or not delta.exists(lake, ds.bronze):
        return pl.DataFrame(schema={"fate": pl.String})
    if ds.per_date:
        raw = delta.read_partitions(lake, ds.bronze, silver["event_date"].unique().to_list())
    else:
        raw = delta.scan(lake, ds.bronze).collect()
    reference, _ = reference_of(lake, ds)
    checked, _ = fates.prepare(ds, raw, reference)
    wanted = checked.join(silver.select(keys).unique(), on=keys, how="semi", nulls_equal=True)
    quarantined = (
        delta.scan(lake, ds.quarantine)
        .select("_file_hash", "_row_number", "failed_rules")
        .join(wanted.lazy().select("_file_hash", "_row_number"), on=["_file_hash", "_row_number"], how="semi")
        .unique(["_file_hash", "_row_number"])
        .collect()
    )
    judged = wanted.join(quarantined, on=["_file_hash", "_row_number"], how="left")
    bad = judged.filter(pl.col("failed_rules").is_not_null())
    labelled = fates.fates(ds, judged.filter(pl.col("failed_rules").is_null()).drop("failed_rules"))
    run_ids = raw.select("_file_hash", "_row_number", "_run_id").unique(["_file_hash", "_row_number"])
    shown = [*keys, *values, *(c for c in ds.row_id if c not in LINEAGE_COLUMNS)]
    no_rules = pl.lit(None, pl.List(pl.String))
    good = labelled.select(*shown, *LINEAGE_COLUMNS, fate=pl.col("_fate"), failed_rules=no_rules)
    quarantine = bad.select(*shown, *LINEAGE_COLUMNS, fate=pl.lit("quarantined"), failed_rules="failed_rules")
    both = pl.concat([good, quarantine], how="vertical_relaxed").join(
        run_ids, on=["_file_hash", "_row_number"], how="left"
    )
    order = [c for c in BRONZE_COLUMNS if c in both.columns]
    return both.select([*shown, *order]).sort([*keys, "_ingested_at", "_row_number"])
