# Contract Review Studio — `make run` starts the app, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
API_PORT ?= 8502

.PHONY: run api test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	@echo "Installing Contract Review Studio. The first install compiles the built-in model's"
	@echo "llama.cpp server from source: expect 5-15 minutes on a laptop (later installs reuse it)."
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	@echo "Installing Contract Review Studio with its test tools. The first install compiles the"
	@echo "built-in model's llama.cpp server from source: expect 5-15 minutes (later installs reuse it)."
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/streamlit run app.py --server.port $(PORT)

# The streaming API (docs/API.md) on 127.0.0.1:$(API_PORT); API_HOST beyond loopback needs CRS_API_TOKEN.
api: $(VENV)/.installed-run
	API_PORT=$(API_PORT) $(BIN)/python -m lib.api

test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
