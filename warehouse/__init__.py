"""Storage, registry, plan and stages of the lakehouse (no Dagster here)."""
