"""The benchmark: `make bench` (`python -m benchmarks`). Not part of the product: nothing here is
imported by the CLI or shipped in the wheel. It drives the product's own stage plan
(warehouse/plan.py) through the library path and through Dagster, beside a Parquet floor and a
plain pandas peer, and writes docs/benchmarks.md."""
