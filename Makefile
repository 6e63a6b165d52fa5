# Provex: one entry point. `make demo` runs the exchange; `make test` runs lint + tests.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.provex-setup
TOOLCHAIN := .toolchain

.PHONY: setup test lint demo bench soak clean toolchain

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
	$(BIN)/pytest -q -n 2 --dist loadfile --durations=40

demo: setup
	$(BIN)/provex demo

BENCH_OUT := artifacts/bench

# Each benchmark prints one JSON line last; `make bench` keeps those lines in artifacts/bench/.
bench: setup
	mkdir -p $(BENCH_OUT)
	for b in anchor_baseline anchoring catalog trading secagg; do \
		$(BIN)/python bench/$$b.py --quick | tail -n 1 | tee $(BENCH_OUT)/$$b.json || exit 1; \
	done

soak: setup
	mkdir -p $(BENCH_OUT)
	$(BIN)/python bench/soak.py --quick | tail -n 1 | tee $(BENCH_OUT)/soak.json

clean:
	rm -rf $(VENV) $(TOOLCHAIN) .provex
