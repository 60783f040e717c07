"""The Dagster instance the CLI records its runs in: $DAGSTER_HOME, else ./.dagster_home created
with the repository's dagster.yaml (telemetry off, so no first-run banner)."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

import orchestration

# The wheel carries dagster.yaml inside the package; a checkout has it at the repository root.
_PACKAGED = Path(orchestration.__file__).parent / "dagster.yaml"
_REPOSITORY = Path(orchestration.__file__).resolve().parents[1] / "dagster.yaml"


def instance_config() -> Path:
    return _PACKAGED if _PACKAGED.exists() else _REPOSITORY


def ensure_home() -> Path:
    """DAGSTER_HOME, set to ./.dagster_home (with the repository's settings) when unset."""
    if os.environ.get("DAGSTER_HOME"):
        home = Path(os.environ["DAGSTER_HOME"])
    else:
        home = Path(".dagster_home").resolve()
        os.environ["DAGSTER_HOME"] = str(home)
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(instance_config().read_text())
    return home


def instance() -> dg.DagsterInstance:
    ensure_home()
    return dg.DagsterInstance.get()
