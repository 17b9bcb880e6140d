# Two commands do everything: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test demo lint fmt typecheck unit faults clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: install
	$(BIN)/ruff check provision tests
	$(BIN)/ruff format --check provision tests

fmt: install
	$(BIN)/ruff format provision tests
	$(BIN)/ruff check --fix provision tests

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -q

test: lint typecheck unit

# The full fault matrix (seeded faults, kills, concurrent writers); `make test` runs a subset.
faults: install
	$(BIN)/pytest -q -m 'not live' tests/faults

demo: install
	PATH="$(CURDIR)/$(BIN):$$PATH" bash scripts/demo.sh

clean:
	rm -rf $(VENV) .provision .mypy_cache .pytest_cache .ruff_cache
