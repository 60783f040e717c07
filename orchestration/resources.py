"""Resources: the one place configuration enters. Values are read when a run starts."""

import dagster as dg

from warehouse.lake import Lake


class LakeResource(dg.ConfigurableResource):
    """The lake root and storage options. Leave `root` unset to use GRIDLAKE_ROOT (or ./lake);
    S3 credentials and endpoint come from the AWS_* environment variables."""

    root: str | None = None

    def lake(self) -> Lake:
        return Lake.from_env(self.root)
