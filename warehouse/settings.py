"""Every setting gridlake reads, in one object built where a process starts (the `gridlake`
command, the Dagster resource when a run or sensor tick starts, the HTTP service) and passed
down, mostly as part of the `Lake`. Values come from the environment (names below), and an
explicit value (the CLI's --lake) wins. Nothing reads the environment at import time.

| variable | field |
|---|---|
| GRIDLAKE_ROOT | root: a folder (default ./lake) or s3://bucket/prefix |
| GRIDLAKE_STATE | state: local folder for an S3 lake's DuckDB catalog and Data Docs (./.gridlake) |
| GRIDLAKE_MEMORY_MB | memory_mb: memory budget of one process (1024) |
| GRIDLAKE_COIN_RETENTION | coin_retention: raw coin history kept by maintenance (2d) |
| GRIDLAKE_ALERT_WEBHOOK | alert_webhook: where solar anomaly alerts are posted (none) |
| GRIDLAKE_INSTANCE | instance: Dagster profile for a new home, local or production |
| GRIDLAKE_UI_HOSTS | ui_hosts: extra Host names the UI answers (comma-separated) |
| GRIDLAKE_API_TIMEOUT_SECONDS | api_timeout_seconds: a query's time limit in `gridlake serve` (30) |
| GRIDLAKE_API_RATE_PER_SECOND, GRIDLAKE_API_BURST | requests a second per API key (50), burst (100) |
| AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ALLOW_HTTP | storage options |

Three tuning values exist for tests and very unusual files: GRIDLAKE_READ_CHUNK_BYTES (16 MiB
of a CSV/NDJSON file read at once), GRIDLAKE_BRONZE_COMMIT_ROWS (250,000 rows per bronze
commit at most) and GRIDLAKE_LATE_PART_ROWS (1,000,000 rows of a date judged at once by the
share rules)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The storage settings gridlake honours: the names the AWS SDKs, delta-rs and s3fs understand,
# so one set of variables configures every client.
STORAGE_ENV_VARS = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_ALLOW_HTTP")


class Storage(BaseSettings):
    """S3 access, from the standard AWS variables (no prefix)."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    aws_endpoint_url: str | None = None
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_region: str | None = None
    aws_allow_http: str | None = None

    def options(self) -> dict[str, str]:
        """The options as delta-rs and s3fs take them, set ones only."""
        out: dict[str, str] = {}
        for name in STORAGE_ENV_VARS:
            value = getattr(self, name.lower())
            text = value.get_secret_value() if isinstance(value, SecretStr) else value
            if text:
                out[name] = text
        return out


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRIDLAKE_", extra="ignore", frozen=True)

    root: str = "./lake"
    state: Path = Path(".gridlake")
    memory_mb: int = Field(1024, ge=1)
    coin_retention: str = "2d"
    alert_webhook: str | None = None
    instance: Literal["local", "production"] = "local"
    ui_hosts: str = ""
    read_chunk_bytes: int = Field(16 << 20, ge=1)
    bronze_commit_rows: int = Field(250_000, ge=1)
    late_part_rows: int = Field(1_000_000, ge=1)
    # The HTTP service (`gridlake serve`): a query's time limit, and each key's request rate.
    api_timeout_seconds: float = Field(30.0, gt=0)
    api_rate_per_second: float = Field(50.0, gt=0)
    api_burst: float = Field(100.0, ge=1)
    storage: Storage = Field(default_factory=Storage)

    @field_validator("alert_webhook", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @classmethod
    def load(cls, root: str | None = None) -> Settings:
        """The environment's settings; an explicit `root` (the CLI's --lake) wins over GRIDLAKE_ROOT."""
        settings = cls()
        return settings.model_copy(update={"root": root}) if root else settings
