"""`make gpu-bench` at tiny size on the CPU: the same code the GPU measurement runs, so it cannot rot."""

from __future__ import annotations

import json

import pytest


def test_gpu_bench_runs_at_tiny_size_and_writes_consistent_json(tmp_path, bench_home):
    from bench.perf.gpubench import default_settings, main

    out = tmp_path / "gpu-bench.json"
    result = main(["--size", "tiny", "--out", str(out), "--work", str(tmp_path / "work")])
    assert json.loads(out.read_text()) == result
    gen, dist = result["generation"], result["distillation"]
    for name in ("plain_eager", "pea_eager"):
        assert gen[name]["images_per_s"] > 0 and gen[name]["seconds_per_call"] > 0
    assert gen["ratio_eager"] == pytest.approx(gen["pea_eager"]["images_per_s"] / gen["plain_eager"]["images_per_s"],
                                               rel=1e-3)
    assert "compiled" in gen  # says why compiled numbers are absent at this size
    assert dist["batch_size"] == 10
    # Cached and uncached frozen inputs give the same losses (same seed), only the time differs.
    assert dist["cached"]["losses"] == pytest.approx(dist["uncached"]["losses"], rel=1e-5)
    assert dist["speedup_cached"] == pytest.approx(dist["cached"]["steps_per_s"] / dist["uncached"]["steps_per_s"],
                                                   rel=1e-3)
    modes = gen["modes"]
    assert modes["images"] == 2 and modes["per_image"]["images_per_s"] > 0 and modes["batched"]["images_per_s"] > 0
    assert modes["batched_over_per_image"] == pytest.approx(
        modes["batched"]["images_per_s"] / modes["per_image"]["images_per_s"], rel=1e-3)
    translation = result["translation"]
    assert translation["model"] == "zoo:tiny-translator" and translation["captions"] == 16
    assert translation["batch_size"] == 8 and translation["sorted_by_length"] and translation["captions_per_s"] > 0
    assert translation["captions_per_s"] == pytest.approx(16 / translation["seconds"], rel=1e-2)
    full = default_settings("full")
    assert (full.resolution, full.dtype, full.train_batch, full.compile) == (1024, "fp16", 10, True)


def test_nllb_inputs_have_caption_lengths_and_the_published_model_builds():
    """The full-size translation's inputs and model, without running it (no GPU here; meta device)."""
    from bench.models import fullsize
    from bench.perf.throughput import captions, full_inputs

    texts = captions(64)
    ids = full_inputs(texts)
    lengths = [len(i) for i in ids]
    assert len(ids) == 64 and min(lengths) >= 8 and max(lengths) <= 24  # 6-20 words, one token each, + 2
    assert all(4 <= t < 256_000 for row in ids for t in row)
    model = fullsize.build("nllb-600m")
    assert model.config.d_model == 1024 and model.config.vocab_size == 256_206
    assert fullsize.parameter_count(model) == 615_073_792


def test_gpu_bench_scores_images_with_the_vqa_judge_at_tiny_size(tmp_path, bench_home):
    from bench.perf.gpubench import main

    out = tmp_path / "gpu-bench.json"
    result = main(["--size", "tiny", "--parts", "vqa", "--out", str(out)])
    assert json.loads(out.read_text()) == result and set(result) >= {"vqa"} and "generation" not in result
    vqa = result["vqa"]
    assert vqa["batch"] == 16 and vqa["fp32"]["images_per_s"] > 0
    assert vqa["fp32"]["images_per_s"] == pytest.approx(16 / vqa["fp32"]["seconds_per_batch"], rel=1e-2)
    assert 0 < vqa["fp32"]["p_yes_range"][0] <= vqa["fp32"]["p_yes_range"][1] < 1
    # 32 px, 4 px patches merged 2 x 2: 16 image tokens in each row
    assert vqa["tokens_per_row"] > 16
