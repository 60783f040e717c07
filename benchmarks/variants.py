"""The variants the benchmark compares, each run in its own process and returning a plain dict:
gridlake through the library path and through Dagster, the Parquet floor, the pandas peer, and
the history and incremental runs."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.measure import Meter
from benchmarks.workload import NEW_DAY, SOURCES, Landing, _data_lines, link_landing, write_landing


class LibraryPath:
    """The plan's stages (warehouse/stages/pipeline.py) called directly, without an orchestrator:
    one method per timed stage, each returning the rows it processed."""

    def __init__(self, lake_root: str) -> None:
        from warehouse.lake import Lake
        from warehouse.stages.pipeline import PipelineReport

        self.lake = Lake.from_env(lake_root)
        self.report = PipelineReport()

    def land(self) -> int:
        from warehouse.stages import pipeline

        pipeline.land_all(self.lake, "bench", self.report)
        failed = [row.error for r in self.report.landed.values() for row in r.failed]
        if failed:
            raise RuntimeError(f"files failed to land: {failed}")
        return sum(r.rows for r in self.report.landed.values())

    def refine(self) -> int:
        from warehouse.stages import pipeline

        pipeline.refine_pending(self.lake, "bench", self.report)
        return sum(r.rows for r in self.report.refined.values())

    def gold(self, spec_name: str) -> Callable[[], int]:
        def build() -> int:
            from warehouse.plan import gold_spec
            from warehouse.stages import gold

            result = gold.rebuild(self.lake, gold_spec(spec_name))
            self.report.gold[spec_name] = result
            return sum(result.rows.values())

        return build

    def publish(self) -> int:
        from warehouse import catalog

        catalog.publish(self.lake)
        return 0  # views only: no rows move


def library_stages(lake_root: str, meter: Meter, in_bytes: int) -> int:
    """The plan's stages on everything pending, each timed; returns rows landed. Only gold specs
    with queued work are timed (the benchmark's sources feed usage_cost)."""
    # Imported before the clock starts: imports are start-up cost, not pipeline work.
    import warehouse.catalog
    import warehouse.stages.pipeline  # noqa: F401
    from warehouse.stages import gold

    _start_up()

    path = LibraryPath(lake_root)
    landed = meter.time("land (parse + bronze)", in_bytes, path.land)
    meter.time("refine (validate + quarantine + silver)", in_bytes, path.refine)
    for work in gold.queued_specs(path.lake):
        tables = " + ".join(t.name for t in work.spec.tables)
        meter.time(f"gold {work.spec.name} ({tables})", in_bytes, path.gold(work.spec.name))
    meter.time("publish (DuckDB views)", in_bytes, path.publish)
    return landed


def run_library(landing: Landing, work: str) -> dict:
    lake_root = Path(work) / "lake"
    link_landing(landing, lake_root)
    meter = Meter()
    rows = library_stages(str(lake_root), meter, landing.bytes)
    return meter.result(rows, landing.bytes)


@contextmanager
def _environ(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _dagster_home(work: str) -> Path:
    """A fresh on-disk instance configured like `make` configures the user's, without touching
    it, its storage created now: a user's instance exists before their runs, so creating it
    (seconds of SQLite migrations) is set-up, not pipeline work."""
    from dagster import DagsterInstance

    from orchestration.instance import instance_config

    home = Path(work) / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(instance_config(), home / "dagster.yaml")
    with DagsterInstance.from_config(str(home)) as inst:
        inst.get_runs(limit=1)
    return home


def _dagster_pending(home: Path, lake_root: str) -> None:
    from orchestration.run import run_pending

    with _environ(DAGSTER_HOME=str(home)):
        summary = run_pending(lake_root)
    if not summary.ok:
        raise RuntimeError(f"Dagster runs failed: {summary.runs} {summary.failed_files}")


def _landed_rows(lake_root: str) -> int:
    from warehouse.lake import Lake
    from warehouse.stages import land

    log = land.ingest_log(Lake.from_env(lake_root))
    return int(log.filter(log["source"].is_in(list(SOURCES)))["rows_read"].sum())


def _start_up() -> None:
    """Great Expectations imported and its context built before the clock starts: seconds a
    process pays once, on its first validation (the pipeline imports it only then, so runs that
    validate nothing start quickly), not per row."""
    from expectations.runner import start_up

    start_up()


def run_dagster(landing: Landing, work: str) -> dict:
    import orchestration.run  # noqa: F401 - import Dagster and the assets before the clock starts

    _start_up()

    lake_root = Path(work) / "lake"
    link_landing(landing, lake_root)
    home = _dagster_home(work)
    meter = Meter()

    def pending() -> int:
        _dagster_pending(home, str(lake_root))
        return _landed_rows(str(lake_root))

    rows = meter.time("run_pending (Dagster, in-process)", landing.bytes, pending)
    return meter.result(rows, landing.bytes)


def run_floor(landing: Landing, work: str) -> dict:
    """The same rows, typed as in silver and already in memory, written to Parquet and read back
    with pyarrow: the cheapest real I/O path the pipeline could take."""
    import polars as pl
    import pyarrow.parquet as pq

    utc = pl.Datetime("us", "UTC")
    tables = {}
    for source in SOURCES:
        frame = pl.concat(pl.read_csv(f, infer_schema=False) for f in sorted((Path(landing.folder) / source).iterdir()))
        tables[source] = frame.with_columns(
            *(pl.col(c).str.strptime(utc, "%Y-%m-%dT%H:%M:%SZ") for c in ("intervalStart", "intervalEnd")),
            *(pl.col(c).cast(pl.Float64) for c in ("usage", "price") if c in frame.columns),
        ).to_arrow()
    out = Path(work) / "floor"
    out.mkdir(parents=True, exist_ok=True)
    # One-time library initialisation is not I/O: warm up on one row first.
    pq.write_table(tables[SOURCES[0]].slice(0, 1), out / "warmup.parquet")
    pq.read_table(out / "warmup.parquet")
    meter = Meter()

    def write() -> int:
        for source, t in tables.items():
            pq.write_table(t, out / f"{source}.parquet")
        return sum(t.num_rows for t in tables.values())

    def read() -> int:
        return sum(pq.read_table(out / f"{source}.parquet").num_rows for source in tables)

    rows = meter.time("Parquet write (pyarrow)", landing.bytes, write)
    meter.time("Parquet read (pyarrow)", landing.bytes, read)
    return meter.result(rows, landing.bytes)


def run_plain(landing: Landing, work: str) -> dict:
    from benchmarks import plain

    return plain.run_plain(landing, work)


def run_peer(landing: Landing, work: str) -> dict:
    from benchmarks import peer

    return peer.run_peer(landing, work)


def build_history(lake_root: str, customers: int, days: int, per: str = "hour") -> dict:
    """Land and refine `days` days of usage before NEW_DAY (plus prices up to NEW_DAY): a timed
    backfill through the library path whose lake the incremental runs then extend."""
    folder = Path(lake_root).parent / "history_landing"
    # Prices are published a day ahead, so the new day's prices are already there.
    landing = write_landing(folder, customers, "csv", NEW_DAY - dt.timedelta(days=days), days, days + 1, per)
    link_landing(landing, Path(lake_root))
    shutil.rmtree(folder)
    meter = Meter()
    rows = library_stages(lake_root, meter, landing.bytes)
    return meter.result(rows, landing.bytes, files=landing.files, expected_rows=landing.rows)


def run_increment(lake_root: str, relative: str, data: bytes, via_dagster: bool) -> dict:
    """Drop one new file into a lake that holds history, then process everything pending."""
    if via_dagster:
        import orchestration.run  # noqa: F401 - imports are not part of the measurement

        _start_up()
    path = Path(lake_root) / "landing" / relative
    path.write_bytes(data)
    home = _dagster_home(str(Path(lake_root).parent)) if via_dagster else None
    meter = Meter()
    if home is not None:

        def pending() -> int:
            _dagster_pending(home, lake_root)
            return 0

        meter.time("run_pending (Dagster)", len(data), pending)
    else:
        library_stages(lake_root, meter, len(data))
    return meter.result(_data_lines(data, "csv"), len(data))
