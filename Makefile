# Tapsyrys — two commands do all set-up:  `make run` (start the app)  and  `make test` (whole suite).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := wsgi

.PHONY: run test bench lint messages translations assets install install-dev browser clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

install: $(VENV)/.installed assets translations
install-dev: $(VENV)/.installed-dev assets translations

assets: node_modules/.package-lock.json

translations: | $(BIN)/python
	@$(BIN)/pybabel compile -d translations 2>&1 | grep -v "^compiling" || true

## Re-extract translatable strings and merge them into the kk/ru catalogues (then translate the empty ones).
messages: | $(BIN)/python
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ -k _lp:1c,2 -k lazy_pgettext:1c,2 -o translations/messages.pot --no-location --omit-header .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching

browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "The end-to-end tests need Debian's chromium: sudo apt-get install chromium"; exit 1; fi; }

## Start the app on the embedded default: SQLite in instance/, in-process ticker, demo data, logins printed.
run: install
	$(BIN)/flask serve --host $(HOST) --port $(PORT)

## The whole test suite (unit, HTTP, concurrency, security, end-to-end in Chromium), one pytest-xdist worker
## per CPU (TEST_WORKERS=0: in one process). Each test module stays on one worker (--dist loadfile).
## On PostgreSQL:  DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test make test  (worker gw0 uses test_gw0, ...)
TEST_WORKERS ?= auto
test: install-dev browser
	$(BIN)/pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile

## A quick run of the engine-throughput benchmark (figures and the full command: benchmarks/README.md).
bench: install-dev
	$(BIN)/python benchmarks/lifecycle.py --instances 500 --act-instances 50

## Mutation testing of the modules where a bug costs money, data or security, one module at a time
## (slow: not part of `make test`). One module: make mutation MODULE=payments. Scores: benchmarks/MUTATION.md.
.PHONY: mutation
mutation: install-dev
	$(BIN)/python benchmarks/mutation.py $(MODULE)

lint: install-dev
	$(BIN)/ruff check app tests benchmarks

clean:
	rm -rf $(VENV) node_modules instance .pytest_cache
