"""`gridlake sql` is read-only: statements other than queries are refused before they run, and
the connection can read nothing outside the lake, write no file, load no extension and change no
setting. Every registry view still answers."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner
from deltalake import write_deltalake

from orchestration.cli import main
from tests.builders import drop_into, prices_json, ts, usage_csv
from warehouse import catalog, delta
from warehouse.lake import Lake
from warehouse.registry import TABLES
from warehouse.stages.pipeline import process_pending

GRIDLAKE = str(Path(sys.executable).parent / "gridlake")


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    root = tmp_path_factory.mktemp("ro") / "lake"
    lake = Lake.from_env(str(root))
    drop_into(lake, "customer_usage", "u.csv", usage_csv([(1, ts(0), ts(5), 1.5), (2, "bad", ts(5), 1.0)]))
    drop_into(lake, "energy_prices", "p.json", prices_json([(0, 5, 0.2)]))
    process_pending(lake, publish=True)
    # Something outside the lake a query must not reach, beside it.
    (root.parent / "outside.csv").write_text("secret\n42\n")
    return lake


def refused(lake: Lake, sql: str) -> str:
    out = CliRunner().invoke(main, ["sql", "--lake", lake.root, sql])
    assert out.exit_code != 0, out.output
    assert "refused" in out.output, out.output
    return out.output


@pytest.mark.parametrize(
    "sql",
    [
        "COPY (SELECT 1) TO '{lake}/copied.csv'",
        "COPY gold.hourly_usage TO '{outside}/copied.parquet'",
        "ATTACH '{outside}/other.duckdb' AS other",
        "INSTALL httpfs",
        "LOAD '{outside}/evil.duckdb_extension'",
        "SET enable_external_access = true",
        "RESET allowed_directories",
        "CALL pragma_version()",
        "CHECKPOINT",
        "EXPORT DATABASE '{outside}/dump'",
        "CREATE TABLE t AS SELECT 1",
        "CREATE OR REPLACE VIEW gold.hourly_usage AS SELECT 1",
        "DROP VIEW gold.hourly_usage",
        "SELECT 1; COPY (SELECT 1) TO '{lake}/x.csv'",
    ],
)
def test_statements_other_than_one_query_are_refused(lake: Lake, sql: str) -> None:
    outside = Path(lake.root).parent
    refused(lake, sql.format(lake=lake.root, outside=outside))
    assert not (Path(lake.root) / "copied.csv").exists() and not (outside / "copied.parquet").exists()
    assert not (outside / "other.duckdb").exists() and not (outside / "dump").exists()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_csv('{outside}/outside.csv')",
        "SELECT * FROM read_csv('{lake}/../outside.csv')",
        "SELECT * FROM read_blob('/proc/self/environ')",
        "SELECT * FROM glob('/etc/*')",
        "SELECT * FROM read_parquet('/usr/**/*.parquet')",
    ],
)
def test_files_outside_the_lake_are_out_of_reach(lake: Lake, sql: str) -> None:
    text = refused(lake, sql.format(lake=lake.root, outside=Path(lake.root).parent))
    assert "42" not in text and "root:" not in text


def test_every_registry_view_answers_and_the_lake_reads_as_before(lake: Lake) -> None:
    published = [t for t in TABLES.values() if delta.exists(lake, t)]
    assert len(published) >= 8
    for t in published:
        count = catalog.query(lake, f"SELECT count(*) AS n FROM {t.qualified}")["n"][0]
        assert count == delta.scan(lake, t).collect().height, t.qualified
    out = CliRunner().invoke(
        main, ["sql", "--lake", lake.root, "--format", "csv", "SELECT usage_kwh FROM gold.hourly_usage"]
    )
    assert out.exit_code == 0 and out.output.split() == ["usage_kwh", "1.5"], out.output
    # Time travel goes through the same checks.
    with pytest.raises(catalog.NotReadOnly):
        catalog.query_as_of(lake, "SELECT * FROM read_text('/etc/hostname')", dt.datetime.now(dt.UTC))
    with pytest.raises(catalog.NotReadOnly):
        catalog.query(lake, "COPY (SELECT 1) TO 'x.csv'")


@pytest.fixture(scope="module")
def foreign(lake: Lake) -> str:
    """A Delta table beside the lake, with a column name and values a query must not learn."""
    path = str(Path(lake.root).parent / "foreign")
    write_deltalake(path, pa.table({"foreign_secret": ["hunter2"], "amount": [4242]}))
    return path


@pytest.mark.parametrize(
    "sql",
    [
        "DESCRIBE SELECT * FROM delta_scan('{foreign}')",
        "SELECT * FROM delta_scan('{foreign}')",
        "SELECT * FROM delta_scan('{lake}/../foreign')",
        "SELECT count(*) FROM delta_scan('{foreign}') WHERE amount > 4000",
        "SELECT (SELECT max(amount) FROM delta_scan('{foreign}')) AS x",
        "WITH f AS (SELECT * FROM delta_scan('{foreign}')) SELECT * FROM f",
        "SELECT * FROM gold.hourly_usage WHERE usage_kwh IN (SELECT amount FROM delta_scan('{foreign}'))",
        "SELECT * FROM query('SELECT * FROM delta_scan(''{foreign}'')')",
        "SELECT * FROM query_table('gold.hourly_usage')",
        "SELECT * FROM delta_list_files('{foreign}')",
        "SELECT * FROM '{foreign}'",
        "SELECT * FROM '{lake}/silver/customer_usage'",
        "EXPLAIN ANALYZE SELECT * FROM delta_scan('{foreign}')",
        "SELECT * FROM duckdb_secrets()",
        "SELECT * FROM duckdb_settings()",
        "SELECT * FROM which_secret('s3://x/y', 's3')",
        "PRAGMA table_info('gold.hourly_usage')",
    ],
)
def test_only_the_registry_tables_can_be_read(lake: Lake, foreign: str, sql: str) -> None:
    with pytest.raises(catalog.NotReadOnly) as refusal:
        catalog.query(lake, sql.format(lake=lake.root, foreign=foreign))
    assert "foreign_secret" not in str(refusal.value) and "4242" not in str(refusal.value)
    text = refused(lake, sql.format(lake=lake.root, foreign=foreign))
    assert "foreign_secret" not in text and "hunter2" not in text


@pytest.mark.parametrize(
    "sql",
    [
        "SHOW TABLES",
        "DESCRIBE gold.hourly_usage",
        "SUMMARIZE gold.hourly_usage",
        "EXPLAIN SELECT * FROM gold.hourly_usage",
        "WITH h AS (SELECT * FROM gold.hourly_usage) SELECT count(*) FROM h, range(2)",
        "SELECT view_name FROM duckdb_views() WHERE schema_name = 'gold'",
        "SELECT * FROM information_schema.tables",
        "FROM gold.hourly_usage SELECT customer_id, unnest([1, 2]) AS n",
    ],
)
def test_ordinary_queries_still_answer(lake: Lake, sql: str) -> None:
    assert catalog.query(lake, sql).height >= 1


def test_a_query_past_its_limit_is_cancelled_and_huge_text_refused(lake: Lake) -> None:
    endless = "SELECT count(*) FROM range(100000000) a, range(100000000) b"
    started = time.monotonic()
    out = CliRunner().invoke(main, ["sql", "--lake", lake.root, "--timeout", "1", endless])
    assert out.exit_code == 130, out.output
    assert "ran longer than its 1 s limit and was cancelled" in out.output
    assert time.monotonic() - started < 30
    huge = "SELECT 1 WHERE 1 IN (" + ", ".join(map(str, range(60_000))) + ")"
    with pytest.raises(catalog.NotReadOnly, match=f"the query is {len(huge):,} bytes; at most 262,144 are accepted"):
        catalog.query(lake, huge)


@pytest.mark.e2e
def test_ctrl_c_cancels_a_running_query(lake: Lake) -> None:
    env = {**os.environ, "GRIDLAKE_STATE": os.environ["GRIDLAKE_STATE"]}
    endless = "SELECT count(*) FROM range(100000000) a, range(100000000) b"
    process = subprocess.Popen(
        [GRIDLAKE, "sql", "--lake", lake.root, endless], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    time.sleep(8)  # past the imports, inside the query
    assert process.poll() is None
    process.send_signal(signal.SIGINT)
    started = time.monotonic()
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert time.monotonic() - started < 10
    assert b"the query was interrupted" in err


def test_lists_are_json_text_in_csv(lake: Lake) -> None:
    out = CliRunner().invoke(
        main,
        [
            "sql",
            "--lake",
            lake.root,
            "--format",
            "csv",
            "SELECT failed_rules, [DATE '2020-08-05'] AS d FROM quarantine.customer_usage",
        ],
    )
    assert out.exit_code == 0, out.output
    assert out.output.splitlines() == ["failed_rules,d", '"[""interval_start_parseable""]","[""2020-08-05""]"']


def test_a_copied_lake_answers_without_a_run(lake: Lake, tmp_path: Path) -> None:
    copy = tmp_path / "moved" / "lake"
    shutil.copytree(lake.root, copy)
    out = CliRunner().invoke(
        main, ["sql", "--lake", str(copy), "--format", "csv", "SELECT usage_kwh FROM gold.hourly_usage"]
    )
    assert out.exit_code == 0 and out.output.split() == ["usage_kwh", "1.5"], out.output
    assert not (copy / "_state" / "gridlake.duckdb").read_bytes().count(lake.root.encode())
