"""Land: new files in landing/<source>/ become bronze rows and one ingest-log row per landing.

Which drops land (docs/reliability.md): a path's newest content always lands, so a producer that
puts a file back to earlier content sees that content win again; content that is already in
force (the latest landed content of this path or of any other) is a duplicate, logged and not
landed. Every drop the log sees gets a row of its own: a touched file never overwrites the
record of its first landing.

Each landing has an id, `file_hash`: the SHA-256 of the file's bytes the first time those bytes
land, and for bytes landed before (a path put back to earlier content), the SHA-256 of the bytes
with the path, size and modification time, so bronze rows, file counts and the log keep the two
landings apart. Every bronze append carries a Delta transaction id (source:id, chunk number), so
a run killed midway resumes without duplicating a chunk. Paths are recorded relative to the lake
root."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl
from deltalake import CommitProperties, DeltaTable, Transaction

from warehouse import delta, locks, retention
from warehouse.commits import retrying
from warehouse.datasets import Dataset
from warehouse.lake import Lake
from warehouse.reader import FileRejected, read_file
from warehouse.registry import EVENT_DATE_MIN, event_date_max, table

INGEST_LOG = table("ops.ingest_log")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LandingFile:
    path: str  # relative to the lake root: landing/<source>/...
    size: int
    modified: float
    # Why the file is not read at all (a link out of the lake, a pipe or device), else None.
    refused: str | None = None


@dataclass(frozen=True)
class LoggedFile:
    """One file's row in ops.ingest_log as landing writes it (refine fills in the counts)."""

    source: str
    path: str
    file_hash: str
    content_hash: str
    size_bytes: int
    modified_at: dt.datetime
    run_id: str
    landed_at: dt.datetime
    status: str = "landed"
    error: str | None = None
    rows_read: int = 0
    event_dates: list[dt.date | None] | None = None
    # Set at landing only for a file with no records, which has nothing to refine.
    rows_valid: int | None = None
    rows_quarantined: int | None = None
    rows_duplicate: int | None = None
    rows_superseded: int | None = None
    rows_waiting: int | None = None


@dataclass
class LandReport:
    source: str
    landed: list[LoggedFile] = field(default_factory=list)
    failed: list[LoggedFile] = field(default_factory=list)
    duplicates: list[LoggedFile] = field(default_factory=list)

    @property
    def event_dates(self) -> set[dt.date | None]:
        return {d for row in self.landed for d in (row.event_dates or [])}

    @property
    def rows(self) -> int:
        return sum(row.rows_read for row in self.landed)


def list_landing(lake: Lake, source: str) -> list[LandingFile]:
    base = lake.fs_path(lake.landing_uri(source))
    if not lake.fs.exists(base):
        return []
    files = []
    for path, info in sorted(lake.fs.find(base, detail=True).items()):
        if info.get("type") == "directory" or path.rsplit("/", 1)[-1].startswith("."):
            continue
        modified = info.get("mtime") or info.get("LastModified") or info.get("created") or 0
        if isinstance(modified, dt.datetime):
            modified = modified.timestamp()
        refused = None if lake.is_s3 else _refused(lake, path, info)
        if info.get("islink") and not refused:
            # A followed link is the file it points to: its size and time, not the link's.
            target = os.stat(path)
            info, modified = {"size": target.st_size}, target.st_mtime
        files.append(LandingFile(lake.relative(path), int(info.get("size") or 0), float(modified), refused))
    return files


def _refused(lake: Lake, path: str, info: dict[str, Any]) -> str | None:
    """Local landing folders may hold what a bucket cannot: a symbolic link is followed only to a
    file inside the lake root; a pipe, socket or device is never opened (reading would block)."""
    target = Path(os.path.realpath(path))
    if info.get("islink"):
        root = Path(os.path.realpath(lake.root))
        if not target.is_relative_to(root):
            return f"a symbolic link to {target}, outside the lake root: not followed"
    if target.exists() and not target.is_file():
        return "not a regular file (a pipe, socket or device): not read"
    return None


def file_hash(lake: Lake, path: str) -> str:
    """SHA-256 of a landing file's bytes (`path` relative to the lake root)."""
    digest = hashlib.sha256()
    with lake.fs.open(_fs_path(lake, path), "rb") as f:
        while block := f.read(8 << 20):
            digest.update(block)
    return digest.hexdigest()


def _fs_path(lake: Lake, path: str) -> str:
    return lake.fs_path(lake.uri(lake.relative(path)))


def ingest_log(lake: Lake, source: str | None = None) -> pl.DataFrame:
    frame = delta.scan(lake, INGEST_LOG)
    if source is not None:
        frame = frame.filter(pl.col("source") == source)
    log = frame.collect()
    # Rows written before paths were recorded relative to the root, and before content_hash.
    if "content_hash" not in log.columns:
        log = log.with_columns(content_hash=pl.lit(None, pl.String))
    prefixes = [lake.root.rstrip("/") + "/", lake.fs_path(lake.root).rstrip("/") + "/"]
    path = pl.col("path")
    for prefix in prefixes:
        path = path.str.strip_prefix(prefix)
    return log.with_columns(path=path, content_hash=pl.coalesce("content_hash", "file_hash"))


def pending_files(
    lake: Lake, ds: Dataset, files: Iterable[LandingFile] | None = None, log: pl.DataFrame | None = None
) -> list[LandingFile]:
    """Files whose (path, size, mtime) the log (read when not given) has not seen; hashing
    decides the rest. An empty landing folder costs a listing only, not a read of the log."""
    listed = list_landing(lake, ds.source) if files is None else list(files)
    if not listed:
        return []
    log = ingest_log(lake, ds.source) if log is None else log
    seen = set(zip(log["path"].to_list(), log["size_bytes"].to_list(), log["modified_at"].to_list(), strict=True))
    return [f for f in listed if (f.path, f.size, _mtime(f.modified)) not in seen]


class _InForce:
    """The content each path holds as far as the lake knows: its latest landing or duplicate.
    Failed drops land nothing, so they change nothing here."""

    def __init__(self, log: pl.DataFrame) -> None:
        latest = (
            log.filter(pl.col("status") != "failed")
            .sort("landed_at")
            .group_by("path", maintain_order=True)
            .last()
            .select("path", "content_hash")
        )
        self.by_path: dict[str, str] = dict(latest.iter_rows())
        self.ids = set(log["file_hash"].to_list())

    def holder(self, path: str, content: str) -> str | None:
        """A path whose content in force is `content` (this path first), else None."""
        if self.by_path.get(path) == content:
            return path
        return next((p for p, c in self.by_path.items() if c == content), None)

    def landing_id(self, f: LandingFile, content: str) -> str:
        """The content hash, unless those bytes landed before: then one of this drop's own."""
        if content not in self.ids:
            return content
        return hashlib.sha256(f"{content}\n{f.path}\n{f.size}\n{_mtime(f.modified).isoformat()}".encode()).hexdigest()

    def record(self, row: LoggedFile) -> None:
        if row.status != "failed":
            self.by_path[row.path] = row.content_hash
        self.ids.add(row.file_hash)


def _mtime(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC).replace(microsecond=int(ts * 1e6) % 1_000_000)


def land(
    lake: Lake, ds: Dataset, run_id: str, files: Iterable[LandingFile] | None = None, now: dt.datetime | None = None
) -> LandReport:
    """Land the source's pending files (of `files`, when given). One run lands a source at a
    time (warehouse/locks.py): a second waits, then finds the files in the log and skips them."""
    with locks.held(lake, [locks.lock_name("land", ds.source)]):
        return _land(lake, ds, run_id, files, now)


def _land(
    lake: Lake, ds: Dataset, run_id: str, files: Iterable[LandingFile] | None, now: dt.datetime | None
) -> LandReport:
    clock = _IngestClock(now)
    report = LandReport(ds.source)
    listed = list_landing(lake, ds.source) if files is None else list(files)
    if not listed:
        return report
    known = ingest_log(lake, ds.source)
    pending = pending_files(lake, ds, listed, known)
    if not pending:
        return report
    in_force = _InForce(known)
    rows: list[LoggedFile] = []
    bronze = _BronzeCommits(lake, ds)
    first = first_date(lake, ds)
    # Files land in the order they were dropped; each gets its own, later ingest time, so
    # "latest ingest wins" also holds between files landed by one run.
    for f in sorted(pending, key=lambda f: (f.modified, f.path)):
        if f.refused:
            rows.append(_refused_row(ds, f, run_id, clock.tick()))
            report.failed.append(rows[-1])
            continue
        try:
            _check_unchanged(lake, f)
            content = file_hash(lake, f.path)
        except FileNotFoundError:
            log.warning("%s disappeared before it was read: not landed", f.path)
            continue
        except FileChanged as changed:
            log.warning("%s", changed)
            continue
        except PermissionError as err:
            rows.append(_refused_row(ds, replace(f, refused=f"cannot be read: {err.strerror}"), run_id, clock.tick()))
            report.failed.append(rows[-1])
            continue
        holder = in_force.holder(f.path, content)
        if holder is not None:
            base = _logged(ds, f, content, content, run_id, clock.tick())
            why = "unchanged since it landed" if holder == f.path else f"same content as {holder}, already landed"
            row = replace(base, status="duplicate", error=why)
            report.duplicates.append(row)
            log.info("duplicate %s: %s", f.path, why)
        else:
            base = _logged(ds, f, in_force.landing_id(f, content), content, run_id, clock.tick())
            landed = _land_file(lake, ds, f, base, bronze, first)
            if landed is None:
                continue
            row = landed
            (report.failed if row.status == "failed" else report.landed).append(row)
            if row.status == "failed":
                log.info("rejected %s", row.error)
            else:
                log.info("landed %s: %d row(s)", f.path, row.rows_read)
        in_force.record(row)
        rows.append(row)
    bronze.flush()
    if rows:
        frame = pl.DataFrame([asdict(r) for r in rows], schema_overrides=INGEST_LOG.schema, strict=False)
        delta.add_missing_columns(lake, INGEST_LOG)
        delta.upsert(lake, INGEST_LOG, frame)
    return report


class FileChanged(Exception):
    """The file changed since it was listed: still being written. It is left for a later run."""


def _check_unchanged(lake: Lake, f: LandingFile) -> None:
    info = lake.fs.info(_fs_path(lake, f.path))
    modified = info.get("mtime") or info.get("LastModified") or info.get("created") or 0
    if isinstance(modified, dt.datetime):
        modified = modified.timestamp()
    if int(info.get("size") or 0) != f.size or abs(float(modified) - f.modified) > 1e-6:
        raise FileChanged(f"{f.path} changed while it was being read (still being written?): left for a later run")


def _refused_row(ds: Dataset, f: LandingFile, run_id: str, landed_at: dt.datetime) -> LoggedFile:
    # Never read, so no content hash: one from the path and reason keeps the log's key unique.
    digest = hashlib.sha256(f"refused\n{f.path}\n{f.refused}".encode()).hexdigest()
    return replace(_logged(ds, f, digest, digest, run_id, landed_at), status="failed", error=f"{f.path}: {f.refused}")


def _logged(
    ds: Dataset, f: LandingFile, landing_id: str, content: str, run_id: str, landed_at: dt.datetime
) -> LoggedFile:
    return LoggedFile(
        source=ds.source,
        path=f.path,
        file_hash=landing_id,
        content_hash=content,
        size_bytes=f.size,
        modified_at=_mtime(f.modified),
        run_id=run_id,
        landed_at=landed_at,
    )


def _land_file(
    lake: Lake, ds: Dataset, f: LandingFile, base: LoggedFile, bronze: _BronzeCommits, first: dt.date
) -> LoggedFile | None:
    """The file's log row, or None when it changed while being read (nothing of it is kept)."""
    app_id = f"{ds.source}:{base.file_hash}"
    done = bronze.done(app_id)
    rows_read = 0
    dates: set[dt.date | None] = set()
    chunk_no = 0
    try:
        with lake.fs.open(_fs_path(lake, f.path), "rb") as stream:
            for chunk in read_file(stream, f.path, lake.settings.read_chunk_bytes):
                chunk_no += 1
                frame = chunk.frame
                # A file with no records at all (an empty JSON array) has no columns to check.
                if chunk_no == 1 and (frame.height or len(frame.columns) > 1):
                    check_shape(frame, ds, f.path)
                if not frame.height:
                    continue
                frame = frame.with_columns(
                    _source_file=pl.lit(f.path),
                    _file_hash=pl.lit(base.file_hash),
                    _ingested_at=pl.lit(base.landed_at, dtype=pl.Datetime("us", "UTC")),
                    _run_id=pl.lit(base.run_id),
                    _event_date=_in_range(ds.event_date(), first),
                )
                rows_read += frame.height
                dates.update(frame.get_column("_event_date").unique().to_list())
                if chunk_no > done and frame.height:
                    bronze.add(frame, app_id, chunk_no)
        # Hashed and read while the file held still: else what landed may be half a file.
        _check_unchanged(lake, f)
    except (FileRejected, FileChanged, FileNotFoundError) as err:
        if bronze.discard(app_id) or done:
            _roll_back(lake, ds, base.file_hash)
        if not isinstance(err, FileRejected):
            log.warning("%s", err)
            return None
        return replace(base, status="failed", error=str(err))
    # Null (unparseable) first, so the list sorts; it still marks the null partition.
    event_dates = ([None] if None in dates else []) + sorted(d for d in dates if d is not None)
    if not rows_read:
        # A file with no records (a header-only CSV, "[]") has nothing to validate.
        nothing: dict[str, Any] = dict.fromkeys(REFINED_COUNTS, 0)
        return replace(base, status="refined", event_dates=event_dates, **nothing)
    return replace(base, rows_read=rows_read, event_dates=event_dates)


class _BronzeCommits:
    """Chunks of one landing run, appended to bronze in few commits: each commit carries the
    transaction id (source:landing id, chunk number) of every chunk in it, so a rerun after a crash
    skips exactly the chunks that were committed."""

    def __init__(self, lake: Lake, ds: Dataset) -> None:
        self.lake, self.ds = lake, ds
        # At most this many rows wait for a commit (GRIDLAKE_BRONZE_COMMIT_ROWS, 250,000), and no more
        # than the memory budget's share (Lake.piece_rows / 4: at workload S, 250k rows per commit
        # peaked at ~0.9 GB, 100k at ~0.65 GB).
        self.max_rows = min(lake.settings.bronze_commit_rows, max(lake.piece_rows // 4, 1))
        self.table = delta.open_table(lake, ds.bronze)
        self.pending: list[tuple[str, int, pl.DataFrame]] = []
        self.committed: set[str] = set()

    def done(self, app_id: str) -> int:
        """Chunks of this file committed by an earlier, interrupted run."""
        return (self.table.transaction_version(app_id) or 0) if self.table is not None else 0

    def add(self, frame: pl.DataFrame, app_id: str, chunk_no: int) -> None:
        self.pending.append((app_id, chunk_no, frame))
        if sum(f.height for _, _, f in self.pending) >= self.max_rows:
            self.flush()

    def discard(self, app_id: str) -> bool:
        """Drop a rejected file's pending chunks; True if some were already committed."""
        self.pending = [p for p in self.pending if p[0] != app_id]
        return app_id in self.committed

    def flush(self) -> None:
        if not self.pending:
            return
        versions: dict[str, int] = {}
        for app_id, chunk_no, _ in self.pending:
            versions[app_id] = max(chunk_no, versions.get(app_id, 0))
        frame = pl.concat([f for _, _, f in self.pending], how="diagonal")
        delta.append(self.lake, self.ds.bronze, frame, transactions=list(versions.items()))
        self.committed |= set(versions)
        self.pending = []


REFINED_COUNTS = ("rows_valid", "rows_quarantined", "rows_duplicate", "rows_superseded", "rows_waiting")


class _IngestClock:
    """Strictly increasing UTC timestamps, one per landed file."""

    def __init__(self, start: dt.datetime | None) -> None:
        self._last = (start or dt.datetime.now(dt.UTC)) - dt.timedelta(microseconds=1)

    def tick(self) -> dt.datetime:
        self._last = max(dt.datetime.now(dt.UTC), self._last + dt.timedelta(microseconds=1))
        return self._last


def check_shape(frame: pl.DataFrame, ds: Dataset, path: str) -> None:
    """A file's first records against the source's whole-file checks: its own shape check, then
    the contract's required fields (FileRejected names `path` and the reason)."""
    _check_records(frame, ds, path)
    _require_fields(frame, ds, path)


def _check_records(frame: pl.DataFrame, ds: Dataset, path: str) -> None:
    """The dataset's own whole-file check (e.g. a producer's unsupported shape)."""
    reason = ds.check_records(frame) if ds.check_records else None
    if reason:
        raise FileRejected(path, reason)


def first_date(lake: Lake, ds: Dataset) -> dt.date:
    """The first event date landing keeps: dates before a retention purge's horizon are frozen,
    and such rows go to the null partition (as do dates before 2000 or after tomorrow)."""
    return max(EVENT_DATE_MIN, retention.horizon(lake, ds.source) or EVENT_DATE_MIN)


def event_date(ds: Dataset, first: dt.date) -> pl.Expr:
    """A raw row's event date as bronze partitions it: null outside the lake's range."""
    return _in_range(ds.event_date(), first)


def _in_range(date: pl.Expr, first: dt.date) -> pl.Expr:
    return pl.when(date.is_between(first, event_date_max())).then(date).otherwise(None)


def _require_fields(frame: pl.DataFrame, ds: Dataset, path: str) -> None:
    missing = [c for c in ds.required_fields if c not in frame.columns]
    if missing:
        found = ", ".join(c for c in frame.columns if c != "_row_number") or "none"
        raise FileRejected(path, f"missing required column(s) {', '.join(missing)} (found: {found})")


def _roll_back(lake: Lake, ds: Dataset, digest: str) -> None:
    """A file that fails after some chunks were committed is removed again: never half-landed.
    The removed rows stay in the table's history (time travel), like any Delta delete. Its
    chunks' transaction id goes back to 0 in the same commit, so the same content landed later
    (a file that was still being written, then touched) is landed whole."""
    app_id = f"{ds.source}:{digest}"

    def delete() -> None:
        table_ = DeltaTable(lake.table_uri(ds.bronze), storage_options=lake.delta_options)
        table_.delete(
            f"_file_hash = '{digest}'",
            commit_properties=CommitProperties(app_transactions=[Transaction(app_id, 0)]),
        )

    retrying(delete, f"roll back {app_id}")
