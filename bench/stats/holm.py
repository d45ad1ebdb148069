"""Holm's step-down adjustment: controls the family-wise error rate across the comparisons of one table."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm-adjusted p-values in the input order (None stays None and does not count as a comparison)."""
    present = [i for i, p in enumerate(pvalues) if p is not None]
    out: list[float | None] = [None] * len(pvalues)
    if not present:
        return out
    p = np.array([pvalues[i] for i in present], dtype=np.float64)
    m = len(p)
    order = np.argsort(p, kind="stable")
    scaled = np.minimum((m - np.arange(m)) * p[order], 1.0)
    adjusted = np.maximum.accumulate(scaled)
    for rank, idx in enumerate(order):
        out[present[idx]] = float(adjusted[rank])
    return out


def reject(pvalues: Sequence[float | None], alpha: float = 0.05) -> list[bool]:
    """Which hypotheses Holm's procedure rejects at family-wise level `alpha`."""
    return [p is not None and p <= alpha for p in holm(pvalues)]
