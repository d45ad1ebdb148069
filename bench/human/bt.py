"""Bradley-Terry by maximum likelihood (ties as half a win) and bootstrap intervals over votes."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

ELO_SCALE = 400 / math.log(10)  # report strengths on the Elo scale arenas use: 1000 + 400 * log10(odds)
ELO_BASE = 1000.0
RIDGE = 1e-4  # a whisper of L2 keeps a perfect record finite; far below what moves a real estimate


def win_matrix(k: int, i: Sequence[int] | np.ndarray, j: Sequence[int] | np.ndarray, outcome: ArrayLike,
               weights: np.ndarray | None = None) -> np.ndarray:
    """W[a, b] = wins of a over b, a tie giving each side half (outcome 1: i won, 0.5: tie, 0: j won)."""
    w = np.zeros((k, k))
    weights = np.ones(len(i)) if weights is None else weights
    outcome = np.asarray(outcome, float)
    np.add.at(w, (np.asarray(i), np.asarray(j)), weights * outcome)
    np.add.at(w, (np.asarray(j), np.asarray(i)), weights * (1 - outcome))
    return w


def fit(w: np.ndarray, start: np.ndarray | None = None, iters: int = 100) -> np.ndarray:
    """Log-strengths theta (mean 0) maximising sum W[a,b] log sigmoid(theta_a - theta_b) - RIDGE |theta|^2.

    Newton's method, batched: w may be (k, k) or (B, k, k) (one fit per bootstrap replicate at once).
    """
    from scipy.special import expit

    batched = w.ndim == 3
    w = w if batched else w[None]
    b, k, _ = w.shape
    n = w + w.transpose(0, 2, 1)
    theta = np.zeros((b, k)) if start is None else np.broadcast_to(start, (b, k)).copy()
    eye = np.eye(k)
    for _ in range(iters):
        p = expit(theta[:, :, None] - theta[:, None, :])  # p[a, b] = P(a beats b)
        grad = (w * p.transpose(0, 2, 1)).sum(2) - (w.transpose(0, 2, 1) * p).sum(2) - 2 * RIDGE * theta
        curv = n * p * p.transpose(0, 2, 1)
        hess = curv - eye * curv.sum(2)[:, :, None] - 2 * RIDGE * eye
        step = np.linalg.solve(hess, grad[..., None])[..., 0]
        step = np.clip(step, -2.0, 2.0)  # a damped first step from far away; near the optimum it is pure Newton
        theta = theta - step
        if np.abs(step).max() < 1e-10:
            break
    theta = theta - theta.mean(axis=1, keepdims=True)
    return theta if batched else theta[0]


def to_elo(theta: np.ndarray) -> np.ndarray:
    """Log-strengths on the Elo scale (mean 1000)."""
    return ELO_BASE + ELO_SCALE * np.asarray(theta)


def rank(systems: Sequence[str], i: Sequence[int] | np.ndarray, j: Sequence[int] | np.ndarray, outcome: ArrayLike,
         n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> list[dict]:
    """Per system: Elo-scale score, bootstrap interval (votes resampled with replacement), votes; best first."""
    k = len(systems)
    i, j, outcome = np.asarray(i, int), np.asarray(j, int), np.asarray(outcome, float)
    if len(i) == 0:
        return [{"system": s, "score": ELO_BASE, "ci": None, "votes": 0} for s in systems]
    theta = fit(win_matrix(k, i, j, outcome))
    # Resampling votes with replacement = multinomial counts over the distinct (i, j, outcome) cells.
    cells, counts = np.unique(np.stack([i, j, outcome * 2]).T, axis=0, return_counts=True)
    ci_, cj, co = cells[:, 0].astype(int), cells[:, 1].astype(int), cells[:, 2] / 2
    rng = np.random.default_rng(seed)
    n = len(i)
    boots = np.zeros((n_boot, k))
    for first in range(0, n_boot, 250):  # batches bound memory at 250 x k x k
        size = min(250, n_boot - first)
        weights = rng.multinomial(n, counts / n, size=size).astype(float)
        w = np.zeros((size, k, k))
        for c, (a, bb, o) in enumerate(zip(ci_, cj, co, strict=True)):
            w[:, a, bb] += weights[:, c] * o
            w[:, bb, a] += weights[:, c] * (1 - o)
        boots[first:first + size] = fit(w, start=theta)
    lo, hi = np.quantile(to_elo(boots), [(1 - level) / 2, (1 + level) / 2], axis=0)
    votes = np.bincount(np.concatenate([i, j]), minlength=k)
    score = to_elo(theta)
    out = [{"system": s, "score": float(score[a]), "ci": [float(lo[a]), float(hi[a])], "votes": int(votes[a])}
           for a, s in enumerate(systems)]
    return sorted(out, key=lambda r: -r["score"])
