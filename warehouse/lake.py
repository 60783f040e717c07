"""Where the lake lives and how to reach it: one object built from the settings
(warehouse/settings.py) where a process starts, carrying them to every stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import fsspec

from warehouse.settings import Settings

if TYPE_CHECKING:
    from warehouse.registry import Table

DEFAULT_MEMORY_MB = 1024
# What a row of a date being refined costs in memory while its piece is validated and deduplicated
# (typed and raw columns, the pandas copy Great Expectations reads, the fates, and the next piece
# read ahead: warehouse/stages/pieces.py), and what the
# process holds before it (interpreter, Polars, Dagster, Great Expectations). Measured at
# workload S; see docs/benchmarks.md.
PIECE_BYTES_PER_ROW = 1450
BASELINE_MB = 450
MIN_PIECE_ROWS = 1_000

SECRET_ENV_VARS = ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN")


@dataclass(frozen=True)
class Lake:
    """The lake root (a local folder or `s3://bucket/prefix`) and the options to reach it."""

    root: str
    # Credentials among them: never in repr, logs or messages (see __repr__).
    storage_options: dict[str, str] = field(default_factory=dict, repr=False)
    # The memory a run may use (GRIDLAKE_MEMORY_MB): it decides how large a piece of a date
    # refine works on at once.
    memory_mb: int = DEFAULT_MEMORY_MB
    # Everything else the stages read (state folder, retention, tuning).
    settings: Settings = field(default_factory=Settings, repr=False, compare=False)

    @classmethod
    def of(cls, settings: Settings) -> Lake:
        return cls(
            root=_normalise_root(settings.root),
            storage_options=settings.storage.options(),
            memory_mb=settings.memory_mb,
            settings=settings,
        )

    @classmethod
    def from_env(cls, root: str | None = None) -> Lake:
        """The lake of the environment's settings; an explicit `root` wins over GRIDLAKE_ROOT."""
        return cls.of(Settings.load(root))

    def __repr__(self) -> str:
        shown = {k: ("***" if k in SECRET_ENV_VARS else v) for k, v in self.storage_options.items()}
        return f"Lake(root={self.root!r}, storage_options={shown!r}, memory_mb={self.memory_mb})"

    @property
    def piece_rows(self) -> int:
        """Rows of a date refine holds at once: what the budget leaves after the baseline."""
        spare = max(self.memory_mb - BASELINE_MB, 0) * (1 << 20)
        return max(MIN_PIECE_ROWS, spare // PIECE_BYTES_PER_ROW)

    @property
    def is_s3(self) -> bool:
        return self.root.startswith("s3://")

    def uri(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts])

    def table_uri(self, table: Table) -> str:
        return self.uri(table.layer, table.name)

    def landing_uri(self, source: str) -> str:
        return self.uri("landing", source)

    @property
    def delta_options(self) -> dict[str, str] | None:
        """Options for delta-rs. delta-rs 1.x commits to S3 with conditional writes
        (If-None-Match), so no locking provider or unsafe-rename setting is needed."""
        if not self.is_s3:
            return None
        options = dict(self.storage_options)
        if options.get("AWS_ENDPOINT_URL", "").startswith("http://"):
            options.setdefault("AWS_ALLOW_HTTP", "true")
        return options

    @cached_property
    def fs(self) -> fsspec.AbstractFileSystem:
        if not self.is_s3:
            return fsspec.filesystem("file")
        import s3fs

        opts = self.storage_options
        client_kwargs: dict[str, str] = {}
        if opts.get("AWS_REGION"):
            client_kwargs["region_name"] = opts["AWS_REGION"]
        return s3fs.S3FileSystem(
            key=opts.get("AWS_ACCESS_KEY_ID"),
            secret=opts.get("AWS_SECRET_ACCESS_KEY"),
            endpoint_url=opts.get("AWS_ENDPOINT_URL"),
            client_kwargs=client_kwargs,
            # Listings must see files dropped after the first look.
            use_listings_cache=False,
        )

    def fs_path(self, uri: str) -> str:
        """The path form fsspec wants: bucket/key for S3, an absolute path locally."""
        return uri.removeprefix("s3://") if self.is_s3 else uri

    def relative(self, path: str) -> str:
        """A path inside the lake (URI, fsspec path or already relative) relative to the root:
        what the lake's own tables record, so a lake copied or moved elsewhere still matches."""
        for base in (self.root.rstrip("/") + "/", self.fs_path(self.root).rstrip("/") + "/"):
            if path.startswith(base):
                return path[len(base) :]
        return path

    @property
    def local_state_dir(self) -> Path:
        """A local folder for artefacts that must live on a disk (DuckDB file, GX Data Docs).
        Local lakes keep them inside the lake; S3 lakes keep them in GRIDLAKE_STATE or ./.gridlake."""
        if not self.is_s3:
            path = Path(self.root) / "_state"
        else:
            base = self.settings.state
            path = base / self.root.removeprefix("s3://").replace("/", "_")
        # Not created here: reading a lake never creates one (writers make the folder they need).
        return path.resolve()

    def state_folder(self) -> Path:
        """The local state folder, created if needed (for writers)."""
        path = self.local_state_dir
        path.mkdir(parents=True, exist_ok=True)
        return path

    def exists(self) -> bool:
        """Whether anything is at the root (a local folder, or objects under the S3 prefix)."""
        return bool(self.fs.exists(self.fs_path(self.root)))

    @property
    def duckdb_path(self) -> Path:
        return self.local_state_dir / "gridlake.duckdb"

    @property
    def data_docs_dir(self) -> Path:
        return self.local_state_dir / "data_docs"


def _normalise_root(root: str) -> str:
    if root.startswith("s3://"):
        return root.rstrip("/")
    if "://" in root:
        raise ValueError(f"unsupported lake root {root!r}: use a local folder or s3://bucket/prefix")
    return str(Path(root).expanduser().resolve())
