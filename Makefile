PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app console
HOST ?= 127.0.0.1
PORT ?= 8000
WEB_CONCURRENCY ?= 4
JOB_WORKERS ?= 4

.PHONY: run serve worker test lint screenshots clean bench loadtest checkers

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
	@# A job worker (mails, large imports) beside the dev server, on the SQLite queue in
	@# instance/; it stops with the server.
	$(FLASK) worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(FLASK) run --host 127.0.0.1 --port 5000

# The production profile: gunicorn on PostgreSQL (DATABASE_URL) and Redis (RATELIMIT_STORAGE_URI).
# Every step sees .env and .flaskenv as the flask command does (Flask's own loader: the
# environment wins over .env, .env over .flaskenv; FLASK_SKIP_DOTENV=1 skips them).
serve worker: DOTENV := $(BIN)/python -c 'import os, sys; from flask.cli import load_dotenv; \
  from flask.helpers import get_load_dotenv; get_load_dotenv() and load_dotenv(); \
  os.execvp(sys.argv[1], sys.argv[1:])'
serve: $(VENV)/.installed
	@$(DOTENV) sh -c 'test -n "$$DATABASE_URL" && test -n "$$RATELIMIT_STORAGE_URI" && test -n "$$JOB_QUEUE_URL"' || { \
	  echo "make serve needs DATABASE_URL, RATELIMIT_STORAGE_URI and JOB_QUEUE_URL; see the README, Production." >&2; \
	  exit 1; }
	@$(DOTENV) $(FLASK) db upgrade
	@$(DOTENV) $(BIN)/gunicorn --workers $(WEB_CONCURRENCY) --bind $(HOST):$(PORT) 'console:create_app()'

# Job workers for the production profile: on any number of hosts, with the same settings as
# make serve (JOB_QUEUE_URL names the Redis of the queue).
worker: $(VENV)/.installed
	@$(DOTENV) $(FLASK) worker --workers $(JOB_WORKERS)

# The browser tests' page checkers from the npm registry, at pinned versions, without their
# install scripts (vnu-jar's would fetch a Java; the machine's java runs the jar):
# axe-core (accessibility rules) and vnu-jar (the Nu Html Checker). See tests/browser/page_checks.py.
AXE_CORE_VERSION := 4.14.1
VNU_JAR_VERSION := 26.9.27
CHECKERS := .cache/npm/node_modules
$(CHECKERS)/.installed: Makefile
	npm install --prefix .cache/npm --no-save --no-package-lock --ignore-scripts --no-audit \
	  --no-fund axe-core@$(AXE_CORE_VERSION) vnu-jar@$(VNU_JAR_VERSION)
	touch $@

checkers: $(CHECKERS)/.installed

test: $(VENV)/.installed $(CHECKERS)/.installed
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
	rm -rf $(VENV) .pytest_cache .cache
