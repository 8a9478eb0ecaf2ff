# Quick start: `make run` serves the demo at http://127.0.0.1:8000; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := cd backend && ../$(BIN)/python manage.py
export HOST ?= 127.0.0.1
export PORT ?= 8000

.PHONY: run test pytest pytest-postgres lint frontend frontend-test bench clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

run: $(BIN)/.installed
	@$(MAKE) --no-print-directory frontend || echo "front end not built (npm missing or failed); /app/ is unavailable"
	$(MANAGE) migrate --noinput
	$(MANAGE) seed_demo --force
	DJANGO_SETTINGS_MODULE=config.settings.local ./scripts/run_dev.sh

# The database part of the suite runs on Postgres too (POSTGRES_URL, default: the local server).
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/syncline

test: $(BIN)/.installed lint pytest pytest-postgres frontend-test

pytest: $(BIN)/.installed
	$(BIN)/python -m pytest

pytest-postgres: $(BIN)/.installed
	@$(BIN)/python -c "import psycopg,sys; psycopg.connect(sys.argv[1], dbname=\"postgres\", connect_timeout=3).close()" "$(POSTGRES_URL)" \
	  || { echo "Postgres is not reachable at $(POSTGRES_URL): start it or set POSTGRES_URL"; exit 1; }
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m pytest tests/records tests/realtime

lint: $(BIN)/.installed
	$(BIN)/ruff check backend tests bench
	$(BIN)/ruff format --check backend tests
	cd backend && ../$(BIN)/mypy .

frontend:
	@if [ -d frontend ] && command -v npm >/dev/null; then \
	  cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run build; \
	else exit 1; fi

frontend-test:
	@if [ -f frontend/package.json ]; then \
	  command -v npm >/dev/null || { echo "npm is required for the front-end tests"; exit 1; }; \
	  cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm test; \
	fi

bench: $(BIN)/.installed
	$(BIN)/pip install -q -r bench/requirements.txt
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) backend/db.sqlite3
