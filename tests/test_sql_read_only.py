"""`gridlake sql` is read-only: statements other than queries are refused before they run, and
the connection can read nothing outside the lake, write no file, load no extension and change no
setting. Every registry view still answers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from orchestration.cli import main
from tests.test_pipeline_usage import prices_json, ts, usage_csv
from tests.test_refine_pieces import drop_into
from warehouse import catalog, delta
from warehouse.lake import Lake
from warehouse.registry import TABLES
from warehouse.stages.pipeline import process_pending


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
    # Time travel goes through the same locks.
    with pytest.raises(duckdb.PermissionException):
        catalog.query_as_of(lake, "SELECT * FROM read_text('/etc/hostname')", dt.datetime.now(dt.UTC))
    with pytest.raises(catalog.NotReadOnly):
        catalog.query(lake, "COPY (SELECT 1) TO 'x.csv'")
