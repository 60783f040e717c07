"""Refine of a date too large for the memory budget, in pieces whose size the budget decides
(`Lake.piece_rows`, from GRIDLAKE_MEMORY_MB), with the same results as refining it whole.

1. Bronze of the date is read in streamed chunks; each chunk is prepared (typed) and its rows
   spilled to local Arrow IPC files per piece (a hash bucket of the first key column; a file per
   chunk). Every row of a key, in every landed file, lands in the same piece.
2. Each piece is read back alone (the next one is read while this one is validated).
   Conflicting duplicates (one file, one key, other values) are flagged over the whole piece
   (a chunk of step 1 may hold only part of a file); the row rules run on it; its bad rows, its
   silver rows (latest ingest wins: exact, the key is whole in the piece) and its counts are
   spilled or kept.
3. The date-level rules (quarantine share) are judged on all of the date's row verdicts at once,
   and silver and quarantine are written from the spill, each in one Delta commit.

Only datasets refined per date whose silver keeps the latest row per key and whose conflicts
are flagged after prepare (`LatestWins.conflict_keys`), with no reference data and one row per
record, take this path: the same flagging, over a piece instead of a batch."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from warehouse import delta, memory
from warehouse.datasets import Dataset, LatestWins, PerDate
from warehouse.lake import Lake
from warehouse.stages import fates
from warehouse.stages.fates import IS_BAD, Refined

# Lineage columns hold one value per file: categorical in the spill, a few bytes a row.
LINEAGE_TEXT = ("_source_file", "_file_hash", "_run_id")


@contextmanager
def workspace() -> Iterator[Path]:
    """A local folder for spilled pieces, removed afterwards (also on failure)."""
    with tempfile.TemporaryDirectory(prefix="gridlake-refine-") as folder:
        yield Path(folder)


def eligible(ds: Dataset) -> bool:
    return (
        isinstance(ds.scope, PerDate)
        and isinstance(ds.silver, LatestWins)
        and ds.reference is None
        and ds.explode is None
        and ds.silver.conflict_keys is not None
    )


def bronze_rows(lake: Lake, ds: Dataset, dates: tuple[dt.date | None, ...]) -> int:
    """Rows of the dates' bronze partitions, from the Delta log's file statistics."""
    counts = delta.partition_rows(lake, ds.bronze)
    return sum(counts.get(d, 0) for d in dates if d is not None)


def wanted(lake: Lake, ds: Dataset, dates: tuple[dt.date | None, ...]) -> bool:
    return eligible(ds) and None not in dates and bronze_rows(lake, ds, dates) > lake.piece_rows


def refine_in_pieces(
    lake: Lake, ds: Dataset, dates: tuple[dt.date | None, ...], ref_version: int | None, spill: Path
) -> Refined:
    from expectations.runner import RowCheck, combine

    assert isinstance(ds.silver, LatestWins)
    count = max(1, math.ceil(bronze_rows(lake, ds, dates) / lake.piece_rows))
    raw_columns = _spill_bronze(lake, ds, dates, count, spill / "in")
    memory.release()
    silver, quarantine = _Spill(spill / "silver"), _Spill(spill / "quarantine")
    checks: list[RowCheck] = []
    groups: list[pl.Series] = []
    counted: list[pl.DataFrame] = []
    rows = bad_rows = kept = 0
    for prepared in _read_ahead(sorted((spill / "in").iterdir()), ds):
        checked, check = fates.check_piece(ds, prepared)
        del prepared
        bad = checked.filter(IS_BAD)
        quarantine.add(fates.quarantine_rows(ds, bad, raw_columns, checked.columns))
        labelled = fates.fates(ds, checked.filter(~IS_BAD))
        rows_kept = fates.silver_rows(ds, labelled)
        silver.add(rows_kept)
        waiting = bad.clear().select("_file_hash", "_event_date")
        counted.append(fates.counts(ds, labelled, bad, waiting, ref_version))
        # The row verdicts are in quarantine already; only the flags are needed for the date rules.
        checks.append(dataclasses.replace(check, failed_rules=check.failed_rules.clear()))
        groups.append(checked.get_column("_event_date"))
        rows, bad_rows, kept = rows + checked.height, bad_rows + bad.height, kept + rows_kept.height
        del checked, bad, labelled, rows_kept
        memory.release()
    validation = combine(ds.suite, checks, pl.concat(groups), part_rows=lake.settings.late_part_rows)
    return Refined(
        silver=silver.scan(),
        quarantine=quarantine.scan(),
        counts=_summed(counted),
        validation=validation,
        rows=rows,
        quarantined=bad_rows,
        in_silver=kept,
        waiting=0,
    )


def _read_ahead(folders: list[Path], ds: Dataset) -> Iterator[pl.DataFrame]:
    """Each piece read back with its conflicts flagged, the next one read in a thread while the
    caller validates this one: validation is mostly single-threaded Python, and Polars works
    without the GIL, so the other core reads. The piece read ahead is in the memory budget
    (`lake.PIECE_BYTES_PER_ROW`). Workload S's refine, median of 3: 7.9 → 7.4 s, peak RSS
    905 → 930 MB."""

    def load(folder: Path) -> pl.DataFrame:
        return ds.flag_conflicts(pl.scan_ipc(folder / "*.arrow")).collect()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gridlake-piece") as pool:
        ahead = pool.submit(load, folders[0]) if folders else None
        for i in range(len(folders)):
            assert ahead is not None
            current = ahead.result()
            ahead = pool.submit(load, folders[i + 1]) if i + 1 < len(folders) else None
            yield current
            del current


def _spill_bronze(lake: Lake, ds: Dataset, dates: tuple[dt.date | None, ...], count: int, out: Path) -> list[str]:
    """Prepare bronze of `dates` chunk by chunk into Arrow IPC files per piece (`count` of them),
    `out/<piece>/<chunk>.arrow`; returns the bronze columns (quarantine keeps their raw text).
    IPC, not Parquet: the files live only as long as the refine, and writing them costs a fifth
    of Parquet's encoding (workload S: 1.6 s of Parquet writes)."""
    assert isinstance(ds.silver, LatestWins) and ds.bronze.partition_by
    scan = delta.scan(lake, ds.bronze).filter(pl.col(ds.bronze.partition_by).is_in([d for d in dates if d]))
    columns = scan.collect_schema().names()
    piece = (pl.col(ds.silver.keys[0]).hash(seed=11) % count).alias("_piece")
    for number, chunk in enumerate(scan.collect_batches(chunk_size=max(10_000, lake.piece_rows // 4))):
        prepared = (
            ds.prepare(chunk.lazy())
            .with_columns(piece, *(pl.col(c).cast(pl.Categorical) for c in LINEAGE_TEXT))
            .collect()
        )
        for (p,), rows in prepared.partition_by("_piece", as_dict=True, include_key=False).items():
            folder = out / f"{p:05d}"
            folder.mkdir(parents=True, exist_ok=True)
            rows.write_ipc(folder / f"{number:05d}.arrow", compression="lz4")
        del prepared
        memory.release()
    return columns


class _Spill:
    """Frames written to a folder of Parquet files, read back lazily (an empty frame of the
    first schema when nothing was written)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.empty: pl.DataFrame | None = None
        self.files = 0

    def add(self, frame: pl.DataFrame) -> None:
        if self.empty is None:
            self.empty = frame.clear()
        if frame.is_empty():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(self.folder / f"{self.files:06d}.parquet", compression="lz4", statistics=False)
        self.files += 1

    def scan(self) -> pl.LazyFrame:
        if not self.files:
            return (self.empty if self.empty is not None else pl.DataFrame()).lazy()
        return pl.scan_parquet(self.folder / "*.parquet")


def _summed(counted: list[pl.DataFrame]) -> pl.DataFrame:
    """Counts of all pieces: a file's rows of one date spread over every piece."""
    frame = pl.concat(counted)
    numbers = [c for c in frame.columns if c not in ("file_hash", "event_date", "source", "reference_version")]
    return (
        frame.with_columns(pl.col("file_hash").cast(pl.String))
        .group_by("file_hash", "event_date", "source", "reference_version", maintain_order=True)
        .agg(pl.col(c).sum() for c in numbers)
        .select(frame.columns)
    )
