"""The Dagster code location: `dagster dev -m orchestration.definitions`.

Steps run in the run's own process (in_process_executor): each run is small, and a process per
step would pay the imports again for every asset."""

import dagster as dg

from assets.catalog import duckdb_catalog
from assets.gold import GOLD_ASSETS
from assets.ingest import LAND_ASSETS, REFINE_ASSETS
from assets.solar_report import solar_report
from orchestration.jobs import JOBS, SCHEDULES
from orchestration.resources import LakeResource
from orchestration.sensors import SENSORS

ALL_ASSETS = [*LAND_ASSETS, *REFINE_ASSETS, *GOLD_ASSETS, duckdb_catalog, solar_report]

defs = dg.Definitions(
    assets=ALL_ASSETS,
    jobs=JOBS,
    schedules=SCHEDULES,
    sensors=SENSORS,
    # GRIDLAKE_ROOT names the lake (`gridlake ui` and the services set it); everything else is
    # read from the environment when a run or sensor tick starts (warehouse/settings.py).
    resources={"lake": LakeResource(root=dg.EnvVar("GRIDLAKE_ROOT"))},
    executor=dg.in_process_executor,
)
