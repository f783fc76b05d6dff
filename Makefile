# newswatch: `make run` runs one monitoring pass, `make test` runs the tests.
# Both create .venv/ on first use from the pinned requirements.lock.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run serve demo check test bench clean help

help:
	@echo "make run    one monitoring pass on ./config (SQLite + local Prefect server, state in ./data)"
	@echo "make serve  the recurring job on the schedule in config/settings.yaml"
	@echo "make demo   an offline demo on bundled sample pages"
	@echo "make check  validate config/ and run every rule's examples"
	@echo "make test   the test suite"
	@echo "make bench  the benchmarks (figures and ratios)"

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "newswatch needs Python 3.11 or newer; run: make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

run: $(STAMP)
	$(BIN)/newswatch run

serve: $(STAMP)
	$(BIN)/newswatch serve

demo: $(STAMP)
	$(BIN)/newswatch demo

check: $(STAMP)
	$(BIN)/newswatch check

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/matching.py
	$(BIN)/python bench/extraction.py
	$(BIN)/python bench/pipeline.py

clean:
	rm -rf $(VENV) .pytest_cache .import_linter_cache
