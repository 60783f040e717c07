"""The benchmark's peer: the same work written the way most teams would write it with pandas.

pandas `read_csv` / `read_json(lines=True)` with defaults, lineage columns added per file and
one `write_deltalake` per source into bronze; refine types the columns the suites read in pandas,
validates them with the same Great Expectations suites through the plain GX API (row verdicts
from COMPLETE results), splits quarantine from silver and keeps the latest ingest per key; gold
is a pandas merge (exact interval match) and a groupby per customer and hour; publish creates
the same DuckDB views. Same stages, same tables, same suites: only the implementation differs.

The peer is deliberately not naive: it reads each file once, writes each table once, and runs
GX once per table rather than once per file or per rule.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import great_expectations as gx
import numpy as np
import pandas as pd
from deltalake import DeltaTable, write_deltalake
from great_expectations.data_context.types.base import ProgressBarsConfig

from benchmarks.measure import Meter
from benchmarks.workload import SOURCES, Landing
from expectations.spec import QUARANTINED_COLUMN, Suite, uses_quarantine_column
from warehouse.datasets import dataset

# Per source: the raw value field and its typed name, the dedupe keys and values.
VALUE = {"customer_usage": ("usage", "usage_kwh"), "energy_prices": ("price", "price_per_kwh")}
FIVE_MINUTES = pd.Timedelta(minutes=5)


def read_file(path: Path, fmt: str) -> pd.DataFrame:
    return pd.read_csv(path) if fmt == "csv" else pd.read_json(path, lines=True)


def land(root: Path, landing: Landing, source: str) -> int:
    now = pd.Timestamp.now(tz="UTC")
    frames = []
    for path in sorted((Path(landing.folder) / source).iterdir()):
        frame = read_file(path, landing.fmt)
        frame["_source_file"] = str(path)
        frame["_file_hash"] = hashlib.sha256(path.read_bytes()).hexdigest()
        frame["_ingested_at"] = now
        frame["_run_id"] = "bench"
        frame["_row_number"] = np.arange(len(frame), dtype=np.int64)
        frame["event_date"] = pd.to_datetime(frame["intervalStart"], utc=True, errors="coerce").dt.date
        frames.append(frame)
    bronze = pd.concat(frames, ignore_index=True)
    write_deltalake(str(root / "bronze" / source), bronze, mode="append", partition_by=["event_date"])
    return len(bronze)


def typed(bronze: pd.DataFrame, source: str) -> pd.DataFrame:
    """The typed columns the suite reads, as in transforms/usage.py."""
    raw, value = VALUE[source]
    df = bronze
    if source == "customer_usage":
        df["customer_id"] = df["customerId"].astype("string")
    df["interval_start"] = pd.to_datetime(df["intervalStart"], utc=True, errors="coerce")
    end = pd.to_datetime(df["intervalEnd"], utc=True, errors="coerce")
    df["interval_end"] = end.where(df["intervalEnd"].notna(), df["interval_start"] + FIVE_MINUTES)
    df[value] = pd.to_numeric(df[raw], errors="coerce")
    df["interval_seconds"] = (df["interval_end"] - df["interval_start"]).dt.total_seconds()
    df["interval_whole_minutes"] = df["interval_seconds"] % 60 == 0
    keys, values = _keys(source)
    # Same key twice in one file with different values; only rows with a repeated key can conflict.
    repeated = df.duplicated(["_file_hash", *keys], keep=False)
    conflicting = pd.Series(False, index=df.index)
    if repeated.any():
        distinct = df[repeated].groupby(["_file_hash", *keys])[values].transform("nunique")
        conflicting[repeated] = (distinct > 1).any(axis=1)
    df["conflicting_duplicate"] = conflicting
    return df


def _keys(source: str) -> tuple[list[str], list[str]]:
    silver = dataset(source).silver
    return list(silver.keys), list(silver.values)


class Validator:
    """The dataset's suite through the plain GX API on a pandas frame."""

    def __init__(self) -> None:
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        asset = context.data_sources.add_pandas("peer").add_dataframe_asset("frame")
        self.batch = asset.add_batch_definition_whole_dataframe("whole")

    def _suite(self, suite: Suite, late: bool) -> gx.ExpectationSuite:
        expectations = [
            getattr(gx.expectations, rule.expectation.kind)(**rule.expectation.kwargs, meta={"rule": rule.name})
            for rule in suite.rules
            if uses_quarantine_column(rule.expectation) == late
        ]
        return gx.ExpectationSuite(name=f"peer_{suite.name}{'_late' if late else ''}", expectations=expectations)

    def failed_rows(self, df: pd.DataFrame, suite: Suite) -> tuple[np.ndarray, list[str]]:
        """Boolean mask of rows failing any row rule, and each row's failed rule names joined."""
        result = self._validate(df, self._suite(suite, late=False))
        row_rules = set(suite.row_rule_names)
        reasons = np.full(len(df), "", dtype=object)
        for res in result.results:
            name = res.expectation_config.meta["rule"]
            if name in row_rules:
                index = res.result.get("unexpected_index_list") or []
                reasons[index] = reasons[index] + name + ";"
        failed = reasons != ""
        late = self._suite(suite, late=True)
        if late.expectations:
            self._validate(pd.DataFrame({QUARANTINED_COLUMN: failed}), late)
        return failed, list(reasons)

    def _validate(self, df: pd.DataFrame, suite: gx.ExpectationSuite) -> Any:
        batch = self.batch.get_batch(batch_parameters={"dataframe": df})
        return batch.validate(suite, result_format={"result_format": "COMPLETE"})


def refine(root: Path, source: str, validator: Validator) -> int:
    ds = dataset(source)
    df = typed(DeltaTable(str(root / "bronze" / source)).to_pandas(), source)
    failed, reasons = validator.failed_rows(df, ds.suite)
    df["reason"] = reasons
    quarantine = df[failed]
    if len(quarantine):
        write_deltalake(str(root / "quarantine" / source), quarantine, mode="overwrite", partition_by=["event_date"])
    keys, _ = _keys(source)
    silver = (
        df[~failed].sort_values(["_ingested_at", "_row_number"]).drop_duplicates(keys, keep="last", ignore_index=True)
    )
    columns = [c for c in ds.silver_table.column_names if c in silver.columns]
    write_deltalake(str(root / "silver" / source), silver[columns], mode="overwrite", partition_by=["event_date"])
    return len(df)


def build_cost(root: Path) -> int:
    usage = DeltaTable(str(root / "silver" / "customer_usage")).to_pandas(
        columns=["customer_id", "interval_start", "interval_end", "usage_kwh"]
    )
    prices = DeltaTable(str(root / "silver" / "energy_prices")).to_pandas(
        columns=["interval_start", "interval_end", "price_per_kwh"]
    )
    cost = usage.merge(prices, on=["interval_start", "interval_end"], how="left")
    cost["cost"] = cost["usage_kwh"] * cost["price_per_kwh"]
    cost["date"] = cost["interval_start"].dt.date
    write_deltalake(str(root / "gold" / "cost_per_interval"), cost, mode="overwrite", partition_by=["date"])
    return len(cost)


def build_hourly(root: Path) -> int:
    cost = DeltaTable(str(root / "gold" / "cost_per_interval")).to_pandas()
    cost["hour_start"] = cost["interval_start"].dt.floor("h")
    cost["seconds"] = (cost["interval_end"] - cost["interval_start"]).dt.total_seconds()
    hourly = cost.groupby(["customer_id", "hour_start"], as_index=False).agg(
        usage_kwh=("usage_kwh", "sum"),
        cost=("cost", "sum"),
        intervals=("usage_kwh", "size"),
        seconds=("seconds", "sum"),
    )
    hourly["is_complete"] = hourly["seconds"] >= 3600
    hourly["date"] = hourly["hour_start"].dt.date
    hourly = hourly.drop(columns="seconds")
    write_deltalake(str(root / "gold" / "hourly_usage"), hourly, mode="overwrite", partition_by=["date"])
    return len(hourly)


def publish(root: Path) -> int:
    from benchmarks.plain import publish as views

    return views(root, "peer.duckdb")


def run_peer(landing: Landing, work: str) -> dict:
    root = Path(work) / "peer_lake"
    root.mkdir(parents=True, exist_ok=True)
    meter = Meter()
    rows = meter.time("land (parse + bronze)", landing.bytes, lambda: sum(land(root, landing, s) for s in SOURCES))

    def refine_all() -> int:
        validator = Validator()
        return sum(refine(root, s, validator) for s in SOURCES)

    meter.time("refine (validate + quarantine + silver)", landing.bytes, refine_all)
    meter.time("gold cost_per_interval", landing.bytes, lambda: build_cost(root))
    meter.time("gold hourly_usage", landing.bytes, lambda: build_hourly(root))
    meter.time("publish (DuckDB views)", landing.bytes, lambda: publish(root))
    return meter.result(rows, landing.bytes)
