"""Images scored per second by the VQA judge (bench.instruments.vqa) for `make gpu-bench`.

Full size (CUDA): Qwen2.5-VL-7B-Instruct built from its published config with random weights (nothing is
downloaded), the published image processor (14 px patches merged 2 x 2: a 1024 px image is 1369 tokens), and
the zoo's offline byte-level tokenizer and chat template standing in for Qwen's (the model's special token ids
are set to that tokenizer's; the text is a few dozen tokens beside the image's 1369, so the cost is the
model's). Batches of 16 in bf16 and fp16, through the judge's own code (left padding, one forward pass,
logits at the answer position only). Tiny (CPU): the zoo's tiny Qwen2.5-VL on 32 px images, float32.
"""

from __future__ import annotations

import time
from typing import Any

BATCH = 16
QUESTION = "a red lantern hanging above a street of old wooden houses at night"


def _images(n: int, side: int) -> list:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 255, (side, side, 3), dtype=np.uint8)) for _ in range(n)]


def full_size_judge(device: str, dtype):
    """The VQA judge at full size: random-weight Qwen2.5-VL-7B, published image processor, offline tokenizer."""
    from transformers import Qwen2_5_VLProcessor, Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    from bench.instruments.judges import JudgeSpec
    from bench.instruments.vqa import QwenVqaJudge
    from bench.models import fullsize
    from bench.models.zoo.vqa import CHAT_TEMPLATE, tiny_tokenizer

    tokenizer = tiny_tokenizer()
    model = fullsize.build("qwen2.5-vl-7b", device=device, dtype=dtype)
    for attr, token in (("image_token_id", "<|image_pad|>"), ("video_token_id", "<|video_pad|>"),
                        ("vision_start_token_id", "<|vision_start|>"), ("vision_end_token_id", "<|vision_end|>")):
        setattr(model.config, attr, tokenizer.convert_tokens_to_ids(token))
    published = fullsize.load_config("qwen2.5-vl-7b/preprocessor")
    sizes = {k: published[k] for k in ("min_pixels", "max_pixels", "patch_size", "temporal_patch_size", "merge_size")}
    processor = Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(**sizes, image_mean=published["image_mean"],
                                              image_std=published["image_std"]),
        tokenizer=tokenizer, video_processor=Qwen2VLVideoProcessor(**sizes), chat_template=CHAT_TEMPLATE)
    spec = JudgeSpec("qwen2.5-vl-7b-random", "random weights", "qwen2.5-vl", "real")
    return QwenVqaJudge(spec, model, processor, device, batch_size=BATCH)


def _measure(judge, images: list, questions: list[str], repeats: int, device: str) -> dict[str, Any]:
    import torch

    judge.yes_probabilities(images, questions)  # warm-up: kernels, allocator
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    tick = time.perf_counter()
    for _ in range(repeats):
        p = judge.yes_probabilities(images, questions)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - tick) / repeats
    peak = round(torch.cuda.max_memory_allocated() / 2**30, 3) if device.startswith("cuda") else None
    return {"seconds_per_batch": round(seconds, 4), "images_per_s": round(len(images) / seconds, 3),
            "peak_gib": peak, "p_yes_range": [round(float(p.min()), 6), round(float(p.max()), 6)]}


def bench_vqa(size: str, device: str, repeats: int = 3) -> dict[str, Any]:
    """Images/s of the VQA judge, batch 16: full size in bf16 and fp16 on CUDA, the tiny judge in fp32 on CPU."""
    import torch

    from bench.instruments.vqa import ask

    questions = [ask("zh", QUESTION)] * BATCH
    if size == "tiny":
        from bench.instruments.vqa import load_vqa_judge

        judge = load_vqa_judge("tiny-qwen2.5-vl", device)
        images = _images(BATCH, 32)
        tokens = judge.batch_inputs(images[:1], questions[:1])["input_ids"].shape[1]
        return {"model": "zoo tiny-qwen2.5-vl", "batch": BATCH, "image_px": 32, "tokens_per_row": int(tokens),
                "fp32": _measure(judge, images, questions, repeats, device)}
    images = _images(BATCH, 1024)
    out: dict[str, Any] = {"model": "Qwen2.5-VL-7B-Instruct config, random weights", "batch": BATCH,
                           "image_px": 1024}
    judge = full_size_judge(device, torch.bfloat16)
    out["tokens_per_row"] = int(judge.batch_inputs(images[:1], questions[:1])["input_ids"].shape[1])
    out["bf16"] = _measure(judge, images, questions, repeats, device)
    judge.model.half()
    out["fp16"] = _measure(judge, images, questions, repeats, device)
    del judge
    torch.cuda.empty_cache()
    return out
