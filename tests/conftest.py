"""Shared fixtures: an isolated BENCH_HOME per test and one zoo cache for the whole session."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pytest_configure(config):
    """One torch thread: tiny models gain nothing from two, and spinning threads slow busy cores ~2.5x."""
    import torch

    torch.set_num_threads(int(os.environ.get("BENCH_TEST_THREADS", "1")))


@pytest.fixture(scope="session")
def zoo_home(tmp_path_factory):
    """A BENCH_HOME shared by the session so tiny models are built once."""
    return tmp_path_factory.mktemp("bench_home_shared")


@pytest.fixture(autouse=True)
def _shared_zoo(zoo_home, monkeypatch):
    """Point BENCH_HOME at the shared session folder unless a test asks for its own."""
    monkeypatch.setenv("BENCH_HOME", str(zoo_home))


@pytest.fixture
def bench_home(tmp_path, zoo_home, monkeypatch):
    """A fresh BENCH_HOME for one test, reusing the session's built zoo via a symlink."""
    home = tmp_path / "bench_home"
    home.mkdir()
    (zoo_home / "zoo").mkdir(exist_ok=True)
    (home / "zoo").symlink_to(zoo_home / "zoo")
    monkeypatch.setenv("BENCH_HOME", str(home))
    return home


@pytest.fixture
def prompts_root(tmp_path, monkeypatch):
    """An empty prompts/ folder that the loaders use instead of the shipped one."""
    root = tmp_path / "prompts"
    root.mkdir()
    monkeypatch.setenv("BENCH_PROMPTS_DIR", str(root))
    return root
