"""FID and KID through clean-fid (mode 'clean' by default; legacy modes selectable) against named
reference statistics. Values equal clean-fid's compute_fid, and its get_folder_features +
kernel_distance with numpy's global RNG seeded, on the same images and extractor."""

from __future__ import annotations

from bench.metrics import Metric, MetricResult, register_metric

KID_SEED = 0  # clean-fid's kernel_distance draws subsets from numpy's global RNG


def fid_value(feats, mu_ref, sigma_ref) -> float:
    """clean-fid's Frechet distance between a feature set and reference mean/covariance."""
    import numpy as np
    from cleanfid.fid import frechet_distance

    mu = np.mean(feats, axis=0)
    sigma = np.cov(feats, rowvar=False)
    return float(frechet_distance(mu, sigma, mu_ref, sigma_ref))


def kid_value(feats, ref_feats, seed: int = KID_SEED) -> float:
    """clean-fid's kernel_distance(feats, ref_feats) with the global RNG seeded, then restored."""
    import numpy as np
    from cleanfid.fid import kernel_distance

    state = np.random.get_state()
    try:
        np.random.seed(seed)
        return float(kernel_distance(feats, ref_feats))
    finally:
        np.random.set_state(state)


class _SetMetric(Metric):
    """A metric over the whole image set; per-image rows give each image's distance to the reference mean."""

    needs = ("inception-features", "refstats")

    def settings(self, ctx) -> dict:
        ref = ctx.refstats("inception")
        return {"extractor": ctx.extractor, "mode": ctx.mode, "refstats": ref.summary}

    def compute(self, ctx) -> MetricResult:
        import numpy as np

        feats = ctx.features.inception(ctx.extractor)
        ref = ctx.refstats("inception")
        if feats.shape[1] != ref.feats.shape[1]:
            from bench.errors import BenchError

            raise BenchError(f"reference statistics {ref.path.name} have {ref.feats.shape[1]}-d features but "
                             f"{ctx.extractor} gives {feats.shape[1]}-d")
        dist = np.linalg.norm(feats.astype(np.float64) - ref.mu, axis=1)
        rows = [ctx.base_row(i) | {"ref_mean_distance": float(d)} for i, d in enumerate(dist)]
        value = self.value(feats, ref) if len(feats) >= 2 else None
        return MetricResult(value=value, n=len(rows), rows=rows,
                            extra={"extractor": ctx.extractor, "mode": ctx.mode, "refstats": ref.meta["name"],
                                   "reference_n": int(ref.feats.shape[0])})


@register_metric
class FID(_SetMetric):
    """Frechet Inception distance to the reference statistics."""

    name = "fid"
    higher_is_better = False
    display = "FID"

    def value(self, feats, ref) -> float:
        return fid_value(feats, ref.mu, ref.sigma)


@register_metric
class KID(_SetMetric):
    """Kernel Inception distance (clean-fid: 100 subsets of up to 1000, cubic polynomial kernel)."""

    name = "kid"
    higher_is_better = False
    display = "KID"

    def value(self, feats, ref) -> float:
        return kid_value(feats, ref.feats)
