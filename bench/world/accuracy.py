"""Attribute accuracy of images against the world scenes their prompts describe, read by the exact analyser."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bench.world import analyser, draw

ATTRIBUTES = ("object", "colour", "size", "position")


def chance() -> dict[str, float]:
    """Accuracy of a uniform guess per attribute, over prompts that state it (plain and culture objects mixed)."""
    return {"object": 1 / len(draw.KINDS), "colour": 1 / len(draw.COLOURS), "size": 1 / len(draw.SIZES),
            "position": 1 / len(draw.POSITIONS)}


def attribute_hits(images: Iterable, scenes: Iterable[draw.Scene]) -> list[dict[str, bool]]:
    """Per image, which of its scene's stated attributes the analyser reads back."""
    return [analyser.score(analyser.analyse(img), scene) for img, scene in zip(images, scenes, strict=True)]


def summarise(hits: Sequence[dict[str, bool]]) -> dict[str, float]:
    """Mean accuracy per attribute, plus `all` (every stated attribute right) and `mean` (of the attributes)."""
    out: dict[str, float] = {}
    for attr in ATTRIBUTES:
        vals = [h[attr] for h in hits if attr in h]
        if vals:
            out[attr] = sum(vals) / len(vals)
    out["all"] = sum(all(h.values()) for h in hits) / max(1, len(hits))
    out["mean"] = sum(out[a] for a in ATTRIBUTES if a in out) / max(1, sum(a in out for a in ATTRIBUTES))
    return out


def generate(pipe, prompts: Sequence[str], seed: int = 0, steps: int = 20, guidance: float = 4.0,
             batch: int = 32, prompt_embeds=None) -> list:
    """Images for prompts from an SD pipeline at the world's size, seeded per prompt index."""
    import torch

    images = []
    for start in range(0, len(prompts), batch):
        chunk = list(prompts[start:start + batch])
        gens = [torch.Generator().manual_seed(seed * 1_000_003 + start + i) for i in range(len(chunk))]
        out = pipe(prompt=chunk, height=draw.SIZE, width=draw.SIZE, num_inference_steps=steps,
                   guidance_scale=guidance, generator=gens)
        images.extend(out.images)
    return images
