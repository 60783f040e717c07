"""Asset keys: one per registry table (`silver.customer_usage` -> `silver/customer_usage`)."""

import dagster as dg


def asset_key(qualified: str) -> dg.AssetKey:
    return dg.AssetKey(qualified.split("."))
