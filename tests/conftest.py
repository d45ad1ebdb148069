"""Shared fixtures: every test gets its own BENCH_HOME, reports and corpora folders (one zoo cache is shared
by symlink), and every registry and the plug-in loader are put back as they were after each test."""

from __future__ import annotations

import os
import sys

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pytest_addoption(parser):
    """--perf-smoke: the tests/perf benchmarks at tiny sizes without their ratio assertions (make test)."""
    parser.addoption("--perf-smoke", action="store_true", default=False,
                     help="run tests/perf at tiny sizes: every code path, sane outputs, no speed assertions")


def pytest_configure(config):
    """One torch thread: tiny models gain nothing from two, and spinning threads slow busy cores ~2.5x."""
    import torch

    torch.set_num_threads(int(os.environ.get("BENCH_TEST_THREADS", "1")))
    # Built-in and installed entries are registered once, before the first snapshot below.
    from bench.core import plugins
    from bench.metrics import load_metrics
    from bench.models import zoo

    plugins.load()
    load_metrics()
    zoo.names()


@pytest.fixture(scope="session")
def zoo_home(tmp_path_factory):
    """A BENCH_HOME shared by the session so tiny models are built once."""
    return tmp_path_factory.mktemp("bench_home_shared")


@pytest.fixture(autouse=True)
def bench_home(tmp_path_factory, zoo_home, monkeypatch):
    """A fresh BENCH_HOME, reports and corpora folder for every test; the built zoo is shared via a symlink."""
    root = tmp_path_factory.mktemp("isolated")
    home = root / "bench_home"
    home.mkdir()
    (zoo_home / "zoo").mkdir(exist_ok=True)
    (home / "zoo").symlink_to(zoo_home / "zoo")
    monkeypatch.setenv("BENCH_HOME", str(home))
    monkeypatch.setenv("BENCH_REPORTS_DIR", str(root / "reports"))
    monkeypatch.setenv("BENCH_CORPORA_DIR", str(root / "corpora"))
    return home


@pytest.fixture(autouse=True)
def _registries_restored():
    """Undo whatever a test registers (systems, metrics, plug-ins, ...)."""
    from bench.core import plugins
    from bench.core.registry import all_registries, forget_plugins

    saved = [(r, r.snapshot()) for r in all_registries()]
    loader = plugins.state()
    path = list(sys.path)  # --include puts plug-in folders on it
    yield
    for registry, entries in saved:
        registry.restore(entries)
    plugins.reset(loader)
    forget_plugins()  # registries created during the test keep no entries of plug-ins it loaded
    sys.path[:] = path


@pytest.fixture
def prompts_root(tmp_path, monkeypatch):
    """An empty prompts/ folder that the loaders use instead of the shipped one."""
    root = tmp_path / "prompts"
    root.mkdir()
    monkeypatch.setenv("BENCH_PROMPTS_DIR", str(root))
    return root
