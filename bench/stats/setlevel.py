"""Intervals for set-level metrics (FID, KID, CMMD): resample prompts, recompute the metric.

The percentile interval of the recomputed values is a spread of the estimate (how much the number moves
when another draw of prompts of the same kind is scored), not a confidence interval for a population
value: FID in particular is biased upwards in small samples, so the resampled values are not centred on
the infinite-sample FID.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from bench.stats.paired import LEVEL, SEED

N_SET_BOOTSTRAP = 200  # each resample recomputes the metric; 200 keeps 2.5/97.5 percentiles stable to ~1%


def resample_indices(groups: Sequence[Any], n_boot: int = N_SET_BOOTSTRAP, seed: int = SEED):
    """Yield row indices of `n_boot` resamples that draw whole groups (prompts) with replacement."""
    labels, index = np.unique(np.asarray(groups), return_inverse=True)
    members = [np.flatnonzero(index == g) for g in range(len(labels))]
    rng = np.random.default_rng(seed)
    for _ in range(n_boot):
        picks = rng.integers(0, len(labels), size=len(labels))
        yield np.concatenate([members[p] for p in picks])


def resampled_ci(statistic: Callable[[np.ndarray], float], groups: Sequence[Any], n_boot: int = N_SET_BOOTSTRAP,
                 seed: int = SEED, level: float = LEVEL, centre: float | None = None) -> tuple[float, float] | None:
    """Percentile range of statistic(row indices) over prompt resamples, or, given `centre`, centre plus and
    minus its half-width; None with fewer than 2 prompts."""
    if len(set(groups)) < 2:
        return None
    values = np.array([statistic(idx) for idx in resample_indices(groups, n_boot, seed)], dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    tail = (1.0 - level) / 2.0 * 100.0
    lo, hi = np.percentile(values, [tail, 100.0 - tail])
    if centre is not None:
        half = (hi - lo) / 2.0
        return float(centre - half), float(centre + half)
    return float(lo), float(hi)


class FastFID:
    """Frechet distance to fixed reference statistics, fast for many resamples of one feature set.

    tr sqrt(S_x S_r) equals the sum of square roots of the eigenvalues of R^T S_x R with R = sqrt(S_r),
    and with S_x = Xc^T Xc / (n - 1) those are the eigenvalues of (Xc R)(Xc R)^T / (n - 1), an n x n
    problem; the same value as clean-fid's frechet_distance up to float rounding (tested).
    """

    def __init__(self, mu_ref, sigma_ref) -> None:
        import scipy.linalg

        self.mu_ref = np.asarray(mu_ref, np.float64)
        sigma_ref = np.asarray(sigma_ref, np.float64)
        self.trace_ref = float(np.trace(sigma_ref))
        evals, evecs = scipy.linalg.eigh(sigma_ref)
        self.root_ref = (evecs * np.sqrt(np.clip(evals, 0.0, None))) @ evecs.T

    def __call__(self, feats) -> float:
        x = np.asarray(feats, np.float64)
        n = x.shape[0]
        if n < 2:
            return float("nan")
        mu = x.mean(axis=0)
        xc = (x - mu) @ self.root_ref
        gram = xc @ xc.T / (n - 1)
        evals = np.clip(np.linalg.eigvalsh(gram), 0.0, None)
        trace_x = float(np.einsum("ij,ij->", x - mu, x - mu) / (n - 1))
        return float(np.sum((mu - self.mu_ref) ** 2) + trace_x + self.trace_ref - 2.0 * np.sum(np.sqrt(evals)))


def kid_resampler(feats, ref_feats, max_ref: int = 5000, seed: int = SEED,
                  reference_term: bool = True) -> Callable[[np.ndarray], float]:
    """KID of a resample (row indices, repeats allowed) from kernel matrices computed once.

    clean-fid's KID averages an unbiased MMD^2 (cubic polynomial kernel) over random subsets; its
    expectation is the unbiased MMD^2 of the full sets, which this returns for each resample, leaving out
    pairs of an image with a copy of itself. References beyond `max_ref` are subsampled once (seeded).
    """
    x = np.asarray(feats, np.float64)
    y = np.asarray(ref_feats, np.float64)
    if y.shape[0] > max_ref:
        y = y[np.random.default_rng(seed).choice(y.shape[0], max_ref, replace=False)]
    d = x.shape[1]
    kxx = (x @ x.T / d + 1.0) ** 3
    yy = 0.0
    if reference_term:  # a constant across resamples: a centred spread does not need it
        kyy = (y @ y.T / d + 1.0) ** 3
        m = y.shape[0]
        yy = (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    xy = ((x @ y.T / d + 1.0) ** 3).mean(axis=1)

    def statistic(idx: np.ndarray) -> float:
        w = np.bincount(idx, minlength=x.shape[0]).astype(np.float64)
        total = w.sum()
        pairs = total**2 - np.sum(w**2)
        if pairs <= 0:
            return float("nan")
        xx = (w @ kxx @ w - np.sum(w**2 * np.diag(kxx))) / pairs
        return float(xx + yy - 2.0 * (w @ xy) / total)

    return statistic


def cmmd_resampler(emb, ref_emb, sigma: float, scale: float,
                   reference_term: bool = True) -> Callable[[np.ndarray], float]:
    """CMMD (biased V-statistic, Gaussian kernel) of a resample; equals cmmd_value(emb[idx], ref_emb), less
    the reference-only term (a constant) when `reference_term` is False."""
    x = np.asarray(emb, np.float64)
    y = np.asarray(ref_emb, np.float64)
    gamma = 1.0 / (2.0 * sigma**2)

    def gram(a, b):
        sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
        return np.exp(-gamma * sq)

    kxx = gram(x, x)
    xy = np.zeros(x.shape[0])
    for start in range(0, y.shape[0], 2048):  # bounded memory for large reference sets
        xy += gram(x, y[start:start + 2048]).sum(axis=1)
    xy /= y.shape[0]
    yy = _chunked_mean(y, gram) if reference_term else 0.0

    def statistic(idx: np.ndarray) -> float:
        w = np.bincount(idx, minlength=x.shape[0]).astype(np.float64)
        total = w.sum()
        return float(scale * ((w @ kxx @ w) / total**2 + yy - 2.0 * (w @ xy) / total))

    return statistic


def _chunked_mean(y, gram, chunk: int = 1024) -> float:
    """Mean of gram(y, y) without holding the whole matrix."""
    total = 0.0
    for start in range(0, y.shape[0], chunk):
        total += float(gram(y[start:start + chunk], y).sum())
    return total / (y.shape[0] ** 2)


def set_metric_spread(ctx, metric, value: float | None) -> tuple[float, float] | None:
    """FID, KID or CMMD's `value` plus and minus the half-width of its prompt-resampled range (None otherwise).

    Reference-only terms are constant across resamples and drop out of the half-width, so they are skipped.
    """
    if value is None:
        return None
    groups = [row["prompt_id"] for row in ctx.rows]
    if metric.name in ("fid", "kid"):
        feats = ctx.features.inception(ctx.extractor)
        ref = ctx.refstats("inception")
        if metric.name == "fid":
            fast = FastFID(ref.mu, ref.sigma)
            return resampled_ci(lambda idx: fast(feats[idx]), groups, centre=value)
        return resampled_ci(kid_resampler(feats, ref.feats, reference_term=False), groups, centre=value)
    if metric.name == "cmmd":
        from bench.metrics.cmmd import SCALE, SIGMA

        judge = getattr(ctx, "cmmd_judge", None) or ctx.judge_en
        emb = ctx.features.judge_images(judge)
        statistic = cmmd_resampler(emb, ctx.refstats("judge").feats, SIGMA, SCALE, reference_term=False)
        return resampled_ci(statistic, groups, centre=value)
    return None


SPREAD_METRICS = ("fid", "kid", "cmmd")
SPREAD_VERSION = 1  # part of the cached result's key: bump when the resampling changes
