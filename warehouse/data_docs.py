"""GX validation results and Data Docs, kept with the lake: rendered into the lake's state folder
(a local lake's `_state/data_docs/`); for a lake on S3 the rendered site is also copied to
`<root>/_state/data_docs/` so it travels with the tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from expectations.spec import Suite
from warehouse import locks
from warehouse.lake import Lake

if TYPE_CHECKING:
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResult


def publish_data_docs(
    lake: Lake, results: Sequence[tuple[Suite, ExpectationSuiteValidationResult]], run_name: str
) -> str:
    """Record the results, rebuild Data Docs, and return the address of index.html."""
    # Only runs that validated have results to record, and only they import GX.
    from expectations.docs import record_results

    # One site folder per lake: runs of a parallel backfill take turns writing it.
    with locks.held(lake, ["data_docs"]):
        return _publish(lake, results, run_name, record_results)


def _publish(
    lake: Lake, results: Sequence[tuple[Suite, ExpectationSuiteValidationResult]], run_name: str, record_results: Any
) -> str:
    lake.state_folder()
    index = record_results(list(results), str(lake.data_docs_dir), run_name=run_name)
    if not lake.is_s3:
        return index
    target = lake.fs_path(lake.uri("_state", "data_docs"))
    lake.fs.put(str(lake.data_docs_dir) + "/", target, recursive=True)
    return lake.uri("_state", "data_docs", "index.html")
