# data_exchange_tool: `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# One id per run: the test database, Redis database, queue names and ports derive from it,
# so parallel runs and leftover tasks cannot steal each other's jobs.
export DXT_RUN_ID ?= $(shell $(PYTHON) -c "import secrets; print(secrets.token_hex(4))")

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: setup.cfg pyproject.toml requirements/test.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -e ".[s3,redis]" -r requirements/test.txt
	touch $@

install: $(VENV)/.installed ## Create .venv and install the package with its test tools

services: ## Install (if missing) and start PostgreSQL, Redis, RabbitMQ and Chromium for the real test layer
	bash scripts/services.sh

lint: install ## ruff check and ruff format --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install ## Format the code with ruff
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations-check: install ## Fail when a model change has no migration
	$(PY) -m django makemigrations --check --dry-run --settings=tests.settings

test-fast: install ## Fast layer on .venv: SQLite, in-memory files, eager Celery
	$(BIN)/pytest tests --ignore=tests/integration

test-legs: ## Fast layer on the lowest (Python 3.11) and newest (Python 3.13) supported versions
	bash scripts/legs.sh

typecheck: install ## mypy on the package (django-stubs, djangorestframework-stubs, celery-types)
	$(BIN)/mypy

test-integration: install services ## Real layer: PostgreSQL, Redis, RabbitMQ, Celery workers, moto S3, Chromium
	bash scripts/integration.sh

# The fast layer runs in the two legs (lowest and newest versions); the real layer on .venv.
test: lint typecheck migrations-check test-legs test-integration ## Everything CI runs (.ci/run calls this)

demo: install ## Start the example project: SQLite, in-process worker, demo user and sample files
	$(PY) manage.py setup_demo
	$(PY) manage.py rundemo 127.0.0.1:8000

worker: install ## Run a Celery worker on both queues (needs CELERY_BROKER_URL)
	$(BIN)/celery -A example_project worker -l info \
		-Q $${DATA_EXCHANGE_PREVIEW_QUEUE:-data_exchange_shared_queue},$${DATA_EXCHANGE_IMPORT_QUEUE:-data_exchange_shared_queue},$${DATA_EXCHANGE_EXPORT_QUEUE:-data_exchange_shared_queue}

bench: install services ## Time preview, import and export on PostgreSQL vs a floor and COPY (~40 min; ARGS="..." for scripts/bench.sh)
	bash scripts/bench.sh $(ARGS)

bench-workers: install services ## Time a 1M-row preview and import on 1 then 2 Celery worker processes (#15; ARGS="--rows N --part-rows N")
	bash scripts/bench.sh --workers $(ARGS)

messages: install ## Extract the marked strings into locale/*/django.po and compile the .mo files (Babel)
	$(PY) scripts/messages.py update

build: install ## Build the sdist and wheel
	$(BIN)/pip install --quiet build==1.3.0
	$(PY) -m build

clean: ## Remove build products and caches
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache .artifacts
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

.PHONY: help install services lint format migrations-check test-fast test-legs typecheck test-integration test demo worker bench bench-workers messages build clean
