"""The Dagster instance the CLI records its runs in: $DAGSTER_HOME, else ./.dagster_home created
with the repository's dagster.yaml (telemetry off, so no first-run banner). GRIDLAKE_INSTANCE
picks the profile written into a home that has none: `local` (SQLite, one run at a time; the
default) or `production` (PostgreSQL, runs side by side: deploy/dagster.prod.yaml)."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from filelock import FileLock

import orchestration
from warehouse.settings import Settings

# The wheel carries the profiles inside the package; a checkout has them in the repository.
_PACKAGE = Path(orchestration.__file__).parent
_REPOSITORY = Path(orchestration.__file__).resolve().parents[1]
PROFILES = {
    "local": (_PACKAGE / "dagster.yaml", _REPOSITORY / "dagster.yaml"),
    "production": (_PACKAGE / "dagster.prod.yaml", _REPOSITORY / "deploy" / "dagster.prod.yaml"),
}


def instance_config(profile: str | None = None) -> Path:
    """The profile's dagster.yaml (default: the settings' instance, GRIDLAKE_INSTANCE)."""
    name = profile or Settings.load().instance
    if name not in PROFILES:
        raise ValueError(f"GRIDLAKE_INSTANCE={name!r}: choose one of {', '.join(PROFILES)}")
    packaged, checkout = PROFILES[name]
    return packaged if packaged.exists() else checkout


def ensure_home() -> Path:
    """DAGSTER_HOME (Dagster's own variable), else ./.dagster_home, with the profile's settings
    written into it when it has none."""
    home = Path(os.environ.get("DAGSTER_HOME") or ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(instance_config().read_text())
    return home


def prepare_storage(home: Path) -> None:
    """Create the instance's storage, once, under a lock: several processes creating a fresh
    SQLite storage at once leave its migration table with two heads, or fail on its unique
    version row (seen with two `gridlake run` started together, and daemon + webserver)."""
    with FileLock(home / ".gridlake-storage.lock"), dg.DagsterInstance.from_config(str(home)) as inst:
        inst.get_daemon_heartbeats()
        inst.get_run_records(limit=1)


def instance() -> dg.DagsterInstance:
    home = ensure_home()
    prepare_storage(home)
    return dg.DagsterInstance.from_config(str(home))
