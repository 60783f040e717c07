"""The DuckDB catalog: one view per Delta table, so every layer answers SQL."""

import dagster as dg

from orchestration.resources import LakeResource
from warehouse import catalog


@dg.asset(key=dg.AssetKey(["duckdb_catalog"]), group_name="publish", kinds={"duckdb"})
def duckdb_catalog(lake: LakeResource) -> dg.MaterializeResult:
    """Views over every Delta table in the DuckDB database file (`gridlake sql` queries it)."""
    the_lake = lake.lake()
    published = catalog.publish(the_lake)
    return dg.MaterializeResult(
        metadata={
            "database": str(the_lake.duckdb_path),
            "views": dg.MetadataValue.md("\n".join(f"- {t}" for t in published)),
        }
    )
