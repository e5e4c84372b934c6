# nazorg: `make demo` and `make test` set everything up on a fresh machine (virtualenv from the
# hashed lock, embedded broker started by the commands themselves) and are quick the second time.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha1sum | cut -c1-12)
UV_VERSION := 0.13.9
PYTEST_ARGS ?=

# Let Python cache compiled modules. With PYTHONDONTWRITEBYTECODE set (it is, on these
# machines) every process the tests, the demo and the benchmarks start compiles all its imports
# again: importing the detector and intervention apps took 5.8 s of CPU instead of 2.3 s.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: venv tools demo test test-unit lint format broker schemas bench bench-quick chaos clean help

help:
	@echo "make demo | test | lint | bench | bench-quick | chaos | broker | schemas | clean"

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	@$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	@$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps \
		--config-settings editable_mode=compat -e .
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

venv: $(STAMP)

# promtool and prometheus (Debian's package) for the rule tests and the alerting e2e test;
# installs only when missing, and never leaves the packaged service running on :9090.
tools:
	@command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 \
		|| bash deploy/tools/install-prometheus.sh

demo: venv
	$(BIN)/nazorg demo

test: venv tools
	$(BIN)/pytest $(PYTEST_ARGS)

test-unit: venv
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy services schemas

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: venv
	$(BIN)/python -m bench.run

bench-quick: venv
	$(BIN)/python -m bench.run --quick

# The long reliability run (docs/reliability.md): kill and outage cycles, then the table.
chaos: venv
	$(BIN)/python -m tests.reliability.chaos --cycles 20

broker: venv
	$(BIN)/nazorg broker

schemas: venv
	$(BIN)/nazorg schemas export

clean:
	rm -rf $(VENV) var out .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
