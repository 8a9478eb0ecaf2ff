# Quick start: `make run` serves the demo at http://127.0.0.1:8000; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := cd backend && ../$(BIN)/python manage.py
export HOST ?= 127.0.0.1
export PORT ?= 8000

.PHONY: run test pytest pytest-postgres lint frontend frontend-test bench clean

# Two stamps: serving needs requirements.txt only; the tests and linters add requirements-dev.txt.
SERVE_STAMP := $(VENV)/.installed-serve
DEV_STAMP := $(VENV)/.installed-dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(SERVE_STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(DEV_STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

run: $(SERVE_STAMP)
	@$(MAKE) --no-print-directory frontend || echo "front end not built (npm missing or failed); /app/ is unavailable"
	$(MANAGE) migrate --noinput
	$(MANAGE) seed_demo --force
	DJANGO_SETTINGS_MODULE=config.settings.local ./scripts/run_dev.sh

# The database part of the suite runs on Postgres too: POSTGRES_URL, else a server on
# 127.0.0.1:5432, else a throwaway one made and removed by scripts/with_postgres.py.

test: $(DEV_STAMP) lint pytest pytest-postgres frontend-test

pytest: $(DEV_STAMP)
	$(BIN)/python -m pytest

pytest-postgres: $(DEV_STAMP)
	$(BIN)/python scripts/with_postgres.py -- $(BIN)/python -m pytest tests/records tests/realtime

lint: $(DEV_STAMP)
	$(BIN)/ruff check backend tests bench scripts
	$(BIN)/ruff format --check backend tests scripts
	cd backend && ../$(BIN)/mypy .

# The front end: `npm ci` when the lock file changed, the build when a source did (stamps;
# npm ci writes node_modules/.package-lock.json itself).
FRONTEND_DEPS := frontend/node_modules/.package-lock.json
FRONTEND_BUILT := frontend/demo/dist/.built
FRONTEND_SOURCES := $(shell find frontend/packages/*/src frontend/demo/src -type f 2>/dev/null) \
  $(wildcard frontend/package.json frontend/tsconfig*.json frontend/packages/*/package.json \
    frontend/packages/*/tsconfig*.json frontend/demo/package.json frontend/demo/tsconfig*.json \
    frontend/demo/index.html frontend/demo/vite.config.ts frontend/demo/public/*)

frontend:
	@command -v npm >/dev/null && [ -f frontend/package.json ] || exit 1
	@$(MAKE) --no-print-directory $(FRONTEND_BUILT)

$(FRONTEND_DEPS): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(FRONTEND_BUILT): $(FRONTEND_DEPS) $(FRONTEND_SOURCES)
	cd frontend && npm run build
	touch $@

frontend-test:
	@if [ -f frontend/package.json ]; then \
	  command -v npm >/dev/null || { echo "npm is required for the front-end tests"; exit 1; }; \
	  $(MAKE) --no-print-directory $(FRONTEND_DEPS) && cd frontend && npm test; \
	fi

bench: $(DEV_STAMP)
	$(BIN)/pip install -q -r bench/requirements.txt
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) backend/db.sqlite3
