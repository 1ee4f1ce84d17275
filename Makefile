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

demo: venv
	@echo "make demo arrives with the client (issue 7): it will start a local cluster,"
	@echo "move files through flyfs:// and train a small model from it."

bench:
	$(MAKE) venv EXTRAS=test,bench
	$(BIN)/python bench/kv_bench.py
	$(BIN)/python bench/meta_bench.py
	$(BIN)/python bench/data_plane_bench.py

clean:
	rm -rf $(VENV) build *.egg-info
