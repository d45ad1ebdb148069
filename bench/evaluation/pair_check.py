"""Matched against mismatched pairs: does a reward judge score an image higher with its own caption than with
another image's caption? The judge-check of judges that score pairs (PickScore, ImageReward, HPS v2.1)."""

from __future__ import annotations

from collections.abc import Sequence


def mismatched(n: int) -> list[int]:
    """For pair i, the caption of pair i+1 (cyclically): every image gets one caption that is not its own."""
    return [(i + 1) % n for i in range(n)]


def pair_accuracy(matched, mismatched_scores) -> float:
    """Share of images whose own caption scores higher than the mismatched one (a tie counts half)."""
    import numpy as np

    a, b = np.asarray(matched, np.float64), np.asarray(mismatched_scores, np.float64)
    return float(np.mean(np.where(a > b, 1.0, np.where(a == b, 0.5, 0.0))))


def pair_check(judge, images: Sequence, native: Sequence[str], english: Sequence[str]) -> dict:
    """Pair accuracy with native and with English captions, the mean matched - mismatched margin, and chance."""
    import numpy as np

    other = mismatched(len(images))
    out: dict = {"pair_chance": 0.5}
    for label, texts in (("native", list(native)), ("english", list(english))):
        scores = judge.score(list(images) * 2, texts + [texts[j] for j in other])
        own, wrong = scores[:len(texts)], scores[len(texts):]
        out[f"pairs_{label}"] = pair_accuracy(own, wrong)
        out[f"margin_{label}"] = float(np.mean(own - wrong))
    return out
