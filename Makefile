# `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint typecheck bench bench-write clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/pfai serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check src projections tests benchmarks
	$(BIN)/ruff format --check src projections tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

bench-write: $(STAMP)
	$(BIN)/python -m benchmarks.write_side

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
