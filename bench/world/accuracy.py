"""Attribute accuracy of images against the world scenes their prompts describe, read by the exact analyser."""

from __future__ import annotations

from collections.abc import Sequence

from bench.world import draw

ATTRIBUTES = ("object", "colour", "size", "position")


def chance() -> dict[str, float]:
    """Accuracy of a uniform guess per attribute, over prompts that state it (plain and culture objects mixed)."""
    return {"object": 1 / len(draw.KINDS), "colour": 1 / len(draw.COLOURS), "size": 1 / len(draw.SIZES),
            "position": 1 / len(draw.POSITIONS)}


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
