"""Third-party chatter off unless --verbose: loading bars, "Writing model shards", diffusers' empty
"modules that should be kept in float32: []" warnings, the tokenizers' and pipelines' truncation notices
(library loggers below ERROR; judges count truncation themselves) and Python warnings.

The one switch every entry point calls: `bench` (bench/cli.py), `python -m bench.demo` and ray's workers."""

from __future__ import annotations

import logging
import os

# Libraries whose INFO/WARNING lines and tqdm bars are noise in a bench run (our own progress bars stay).
_LOGGERS = ("transformers", "diffusers", "accelerate", "huggingface_hub", "datasets", "torch.distributed")
# Python warnings off: bench itself issues none, so every one is a library's deprecation or advice
# (diffusers' FutureWarnings, torch's UserWarnings). Also handed to child processes through PYTHONWARNINGS.
_WARNINGS = (FutureWarning, DeprecationWarning, UserWarning)


def quiet_third_party(verbose: bool) -> None:
    """Silence third-party progress bars and warnings below ERROR unless `verbose`."""
    if verbose:
        return
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("PYTHONWARNINGS", ",".join(f"ignore::{w.__name__}" for w in _WARNINGS))
    import warnings

    for category in _WARNINGS:
        warnings.filterwarnings("ignore", category=category)
    for name in _LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    # "Writing model shards" and "Loading pipeline components" are tqdm bars the libraries gate on these.
    _disable_library_bars()


def _disable_library_bars() -> None:
    """Turn diffusers' tqdm bars off as soon as its logging module loads (it reads no environment variable)."""
    import importlib.abc
    import importlib.util
    import sys

    if "transformers.utils.logging" in sys.modules:  # imported already: it has read its environment variables
        sys.modules["transformers.utils.logging"].disable_progress_bar()
    if "huggingface_hub.utils" in sys.modules:
        sys.modules["huggingface_hub.utils"].disable_progress_bars()
    if "datasets" in sys.modules and hasattr(sys.modules["datasets"], "disable_progress_bars"):
        sys.modules["datasets"].disable_progress_bars()
    if "diffusers.utils.logging" in sys.modules:
        _silence_diffusers(sys.modules["diffusers.utils.logging"])
        return

    class _AfterLoad(importlib.abc.MetaPathFinder):
        """Wraps the loader of diffusers.utils.logging so the bars go off once it has run (import stays lazy)."""

        def find_spec(self, name, path, target=None):
            if name != "diffusers.utils.logging":
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            if spec is None or spec.loader is None:
                return spec
            run = spec.loader.exec_module

            def exec_module(module):
                run(module)
                _silence_diffusers(module)

            spec.loader.exec_module = exec_module
            return spec

    if not any(isinstance(f, _AfterLoad) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterLoad())


def _silence_diffusers(module) -> None:
    module.disable_progress_bar()
    module.set_verbosity_error()
