"""The lake resource: where configuration enters Dagster runs and sensor ticks."""

import dagster as dg

from warehouse.lake import Lake
from warehouse.settings import Settings


class LakeResource(dg.ConfigurableResource):
    """The lake root and, from the environment when a run or sensor tick starts, every other
    setting (warehouse/settings.py: storage options, memory budget, retention, webhook). Assets
    and sensors receive the `Lake` itself, so they need nothing from the orchestration package."""

    root: str | None = None

    def create_resource(self, context: dg.InitResourceContext) -> Lake:
        return Lake.of(Settings.load(self.root))


def lake_for(root: str | None) -> LakeResource:
    """The resource for an explicit root (the CLI's --lake); None reads GRIDLAKE_ROOT."""
    return LakeResource(root=root)
