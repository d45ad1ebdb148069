"""gpu-bench's translation and generation-mode measurements: what a corpus and a run cost on one GPU.

Translation: NLLB-200-distilled-600M from its published config with random weights (bench.models.fullsize),
fp16 on CUDA, batches of 64 captions sorted by length, beam search with the corpus builder's settings.
There is no NLLB tokenizer offline, so each caption's input length is its CLIP BPE token count (CLIP's start
and end tokens standing for NLLB's language code and end of sentence), with random ids; random weights never choose to stop,
so every caption decodes as many tokens as its batch's longest input (min = max new tokens, at most the
translator's limit), about what an English -> target translation emits. At tiny size the zoo's tiny translator runs the same code with its
own tokenizer. Generation modes: the harness's pipeline_images, per-image calls against one batched call.
"""

from __future__ import annotations

import time
from typing import Any

WORDS = ("a", "the", "man", "woman", "dog", "cat", "red", "blue", "small", "old", "young", "runs", "sits", "walks",
         "on", "in", "under", "near", "with", "street", "park", "beach", "table", "car", "bus", "tree", "house",
         "river", "boat", "child", "girl", "boy", "two", "three", "green", "yellow", "big", "quiet", "busy")


def captions(n: int, seed: int = 0) -> list[str]:
    """n English captions of 6-20 words (a caption corpus's usual range)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=int(k))) for k in rng.integers(6, 21, size=n)]


def full_inputs(texts: list[str]) -> list[list[int]]:
    """Token ids of NLLB's length for each caption (see the module docstring), random in the vocabulary."""
    import numpy as np

    from bench.models.offline_tokenizers import clip_tokenizer, token_count

    tokenizer, rng = clip_tokenizer(), np.random.default_rng(0)
    # CLIP's start and end tokens stand for the language code and end of sentence NLLB adds.
    return [rng.integers(4, 256_000, size=token_count(tokenizer, t)).tolist() for t in texts]


def bench_translation(size: str, device: str, batch: int = 64, batches: int = 8) -> dict[str, Any]:
    """Captions/s and peak memory of length-sorted batched translation (full: NLLB's settings, 4 beams; tiny:
    the tiny translator's, 2 beams and at most 24 new tokens)."""
    import torch

    from bench.core.languages import get_language
    from bench.models.translators import FAMILIES, _settings

    texts = captions(batch * batches)
    if size == "full":
        from bench.models import fullsize

        dtype = torch.float16 if device.startswith("cuda") else torch.float32
        model = fullsize.build("nllb-600m", device=device, dtype=dtype).eval()
        ids = full_inputs(texts)
        forced = {"forced_bos_token_id": 256_001}  # a language code's id; with random weights any one will do
        name, pad = "nllb-200-distilled-600M (random weights)", model.config.pad_token_id
    else:
        from bench.models import zoo
        from bench.models.translators import _load_pretrained

        tokenizer, model, _ = _load_pretrained(zoo.resolve("zoo:tiny-translator"), torch.float32)
        model.to(device).eval()
        forced = FAMILIES["m2m100"].set_languages(tokenizer, get_language("en"), get_language("ko"))
        ids = [tokenizer(t)["input_ids"] for t in texts]
        name, pad, dtype = "zoo:tiny-translator", tokenizer.pad_token_id, torch.float32
    beams, limit = (4, 128) if size == "full" else (2, 24)  # the registered nllb and tiny translators' settings
    settings = _settings(FAMILIES["nllb"], beams, limit, 256, device, "")
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]), reverse=True)  # as Seq2SeqTranslator sorts
    groups = [[ids[i] for i in order[s:s + batch]] for s in range(0, len(order), batch)]

    def run(group: list[list[int]]) -> None:
        width = max(len(g) for g in group)
        new = min(width, settings["max_new_tokens"])
        tensor = torch.full((len(group), width), pad, dtype=torch.long)
        mask = torch.zeros((len(group), width), dtype=torch.long)
        for row, g in enumerate(group):  # left-aligned, right-padded, as the tokenizer pads
            tensor[row, :len(g)], mask[row, :len(g)] = torch.tensor(g), 1
        with torch.inference_mode():
            model.generate(input_ids=tensor.to(device), attention_mask=mask.to(device), num_beams=settings["num_beams"],
                           do_sample=False, min_new_tokens=new, max_new_tokens=new, **forced)

    run(groups[0])  # warm-up
    _reset(device)
    tick = time.perf_counter()
    for group in groups:
        run(group)
    _sync(device)
    seconds = time.perf_counter() - tick
    return {"model": name, "dtype": str(dtype).replace("torch.", ""), "batch_size": batch, "captions": len(texts),
            "num_beams": settings["num_beams"], "sorted_by_length": True,
            "mean_input_tokens": round(sum(len(i) for i in ids) / len(ids), 2), "seconds": round(seconds, 3),
            "captions_per_s": round(len(texts) / seconds, 2), "peak_gib": _peak(device)}


def bench_generation_modes(pipe, prompts: list[str], steps: int, size: int, repeats: int, device: str
                           ) -> dict[str, Any]:
    """Images/s of the harness's per-image calls and of one batched call for the same images and seeds."""
    from bench.generation.harness import pipeline_images

    seeds = list(range(len(prompts)))
    out: dict[str, Any] = {"images": len(prompts), "resolution": size, "steps": steps}
    for mode, batched in (("per_image", False), ("batched", True)):
        pipeline_images(pipe, prompts, seeds, steps, 7.5, size, batched)  # warm-up
        _reset(device)
        tick = time.perf_counter()
        for _ in range(repeats):
            pipeline_images(pipe, prompts, seeds, steps, 7.5, size, batched)
        _sync(device)
        seconds = (time.perf_counter() - tick) / repeats
        out[mode] = {"images_per_s": round(len(prompts) / seconds, 4), "peak_gib": _peak(device)}
    out["batched_over_per_image"] = round(out["batched"]["images_per_s"] / out["per_image"]["images_per_s"], 4)
    return out


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _reset(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def _peak(device: str) -> float | None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()
        return round(torch.cuda.max_memory_allocated() / 2**30, 3)
    return None  # CPU: the JSON records the process's peak RSS instead
