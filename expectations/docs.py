"""Keep validation results and publish them as GX Data Docs.

``record_results`` is called once per pipeline run. It opens a file-mode GX
project inside ``docs_dir`` (``docs_dir/gx``: suites and validation results as
JSON in GX's stores), adds this run's suites and results, and renders the Data
Docs site into ``docs_dir`` itself, so ``docs_dir/index.html`` lists every run
recorded there so far. ``docs_dir`` must be a local folder; for a lake on S3 the
caller renders locally and uploads the folder if needed.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import re
from collections import Counter
from pathlib import Path

import great_expectations as gx
from great_expectations.core.expectation_validation_result import (
    ExpectationSuiteValidationResult,
)
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context import FileDataContext
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)

from expectations.runner import BATCH_LABEL_META_KEY, to_gx_suite
from expectations.spec import Suite

SITE_NAME = "gridlake"
# Most recent validation results listed on index.html (older pages stay on disk).
INDEX_RESULTS_LIMIT = 200


def record_results(
    results: list[tuple[Suite, ExpectationSuiteValidationResult]],
    docs_dir: str,
    run_name: str | None = None,
) -> str:
    """Store ``results`` under ``docs_dir`` and rebuild its Data Docs.

    ``run_name`` (e.g. the pipeline run id) labels this run in Data Docs.
    Returns the path of the site's ``index.html``.
    """
    root = Path(docs_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(root))
    _configure(context, root)

    run_time = dt.datetime.now(dt.UTC)
    # The run name becomes a folder name in the stores and the site.
    run_id = RunIdentifier(run_name=_safe_name(run_name or run_time.strftime("%Y%m%dT%H%M%SZ")), run_time=run_time)

    suites = {suite.name: suite for suite, _ in results}
    for suite in suites.values():
        context.suites.add_or_update(to_gx_suite(suite))

    seen: Counter[str] = Counter()
    resource_ids: list[ExpectationSuiteIdentifier | ValidationResultIdentifier] = [
        ExpectationSuiteIdentifier(name=name) for name in suites
    ]
    for suite, result in results:
        label = _batch_identifier(suite, result, seen)
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite.name),
            run_id=run_id,
            batch_identifier=label,
        )
        stored = copy.deepcopy(result)
        stored.meta["run_id"] = run_id
        stored.meta["validation_time"] = run_time  # type: ignore[arg-type]  # GX stores a datetime here
        context.validation_results_store.set(key, stored)
        resource_ids.append(key)

    # Only this run's pages are rendered; the index still lists all stored results.
    context.build_data_docs(site_names=[SITE_NAME], resource_identifiers=resource_ids)  # type: ignore[arg-type]
    return str(root / "index.html")


def _configure(context: FileDataContext, root: Path) -> None:
    site = {
        "class_name": "SiteBuilder",
        # Rendered into docs_dir itself; GX's default site would bury index.html
        # under gx/uncommitted/.
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(root),
        },
        "site_index_builder": {
            "class_name": "DefaultSiteIndexBuilder",
            # The index loads every listed result from the store; without a cap
            # each run's build gets slower as history grows.
            "validation_results_limit": INDEX_RESULTS_LIMIT,
        },
    }
    progress_bars = ProgressBarsConfig(globally=False)
    if context.list_data_docs_sites() != {SITE_NAME: site} or (context.variables.progress_bars != progress_bars):
        context.variables.data_docs_sites = {SITE_NAME: site}
        context.variables.progress_bars = progress_bars
        context.variables.save()


def _batch_identifier(suite: Suite, result: ExpectationSuiteValidationResult, seen: Counter[str]) -> str:
    """A file-name-safe, per-run unique label for one validated batch."""
    safe = _safe_name(str(result.meta.get(BATCH_LABEL_META_KEY) or suite.name))
    seen[safe] += 1
    return safe if seen[safe] == 1 else f"{safe}-{seen[safe]}"


def _safe_name(name: str) -> str:
    """``name`` if it is a plain file name, else a cleaned form plus a short hash."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")[-80:] or "batch"
    if safe != name:
        safe = f"{safe}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
    return safe
