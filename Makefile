# Provex: one entry point. `make demo` runs the exchange; `make test` runs lint + tests.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.provex-setup
TOOLCHAIN := .toolchain

.PHONY: setup test lint demo bench clean toolchain

setup: $(STAMP)

$(STAMP): pyproject.toml toolchain/package.json toolchain/package-lock.json
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(MAKE) toolchain
	touch $(STAMP)

toolchain:
	mkdir -p $(TOOLCHAIN)
	cp toolchain/package.json toolchain/package-lock.json $(TOOLCHAIN)/
	cd $(TOOLCHAIN) && npm ci --no-audit --no-fund --loglevel=error

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

test: setup lint
	$(BIN)/pytest -q

demo: setup
	$(BIN)/provex demo

bench: setup
	$(BIN)/python bench/anchor_baseline.py --quick

clean:
	rm -rf $(VENV) $(TOOLCHAIN) .provex
