"""Model arguments: registry names, zoo:<name>, local pipeline/transformers folders, checkpoint paths; the
default checkpoint name of `bench train` is what pea-<lang> finds."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from bench.core.errors import BenchError

sys.path.insert(0, str(Path(__file__).parent))
from train_corpus import make_corpus  # noqa: E402


def test_zoo_names_are_the_registered_components(bench_home):
    from bench.models.bases import get_base
    from bench.models.encoders import get_student_spec

    assert get_base("zoo:tiny-sd15") is get_base("tiny-sd15")
    assert get_base("zoo:world-teacher").name == "world"
    assert get_student_spec("zoo:tiny-xlmr").name == "tiny"


def test_pipeline_and_encoder_folders_infer_family_and_widths(bench_home, tmp_path):
    from bench.models import zoo
    from bench.models.bases import get_base
    from bench.models.encoders import get_student_spec

    for name in ("tiny-sdxl", "tiny-sd15"):
        registered = get_base(name)
        folder = shutil.copytree(zoo.resolve(registered.model_id), tmp_path / f"my-{name}")
        inferred = get_base(str(folder))
        assert (inferred.family, inferred.context_dim, inferred.pooled_dim, inferred.resolution) == (
            registered.family, registered.context_dim, registered.pooled_dim, registered.resolution)
        assert get_base(str(folder)) is inferred  # registered under the argument
    enc = shutil.copytree(zoo.resolve("zoo:tiny-xlmr"), tmp_path / "my-encoder")
    spec = get_student_spec(str(enc))
    assert (spec.family, spec.width) == ("auto", get_student_spec("tiny").width)
    with pytest.raises(BenchError, match="neither a registered name nor a folder with model_index.json"):
        get_base(str(tmp_path))
    with pytest.raises(BenchError, match="unknown base model 'sdxxl'; did you mean 'sdxl'"):
        get_base("sdxxl")


def test_default_checkpoint_name_meets_the_pea_system_and_paths_work(bench_home, tmp_path):
    from bench.models.pipelines import get_system
    from bench.training.distill import TrainConfig, train

    spec = get_system("tiny-pea-zh")
    assert spec.checkpoint_dir() is None
    assert "bench train --lang zh --base tiny-sdxl" in spec.missing()
    corpus = make_corpus(tmp_path / "corpus", rows=8)
    folder = train(TrainConfig(lang="zh", base="zoo:tiny-sdxl", encoder="zoo:tiny-xlmr", corpus=str(corpus),
                               steps=1, batch_size=2, resolution=16, warmup_steps=0, val_rows=2, val_every=0,
                               save_every=100))
    assert folder.name.startswith("pea-zh-tiny-sdxl-tiny-")  # names as the registry knows them
    assert spec.checkpoint_dir() == folder and spec.missing() is None  # `--model tiny-pea-zh` finds it
    by_path = get_system(str(folder))
    assert by_path.kind == "pea" and by_path.base == "tiny-sdxl" and by_path.languages == ("zh",)
    assert by_path.checkpoint_dir() == folder.resolve()
    assert get_system(f"pea:{folder}").checkpoint_dir() == folder.resolve()
    assert get_system(f"pea:{folder.name}").checkpoint_dir() == folder


def test_a_pipeline_folder_is_a_system(bench_home, tmp_path):
    from bench.generation import GenerateConfig, plan
    from bench.models import zoo
    from bench.models.pipelines import get_system

    folder = shutil.copytree(zoo.resolve("zoo:tiny-sd15"), tmp_path / "other-sd15")
    spec = get_system(str(folder))
    assert (spec.kind, spec.pipeline, spec.resolution) == ("public", "StableDiffusionPipeline", 64)
    p = plan(GenerateConfig(model=str(folder), prompts="general", lang="en", samples=1, steps=1, limit=1))
    assert p.run.name.startswith("other-sd15-general-en-")
    assert p.spec["model"]["model"]["sha256"]  # identity is the folder's content
