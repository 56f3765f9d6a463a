# The two commands a newcomer needs: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PY := .venv/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# One Redis channel layer for the web process and the worker, so jobs' events reach sockets.
REDIS_URL ?= redis://127.0.0.1:6379/0
export REDIS_URL
# `make run` is the local demo: debug on (local secret key, static files, plain http).
RUN_ENV ?= DEBUG=1

.PHONY: setup setup-test run test lint bench demo

setup:
	@scripts/setup.sh

setup-test:
	@scripts/setup.sh --test

demo: setup
	@$(RUN_ENV) $(PY) manage.py load_demo

run: demo
	@$(RUN_ENV) scripts/serve.sh $(HOST) $(PORT)

# The type check and the migration check load the settings: a placeholder key, and alerts
# delivered to the console (production settings refuse to start without provider credentials).
LINT_ENV := SECRET_KEY=lint-only-not-a-secret ALERTS_CONSOLE_DELIVERY=1

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports
	$(LINT_ENV) .venv/bin/mypy
	$(LINT_ENV) $(PY) manage.py makemigrations --check --dry-run

test: setup-test lint
	$(PY) -m pytest $(PYTEST_ARGS)

bench: setup
	$(PY) -m bench $(if $(ONLY),--only $(ONLY))
