"""Resources: the one place configuration enters. Values are read when a run starts."""

import dagster as dg

from warehouse.lake import Lake


@dg.resource(
    config_schema={"root": dg.Field(dg.Noneable(str), default_value=None, is_required=False)},
    description=(
        "The lake root and storage options. Leave `root` unset to use GRIDLAKE_ROOT (or ./lake); "
        "S3 credentials and endpoint come from the AWS_* environment variables."
    ),
)
def lake_resource(context: dg.InitResourceContext) -> Lake:
    """Built when a run (or sensor tick) starts; assets and sensors receive the `Lake` itself,
    so they need nothing from the orchestration package."""
    return Lake.from_env(context.resource_config.get("root"))


def lake_for(root: str | None) -> dg.ResourceDefinition:
    """The resource for an explicit root (the CLI's --lake)."""
    return lake_resource.configured({"root": root})
