"""Images scored per second by each reward judge (PickScore, ImageReward, HPS v2.1): part of `make gpu-bench`.

On CUDA (`--size full`) each judge is built at its published size with random weights (bench.models.fullsize,
nothing downloaded) directly on the GPU in fp16 and scores batches of 16 (image, prompt) pairs of 512 px
images: preprocessing, both towers and the score, as `bench evaluate` runs them. ImageReward's tokenizer is
the zoo's WordPiece (bert-base-uncased is not shipped; token ids and lengths, not words, decide the cost).
On a CPU (`--size tiny`) the same code times the zoo's tiny judges in fp32, so the test suite runs it.

    python -m bench.perf.judgebench [--size full|tiny] [--out FILE]
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

from bench.core import paths

JUDGES = ("pickscore", "imagereward", "hpsv2")
BATCH = 16
log = logging.getLogger(__name__)
IMAGE_SIZE = 512
PROMPTS = ("a red cat sitting on a sofa", "two dogs on a beach", "a small wooden cabin below snowy mountains",
           "a bowl of noodles on a table")


def random_full_size_judge(name: str, device: str, dtype):
    """A reward judge with random weights in the published shapes, on `device` in `dtype`."""
    from bench.instruments.judges import JUDGES as REGISTRY
    from bench.models import fullsize

    spec = REGISTRY.get(name)
    model = fullsize.build(name, device=device, dtype=dtype).eval()
    if name == "pickscore":
        from transformers import CLIPImageProcessor

        from bench.instruments.rewards.pickscore import PickScoreJudge
        from bench.models.real_tokenizers import clip_tokenizer

        return PickScoreJudge(spec, model, CLIPImageProcessor(), clip_tokenizer(), device=device)
    if name == "hpsv2":
        import open_clip

        from bench.instruments.rewards.hps import HPSJudge

        return HPSJudge(spec, model, open_clip.SimpleTokenizer(), device=device)
    from bench.instruments.rewards.imagereward import ImageRewardJudge
    from bench.models import zoo
    from bench.models.blip import blip_tokenizer

    return ImageRewardJudge(spec, model, blip_tokenizer(str(zoo.ensure("tiny-imagereward"))), 224, device=device)


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_judge(judge, device: str, repeats: int) -> dict[str, Any]:
    """Seconds per batch of BATCH pairs after one warm-up batch, images/s, and the peak GPU memory."""
    import numpy as np
    import torch
    from PIL import Image

    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)) for _ in range(BATCH)]
    texts = [PROMPTS[i % len(PROMPTS)] for i in range(BATCH)]
    judge.batch_size = BATCH
    scores = judge.score(images, texts)  # warm-up: kernels, allocator
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    _sync(device)
    tick = time.perf_counter()
    for _ in range(repeats):
        judge.score(images, texts)
    _sync(device)
    seconds = (time.perf_counter() - tick) / repeats
    peak = round(torch.cuda.max_memory_allocated() / 2**30, 3) if device.startswith("cuda") else None
    return {"seconds_per_batch": round(seconds, 4), "images_per_s": round(BATCH / seconds, 2), "peak_gib": peak,
            "finite": bool(np.all(np.isfinite(scores)))}


def bench_judges(size: str, device: str, repeats: int | None = None) -> dict[str, Any]:
    """Images/s of every reward judge at `size` ('full': published shapes, fp16; 'tiny': the zoo's, fp32)."""
    import torch

    from bench.instruments.judges import load_judge

    repeats = repeats or (5 if size == "full" else 1)
    dtype = torch.float16 if size == "full" else torch.float32
    out: dict[str, Any] = {"batch": BATCH, "image_size": IMAGE_SIZE, "repeats": repeats,
                           "dtype": "fp16" if size == "full" else "fp32"}
    for name in JUDGES:
        judge = (random_full_size_judge(name, device, dtype) if size == "full"
                 else load_judge(f"tiny-{name}", device))
        out[name] = time_judge(judge, device, repeats)
        del judge
        if device.startswith("cuda"):
            torch.cuda.empty_cache()
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Command line: python -m bench.perf.judgebench [--size full|tiny] [--out FILE]."""
    import torch

    cuda = torch.cuda.is_available()
    parser = argparse.ArgumentParser(prog="python -m bench.perf.judgebench", description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("full", "tiny"), default="full" if cuda else "tiny")
    parser.add_argument("--out", type=Path, default=None, help="JSON file (default: print only)")
    args = parser.parse_args(argv)
    device = "cuda" if cuda else "cpu"
    result = {"size": args.size, "device": device, "torch": torch.__version__,
              "device_name": torch.cuda.get_device_name() if cuda else "cpu", **bench_judges(args.size, device)}
    if args.out:
        paths.write_json(args.out, result)
    log.info("%s on %s, batch %d, %s: %s", args.size, result["device_name"], BATCH, result["dtype"],
             ", ".join(f"{name} {result[name]['images_per_s']} img/s" for name in JUDGES))
    return result


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # the summary line is the command's output
    main()
