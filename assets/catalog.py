"""The DuckDB catalog: one view per Delta table, so every layer answers SQL."""

import dagster as dg

from warehouse import catalog
from warehouse.lake import Lake


@dg.asset(key=dg.AssetKey(["duckdb_catalog"]), group_name="publish", kinds={"duckdb"})
def duckdb_catalog(lake: dg.ResourceParam[Lake]) -> dg.MaterializeResult:
    """Views over every Delta table in the DuckDB database file (`gridlake sql` queries it)."""
    published = catalog.publish(lake)
    return dg.MaterializeResult(
        metadata={
            "database": str(lake.duckdb_path),
            "views": dg.MetadataValue.md("\n".join(f"- {t}" for t in published)),
        }
    )
