"""Validated ingest (the HTTP service's `POST /v1/ingest/{source}`): a producer's batch is judged
at once by its source's own suite, then, if accepted, becomes one landing file, written exactly
once, that the daemon or `gridlake run` lands and refines like any drop (so the ingest log, file
counts and reconciliation hold for it as for files).

* **Checked like a file.** The body is read by the landing reader (warehouse/reader.py), typed
  by the dataset's prepare and judged by its suite's row rules, with the same rules refine
  applies; rows that wait for reference data (a reading of a park or site not registered yet)
  are not errors. A body the reader refuses is reported whole.
* **Exactly once.** A batch's identity is the client's `Idempotency-Key`, or a channel and an
  offset (Snowpipe Streaming's model): it names the landing file, and the file is created only
  if absent (a hard link locally, a conditional PUT on S3), so the identity is recorded in the
  same step as the data. The same identity again is a no-op that answers as the first time;
  with another body it is refused. A channel's committed offset is the largest offset of its
  files; a batch at or below it is acknowledged as a no-op.
* **Durable before the answer.** The file is written, flushed to disk and in place before the
  service answers 200."""

from __future__ import annotations

import hashlib
import io
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from warehouse.datasets import Dataset
from warehouse.lake import Lake
from warehouse.reader import FileRejected, read_file
from warehouse.stages import fates, land, refine
from warehouse.stages.land import check_shape

MAX_BODY_BYTES = 10 << 20
KINDS = {"json": ".json", "ndjson": ".ndjson", "csv": ".csv"}
_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_CHANNEL = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# The raw field a typed column comes from, where the names differ (errors name what was sent).
FIELDS: Mapping[str, Mapping[str, str]] = {
    "customer_usage": {
        "customer_id": "customerId",
        "interval_start": "intervalStart",
        "interval_end": "intervalEnd",
        "interval_seconds": "intervalEnd",
        "interval_whole_minutes": "intervalEnd",
        "usage_kwh": "usage",
        "within_microseconds": "intervalStart",
    },
    "energy_prices": {
        "interval_start": "intervalStart",
        "interval_end": "intervalEnd",
        "interval_seconds": "intervalEnd",
        "interval_whole_minutes": "intervalEnd",
        "price_per_kwh": "price",
        "within_microseconds": "intervalStart",
    },
    "solar_readings": {
        "ts": "timestamp",
        "generated_kwh": "energy_generated_kwh",
        "consumed_kwh": "energy_consumed_kwh",
        "within_microseconds": "timestamp",
    },
    "coin_prices": {"pair_well_formed": "pair", "within_microseconds": "time"},
}


class Refused(ValueError):
    """A request that cannot be taken as it is; `status` is the HTTP answer it calls for."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RowError:
    index: int
    field: str | None
    rule: str
    message: str


@dataclass
class Checked:
    rows: int
    errors: list[RowError] = field(default_factory=list)
    waiting: int = 0

    @property
    def bad_rows(self) -> int:
        return len({e.index for e in self.errors})


@dataclass(frozen=True)
class Identity:
    """An idempotency key, or a channel and offset."""

    key: str | None = None
    channel: str | None = None
    offset: int | None = None

    def __post_init__(self) -> None:
        if (self.key is None) == (self.channel is None):
            raise Refused(400, "send an Idempotency-Key header, or channel and offset parameters (one of the two)")
        if self.key is not None and not _KEY.match(self.key):
            raise Refused(400, "Idempotency-Key: 1 to 128 of A-Z a-z 0-9 . _ : -")
        if self.channel is not None:
            if not _CHANNEL.match(self.channel):
                raise Refused(400, f"channel={self.channel!r}: 1 to 64 of a-z 0-9 _ -, starting with a letter or digit")
            if self.offset is None or self.offset < 0:
                raise Refused(400, "offset is required with a channel: a whole number, 0 or more, growing")

    def path(self, source: str, kind: str) -> str:
        """The landing file this batch becomes (relative to the lake root)."""
        if self.key is not None:
            digest = hashlib.sha256(f"{source}\n{self.key}".encode()).hexdigest()[:24]
            return f"landing/{source}/_api/keys/{digest}{KINDS[kind]}"
        return f"landing/{source}/_api/channels/{self.channel}/{self.offset:020d}{KINDS[kind]}"


@dataclass(frozen=True)
class Landed:
    batch_id: str
    landed_as: str
    replayed: bool


def check(lake: Lake, ds: Dataset, body: bytes, kind: str) -> Checked:
    """Judge a batch by the source's own rules; raises Refused(400) for a body the landing
    reader refuses whole (with its reason)."""
    name = f"request body ({kind})"
    try:
        frames = [c.frame for c in read_file(io.BytesIO(body), f"batch{KINDS[kind]}")]
        raw = pl.concat(frames, how="diagonal") if frames else pl.DataFrame()
        if raw.height or len(raw.columns) > 1:
            check_shape(raw, ds, name)
    except FileRejected as rejected:
        raise Refused(400, rejected.reason) from None
    if not raw.height:
        return Checked(0)
    raw = raw.with_columns(
        _source_file=pl.lit(name),
        _file_hash=pl.lit("batch"),
        _ingested_at=pl.lit(None, pl.Datetime("us", "UTC")),
        _run_id=pl.lit("api"),
        _event_date=land.event_date(ds, land.first_date(lake, ds)),
    )
    reference, _ = refine.reference_of(lake, ds)
    prepared, waiting = fates.prepare(ds, raw, reference)
    checked, _ = fates.check_piece(ds, prepared)
    rules = {r.name: r for r in ds.suite.row_rules}
    columns = FIELDS.get(ds.source, {})
    errors = []
    for index, failed in checked.select("_row_number", "failed_rules").iter_rows():
        for rule_name in failed:
            rule = rules.get(rule_name)
            read = sorted(rule.expectation.columns) if rule else []
            field_ = columns.get(read[0], read[0]) if read else None
            message = rule.description if rule else "The row has no usable event date in the lake's range."
            errors.append(RowError(int(index), field_, rule_name, message))
    errors.sort(key=lambda e: (e.index, e.rule))
    return Checked(raw.height, errors, waiting.height)


def commit(lake: Lake, source: str, body: bytes, kind: str, identity: Identity) -> Landed:
    """Write the batch as its landing file, exactly once (see the module docstring)."""
    relative = identity.path(source, kind)
    batch_id = relative.rsplit("/", 1)[-1].split(".")[0]
    if identity.channel is not None:
        committed = channel_offset(lake, source, identity.channel)
        if committed is not None and identity.offset is not None and identity.offset <= committed:
            return Landed(f"{identity.channel}-{batch_id}", relative, replayed=True)
        batch_id = f"{identity.channel}-{batch_id}"
    path = lake.fs_path(lake.uri(relative))
    folder = path.rsplit("/", 1)[0]
    lake.fs.makedirs(folder, exist_ok=True)
    if _create(lake, path, body):
        return Landed(batch_id, relative, replayed=False)
    with lake.fs.open(path, "rb") as existing:
        if existing.read() != body:
            raise Refused(409, "this Idempotency-Key was used before with another body: use a new key for new data")
    return Landed(batch_id, relative, replayed=True)


def _create(lake: Lake, path: str, body: bytes) -> bool:
    """Create `path` holding `body` if it does not exist; False if it did."""
    if lake.is_s3:
        try:
            lake.fs.pipe_file(path, body, mode="create")
        except (FileExistsError, OSError) as err:
            if lake.fs.exists(path):
                return False
            raise err
        return True
    folder, name = path.rsplit("/", 1)
    partial = f"{folder}/.{name}.{uuid.uuid4().hex}"
    try:
        with open(partial, "wb") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(partial, path)
        except FileExistsError:
            return False
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return True
    finally:
        os.unlink(partial)


def channel_offset(lake: Lake, source: str, channel: str) -> int | None:
    """The channel's last committed offset (its largest file), or None before its first batch."""
    if not _CHANNEL.match(channel):
        raise Refused(400, f"channel={channel!r}: 1 to 64 of a-z 0-9 _ -, starting with a letter or digit")
    folder = lake.fs_path(lake.uri(f"landing/{source}/_api/channels/{channel}"))
    if not lake.fs.exists(folder):
        return None
    offsets = [
        int(name.split(".")[0])
        for name in (p.rsplit("/", 1)[-1] for p in lake.fs.ls(folder, detail=False))
        if name[:1].isdigit()
    ]
    return max(offsets) if offsets else None


def open_channel(lake: Lake, source: str, channel: str) -> int | None:
    """Make the channel's folder (idempotent); its last committed offset."""
    offset = channel_offset(lake, source, channel)
    lake.fs.makedirs(lake.fs_path(lake.uri(f"landing/{source}/_api/channels/{channel}")), exist_ok=True)
    return offset


def summary(checked: Checked, landed: Landed) -> dict[str, Any]:
    return {
        "batch_id": landed.batch_id,
        "rows": checked.rows,
        "accepted": checked.rows - checked.bad_rows,
        "quarantined": checked.bad_rows,
        "waiting": checked.waiting,
        "landed_as": landed.landed_as,
        "replayed": landed.replayed,
    }
