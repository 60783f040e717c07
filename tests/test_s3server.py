"""The SeaweedFS test server works with every S3 client the product uses."""

from __future__ import annotations

import gzip
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import duckdb
import duckdb_extension_delta
import duckdb_extension_httpfs
import polars as pl
import pyarrow as pa
import pytest
import s3fs
from deltalake import DeltaTable, write_deltalake

from tests import s3server
from tests.s3server import SeaweedS3

pytestmark = pytest.mark.s3

# Makes the session fixture available without a conftest; if conftest.py also
# imports it, both share one server.
s3_server = s3server.s3_server

# Never let DuckDB reach for the network to fetch an extension.
DUCKDB_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


def _extension(module: ModuleType, name: str) -> str:
    root = Path(str(module.__file__)).parent / "extensions"
    path = root / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not path.exists():
        path = next(root.glob(f"*/{name}.duckdb_extension"))
    return str(path)


def _duckdb(server: SeaweedS3, database: str = ":memory:") -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(database, config=DUCKDB_CONFIG)
    con.execute(f"LOAD '{_extension(duckdb_extension_httpfs, 'httpfs')}'")
    con.execute(f"LOAD '{_extension(duckdb_extension_delta, 'delta')}'")
    # Without a secret the delta extension falls back to the cloud instance
    # metadata endpoint; always create one before touching s3://.
    con.execute(
        "CREATE OR REPLACE SECRET s3_test (TYPE s3, KEY_ID ?, SECRET ?, REGION ?, "
        "ENDPOINT ?, URL_STYLE 'path', USE_SSL false)",
        [server.access_key, server.secret_key, server.region, server.host_port],
    )
    return con


def _fs(server: SeaweedS3) -> s3fs.S3FileSystem:
    return s3fs.S3FileSystem(
        key=server.access_key,
        secret=server.secret_key,
        endpoint_url=server.endpoint_url,
        client_kwargs={"region_name": server.region},
        skip_instance_cache=True,
    )


def _rows(uri: str, options: dict[str, str]) -> list[dict[str, object]]:
    table = DeltaTable(uri, storage_options=options).to_pyarrow_table()
    return sorted(table.to_pylist(), key=lambda row: row["id"])


def test_server_contract(s3_server: SeaweedS3) -> None:
    env = s3_server.env()
    assert env == {
        "AWS_ENDPOINT_URL": s3_server.endpoint_url,
        "AWS_ACCESS_KEY_ID": s3_server.access_key,
        "AWS_SECRET_ACCESS_KEY": s3_server.secret_key,
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
    }
    assert s3_server.endpoint_url == f"http://{s3_server.host_port}"
    first, second = s3_server.new_prefix(), s3_server.new_prefix()
    assert first != second
    assert first.startswith(f"s3://{s3_server.bucket}/")
    assert s3_server.tmp_dir is not None and (s3_server.tmp_dir / "server.log").exists()

    # Credentials are really checked, so a misconfigured client fails loudly.
    wrong = s3fs.S3FileSystem(
        key=s3_server.access_key,
        secret="not-the-secret",
        endpoint_url=s3_server.endpoint_url,
        skip_instance_cache=True,
    )
    with pytest.raises(PermissionError):
        wrong.ls(s3_server.bucket)


def test_deltalake_append_overwrite_merge(s3_server: SeaweedS3) -> None:
    options = s3_server.env()
    uri = f"{s3_server.new_prefix()}/table"
    schema = pa.schema([("id", pa.int64()), ("v", pa.string()), ("p", pa.string())])

    def batch(ids: list[int], vs: list[str], ps: list[str]) -> pa.Table:
        return pa.table({"id": ids, "v": vs, "p": ps}, schema=schema)

    write_deltalake(
        uri,
        batch([1, 2], ["a", "b"], ["x", "y"]),
        partition_by=["p"],
        storage_options=options,
    )
    write_deltalake(uri, batch([3], ["c"], ["x"]), mode="append", storage_options=options)
    assert _rows(uri, options) == [
        {"id": 1, "v": "a", "p": "x"},
        {"id": 2, "v": "b", "p": "y"},
        {"id": 3, "v": "c", "p": "x"},
    ]

    write_deltalake(
        uri,
        batch([4], ["d"], ["x"]),
        mode="overwrite",
        predicate="p = 'x'",
        storage_options=options,
    )
    assert _rows(uri, options) == [
        {"id": 2, "v": "b", "p": "y"},
        {"id": 4, "v": "d", "p": "x"},
    ]

    metrics = (
        DeltaTable(uri, storage_options=options)
        .merge(
            batch([2, 5], ["B", "e"], ["y", "y"]),
            predicate="t.id = s.id",
            source_alias="s",
            target_alias="t",
        )
        .when_matched_update_all()
        .when_not_matched_insert_all()
        .execute()
    )
    assert (
        metrics["num_target_rows_updated"],
        metrics["num_target_rows_inserted"],
    ) == (1, 1)
    table = DeltaTable(uri, storage_options=options)
    assert table.version() == 3
    assert _rows(uri, options) == [
        {"id": 2, "v": "B", "p": "y"},
        {"id": 4, "v": "d", "p": "x"},
        {"id": 5, "v": "e", "p": "y"},
    ]
    # Polars reads the same table through the same options.
    assert pl.read_delta(uri, storage_options=options).sort("id")["v"].to_list() == [
        "B",
        "d",
        "e",
    ]


def test_deltalake_commits_are_put_if_absent(s3_server: SeaweedS3) -> None:
    """A writer holding a stale snapshot must not overwrite a newer commit."""
    options = s3_server.env()
    uri = f"{s3_server.new_prefix()}/table"
    write_deltalake(uri, pa.table({"id": pa.array([1, 2, 3], pa.int64())}), storage_options=options)
    stale = DeltaTable(uri, storage_options=options)
    write_deltalake(
        uri,
        pa.table({"id": pa.array([10], pa.int64())}),
        mode="append",
        storage_options=options,
    )
    stale.delete("id = 1")
    assert [row["id"] for row in _rows(uri, options)] == [2, 3, 10]
    assert DeltaTable(uri, storage_options=options).version() == 2

    # Concurrent appenders: every commit lands exactly once.
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        for i in range(3):
            try:
                data = pa.table({"id": pa.array([100 * worker + i], pa.int64())})
                write_deltalake(uri, data, mode="append", storage_options=options)
            except BaseException as err:  # reported by the assert below
                errors.append(err)

    threads = [threading.Thread(target=append, args=(w,)) for w in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [row["id"] for row in _rows(uri, options)] == [
        2,
        3,
        10,
        100,
        101,
        102,
        200,
        201,
        202,
    ]
    assert DeltaTable(uri, storage_options=options).version() == 8


def test_s3fs_listing_info_and_files(s3_server: SeaweedS3) -> None:
    fs = _fs(s3_server)
    root = s3_server.new_prefix().removeprefix("s3://")
    before = datetime.now(UTC)
    with fs.open(f"{root}/land/a.csv", "wb") as handle:
        handle.write(b"x,y\n1,foo\n2,bar\n")
    fs.pipe(f"{root}/land/b.jsonl.gz", gzip.compress(b'{"k": 1}\n{"k": 2}\n'))

    assert fs.ls(f"{root}/land") == [f"{root}/land/a.csv", f"{root}/land/b.jsonl.gz"]
    assert fs.glob(f"s3://{root}/land/*.csv") == [f"{root}/land/a.csv"]
    info = fs.info(f"{root}/land/a.csv")
    assert info["type"] == "file"
    assert info["size"] == 16
    # LastModified is timezone-aware and truncated to whole seconds by SeaweedFS.
    modified = info["LastModified"]
    assert modified.tzinfo is not None
    assert before - timedelta(seconds=1) <= modified <= datetime.now(UTC) + timedelta(seconds=1)

    with fs.open(f"{root}/land/a.csv", "rb") as handle:
        assert handle.read() == b"x,y\n1,foo\n2,bar\n"
    with fs.open(f"{root}/land/b.jsonl.gz", "rb", compression="gzip") as handle:
        assert handle.read() == b'{"k": 1}\n{"k": 2}\n'

    # s3fs caches listings: objects written by another client stay invisible
    # to a cached ls until refresh=True (or invalidate_cache()).
    _fs(s3_server).pipe(f"{root}/land/c.csv", b"x\n3\n")
    assert f"{root}/land/c.csv" not in fs.ls(f"{root}/land")
    assert f"{root}/land/c.csv" in fs.ls(f"{root}/land", refresh=True)

    # Polars through an s3fs handle, and directly through object_store options.
    with fs.open(f"{root}/land/a.csv", "rb") as handle:
        assert pl.read_csv(handle).to_dicts() == [
            {"x": 1, "y": "foo"},
            {"x": 2, "y": "bar"},
        ]
    pl.DataFrame({"q": [7, 8]}).write_parquet(f"s3://{root}/q.parquet", storage_options=s3_server.env())
    assert pl.read_parquet(f"s3://{root}/q.parquet", storage_options=s3_server.env())["q"].to_list() == [7, 8]


def test_duckdb_delta_scan_and_persistent_view(s3_server: SeaweedS3, tmp_path: Path) -> None:
    options = s3_server.env()
    uri = f"{s3_server.new_prefix()}/table"
    write_deltalake(
        uri,
        pa.table({"id": pa.array([1, 2], pa.int64()), "v": ["a", "b"]}),
        storage_options=options,
    )

    con = _duckdb(s3_server)
    assert con.execute(f"SELECT id, v FROM delta_scan('{uri}') ORDER BY id").fetchall() == [(1, "a"), (2, "b")]
    con.close()

    database = str(tmp_path / "warehouse.duckdb")
    con = _duckdb(s3_server, database)
    con.execute(f"CREATE VIEW items AS SELECT * FROM delta_scan('{uri}')")
    con.close()

    write_deltalake(
        uri,
        pa.table({"id": pa.array([3], pa.int64()), "v": ["c"]}),
        mode="append",
        storage_options=options,
    )

    # The view persists; extensions and the (temporary) secret must be set up
    # again on every connection.
    con = duckdb.connect(database, config=DUCKDB_CONFIG)
    with pytest.raises(duckdb.CatalogException):
        con.execute("SELECT * FROM items").fetchall()
    con.close()
    con = _duckdb(s3_server, database)
    assert con.execute("SELECT id, v FROM items ORDER BY id").fetchall() == [
        (1, "a"),
        (2, "b"),
        (3, "c"),
    ]
    con.close()


def test_clients_read_credentials_from_env(s3_server: SeaweedS3, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    uri = f"{s3_server.new_prefix()}/table"
    write_deltalake(uri, pa.table({"id": pa.array([7], pa.int64())}))
    assert DeltaTable(uri).to_pyarrow_table()["id"].to_pylist() == [7]
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    assert any(path.endswith("_delta_log") for path in fs.ls(uri.removeprefix("s3://")))
    assert os.environ["AWS_ALLOW_HTTP"] == "true"
