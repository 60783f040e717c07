# Everything a newcomer needs: `make demo`, `make test`. The environment is created on first use
# from uv.lock, so a fresh machine gets exactly the same install.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
VENV := .venv
TOOLS := .tools
UV := $(TOOLS)/bin/uv
export DAGSTER_HOME := $(CURDIR)/.dagster_home
export UV_PYTHON_DOWNLOADS := never
# Imports are compiled once into __pycache__ and read from there after. With this set (as it is on
# some CI images) every process compiled Dagster, GX, SQLAlchemy … from source again: 9.1 s to
# import them instead of 3.8 s, paid by every test worker, command, daemon and run.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: env demo test check drills ui serve bench lint clean

env: $(VENV)/.installed

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

demo: env $(DAGSTER_HOME)/dagster.yaml
	$(VENV)/bin/gridlake demo

test: env $(DAGSTER_HOME)/dagster.yaml
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q -n 2 --dist loadscope

# The edit loop: lint, types and the unit tier (no servers, no daemon, no subprocess runs).
check: env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q -n 2 --dist loadscope -m "not (e2e or s3 or postgres or browser or drills)"

# The heavier reliability drills (docs/reliability.md): kill -9 at 12 moments of a 100,000-row run.
drills: env $(DAGSTER_HOME)/dagster.yaml
	$(VENV)/bin/pytest -q -m drills

ui: env $(DAGSTER_HOME)/dagster.yaml
	$(VENV)/bin/gridlake ui

serve: env
	$(VENV)/bin/gridlake serve

# `make bench ARGS="--stages latency"` passes options through (python -m benchmarks --help).
bench: env $(DAGSTER_HOME)/dagster.yaml
	$(VENV)/bin/python -m benchmarks $(ARGS)

lint: env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

clean:
	rm -rf lake .dagster_home .gridlake
