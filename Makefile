# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The compiled engine core (setup.py) is rebuilt whenever one of its sources changes.
CORE_SOURCES := setup.py $(wildcard exchange/engine/*.pyx exchange/engine/*.pxd exchange/engine/c/*.h) exchange/engine/validation.py \
	exchange/engine/instrument.py exchange/engine/venue.py

$(STAMP): $(BIN)/python pyproject.toml $(CORE_SOURCES)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,browser,cluster]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/exchange serve --demo

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/pip install --quiet -e ".[test,bench]"
	$(BIN)/python -m bench.engine_bench

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

# A local two-shard cluster with a gateway on ws://127.0.0.1:8765 that `exchange trade` uses;
# stays up until Ctrl-C (nats-server + PostgreSQL from Debian's packages; docs/cluster.md).
.PHONY: cluster-demo
cluster-demo: $(STAMP)
	$(BIN)/exchange cluster-demo --keep
