"""Reading the lake for the HTTP service (api/): one warm in-memory DuckDB connection over the
Delta tables, each query pinned to the table version it reads, so a response can say exactly
which version it is (`table_version`, `as_of`: that version's commit time).

Versions are looked up at most once a second per table (`Snapshots`), through a DeltaTable kept
open and updated incrementally: a gold commit is visible within that second, without a restart,
and no request pays for opening a table's log. The connection is locked down like `gridlake sql`
(warehouse/catalog.py): it reads nothing outside the lake and changes no setting; every request
runs on its own cursor, cancelled after the service's time limit."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import polars as pl
from deltalake import DeltaTable

from warehouse import catalog, delta
from warehouse import query as door
from warehouse.lake import Lake
from warehouse.registry import LAYERS, TABLES, Table

SNAPSHOT_MAX_AGE_SECONDS = 1.0


@dataclass(frozen=True)
class Snapshot:
    version: int
    as_of: dt.datetime


class Snapshots:
    """The latest version and commit time of each table, looked up at most every `max_age` s."""

    def __init__(self, lake: Lake, max_age: float = SNAPSHOT_MAX_AGE_SECONDS) -> None:
        self.lake, self.max_age = lake, max_age
        self._seen: dict[str, tuple[float, Snapshot | None]] = {}
        self._tables: dict[str, DeltaTable] = {}
        self._lock = threading.Lock()

    def get(self, t: Table) -> Snapshot | None:
        seen = self._seen.get(t.qualified)
        if seen is not None and time.monotonic() - seen[0] < self.max_age:
            return seen[1]
        with self._lock:
            seen = self._seen.get(t.qualified)
            if seen is not None and time.monotonic() - seen[0] < self.max_age:
                return seen[1]
            snapshot = self._look(t)
            self._seen[t.qualified] = (time.monotonic(), snapshot)
            return snapshot

    def _look(self, t: Table) -> Snapshot | None:
        table = self._tables.get(t.qualified)
        if table is None:
            if not delta.exists(self.lake, t):
                return None
            opened = delta.open_table(self.lake, t)
            if opened is None:
                return None
            table = self._tables[t.qualified] = opened
        else:
            table.update_incremental()
        stamp = table.history(1)[0].get("timestamp")
        as_of = dt.datetime.fromtimestamp(stamp / 1000, dt.UTC) if stamp else dt.datetime.now(dt.UTC)
        return Snapshot(table.version(), as_of)


@dataclass
class Result:
    """Rows of one read, the table and version they came from, and where the next page starts."""

    frame: pl.DataFrame
    table: str
    snapshot: Snapshot | None
    after: list[Any] | None = None


class Engine:
    """The service's DuckDB connection and the reads it serves."""

    def __init__(self, lake: Lake, timeout: float = 30.0) -> None:
        self.lake, self.timeout = lake, timeout
        self.snapshots = Snapshots(lake)
        self.con = duckdb.connect()
        catalog.prepare_connection(self.con, lake)
        catalog.lock_down(self.con, lake)
        self._views: set[str] = set()
        self._views_lock = threading.Lock()

    def scan(self, t: Table, snapshot: Snapshot) -> str:
        return f"delta_scan('{self.lake.table_uri(t)}', version := {snapshot.version})"

    def read(self, t: Table, sql: str, params: Sequence[Any] = ()) -> Result:
        """`sql` with `{t}` where the pinned table goes; an empty frame when the table does not
        exist yet."""
        snapshot = self.snapshots.get(t)
        if snapshot is None:
            return Result(self._empty(t, sql, params), t.qualified, None)
        frame = self._run(sql.format(t=self.scan(t, snapshot)), params)
        return Result(frame, t.qualified, snapshot)

    def page(
        self,
        t: Table,
        columns: Sequence[str],
        where: str,
        params: Sequence[Any],
        order: Sequence[str],
        size: int,
        after: Sequence[Any] | None = None,
        source: str = "{t}",
    ) -> Result:
        """One page of rows in `order` (a key of the rows), starting after the row `after` names.
        `columns` are column names or `<expression> AS <name>`; `source` (default the table) may
        be a subquery over `{t}`, its parameters first in `params`."""
        select = ", ".join(c if " " in c else f'"{c}"' for c in columns)
        inner = f"SELECT {select} FROM {source} WHERE {where}"
        conditions, values = ["true"], list(params)
        if after:
            keyset, keyset_values = _after(order, after)
            conditions.append(keyset)
            values += keyset_values
        ordering = ", ".join(f'"{c}"' for c in order)
        sql = f"SELECT * FROM ({inner}) WHERE {' AND '.join(conditions)} ORDER BY {ordering} LIMIT {size + 1}"
        result = self.read(t, sql, values)
        if result.frame.height > size:
            result.frame = result.frame.head(size)
            result.after = [_plain(v) for v in result.frame.select(order).row(-1)]
        return result

    def sql(self, query: str, row_limit: int) -> pl.DataFrame:
        """An administrator's query over every table's latest version (the registry views)."""
        door.check(query)
        self._publish_views()
        frame = self._run(f"SELECT * FROM ({query.strip().rstrip(';')}) LIMIT {row_limit + 1}", ())
        return frame

    def _run(self, sql: str, params: Sequence[Any]) -> pl.DataFrame:
        cursor = self.con.cursor()
        try:
            return door.run(cursor, sql, self.timeout, params)
        finally:
            cursor.close()

    def _publish_views(self) -> None:
        with self._views_lock:
            for t in TABLES.values():
                if t.qualified not in self._views and self.snapshots.get(t) is not None:
                    if not self._views:
                        for layer in LAYERS:
                            self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")
                    uri = self.lake.table_uri(t)
                    self.con.execute(f"CREATE OR REPLACE VIEW {t.qualified} AS SELECT * FROM delta_scan('{uri}')")
                    self._views.add(t.qualified)

    def _empty(self, t: Table, sql: str, params: Sequence[Any]) -> pl.DataFrame:
        """The frame `sql` gives on an empty table of the registry's schema (no rows, its columns)."""
        cursor = self.con.cursor()
        try:
            cursor.register("gridlake_empty", delta.empty(t).to_arrow())
            return cursor.execute(sql.format(t="gridlake_empty"), list(params)).pl()
        finally:
            cursor.close()


def _after(order: Sequence[str], after: Sequence[Any]) -> tuple[str, list[Any]]:
    """Rows after `after` in `order`: (a > x) OR (a = x AND b > y) ..."""
    if len(after) != len(order):
        raise ValueError("cursor does not fit this list")
    parts, values = [], []
    for i, column in enumerate(order):
        equal = [f'"{c}" = ?' for c in order[:i]]
        parts.append("(" + " AND ".join([*equal, f'"{column}" > ?']) + ")")
        values += [*after[:i], after[i]]
    return "(" + " OR ".join(parts) + ")", values


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value
