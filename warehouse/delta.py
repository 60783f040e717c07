"""Delta Lake reads and writes for registry tables. Every write here is idempotent:
appends carry a transaction id, replacements are scoped to partitions, upserts merge on keys."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Sequence

import polars as pl
import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake
from deltalake.exceptions import DeltaError, TableNotFoundError
from deltalake.schema import Field

from warehouse.commits import retrying
from warehouse.delta_files import PartitionWriter
from warehouse.lake import Lake
from warehouse.registry import Table

# Every table is created with a checkpoint every 10 commits (delta-rs writes it after the commit
# that reaches it). Opening a table replays the JSON commits since its last checkpoint, and
# delta-rs's default of 100 left the ops tables of a 30-day lake replaying ~70 of them on every
# open: 10-17 ms an open, against 2-5 ms from a checkpoint (measured), and a refine, gold build or
# landing opens them about twenty times. Tables made before this get it from `gridlake maintain`.
CHECKPOINT_INTERVAL = 10
CONFIGURATION = {"delta.checkpointInterval": str(CHECKPOINT_INTERVAL)}


def open_table(lake: Lake, table: Table) -> DeltaTable | None:
    try:
        return DeltaTable(lake.table_uri(table), storage_options=lake.delta_options)
    except TableNotFoundError:
        return None


def exists(lake: Lake, table: Table) -> bool:
    """Whether the table has been created: a look for its first commit (or, once the log has been
    cleaned up past a checkpoint, the checkpoint pointer), far cheaper than loading it. A log
    folder without either is a first write that died (disk full, a kill): no table."""
    log = lake.fs_path(lake.table_uri(table) + "/_delta_log")
    return lake.fs.exists(f"{log}/{0:020d}.json") or lake.fs.exists(f"{log}/_last_checkpoint")


def empty(table: Table) -> pl.DataFrame:
    return pl.DataFrame(schema=table.schema)


def scan(lake: Lake, table: Table) -> pl.LazyFrame:
    """Lazy scan of a table's current version (an empty frame of its schema if it does not exist)."""
    if not exists(lake, table):
        return empty(table).lazy()
    return pl.scan_delta(lake.table_uri(table), storage_options=lake.delta_options)


def read_partitions(
    lake: Lake, table: Table, values: Iterable[dt.date | None], columns: Sequence[str] | None = None
) -> pl.DataFrame:
    """Rows of the given partition values only (None selects the null partition)."""
    assert table.partition_by, f"{table.qualified} is not partitioned"
    values = list(values)
    if not values:
        return empty(table) if columns is None else empty(table).select(columns)
    col = pl.col(table.partition_by)
    dates = [v for v in values if v is not None]
    condition = col.is_in(dates) if dates else pl.lit(False)
    if None in values:
        condition = condition | col.is_null()
    frame = scan(lake, table).filter(condition)
    if columns is not None:
        frame = frame.select(columns)
    return frame.collect()


def partition_dates(lake: Lake, table: Table) -> set[dt.date]:
    """The non-null partition values of a date-partitioned table, from the Delta log alone."""
    return set(partition_rows(lake, table))


def partition_rows(lake: Lake, table: Table) -> dict[dt.date, int]:
    """Rows per non-null partition value of a date-partitioned table, from the Delta log's file
    statistics (no data file is read)."""
    assert table.partition_by, f"{table.qualified} is not partitioned"
    existing = open_table(lake, table)
    if existing is None:
        return {}
    actions = pl.DataFrame(pa.table(existing.get_add_actions(flatten=True)))
    if actions.is_empty():
        return {}
    counted = (
        actions.rename({f"partition.{table.partition_by}": "value"})
        .filter(pl.col("value").is_not_null())
        .group_by("value")
        .agg(pl.col("num_records").sum())
    )
    return dict(zip(counted["value"].to_list(), counted["num_records"].to_list(), strict=True))


def sample(lake: Lake, table: Table, date: dt.date | None = None, rows: int = 5) -> pl.DataFrame:
    """A few rows (of one partition when given) for previews, without reading the partition."""
    frame = scan(lake, table)
    if date is not None and table.partition_by:
        frame = frame.filter(pl.col(table.partition_by) == date)
    return frame.head(rows).collect()


def conform(frame: pl.DataFrame, table: Table) -> pl.DataFrame:
    """Put a frame in the registry's column order and types; open-schema tables keep extras."""
    missing = [c for c in table.column_names if c not in frame.columns]
    if missing:
        frame = frame.with_columns(pl.lit(None).alias(c) for c in missing)
    ordered = frame.select(
        [pl.col(c.name).cast(c.dtype) for c in table.columns]
        + ([pl.col(c) for c in frame.columns if c not in table.schema] if table.open_schema else [])
    )
    return ordered


def _arrow(frame: pl.DataFrame) -> pa.Table:
    return frame.to_arrow()


def append(lake: Lake, table: Table, frame: pl.DataFrame, transactions: Sequence[tuple[str, int]] = ()) -> None:
    """Append rows; `transactions` (app id, version) pairs let a retry detect a finished append."""
    props = CommitProperties(app_transactions=[Transaction(a, v) for a, v in transactions])
    rows = _arrow(conform(frame, table))

    def write() -> None:
        # A failed commit left nothing visible, so appending again cannot duplicate.
        write_deltalake(
            lake.table_uri(table),
            rows,
            mode="append",
            partition_by=[table.partition_by] if table.partition_by else None,
            schema_mode="merge" if table.open_schema else None,
            storage_options=lake.delta_options,
            commit_properties=props,
            configuration=CONFIGURATION,
        )

    retrying(write, f"append to {table.qualified}")


def transaction_version(lake: Lake, table: Table, app_id: str) -> int | None:
    delta = open_table(lake, table)
    return None if delta is None else delta.transaction_version(app_id)


def partition_predicate(column: str, values: Iterable[dt.date | None]) -> str:
    """SQL selecting the given partition values; None selects the null partition."""
    values = set(values)
    dates = sorted(v for v in values if v is not None)
    parts = [f"{column} IN ({', '.join(repr(v.isoformat()) for v in dates)})"] if dates else []
    if None in values:
        parts.append(f"{column} IS NULL")
    return " OR ".join(parts) or "false"


def replace_partitions(
    lake: Lake, table: Table, frame: pl.DataFrame | pl.LazyFrame, values: Iterable[dt.date | None]
) -> None:
    """Atomically replace exactly the given partitions with `frame` (which may be empty). A
    LazyFrame is streamed into the one commit chunk by chunk, never held whole."""
    assert table.partition_by, f"{table.qualified} is not partitioned"
    values = set(values)
    predicate = partition_predicate(table.partition_by, values)
    if isinstance(frame, pl.LazyFrame):
        _replace_streamed(lake, table, frame, values, predicate)
        return
    frame = conform(frame, table)
    _check_partitions(table, frame, values)
    replace_where(lake, table, frame, predicate)


def _check_partitions(table: Table, frame: pl.DataFrame, values: set[dt.date | None]) -> None:
    assert table.partition_by
    unexpected = set(frame.get_column(table.partition_by).unique().to_list()) - values
    if unexpected:
        raise ValueError(f"{table.qualified}: rows outside the partitions being replaced: {unexpected}")


def _replace_streamed(
    lake: Lake, table: Table, frame: pl.LazyFrame, values: set[dt.date | None], predicate: str
) -> None:
    replace_partitions_from(lake, table, frame.collect_batches(), values, frame.clear().collect())


def replace_partitions_from(
    lake: Lake,
    table: Table,
    frames: Iterable[pl.DataFrame],
    values: Iterable[dt.date | None],
    like: pl.DataFrame | None = None,
) -> None:
    """Atomically replace exactly the given partitions with the rows of `frames`, written as
    they come, in one commit, none held whole (warehouse/delta_files.py). `like`: a frame of
    their schema (default: the registry's), for when there are none. The null partition and
    open-schema tables go through delta-rs's writer instead."""
    assert table.partition_by, f"{table.qualified} is not partitioned"
    values = set(values)
    schema = conform(like if like is not None else empty(table), table).to_arrow().schema
    if None in values or table.open_schema:
        _write_held(lake, table, frames, values, schema)
        return
    existing = open_table(lake, table)
    if existing is None:
        # Another writer may create it meanwhile (a parallel backfill's first gold build).
        with contextlib.suppress(DeltaError):
            write_deltalake(
                lake.table_uri(table),
                schema.empty_table(),
                partition_by=[table.partition_by],
                storage_options=lake.delta_options,
                configuration=CONFIGURATION,
            )
        existing = open_table(lake, table)
        assert existing is not None
    writer = PartitionWriter(lake, table, existing, schema)
    try:
        for frame in frames:
            conformed = conform(frame, table)
            _check_partitions(table, conformed, values)
            writer.write(conformed)
        writer.commit(v for v in values if v is not None)
    except BaseException:
        writer.abandon()
        raise


def _write_held(
    lake: Lake, table: Table, frames: Iterable[pl.DataFrame], values: set[dt.date | None], schema: pa.Schema
) -> None:
    # Held whole so a lost commit can be written again: quarantine rows and the null partition
    # (rows without a date) are the small part of a run.
    conformed = [conform(frame, table) for frame in frames]
    for frame in conformed:
        _check_partitions(table, frame, values)
    rows = pl.concat(conformed, how="diagonal_relaxed") if conformed else pl.from_arrow(schema.empty_table())
    assert table.partition_by and isinstance(rows, pl.DataFrame)
    replace_where(lake, table, rows, partition_predicate(table.partition_by, values))


def replace_where(lake: Lake, table: Table, frame: pl.DataFrame, predicate: str) -> None:
    """Atomically replace the rows matching a SQL predicate with `frame` (a new table is created)."""
    rows = _arrow(conform(frame, table))

    def write() -> None:
        created = exists(lake, table)
        write_deltalake(
            lake.table_uri(table),
            rows,
            mode="overwrite",
            predicate=predicate if created else None,
            partition_by=[table.partition_by] if table.partition_by else None,
            schema_mode="merge" if table.open_schema else None,
            storage_options=lake.delta_options,
            configuration=None if created else CONFIGURATION,
        )

    retrying(write, f"replace {table.qualified} where {predicate}")


def delete_where(lake: Lake, table: Table, predicate: str) -> None:
    """Delete the rows matching a SQL predicate (nothing to do if the table does not exist)."""

    def write() -> None:
        existing = open_table(lake, table)
        if existing is not None:
            existing.delete(predicate)

    retrying(write, f"delete from {table.qualified} where {predicate}")


def upsert(lake: Lake, table: Table, frame: pl.DataFrame) -> None:
    """Merge on the table's keys: matching rows are updated, new rows inserted."""
    assert table.keys, f"{table.qualified} has no keys to merge on"
    rows = _arrow(conform(frame, table))
    on = " AND ".join(f"t.{k} = s.{k}" for k in table.keys)

    def write() -> None:
        delta = open_table(lake, table)
        if delta is None:
            try:
                write_deltalake(
                    lake.table_uri(table),
                    rows,
                    mode="error",
                    partition_by=[table.partition_by] if table.partition_by else None,
                    storage_options=lake.delta_options,
                    configuration=CONFIGURATION,
                )
                return
            except DeltaError:
                # Another first writer created it meanwhile: merge into theirs instead.
                delta = open_table(lake, table)
                if delta is None:
                    raise
        (
            delta.merge(rows, predicate=on, source_alias="s", target_alias="t")
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .execute()
        )

    retrying(write, f"merge into {table.qualified}")


def add_missing_columns(lake: Lake, t: Table) -> None:
    """A lake written before a registry column existed gets it (null) before the next write."""
    existing = open_table(lake, t)
    if existing is None:
        return
    present = {f.name for f in existing.schema().fields}
    missing = [c for c in t.columns if c.name not in present]
    if missing:
        arrow = pl.DataFrame(schema={c.name: c.dtype for c in missing}).to_arrow().schema
        existing.alter.add_columns([Field.from_arrow(f) for f in arrow])


def configure(lake: Lake, table: Table) -> bool:
    """Give a table made before CONFIGURATION existed its settings (one commit); False when it
    has them already, or does not exist."""
    existing = open_table(lake, table)
    if existing is None:
        return False
    current = existing.metadata().configuration
    if all(current.get(k) == v for k, v in CONFIGURATION.items()):
        return False
    existing.alter.set_table_properties(CONFIGURATION)
    return True


def version(lake: Lake, table: Table) -> int | None:
    delta = open_table(lake, table)
    return None if delta is None else delta.version()
