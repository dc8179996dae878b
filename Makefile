# Contract Review Studio — `make run` starts the app, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
API_PORT ?= 8502
# Loopback unless told otherwise (`make run ADDRESS=0.0.0.0`): see docs/SECURITY.md before serving.
ADDRESS ?= 127.0.0.1

# llama.cpp builds for the very CPU it compiles on by default, AMX kernels included, and those
# crash (SIGSEGV in ggml_backend_amx_mul_mat) where the CPU reports AMX but the machine does not
# grant it. On x86-64 the built-in model is built for AVX2 instead: it runs on any CPU of the
# last decade, and the streaming demo does not need more.
LLAMA_CMAKE_ARGS := $(if $(filter x86_64,$(shell uname -m)),-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON)

.PHONY: run builtin api test lint bench eval eval-cv train need-data eval-playbook train-playbook clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

# The tiny streaming-demo model is optional: llama-cpp-python compiles its server from source.
$(VENV)/.installed-builtin: pyproject.toml | $(BIN)/python
	@echo "Installing the streaming demo model. The first install compiles llama.cpp from source:"
	@echo "expect 5-15 minutes on a laptop (later installs reuse it)."
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet -e '.[builtin]'
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	@echo "Installing Contract Review Studio with its test tools. The first install compiles the"
	@echo "built-in model's llama.cpp server from source: expect 5-15 minutes (later installs reuse it)."
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed-run $(VENV)/.installed-builtin

run: $(VENV)/.installed-run
	$(BIN)/streamlit run app.py --server.address $(ADDRESS) --server.port $(PORT)

builtin: $(VENV)/.installed-builtin
# The streaming API (docs/API.md) on 127.0.0.1:$(API_PORT); serving a team needs CRS_API_TOKENS or a proxy.
api: $(VENV)/.installed-run
	API_PORT=$(API_PORT) $(BIN)/python -m lib.api

# The type check covers lib/engine and lib/analysis, strictly ([tool.mypy] in pyproject.toml).
test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench

# Scores the clause finder on the bundled CUAD sample (left out of training) and prints the table.
eval: $(VENV)/.installed-run
	$(BIN)/python -m lib.cli.batch eval --per-category

# The built-in NDA playbook checker, cross-validated by NDA on labels in ContractNLI's layout:
# `make eval-playbook DATA=<contractnli.json>` (the data stays outside the repository).
eval-playbook: $(VENV)/.installed-test
	@test -n "$(DATA)" || (echo "usage: make eval-playbook DATA=<contractnli.json>"; exit 2)
	$(BIN)/python -m lib.analysis.playbook.evaluate "$(DATA)"

# Retrains the shipped weights (lib/analysis/playbook/weights/nda.npz) on DATA.
train-playbook: $(VENV)/.installed-test
	@test -n "$(DATA)" || (echo "usage: make train-playbook DATA=<contractnli.json>"; exit 2)
	$(BIN)/python -m lib.analysis.playbook.train "$(DATA)"

# The clause model (docs/CLAUSE_MODEL.md) from contracts in CUAD's layout: `make train DATA=<folder>`
# rebuilds lib/analysis/clauses/clause_model.npz; `make eval-cv DATA=<folder>` prints 5-fold
# cross-validated figures, rules alone beside rules + model. The data is read, never copied.
$(VENV)/.installed-train: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[train]'
	@touch $@

# Checked before anything is installed.
need-data:
	@test -n "$(DATA)" || (echo "Usage: make $(MAKECMDGOALS) DATA=<folder with master_clauses.csv>" && exit 2)

train: need-data $(VENV)/.installed-train
	$(BIN)/python -m devtools.train_clauses train --data "$(DATA)"

eval-cv: need-data $(VENV)/.installed-train
	$(BIN)/python -m devtools.train_clauses cv --data "$(DATA)"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
