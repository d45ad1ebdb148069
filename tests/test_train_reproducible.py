"""Training on a CPU is reproducible byte for byte: the thread count is the config's, never the environment's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

_TRAIN = """
import json, sys
from bench.core import plugins
plugins.load()
from test_train_reproducible import train_small

print(json.dumps(train_small(json.loads(sys.argv[1]))))
"""


def train_small(settings: dict) -> dict:
    """Six steps of world PEA training on 200 rows: the adapter's sha256, the recorded threads, the run hash."""
    import hashlib

    from bench.core import paths
    from bench.training.distill import TrainConfig, train
    from bench.world.demo import build_world_corpus

    corpus = build_world_corpus("zh", 200)
    cfg = TrainConfig(lang="zh", base="world", encoder="world", corpus=corpus, name="repro", steps=6,
                      batch_size=8, lr=2e-2, warmup_steps=2, weight_decay=0.0, noise_offset=0.0, lr_end=0.0,
                      mixed_precision="no", val_rows=4, save_every=6, **settings)
    folder = train(cfg)
    return {"sha256": hashlib.sha256((folder / "adapter.safetensors").read_bytes()).hexdigest(),
            "threads": paths.read_json(folder / "config.json")["training"]["threads"], "hash": cfg.run_hash}


@pytest.mark.slow  # ~20 s on 2 busy cores: a second process loads diffusers and builds its frozen caches
def test_two_processes_with_other_thread_settings_train_identical_adapter_bytes(tmp_path, zoo_home):
    import torch

    root = tmp_path / "other folder"
    (root / "home").mkdir(parents=True)
    (root / "home" / "zoo").symlink_to(zoo_home / "zoo")  # the built tiny models, as the fixtures share them
    # The other process: its own folders, OMP/MKL threads and hash seed; this one trains after asking for 2 threads.
    env = {**os.environ, "BENCH_HOME": str(root / "home"), "BENCH_CORPORA_DIR": str(root / "corpora"),
           "BENCH_REPORTS_DIR": str(root / "reports"), "OMP_NUM_THREADS": "3", "MKL_NUM_THREADS": "3",
           "PYTHONHASHSEED": "7", "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", _TRAIN, "{}"], cwd=root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        here = train_small({})
    finally:
        torch.set_num_threads(before)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    there = json.loads(out.strip().splitlines()[-1])
    assert here["sha256"] == there["sha256"]
    assert here["threads"] == there["threads"] == 1  # the default, recorded in the checkpoint's config.json


def test_the_thread_count_is_part_of_the_run_identity():
    from bench.training.config import TrainConfig

    one = TrainConfig(lang="zh", base="world", encoder="world", corpus="c")
    two = one.replace(threads=2)
    assert one.threads == 1 and one.run_hash != two.run_hash  # other bits on a CPU: another run, never resumed


def test_training_restores_the_processes_thread_count_and_kernels_afterwards():
    import torch

    from bench.core.runtime import reproducible_cpu

    before = torch.get_num_threads()
    with reproducible_cpu(1, 0):
        assert torch.get_num_threads() == 1 and torch.are_deterministic_algorithms_enabled()
        first = torch.rand(3)
    with reproducible_cpu(1, 0):
        assert torch.equal(torch.rand(3), first)  # seeded on entry
    assert torch.get_num_threads() == before and not torch.are_deterministic_algorithms_enabled()
