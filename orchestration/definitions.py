"""The Dagster code location: `dagster dev -m orchestration.definitions`."""

import dagster as dg

from assets.catalog import duckdb_catalog
from assets.gold import GOLD_ASSETS
from assets.ingest import LAND_ASSETS, REFINE_ASSETS
from assets.parks import PARKS_GOLD_ASSETS
from assets.sites import SITES_GOLD_ASSETS
from orchestration.jobs import JOBS, SCHEDULES
from orchestration.resources import LakeResource
from orchestration.sensors import SENSORS

ALL_ASSETS = [*LAND_ASSETS, *REFINE_ASSETS, *GOLD_ASSETS, *PARKS_GOLD_ASSETS, *SITES_GOLD_ASSETS, duckdb_catalog]

defs = dg.Definitions(
    assets=ALL_ASSETS,
    jobs=JOBS,
    schedules=SCHEDULES,
    sensors=SENSORS,
    resources={"lake": LakeResource()},
)
