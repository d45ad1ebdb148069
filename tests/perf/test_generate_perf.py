"""`bench generate` throughput against a plain loop that makes the same pipeline calls in the same run:
per-image runs against a loop of one call per image, batched runs against a loop of batch-sized calls."""

from __future__ import annotations

import json
import math
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from generate_helpers import PROMPTS, write_prompt_set  # noqa: E402

pytestmark = pytest.mark.perf
MODEL = "asis-tiny-sd15"


@dataclass(frozen=True)
class Sizes:
    """One benchmark size: denoising steps, image side, samples per prompt, batch size, paired rounds."""

    steps: int
    size: int
    samples: int
    batch: int
    rounds: int


FULL, SMOKE = Sizes(5, 64, 4, 4, 6), Sizes(1, 32, 2, 2, 1)


def plain_loop(texts: list[str], out: Path, z: Sizes, batching: str) -> float:
    """images/s of the loop a user would write: load, call the pipeline once per image (per-image) or once per
    batch (batched), each image with its own generator, save PNGs."""
    import torch

    from bench.generation.schedulers import set_scheduler
    from bench.models.loading import load_system

    pipe = load_system(MODEL, lang="zh", device="cpu", dtype="float32").pipe
    set_scheduler(pipe, "dpmpp")
    items = [t for t in texts for _ in range(z.samples)]
    step = 1 if batching == "per-image" else z.batch
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for i in range(0, len(items), step):
        batch = items[i: i + step]
        gens = [torch.Generator("cpu").manual_seed(1000 + i + k) for k in range(len(batch))]
        images = pipe(prompt=batch, num_inference_steps=z.steps, guidance_scale=7.5, height=z.size, width=z.size,
                      generator=gens).images
        for k, image in enumerate(images):
            image.save(out / f"{i + k}.png")
    return len(items) / (time.perf_counter() - start)


def harness(seed: int, z: Sizes, batching: str) -> tuple[float, float, Path]:
    """(images/s of the generation phase, share of it spent outside pipeline calls, run folder), as `bench
    generate` records them in timings.json."""
    from bench.generation import GenerateConfig, generate

    run = generate(GenerateConfig(model=MODEL, prompts="mini", lang="zh", samples=z.samples, steps=z.steps,
                                  size=z.size, batch_size=z.batch, batching=batching, seed=seed), progress=True)
    timing = json.loads((run / "timings.json").read_text())[-1]
    rank = timing["ranks"][0]
    return timing["images_per_second"], 1 - rank["pipeline_seconds"] / rank["seconds"], run


@pytest.mark.parametrize("batching", ["per-image", "batched"])
def test_harness_within_5_percent_of_a_plain_loop(bench_home, tmp_path, monkeypatch, smoke, batching):
    z = SMOKE if smoke else FULL
    root = tmp_path / "prompts"
    write_prompt_set(root, langs=("zh",))
    monkeypatch.setenv("BENCH_PROMPTS_DIR", str(root))
    texts = [zh for _, zh, _ in PROMPTS]
    n_images = len(texts) * z.samples
    harness(seed=99, z=z, batching=batching)  # warm-up: builds the zoo model, first-call kernels
    plain, ours, overhead = [], [], []
    for r in range(z.rounds):
        # Pairs run back to back, in alternating order, so drifting load on a shared CPU hits both alike.
        first_plain = r % 2 == 0
        if first_plain:
            plain.append(plain_loop(texts, tmp_path / f"plain{r}", z, batching))
        rate, outside, run = harness(seed=r, z=z, batching=batching)
        ours.append(rate)
        overhead.append(outside)
        if not first_plain:
            plain.append(plain_loop(texts, tmp_path / f"plain{r}", z, batching))
        assert len(list((run / "images").glob("*.png"))) == n_images
        assert len((run / "metadata.jsonl").read_text().splitlines()) == n_images
    assert all(len(list((tmp_path / f"plain{r}").glob("*.png"))) == n_images for r in range(z.rounds))
    ratios = [o / p for o, p in zip(ours, plain, strict=True)]
    ratio = statistics.median(ratios)
    print(f"\n{batching}: bench generate / plain loop with the same calls, images/s: median ratio {ratio:.3f} "
          f"over {z.rounds} paired rounds (per round {[round(x, 3) for x in ratios]}; ours "
          f"{[round(x, 2) for x in ours]}, plain {[round(x, 2) for x in plain]} img/s); time outside pipeline "
          f"calls {100 * statistics.median(overhead):.2f}% ({MODEL}, {z.size} px, {z.steps} steps, batch "
          f"{z.batch}, {n_images} images per round){' [smoke]' if smoke else ''}")
    assert all(math.isfinite(x) and x > 0 for x in ours + plain)
    assert all(0 <= x < 1 for x in overhead)
    if not smoke:
        assert statistics.median(overhead) < 0.05
        assert ratio >= 0.95


def test_cost_of_one_pipeline_call_per_image(bench_home, smoke):
    """What batch-invariant images cost: one pipeline call per image against one call for the whole batch."""
    import numpy as np

    from bench.generation.config import BATCHED_ROUNDING_LEVELS
    from bench.generation.harness import pipeline_images
    from bench.generation.schedulers import set_scheduler
    from bench.models.loading import load_system

    z, n = (SMOKE, 2) if smoke else (FULL, 8)
    results = {}
    for model, lang, size in ((MODEL, "zh", z.size), ("world-en", "en", 32)):
        pipe = load_system(model, lang=lang, device="cpu", dtype="float32").pipe
        set_scheduler(pipe, "ddim")
        texts, seeds = [f"a red circle {i}" for i in range(n)], list(range(n))
        batched, single, images = [], [], {}
        for r in range(3):
            for kind in (("batched", "single") if r % 2 == 0 else ("single", "batched")):
                start = time.perf_counter()
                images[kind] = pipeline_images(pipe, texts, seeds, z.steps, 4.0, size, batched=kind == "batched")
                (batched if kind == "batched" else single).append(time.perf_counter() - start)
        results[model] = statistics.median(single) / statistics.median(batched)
        print(f"\n{model} {size} px, {z.steps} steps, {n} images on the CPU: one call per image "
              f"{statistics.median(single):.3f} s, one call for all {n} {statistics.median(batched):.3f} s "
              f"(x{results[model]:.2f}, median of 3){' [smoke]' if smoke else ''}")
        assert all(len(v) == n and v[0].size == (size, size) for v in images.values())
        diff = max(int(np.abs(np.asarray(a, dtype=int) - np.asarray(b, dtype=int)).max())
                   for a, b in zip(images["single"], images["batched"], strict=True))
        assert diff <= BATCHED_ROUNDING_LEVELS  # the same images, within a batched forward's rounding
    if not smoke:
        assert all(ratio < 3 for ratio in results.values())
