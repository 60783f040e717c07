"""Storage, registry, plan and stages of the lakehouse (no Dagster here)."""

import os

# Polars allocates through its own jemalloc and configures it when it loads (freed pages kept
# 0.5 s dirty, then 1 s "muzzy", still counted in RSS), adding any _RJEM_MALLOC_CONF it finds. The
# stages of one run then stack their high-water marks; returning muzzy pages at once keeps RSS
# near what is in use (measured at workload S: ~80 MB lower peaks, a few % more time). Set
# before anything imports Polars; a value already in the environment wins.
os.environ.setdefault("_RJEM_MALLOC_CONF", "muzzy_decay_ms:0")
