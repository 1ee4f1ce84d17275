# One entry point per thing a user does; every target builds the venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
EXTRAS ?= test

.PHONY: venv test lint proto demo bench clean

venv: $(VENV)/.installed-$(EXTRAS)

$(VENV)/.installed-$(EXTRAS): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[$(EXTRAS)]'
	touch $@

test: venv
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff check .

proto: venv
	$(BIN)/python scripts/gen_proto.py

# A local cluster in a temp dir, data through fsspec and the CLI, the trainer workload, then down.
demo: venv
	$(BIN)/python scripts/demo.py

bench:
	$(MAKE) venv EXTRAS=test,bench
	$(BIN)/python bench/kv_bench.py
	$(BIN)/python bench/meta_bench.py
	$(BIN)/python bench/data_plane_bench.py
	$(BIN)/python bench/client_bench.py
	$(BIN)/python bench/failover_bench.py
	$(BIN)/python bench/workload_bench.py
	$(BIN)/python bench/kvcache_bench.py

clean:
	rm -rf $(VENV) build *.egg-info
