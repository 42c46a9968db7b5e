.DEFAULT_GOAL := help
PY := .venv/bin/python
PYTEST := $(PY) -m pytest

help: ## Show this help
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*##/ {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.venv/bin/python:
	python3 -m venv .venv
	.venv/bin/pip install -q --upgrade pip

install: .venv/bin/python ## Install Strongroom and its development tools into .venv
	.venv/bin/pip install -q -e '.[dev]'

run: install ## Start the server on the embedded defaults (SQLite + local folder + key file in ./strongroom-data)
	.venv/bin/strongroom serve

test: ## Run the whole suite on SQLite, then on PostgreSQL
	STRONGROOM_TEST_DB=sqlite $(PYTEST) -n 2
	STRONGROOM_TEST_DB=postgresql $(PYTEST) -n 2

test-fast: ## SQLite only, no interop tests
	STRONGROOM_TEST_DB=sqlite $(PYTEST) -n 2 -m "not interop"

lint: ## ruff and the import contracts
	.venv/bin/ruff check src tests bench
	.venv/bin/ruff format --check src tests bench
	.venv/bin/lint-imports

fix: ## Let ruff fix and format what it can
	.venv/bin/ruff check --fix src tests bench
	.venv/bin/ruff format src tests bench

typecheck: ## mypy --strict over the package
	.venv/bin/mypy src/strongroom

migrations-check: ## Migrations reach the models on SQLite and PostgreSQL (alembic check)
	$(PY) -m pytest tests/migrations -q -p no:randomly

bench: ## Benchmarks (ratios against nginx/rclone measured side by side)
	$(PY) bench/bench_core.py

ci: lint typecheck test ## What .ci/run runs after installing everything
