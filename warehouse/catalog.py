"""Publish the lake to DuckDB: a database file with one schema per layer and one view per
registry table over its Delta table (delta_scan), commented from the registry. Views read the
latest Delta version at query time, so publishing is needed only when tables appear: the
plan's publish stage does it (the `duckdb_catalog` asset, `process_pending(publish=True)`), and
every reader (`read_only`) does it first when a table appeared since, so writers never have to.

Views name their table relative to the lake root (the `gridlake_root` variable every
connection sets), so a lake copied or moved elsewhere is queryable as it is."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import duckdb
import duckdb_extension_delta
import duckdb_extension_httpfs
import polars as pl

from warehouse import delta
from warehouse import query as door
from warehouse.lake import Lake
from warehouse.registry import LAYERS, TABLES, Table


def _extension(package: object) -> str:
    # The extensions ship inside PyPI wheels; nothing is downloaded at run time.
    return str(next(Path(package.__file__).parent.rglob("*.duckdb_extension")))  # type: ignore[attr-defined]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


ROOT_VARIABLE = "gridlake_root"
# Global S3 settings the httpfs extension fills from AWS_* variables when it loads. The session
# secret carries the credentials; these would show them to any query (current_setting).
_S3_CREDENTIAL_SETTINGS = ("s3_access_key_id", "s3_secret_access_key", "s3_session_token")


def prepare_connection(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    con.execute(f"LOAD {_quote(_extension(duckdb_extension_delta))}")
    # Literals, not bound parameters: binding a Python value makes DuckDB import pandas (1 s).
    con.execute(f"SET VARIABLE {ROOT_VARIABLE} = {_quote(lake.root.rstrip('/'))}")
    if lake.is_s3:
        con.execute(f"LOAD {_quote(_extension(duckdb_extension_httpfs))}")
        con.execute(s3_secret_sql(lake))
        for name in _S3_CREDENTIAL_SETTINGS:
            con.execute(f"SET {name} = ''")


def s3_secret_sql(lake: Lake) -> str:
    """A session secret built from the same storage options the writers use."""
    opts = lake.storage_options
    parts = ["TYPE s3", "URL_STYLE 'path'"]
    if opts.get("AWS_ACCESS_KEY_ID"):
        parts.append(f"KEY_ID {_quote(opts['AWS_ACCESS_KEY_ID'])}")
    if opts.get("AWS_SECRET_ACCESS_KEY"):
        parts.append(f"SECRET {_quote(opts['AWS_SECRET_ACCESS_KEY'])}")
    parts.append(f"REGION {_quote(opts.get('AWS_REGION', 'us-east-1'))}")
    if opts.get("AWS_ENDPOINT_URL"):
        url = urlparse(opts["AWS_ENDPOINT_URL"])
        parts.append(f"ENDPOINT {_quote(url.netloc)}")
        parts.append(f"USE_SSL {'true' if url.scheme == 'https' else 'false'}")
    return f"CREATE OR REPLACE SECRET gridlake_s3 ({', '.join(parts)})"


def publish(lake: Lake) -> list[str]:
    """Create the views of every existing table; returns the qualified names published.
    Views read the latest Delta version when queried, so the database is only rewritten when
    the set of tables or their registry descriptions changed (a fingerprint is kept in it).

    The new database is built beside the old one and moved over it in one rename: a reader
    (`gridlake sql`) keeps the file it opened, and never meets a writer's lock."""
    existing = [t for t in TABLES.values() if _has_table(lake, t)]
    fingerprint = _fingerprint(lake, existing)
    if lake.duckdb_path.exists():
        with duckdb.connect(str(lake.duckdb_path), read_only=True) as con:
            if _stored_fingerprint(con) == fingerprint:
                return [t.qualified for t in existing]
    lake.state_folder()
    building = lake.duckdb_path.with_name(f".{lake.duckdb_path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    try:
        with duckdb.connect(str(building)) as con:
            prepare_connection(con, lake)
            # One transaction: each statement would otherwise commit (and sync) on its own.
            con.execute("BEGIN TRANSACTION")
            for layer in LAYERS:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")
            for t in existing:
                _create_view(con, lake, t)
            con.execute(f"CREATE OR REPLACE TABLE main.gridlake_catalog AS SELECT {_quote(fingerprint)} AS fingerprint")
            con.execute("COMMIT")
        os.replace(building, lake.duckdb_path)
    finally:
        building.unlink(missing_ok=True)
        building.with_name(building.name + ".wal").unlink(missing_ok=True)
    return [t.qualified for t in existing]


def _has_table(lake: Lake, t: Table) -> bool:
    return delta.exists(lake, t)


def _fingerprint(lake: Lake, tables: list[Table]) -> str:
    described = [(_relative(t), t.description, [(c.name, c.description) for c in t.columns]) for t in tables]
    return hashlib.sha256(json.dumps(described).encode()).hexdigest()


def _stored_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    try:
        row = con.execute("SELECT fingerprint FROM main.gridlake_catalog").fetchone()
    except duckdb.CatalogException:
        return None
    return row[0] if row else None


def _relative(t: Table) -> str:
    return f"{t.layer}/{t.name}"


def _scan_sql(t: Table, version: int | None = None) -> str:
    at = "" if version is None else f", version := {version}"
    return f"delta_scan(getvariable('{ROOT_VARIABLE}') || {_quote('/' + _relative(t))}{at})"


def _create_view(con: duckdb.DuckDBPyConnection, lake: Lake, t: Table) -> None:
    con.execute(f"CREATE OR REPLACE VIEW {t.qualified} AS SELECT * FROM {_scan_sql(t)}")
    con.execute(f"COMMENT ON VIEW {t.qualified} IS {_quote(t.description)}")
    present = {row[0] for row in con.execute(f"DESCRIBE {t.qualified}").fetchall()}
    for c in t.columns:
        if c.name in present:
            con.execute(f'COMMENT ON COLUMN {t.qualified}."{c.name}" IS {_quote(c.description)}')


class NoLake(ValueError):
    """Nothing to read: no lake at the root, or one with no tables yet (the message says what to run)."""


def require_tables(lake: Lake) -> None:
    """Raise NoLake when the lake has nothing to query, without creating anything."""
    if not lake.exists():
        raise NoLake(
            f"no lake at {lake.root}: check --lake (or GRIDLAKE_ROOT); `gridlake demo` makes one with sample data"
        )
    if not any(delta.exists(lake, t) for t in TABLES.values()):
        raise NoLake(
            f"the lake at {lake.root} has no tables yet: drop files into {lake.uri('landing', '<source>')} "
            "and run `gridlake run`"
        )


@contextmanager
def read_only(lake: Lake) -> Iterator[duckdb.DuckDBPyConnection]:
    require_tables(lake)
    # The one place a table that appeared since the last publish gets its view: a look at the
    # fingerprint when nothing changed (tens of ms), a rebuild (under a second) when it did.
    publish(lake)
    con = duckdb.connect(str(lake.duckdb_path), read_only=True)
    try:
        prepare_connection(con, lake)
        yield con
    finally:
        con.close()


NotReadOnly = door.Refused


def lock_down(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """No file outside the lake is read or written, no extension installed or loaded, no setting
    changed again, for the rest of this connection's life."""
    root = lake.root.rstrip("/") + "/"
    con.execute(f"SET allowed_directories = [{_quote(root)}]")
    con.execute("SET enable_external_access = false")
    con.execute(f"SET memory_limit = '{max(lake.memory_mb, 256)}MB'")
    con.execute("SET lock_configuration = true")


def query(lake: Lake, sql: str, timeout: float | None = door.DEFAULT_TIMEOUT_SECONDS) -> pl.DataFrame:
    """One read-only query on the catalog (warehouse/query.py), cancelled after `timeout` s."""
    door.check(sql)
    with read_only(lake) as con:
        lock_down(con, lake)
        return door.run(con, sql, timeout)


def version_at(lake: Lake, t: Table, when: dt.datetime) -> int | None:
    """The table's version current at `when` (its latest commit at or before it); None if the
    table did not exist yet, or the log of that time has been cleaned up (warehouse/maintain.py)."""
    existing = delta.open_table(lake, t)
    if existing is None:
        return None
    limit = when.timestamp() * 1000
    versions = [h["version"] for h in existing.history() if h.get("timestamp", limit + 1) <= limit]
    return max(versions) if versions else None


def query_as_of(
    lake: Lake, sql: str, when: dt.datetime, timeout: float | None = door.DEFAULT_TIMEOUT_SECONDS
) -> pl.DataFrame:
    """`query` with every table read as it was at `when` (Delta time travel): views over
    delta_scan(uri, version := v) in a database of their own."""
    door.check(sql)
    require_tables(lake)
    con = duckdb.connect()
    try:
        prepare_connection(con, lake)
        for layer in LAYERS:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")
        existed = 0
        for t in TABLES.values():
            version = version_at(lake, t, when)
            if version is not None:
                con.execute(f"CREATE VIEW {t.qualified} AS SELECT * FROM {_scan_sql(t, version)}")
                existed += 1
        if not existed:
            raise NoLake(
                f"--as-of {when.isoformat()} is before the lake's first commit: no table existed then "
                "(`gridlake tables` shows each table's last commit)"
            )
        lock_down(con, lake)
        try:
            return door.run(con, sql, timeout)
        except duckdb.CatalogException as missing:
            raise duckdb.CatalogException(
                f"{missing} (--as-of {when.isoformat()}: a table created after that time does not exist in it)"
            ) from None
    finally:
        con.close()


def table_stats(lake: Lake) -> pl.DataFrame:
    """Every registry table with its Delta version, row count (from the log) and last commit."""
    require_tables(lake)
    rows: list[dict[str, object]] = []
    for t in TABLES.values():
        table_ = delta.open_table(lake, t)
        if table_ is None:
            rows.append({"table": t.qualified, "version": None, "rows": None, "updated": None})
            continue
        # Row counts come from the Delta log's per-file statistics: no data file is read.
        actions = pl.DataFrame(table_.get_add_actions(flatten=True))
        count = int(actions["num_records"].sum()) if actions.height else 0
        ts = table_.history(1)[0].get("timestamp")
        updated = dt.datetime.fromtimestamp(ts / 1000, dt.UTC) if ts else None
        rows.append({"table": t.qualified, "version": table_.version(), "rows": count, "updated": updated})
    return pl.DataFrame(
        rows, schema={"table": pl.String, "version": pl.Int64, "rows": pl.Int64, "updated": pl.Datetime("ms", "UTC")}
    )
