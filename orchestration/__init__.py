"""Dagster definitions, resources, sensors, jobs and the CLI."""

import warehouse  # noqa: F401 - configures Polars' allocator before anything imports Polars
