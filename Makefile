# Two commands for a newcomer: `make demo` and `make test`. Everything else is optional.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export C2C_HOME ?= $(CURDIR)/.c2c
export DAGSTER_HOME ?= $(C2C_HOME)/dagster
# Tests and benchmarks never reach a model hub; nothing here downloads weights.
export HF_HUB_OFFLINE := 1
# FAISS and torch spin their OpenMP threads while waiting; on 2 shared cores that starves the other
# process (FAISS k-means measured 5-20x slower). Passive waiting costs little when the machine is idle.
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: demo test test-fast dev check bench install clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml NO_DEPS.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required, found {sys.version.split()[0]}"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# These pin old torch/numpy releases that break the stack; their code works with ours (see NO_DEPS.txt).
	$(BIN)/python -m pip install --quiet --no-deps -r NO_DEPS.txt
	@touch $@

demo: install
	$(BIN)/c2c demo

test: install
	$(BIN)/python -m pytest -q -n 2 -p no:cacheprovider

test-fast: install  # the quick loop (under 2 minutes on 2 cores): everything not marked slow
	$(BIN)/python -m pytest -q -n 2 -p no:cacheprovider -m "not slow"

dev: install
	@mkdir -p $(DAGSTER_HOME)
	@test -f $(DAGSTER_HOME)/dagster.yaml || cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dg dev --host 127.0.0.1

check: install
	$(BIN)/dg check defs

bench: install  # all four; each prints its targets and a same-run baseline (about 25 minutes on 2 cores)
	$(BIN)/python bench/ingest_bench.py
	$(BIN)/python bench/encoder_bench.py
	$(BIN)/python bench/analysis_bench.py
	$(BIN)/python bench/search_bench.py

clean:
	rm -rf $(C2C_HOME)
