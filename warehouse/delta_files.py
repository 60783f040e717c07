"""Replacing date partitions from a stream of frames in bounded memory: the Parquet files are
written here, frame by frame, and committed to the Delta log in one transaction that also
removes the partitions' old files.

delta-rs's own writer buffers a partition's rows up to its target file size before it writes
(hundreds of MB for a large date of silver with its lineage text); a `pyarrow.parquet.ParquetWriter`
per partition writes each frame as a row group and holds only that. The files carry Delta's
`numRecords` and `nullCount` statistics; min/max are left out (a reader then scans the file
rather than skip it: slower, never wrong)."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable
from deltalake.transaction import AddAction, RemoveAction

from warehouse.commits import retrying
from warehouse.lake import Lake
from warehouse.registry import Table

# Start a new file after this many rows (a file per 4M rows of silver usage is ~50 MB).
ROWS_PER_FILE = 4_000_000


@dataclass
class _File:
    relative: str
    handle: Any
    writer: pq.ParquetWriter
    rows: int = 0
    nulls: dict[str, int] = field(default_factory=dict)


class PartitionWriter:
    """Parquet files of the given date partitions of one table, and their commit."""

    def __init__(self, lake: Lake, table: Table, existing: DeltaTable, schema: pa.Schema) -> None:
        assert table.partition_by
        self.lake, self.table, self.existing = lake, table, existing
        self.column = table.partition_by
        # The full schema (for the log) and the files' schema (partition values live in paths).
        self.schema = schema
        self.file_schema = pa.schema([f for f in schema if f.name != self.column])
        self.open: dict[dt.date, _File] = {}
        self.done: list[AddAction] = []

    def write(self, frame: pl.DataFrame) -> None:
        for (value,), part in frame.partition_by(self.column, as_dict=True, include_key=False).items():
            f = self.open.get(value) or self._new(value)
            table = part.to_arrow().cast(self.file_schema)
            f.writer.write_table(table)
            f.rows += table.num_rows
            for name, nulls in zip(table.column_names, (c.null_count for c in table.columns), strict=True):
                f.nulls[name] = f.nulls.get(name, 0) + nulls
            if f.rows >= ROWS_PER_FILE:
                self._close(value)

    def _new(self, value: dt.date) -> _File:
        relative = f"{self.column}={value.isoformat()}/part-{uuid.uuid4()}.parquet"
        path = self.lake.fs_path(f"{self.lake.table_uri(self.table)}/{relative}")
        self.lake.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        handle = self.lake.fs.open(path, "wb")
        f = _File(relative, handle, pq.ParquetWriter(handle, self.file_schema, compression="snappy"))
        self.open[value] = f
        return f

    def _close(self, value: dt.date) -> None:
        f = self.open.pop(value)
        f.writer.close()
        f.handle.close()
        path = self.lake.fs_path(f"{self.lake.table_uri(self.table)}/{f.relative}")
        stats = {"numRecords": f.rows, "nullCount": f.nulls}
        self.done.append(
            AddAction(
                path=f.relative,
                size=int(self.lake.fs.size(path)),
                partition_values={self.column: value.isoformat()},
                modification_time=int(time.time() * 1000),
                data_change=True,
                stats=json.dumps(stats),
            )
        )

    def commit(self, values: Iterable[dt.date]) -> None:
        """One transaction: the new files in, every old file of `values` out."""
        for value in list(self.open):
            self._close(value)
        wanted = sorted(v.isoformat() for v in values)

        def attempt() -> None:
            # The files written stay valid; only the list of old files to remove is re-read.
            self.existing.update_incremental()
            self.existing.create_write_transaction(
                list[AddAction | RemoveAction](self.done),
                mode="overwrite",
                schema=self.schema,
                partition_by=[self.column],
                partition_filters=[(self.column, "in", wanted)],
            )

        retrying(attempt, f"replace partitions {wanted} of {self.table.qualified}")

    def abandon(self) -> None:
        """Close and delete files of a write that failed before its commit."""
        for value in list(self.open):
            f = self.open.pop(value)
            f.writer.close()
            f.handle.close()
            self.done.append(AddAction(f.relative, 0, {}, 0, False, "{}"))
        for action in self.done:
            path = self.lake.fs_path(f"{self.lake.table_uri(self.table)}/{action.path}")
            if self.lake.fs.exists(path):
                self.lake.fs.rm(path)
