# `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint typecheck bench bench-write clean chromium fuzz fuzz-quick screenshots

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/pfai serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src projections tests benchmarks fuzz
	$(BIN)/ruff format --check src projections tests benchmarks fuzz
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# The docs UI test drives Debian's Chromium (Playwright cannot download a browser here).
chromium:
	@test -x /usr/bin/chromium || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)

test: lint typecheck chromium
	$(BIN)/pytest
	$(MAKE) fuzz-quick

# schemathesis, every check, over the whole API on SQLite and PostgreSQL, as admin, agent, viewer and
# a contact signed in to the portal (see fuzz/run.py for the one check its cookie auth cannot take).
fuzz: $(STAMP)
	$(BIN)/python -m fuzz.run --store all --max-examples 100

# The same, short (about a minute per store, fixed seed): part of `make test`.
fuzz-quick: $(STAMP)
	$(BIN)/python -m fuzz.run --store all --max-examples 3 --max-time 20 --out var/fuzz-quick

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

bench-write: $(STAMP)
	$(BIN)/python -m benchmarks.write_side

# The portal pages docs/portal.md shows, taken by the browser test.
screenshots: $(STAMP) chromium
	PORTAL_SCREENSHOTS=docs/img $(BIN)/pytest tests/docs/test_portal_browser.py -q

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
