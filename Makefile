PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app console
HOST ?= 127.0.0.1
PORT ?= 8000
WEB_CONCURRENCY ?= 4

.PHONY: run serve test lint screenshots clean bench loadtest

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the project's dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(FLASK) db upgrade
	$(FLASK) seed
	$(FLASK) ensure-admin
	$(FLASK) run --host 127.0.0.1 --port 5000

# The production profile: gunicorn on PostgreSQL (DATABASE_URL) and Redis (RATELIMIT_STORAGE_URI).
# Every step sees .env and .flaskenv as the flask command does (Flask's own loader: the
# environment wins over .env, .env over .flaskenv; FLASK_SKIP_DOTENV=1 skips them).
serve: DOTENV := $(BIN)/python -c 'import os, sys; from flask.cli import load_dotenv; \
  from flask.helpers import get_load_dotenv; get_load_dotenv() and load_dotenv(); \
  os.execvp(sys.argv[1], sys.argv[1:])'
serve: $(VENV)/.installed
	@$(DOTENV) sh -c 'test -n "$$DATABASE_URL" && test -n "$$RATELIMIT_STORAGE_URI"' || { \
	  echo "make serve needs DATABASE_URL and RATELIMIT_STORAGE_URI; see the README, Production." >&2; \
	  exit 1; }
	@$(DOTENV) $(FLASK) db upgrade
	@$(DOTENV) $(BIN)/gunicorn --workers $(WEB_CONCURRENCY) --bind $(HOST):$(PORT) 'console:create_app()'

test: $(VENV)/.installed
	$(BIN)/pytest $(PYTEST_ARGS)

# Scale benchmark at 1k and 1M planets (a few minutes; not part of `make test`).
bench: $(VENV)/.installed
	$(BIN)/python tests/benchmarks/bench.py $(BENCH_ARGS)

# 50 simulated users for a minute on gunicorn, PostgreSQL and Redis (not part of `make test`).
loadtest: $(VENV)/.installed
	$(BIN)/python tests/load/loadtest.py $(LOADTEST_ARGS)

# PNGs of the main pages at desktop and phone widths, from a throwaway server and database.
screenshots: $(VENV)/.installed
	$(BIN)/python -m tests.browser.screenshots docs/screenshots

lint: $(VENV)/.installed
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache
