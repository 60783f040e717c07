"""Dagster definitions, resources, sensors, jobs and the CLI."""
