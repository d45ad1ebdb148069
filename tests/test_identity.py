"""Identity is content, never location: run ids do not depend on the checkout's folder, committed files
carry no machine paths."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from checkout import copy_checkout

from bench.models import weights

REPO = Path(__file__).resolve().parent.parent


def test_folder_hash_ignores_where_a_model_was_saved_from(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for folder in (a, b):
        (folder / "unet").mkdir(parents=True)
        (folder / "unet" / "w.safetensors").write_bytes(b"\x00\x01weights")
        config = {"_class_name": "UNet", "_name_or_path": str(folder), "layers": 4}
        (folder / "unet" / "config.json").write_text(json.dumps(config))
    assert weights.folder_hash(a) == weights.folder_hash(b)
    (b / "unet" / "config.json").write_text(json.dumps({"_class_name": "UNet", "_name_or_path": "x", "layers": 5}))
    assert weights.folder_hash(a) != weights.folder_hash(b)  # a field that decides outputs still counts


def test_pea_identity_is_the_adapter_not_the_training_record(bench_home):
    from generate_helpers import write_untrained_checkpoint

    from bench.core import paths
    from bench.models.pipelines import get_system, identity

    folder = write_untrained_checkpoint("ckpt", base="tiny-sd15")
    before = identity(get_system("pea:ckpt"), "zh")
    config = paths.read_json(folder / "config.json")
    paths.write_json(folder / "config.json", {**config, "corpus": {"path": "/somewhere/else"},
                                              "written": "2030-01-01T00:00:00+00:00", "git_commit": "abc"})
    assert identity(get_system("pea:ckpt"), "zh") == before
    write_untrained_checkpoint("ckpt", base="tiny-sd15", seed=1)  # other weights: another system
    assert identity(get_system("pea:ckpt"), "zh") != before


_IDS = """
import json, sys, time
import torch
from bench.core import paths
from bench.generation import GenerateConfig
from bench.generation.harness import plan
from bench.models.adapter import PEAAdapter
from bench.models.checkpoint import save_adapter_weights

# A checkpoint as `bench train` leaves it: the config records where it was trained and when.
torch.manual_seed(0)
adapter = PEAAdapter(64, 128, 64)
folder = paths.checkpoints_dir() / "ckpt"
folder.mkdir(parents=True)
save_adapter_weights(adapter, folder / "adapter.safetensors")
paths.write_json(folder / "config.json", {
    "base": "world", "base_model": "zoo:world-teacher", "family": "sd15", "encoder": "world",
    "encoder_model": "zoo:world-student", "lang": "zh", "adapter": adapter.config,
    "corpus": {"path": str(paths.corpora_dir() / "world-zh")}, "written": time.time()})
out = {}
for model, prompts, lang in [("world-en", "world-general", "en"), ("asis-world", "world-general", "zh"),
                             ("translate-world", "world-culture", "ko"), ("pea:ckpt", "world-general", "zh")]:
    out[model] = plan(GenerateConfig(model=model, prompts=prompts, lang=lang, samples=1, steps=2)).run.name
print(json.dumps(out))
"""


@pytest.mark.slow
def test_two_checkouts_in_other_folders_get_the_same_run_ids(tmp_path):
    procs = []
    for name in ("first", "second-clone"):
        checkout = copy_checkout(tmp_path / name / "pea-bench")
        env = {**os.environ, "PYTHONPATH": str(checkout), "BENCH_HOME": str(tmp_path / name / "home"),
               "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
        env.pop("BENCH_PROMPTS_DIR", None)
        env.pop("BENCH_CORPORA_DIR", None)
        procs.append(subprocess.Popen([sys.executable, "-c", _IDS], cwd=checkout, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-2000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert results[0] == results[1]
    assert set(results[0]) == {"world-en", "asis-world", "translate-world", "pea:ckpt"}


# Folders that exist only on the machine that wrote a file.
_MACHINE_PATH = re.compile(r"(?<![\w.~-])/(?:tmp|home|work|root|Users|var/folders|private)/[\w./-]+")
# Fixed locations that libraries define (clean-fid reads its Inception weights from this file).
_LIBRARY_PATHS = {"/tmp/inception-2015-12-05.pt"}


def test_committed_files_carry_no_machine_paths():
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    found = []
    for rel in filter(None, files.decode().split("\0")):
        path = REPO / rel
        # Tests may name such paths on purpose (as bad input); what they write goes to tmp_path.
        if rel.startswith("tests/") or not path.is_file() or path.suffix in {".png", ".safetensors", ".parquet", ".model"}:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        found += [f"{rel}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}" for m in _MACHINE_PATH.finditer(text)
                  if m.group(0).rstrip(".") not in _LIBRARY_PATHS]
    assert not found, "machine paths in committed files:\n" + "\n".join(found[:20])


def test_portable_paths_name_no_machine_folder(tmp_path, monkeypatch):
    from bench.core import paths

    home, work = tmp_path / "home", tmp_path / "work"
    (work / "corpora" / "x").mkdir(parents=True)
    monkeypatch.setenv("BENCH_HOME", str(home))
    monkeypatch.chdir(work)
    assert paths.portable(home / "cache" / "world-references") == "$BENCH_HOME/cache/world-references"
    assert paths.portable(work / "corpora" / "x") == "corpora/x"
    assert paths.portable(tmp_path / "elsewhere" / "refs") == "refs"


def _images(folder: Path) -> list[Path]:
    from PIL import Image

    (folder / "images").mkdir(parents=True)
    files = []
    for n, colour in enumerate(("red", "blue", "green")):
        path = folder / "images" / f"p{n}_0.png"
        Image.new("RGB", (8, 8), colour).save(path)
        files.append(path)
    return files


def test_images_key_is_content_a_copy_or_a_touch_keeps_it_a_byte_changes_it(tmp_path):
    import shutil

    from bench.instruments.features import files_key

    files = _images(tmp_path / "run")
    key = files_key(files)
    # copytree without copy2's times: every file gets a new modification time, and another folder
    shutil.copytree(tmp_path / "run", tmp_path / "elsewhere with space" / "run", copy_function=shutil.copyfile)
    copied = sorted((tmp_path / "elsewhere with space" / "run" / "images").glob("*.png"))
    assert files_key(copied) == key
    for f in files:
        os.utime(f, ns=(1, 10**18))  # touched far into the future
    assert files_key(files) == key
    data = bytearray(files[1].read_bytes())
    data[-5] ^= 1  # one bit of the PNG's last chunk
    files[1].write_bytes(bytes(data))
    os.utime(files[1], ns=(1, 10**18))  # same size, same time: only the content tells
    assert files_key(files) != key
    assert files_key(files[::-1]) != files_key(files)  # order counts (rows are matched by position)


def test_evaluation_of_a_copied_run_reuses_its_features_and_records_the_same_images_key(tmp_path):
    import shutil

    from bench.instruments.features import RunFeatures

    files = _images(tmp_path / "run")
    calls = []

    def compute():
        calls.append(1)
        import numpy as np

        return np.ones((3, 2), np.float32)

    RunFeatures(tmp_path / "run", files).cached("x", "w", compute)
    shutil.copytree(tmp_path / "run", tmp_path / "copy", copy_function=shutil.copyfile)
    copied = sorted((tmp_path / "copy" / "images").glob("*.png"))
    again = RunFeatures(tmp_path / "copy", copied)
    again.cached("x", "w", compute)
    assert len(calls) == 1 and again.computed == []  # the cached features (copied along) were valid


def test_frozen_cache_key_of_a_local_model_is_its_content_not_its_path(tmp_path):
    import shutil

    from bench.training.frozen import model_key

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"_name_or_path": str(folder), "hidden_size": 4}))
    (folder / "model.safetensors").write_bytes(b"weights")
    shutil.copytree(folder, tmp_path / "moved model", copy_function=shutil.copyfile)
    assert model_key(str(folder)) == model_key(str(tmp_path / "moved model"))
    assert str(tmp_path) not in model_key(str(folder))
    (folder / "model.safetensors").write_bytes(b"weightz")
    assert model_key(str(folder)) != model_key(str(tmp_path / "moved model"))
