"""Paired differences of set-level metrics (FID, KID, CMMD) between two runs of the same prompts.

Both runs' cached features and the shared reference statistics give the metric on any subset; the interval
resamples prompts (the same prompts for A and B) and recomputes A - B, reported as the observed difference
plus and minus half the 95% range (a spread of the estimate, as for single set metrics); the p-value swaps
A's and B's images of each prompt at random (a paired permutation test) and recomputes the difference.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bench.core import paths
from bench.core.errors import BenchError
from bench.stats.paired import SEED
from bench.stats.setlevel import N_SET_BOOTSTRAP, FastFID, cmmd_resampler, kid_resampler

SET_METRICS = ("fid", "kid", "cmmd")
N_SET_PERMUTATIONS = 200


def _features(run: Path, summary: dict, metric: str) -> tuple[np.ndarray, Any]:
    """(features in the run's row order, reference statistics) a set metric was computed from."""
    from bench.instruments.refstats import load_refstats

    settings = summary["metrics"][metric].get("settings") or {}
    if metric == "cmmd":
        name = f"judge-{(settings.get('judge') or {}).get('name')}"
    else:
        name = f"{settings.get('extractor')}-{settings.get('mode')}"
    file = paths.run_features_path(run, name)
    ref_file = paths.cache_dir("refstats") / str((settings.get("refstats") or {}).get("file"))
    if not file.is_file() or not ref_file.is_file():
        raise BenchError(f"{metric}: features {file.name} or reference statistics {ref_file.name} of run "
                         f"{run.name} are gone; evaluate it again")
    from bench.core.tensorfiles import read_npz

    feats = read_npz(file, ("feats",))["feats"]
    return feats, load_refstats(ref_file)


def _statistic(metric: str, feats: np.ndarray, ref):
    """metric(row indices into feats), up to a constant that cancels in A - B."""
    if metric == "fid":
        fid = FastFID(ref.mu, ref.sigma)
        return lambda idx: fid(feats[idx])
    if metric == "kid":
        return kid_resampler(feats, ref.feats, reference_term=False)
    from bench.metrics.cmmd import SCALE, SIGMA

    return cmmd_resampler(feats, ref.feats, SIGMA, SCALE, reference_term=False)


def set_difference(run_a: Path, run_b: Path, a: dict, b: dict, metric: str, keys_a: list, keys_b: list,
                   n_boot: int = N_SET_BOOTSTRAP, n_perm: int = N_SET_PERMUTATIONS, seed: int = SEED) -> dict:
    """metric(A) - metric(B) with its resampled spread and a paired swap-permutation p-value."""
    sa = a["metrics"][metric].get("settings") or {}
    sb = b["metrics"][metric].get("settings") or {}
    for field in ("extractor", "mode", "judge", "refstats"):
        if sa.get(field) != sb.get(field):
            raise BenchError(f"{metric}: the runs were scored with different {field}; evaluate them alike")
    fa, ref = _features(run_a, a, metric)
    fb, _ = _features(run_b, b, metric)
    position_b = {k: j for j, k in enumerate(keys_b)}
    order_b = np.array([position_b[k] for k in keys_a])
    n = len(keys_a)
    stat = _statistic(metric, np.concatenate([fa, fb[order_b]]), ref)
    ia, ib = np.arange(n), n + np.arange(n)

    def diff(x: np.ndarray, y: np.ndarray) -> float:
        return stat(x) - stat(y)

    observed = float(a["metrics"][metric]["value"] - b["metrics"][metric]["value"])
    _, prompt_of = np.unique(np.array([k[0] for k in keys_a]), return_inverse=True)
    members = [np.flatnonzero(prompt_of == g) for g in range(prompt_of.max() + 1)]
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        rows = np.concatenate([members[p] for p in rng.integers(0, len(members), len(members))])
        boots.append(diff(ia[rows], ib[rows]))
    lo, hi = np.percentile(boots, [2.5, 97.5])
    half = (hi - lo) / 2.0
    base = diff(ia, ib)
    hits = 0
    for _ in range(n_perm):
        swap = (rng.integers(0, 2, len(members)) == 1)[prompt_of]
        hits += abs(diff(np.where(swap, ib, ia), np.where(swap, ia, ib))) >= abs(base) - 1e-12
    return {"diff": observed, "ci": [observed - half, observed + half], "p": (1.0 + hits) / (1.0 + n_perm),
            "mean_a": a["metrics"][metric]["value"], "mean_b": b["metrics"][metric]["value"],
            "n_prompts": len(members), "n_samples": round(n / len(members), 2), "n_images": n,
            "kind": "set: value difference ± half the 95% range over prompt resamples; p from swapping A/B per prompt"}
