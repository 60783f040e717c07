"""Turn a landed file into frames of raw text: CSV, JSON (object, array or newline-delimited),
each optionally gzip-compressed. Every field becomes a String column holding the text as sent:
a JSON number keeps its literal (`7.0`, `1e2`, `007` is not JSON), a string its characters, a
nested value becomes compact JSON text with its numbers as sent. Bronze never reinterprets a
value, whatever the file layout.

Large CSV and NDJSON files are read in chunks cut at line boundaries, so memory stays bounded by
the chunk size rather than the file size. A JSON array or a single pretty-printed object is read
whole (producers that send large volumes send NDJSON or CSV).
"""

from __future__ import annotations

import gzip
import io
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, cast

import polars as pl

JSON_SUFFIXES = (".json", ".ndjson", ".jsonl")
CSV_SUFFIXES = (".csv", ".txt")


class FileRejected(Exception):
    """The file as a whole cannot be read; the message names the file and the reason."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class Chunk:
    frame: pl.DataFrame  # all String columns plus _row_number
    first_row: int


def read_file(stream: IO[bytes], path: str, chunk_bytes: int = 16 << 20) -> Iterator[Chunk]:
    """Yield the file's records in chunks; raise FileRejected if any part is unreadable.

    Callers must not commit anything before the generator is exhausted without error if they
    want all-or-nothing landing; `land` commits per chunk with resumable transaction ids."""
    try:
        raw = _decompressed(stream, path)
        head = raw.peek(64)[:64] if hasattr(raw, "peek") else b""
        kind = _kind(path, head)
        if kind == "csv":
            yield from _read_csv(raw, path, chunk_bytes)
        else:
            yield from _read_json(raw, path, chunk_bytes)
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise FileRejected(path, f"corrupt or truncated gzip stream ({err})") from None
    except RecursionError:
        raise FileRejected(path, "JSON nested too deeply to read") from None


def _decompressed(stream: IO[bytes], path: str) -> io.BufferedReader[io.RawIOBase]:
    # fsspec and gzip streams are raw byte streams to BufferedReader, whatever their static type.
    buffered = io.BufferedReader(cast(io.RawIOBase, stream), buffer_size=1 << 20)
    if buffered.peek(2)[:2] == b"\x1f\x8b":
        return io.BufferedReader(cast(io.RawIOBase, gzip.GzipFile(fileobj=buffered)), buffer_size=1 << 20)
    if path.endswith(".gz"):
        raise FileRejected(path, "named .gz but is not gzip-compressed")
    return buffered


def _kind(path: str, head: bytes) -> str:
    name = path.lower().removesuffix(".gz")
    if name.endswith(JSON_SUFFIXES):
        return "json"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    return "json" if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[") else "csv"


def _chunks(raw: IO[bytes], path: str, chunk_bytes: int) -> Iterator[tuple[bytes, int]]:
    """Blocks of whole lines, validated as UTF-8, with the 1-based line number they start at.
    A block is yielded only once the next one has been read, so an unterminated last line
    travels with the block before it."""
    carry = b""
    line = 1
    pending: bytes | None = None
    first = True
    while block := raw.read(chunk_bytes):
        block = carry + block
        if first:
            block = block.removeprefix(b"\xef\xbb\xbf")
            first = False
        cut = block.rfind(b"\n")
        if cut < 0:
            carry = block
            continue
        body, carry = block[: cut + 1], block[cut + 1 :]
        if pending is not None:
            _check_utf8(pending, path, line)
            yield pending, line
            line += pending.count(b"\n")
        pending = body
    last = (pending or b"") + carry
    if last:
        if first:
            last = last.removeprefix(b"\xef\xbb\xbf")
        _check_utf8(last, path, line)
        yield last, line


def _check_utf8(body: bytes, path: str, first_line: int) -> None:
    if body[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise FileRejected(path, "UTF-16 encoded (byte order mark): files must be UTF-8")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as err:
        line = first_line + body.count(b"\n", 0, err.start)
        raise FileRejected(
            path, f"line {line}: bytes are not valid UTF-8 ({err.reason} at byte {err.start} of the block)"
        ) from None
    nul = body.find(b"\x00")
    if nul >= 0:
        # Valid UTF-8, but no producer's text holds NUL: binary data or a wrong encoding.
        line = first_line + body.count(b"\n", 0, nul)
        raise FileRejected(path, f"line {line}: a NUL byte (binary data or a UTF-16/32 file?)")


def _read_csv(raw: IO[bytes], path: str, chunk_bytes: int) -> Iterator[Chunk]:
    header: bytes | None = None
    next_row = 0
    seen_any = False
    for body, first_line in _chunks(raw, path, chunk_bytes):
        if header is None:
            stripped = body.lstrip(b"\r\n")
            if not stripped.strip():
                continue
            end = stripped.find(b"\n")
            header = stripped[: end + 1] if end >= 0 else stripped + b"\n"
            body = stripped[len(header) :]
            first_line += 1
            _check_header(header, path)
        seen_any = True
        if not body.strip():
            continue
        try:
            frame = pl.read_csv(header + body, infer_schema=False, raise_if_empty=False)
        except Exception as err:
            raise FileRejected(path, f"malformed CSV near line {first_line}: {_first_line(err)}") from None
        yield _numbered(frame, next_row)
        next_row += frame.height
    if not seen_any:
        raise FileRejected(path, "file is empty")
    if next_row == 0:
        yield _numbered(pl.read_csv(header or b"", infer_schema=False, raise_if_empty=False), 0)


def _check_header(header: bytes, path: str) -> None:
    names = pl.read_csv(header, infer_schema=False, raise_if_empty=False, has_header=False).row(0)
    repeated = sorted({n for n in names if n is not None and names.count(n) > 1})
    if repeated:
        raise FileRejected(path, f"column name(s) {', '.join(repeated)} appear more than once in the header")


def _read_json(raw: io.BufferedReader[io.RawIOBase], path: str, chunk_bytes: int) -> Iterator[Chunk]:
    first_block = raw.peek(1 << 16)
    text_start = first_block.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text_start and not raw.read(1):
        raise FileRejected(path, "file is empty")
    if text_start[:1] == b"[" or not _first_line_is_object(first_block):
        yield _whole_json(raw.read(), path)
        return
    next_row = 0
    for body, first_line in _chunks(raw, path, chunk_bytes):
        frame = _ndjson_block(body, path, first_line)
        yield _numbered(frame, next_row)
        next_row += frame.height


def _first_line_is_object(block: bytes) -> bool:
    line = block.lstrip(b"\xef\xbb\xbf \t\r\n").split(b"\n", 1)[0]
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _whole_json(data: bytes, path: str) -> Chunk:
    data = data.removeprefix(b"\xef\xbb\xbf")
    _check_utf8(data, path, 1)
    if not data.strip():
        raise FileRejected(path, "file is empty")
    try:
        doc = _loads(data)
    except json.JSONDecodeError as err:
        raise FileRejected(path, f"not valid JSON: {err.msg} at line {err.lineno} column {err.colno}") from None
    except DuplicateKey as err:
        raise FileRejected(path, f"a JSON object has the key {err.key!r} twice (which value is meant?)") from None
    records = doc if isinstance(doc, list) else [doc]
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise FileRejected(path, f"record {i} is a JSON {_json_type(rec)}, not an object")
    return _numbered(records_frame(records), 0)


class DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refused when a key repeats (json.loads would keep the last silently)."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
    return obj


def _ndjson_block(body: bytes, path: str, first_line: int) -> pl.DataFrame:
    lines = [ln for ln in body.split(b"\n")]
    sample = [ln for ln in lines[:1000] if ln.strip()]
    keys: dict[str, None] = {}
    nested = False
    for i, ln in enumerate(sample):
        rec = _parse_line(ln, path, first_line + i)
        keys.update(dict.fromkeys(rec))
        nested = nested or any(isinstance(v, dict | list) for v in rec.values())
    if not keys:
        return pl.DataFrame()
    # Escaped text (\u, or a key JSON would escape) is decoded by the reader: the exact path keeps
    # the sent text. Nested values go there too (compact JSON text, numbers as sent).
    if nested or b"\\u" in body or not all(_PLAIN_KEY.fullmatch(k) for k in keys):
        return _ndjson_exact(lines, path, first_line)
    try:
        frame = pl.read_ndjson(body, schema={k: pl.String for k in keys})
    except Exception:
        return _ndjson_exact(lines, path, first_line)
    # The fast path reads only the sampled keys. Count `":` key markers in the raw text and in
    # what was read: any difference (a key first seen later, an explicit null) means the exact
    # path must be used, so no field is ever dropped silently.
    raw_markers = body.count(b'":')
    read_markers = sum(frame.get_column(c).count() for c in frame.columns) + sum(
        int(frame.get_column(c).str.count_matches('":', literal=True).sum() or 0) for c in frame.columns
    )
    if raw_markers != read_markers:
        return _ndjson_exact(lines, path, first_line)
    return _numbers_as_sent(frame, body, lines, path, first_line)


# Keys written as plain JSON text (no escapes), so a pattern can find them in the raw line.
_PLAIN_KEY = re.compile(r'[^"\\\x00-\x1f]+')
# A number written as a bare token whose text the fast reader may rewrite (7.0 -> 7, 1e2 -> 100).
_REWRITTEN_NUMBER = re.compile(rb"[0-9][.eE]|-0(?![0-9.eE])")


def _numbers_as_sent(frame: pl.DataFrame, body: bytes, lines: list[bytes], path: str, first_line: int) -> pl.DataFrame:
    """The fast reader's frame with every bare JSON number put back to its literal, read from
    the line itself: `"key": <number>` can only match where the key is a key (a quote inside a
    string is escaped, nesting went to the exact path)."""
    if not _REWRITTEN_NUMBER.search(body):
        return frame
    text = pl.Series("line", [ln.decode() for ln in lines if ln.strip()], pl.String)
    if text.len() != frame.height:
        return _ndjson_exact(lines, path, first_line)
    literals = {c: text.str.extract(rf'"{re.escape(c)}"\s*:\s*(-?[0-9][0-9.eE+-]*)', 1).alias(c) for c in frame.columns}
    return frame.with_columns(pl.coalesce(literals[c], pl.col(c)).alias(c) for c in frame.columns)


def _ndjson_exact(lines: list[bytes], path: str, first_line: int) -> pl.DataFrame:
    records = [_parse_line(ln, path, first_line + i) for i, ln in enumerate(lines) if ln.strip()]
    return records_frame(records)


def _parse_line(line: bytes, path: str, line_no: int) -> dict[str, Any]:
    try:
        rec = _loads(line)
    except json.JSONDecodeError as err:
        raise FileRejected(path, f"line {line_no}: not valid JSON ({err.msg} at column {err.colno})") from None
    except DuplicateKey as err:
        raise FileRejected(path, f"line {line_no}: the key {err.key!r} appears twice in one object") from None
    if not isinstance(rec, dict):
        raise FileRejected(path, f"line {line_no}: a JSON {_json_type(rec)}, not an object")
    return rec


class Literal(str):
    """A JSON number (or NaN / Infinity) as the text it was written as."""


def _json_type(value: Any) -> str:
    """The JSON type of a value, as the error messages name it."""
    if type(value) is Literal:
        return "int" if value.lstrip("-").isdigit() else "float"
    return type(value).__name__


def _loads(text: bytes | str) -> Any:
    return json.loads(
        text, object_pairs_hook=_unique_keys, parse_float=Literal, parse_int=Literal, parse_constant=Literal
    )


def as_text(value: Any) -> str | None:
    """The raw text of a JSON value: strings verbatim, numbers as written, nested values as
    compact JSON text (numbers as written)."""
    kind = type(value)
    if value is None or kind is str:
        return value
    if kind is Literal:
        return str(value)
    return _compact(value)


def _compact(value: Any) -> str:
    if type(value) is Literal:
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{_compact(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_compact(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def records_frame(records: list[dict[str, Any]]) -> pl.DataFrame:
    columns: dict[str, None] = {}
    for rec in records:
        columns.update(dict.fromkeys(rec))
    return pl.DataFrame(
        {c: [as_text(rec.get(c)) for rec in records] for c in columns},
        schema={c: pl.String for c in columns},
    )


def _numbered(frame: pl.DataFrame, first_row: int) -> Chunk:
    frame = frame.with_row_index("_row_number", offset=first_row).with_columns(pl.col("_row_number").cast(pl.Int64))
    return Chunk(frame=frame, first_row=first_row)


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
