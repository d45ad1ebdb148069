"""Two-process distillation (torchrun, gloo on the CPU): one writer, sharded batches, a finished checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from train_corpus import make_corpus  # noqa: E402

SCRIPT = """
import sys
from bench.training.distill import TrainConfig, train
train(TrainConfig(lang="zh", base="tiny-sd15", encoder="tiny", corpus=sys.argv[1], steps=3, batch_size=2,
                  grad_accum=2, resolution=16, warmup_steps=0, val_rows=2, val_every=3, save_every=2,
                  name="ddp", lr=1e-3))
"""


@pytest.mark.slow
def test_two_processes_train_one_checkpoint(tmp_path, bench_home):
    corpus = make_corpus(tmp_path / "corpus", rows=12)
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    torchrun = Path(sys.executable).parent / "torchrun"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "BENCH_HOME": str(bench_home)}
    done = subprocess.run([str(torchrun), "--nproc-per-node", "2", str(script), str(corpus)], env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
    folder = Path(bench_home) / "checkpoints" / "ddp"
    config = json.loads((folder / "config.json").read_text())
    assert config["training"]["processes"] == 2 and config["step"] == 3
    rows = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [0, 1, 2, 3]  # one writer: no duplicated rows
