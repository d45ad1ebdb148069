"""`make gpu-bench`'s reward-judge throughput at tiny size on the CPU, and the fp16 path it takes on a GPU."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from PIL import Image


def test_judge_bench_times_every_reward_judge_at_tiny_size():
    from bench.perf.judgebench import BATCH, JUDGES, bench_judges

    result = bench_judges("tiny", "cpu", repeats=1)
    assert result["batch"] == BATCH == 16 and result["dtype"] == "fp32"
    for name in JUDGES:
        timing = result[name]
        assert timing["finite"] and timing["seconds_per_batch"] > 0
        assert timing["images_per_s"] == pytest.approx(BATCH / timing["seconds_per_batch"], rel=1e-2)


def test_reward_judges_in_fp16_agree_with_fp32():
    """The dtype path gpu-bench runs (fp16 weights, fp32 pixels cast on the way in), here on tiny models."""
    from transformers import CLIPModel

    from bench.instruments.judges import load_judge
    from bench.instruments.rewards.hps import HPSJudge
    from bench.instruments.rewards.imagereward import ImageRewardJudge
    from bench.instruments.rewards.pickscore import PickScoreJudge
    from bench.models import zoo

    images = [Image.fromarray(np.random.default_rng(i).integers(0, 255, (64, 64, 3), dtype=np.uint8)) for i in range(4)]
    texts = ["a red cat", "two dogs", "a cabin", "noodles"]
    pick, hps, reward = (load_judge(f"tiny-{n}") for n in ("pickscore", "hpsv2", "imagereward"))
    halves = [
        (pick, PickScoreJudge(pick.spec, CLIPModel.from_pretrained(zoo.ensure("tiny-pickscore"), dtype=torch.float16),
                              pick.image_processor, pick.tokenizer)),
        (hps, HPSJudge(hps.spec, copy.deepcopy(hps.model).half(), hps.tokenizer)),
        (reward, ImageRewardJudge(reward.spec, copy.deepcopy(reward.net).half(), reward.tokenizer, 32)),
    ]
    for full, half in halves:
        np.testing.assert_allclose(half.score(images, texts), full.score(images, texts), rtol=1e-2, atol=2e-3)
