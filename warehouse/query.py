"""The read-only query door (`gridlake sql`, the HTTP API's SQL endpoint): which statements may
run, and running one with a time limit that Ctrl-C or a deadline can cancel.

A statement may be one query (SELECT, WITH, FROM, VALUES, SHOW, DESCRIBE, SUMMARIZE, EXPLAIN)
that reads only the registry's views, CTEs and a few generator functions. Table functions that
reach storage (read_csv, glob, delta_scan, query, ...) are refused before anything runs: the
connection's allowed_directories bind DuckDB's own file system, but the delta extension reads a
Delta log with its own client, so only a check of the parsed statement keeps it to the lake."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import duckdb
import polars as pl

# Query text larger than this is refused before DuckDB parses it: a parser fed megabytes of IN
# list takes seconds and gigabytes (a 1.5 M-element list: 17 s, 1.2 GB).
MAX_SQL_BYTES = 256 * 1024
DEFAULT_TIMEOUT_SECONDS = 300.0
READ_STATEMENTS = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}
# Table functions a query may call: generators and the catalog's own descriptions. Nothing that
# opens a file, a URL or another query string.
ALLOWED_TABLE_FUNCTIONS = frozenset(
    {
        "range",
        "generate_series",
        "unnest",
        "duckdb_tables",
        "duckdb_views",
        "duckdb_columns",
        "duckdb_schemas",
        "duckdb_types",
        "duckdb_functions",
        "duckdb_keywords",
    }
)
_EXPLAIN = re.compile(r"^\s*EXPLAIN(\s+ANALYZE)?\s+", re.IGNORECASE)


class Refused(ValueError):
    """A statement the read-only door does not run; the message says why."""


class Cancelled(RuntimeError):
    """A query stopped by its time limit or by the user (Ctrl-C)."""


def check(sql: str) -> None:
    """Raise `Refused` unless `sql` is one query that reads only registry views."""
    size = len(sql.encode())
    if size > MAX_SQL_BYTES:
        raise Refused(f"the query is {size:,} bytes; at most {MAX_SQL_BYTES:,} are accepted")
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as err:
        raise Refused(f"not valid SQL: {_first_line(err)}") from None
    if len(statements) != 1:
        raise Refused(f"one query at a time, got {len(statements)} statements")
    kind = statements[0].type
    if kind not in READ_STATEMENTS:
        raise Refused(f"only queries are allowed, not {kind.name}: {sql.strip()[:80]!r}")
    inner = _EXPLAIN.sub("", sql, count=1) if kind == duckdb.StatementType.EXPLAIN else sql
    for what, name in _sources(inner):
        if what == "function" and name.lower() not in ALLOWED_TABLE_FUNCTIONS:
            raise Refused(f"the table function {name}() is not available: query the lake's tables (gridlake tables)")
        if what == "table" and re.search(r"[/\\:.]", name):
            raise Refused(f"files cannot be read directly ({name!r}): query the lake's tables (gridlake tables)")


def _sources(sql: str) -> list[tuple[str, str]]:
    """Every table function and table name the statement reads, from DuckDB's own parse."""
    # A literal, not a bound parameter: binding a Python value makes DuckDB import pandas (1 s).
    literal = "'" + sql.replace("'", "''") + "'"
    with duckdb.connect() as con:
        row = con.execute(f"SELECT json_serialize_sql({literal})").fetchone()
    tree = json.loads(row[0]) if row else {"error": True}
    if tree.get("error"):
        raise Refused(f"this statement cannot be checked ({tree.get('error_message', 'unknown form')})")
    found: list[tuple[str, str]] = []
    for node in _nodes(tree):
        if node.get("type") == "TABLE_FUNCTION":
            found.append(("function", str(node.get("function", {}).get("function_name", ""))))
        elif node.get("type") == "BASE_TABLE":
            found.append(("table", str(node.get("table_name", ""))))
    return found


def _nodes(tree: Any) -> Iterator[dict[str, Any]]:
    if isinstance(tree, dict):
        yield tree
        for value in tree.values():
            yield from _nodes(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _nodes(value)


def run(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    timeout: float | None = DEFAULT_TIMEOUT_SECONDS,
    params: Sequence[Any] = (),
) -> pl.DataFrame:
    """Run a checked query on `con`, cancelled after `timeout` seconds or on Ctrl-C.

    The query runs on a worker thread: a Python signal handler only runs on the main thread
    between bytecodes, and the main thread would be inside DuckDB until the query ended."""
    result: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        try:
            result["frame"] = con.execute(sql, list(params)).pl() if params else con.sql(sql).pl()
        except BaseException as err:
            result["error"] = err
        finally:
            done.set()

    thread = threading.Thread(target=work, name="gridlake-query", daemon=True)
    thread.start()
    why = None
    try:
        if not done.wait(timeout):
            why = f"the query ran longer than its {timeout:g} s limit and was cancelled"
    except KeyboardInterrupt:
        why = "the query was interrupted"
    if why is not None:
        con.interrupt()
        done.wait(10)
        raise Cancelled(why)
    if "error" in result:
        raise result["error"]
    frame: pl.DataFrame = result["frame"]
    return frame


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
