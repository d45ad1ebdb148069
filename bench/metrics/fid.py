"""FID and KID through clean-fid (mode 'clean' by default; legacy modes selectable) against named
reference statistics. Values equal clean-fid's compute_fid (within 1e-7 relative below as many images as
feature dimensions, see singular_set_fid), and its get_folder_features + kernel_distance with numpy's
global RNG seeded, on the same images and extractor."""

from __future__ import annotations

from abc import abstractmethod

from bench.instruments.refstats import MIN_SET_IMAGES
from bench.metrics import Metric, MetricResult, register_metric

KID_SEED = 0  # clean-fid's kernel_distance draws subsets from numpy's global RNG
KID_SCALE = 1000  # the field reports KID x 10^3; the stored value is clean-fid's own


def small_set_warnings(metric: str, n: int, reference_n: int, dim: int | None = None,
                       minimum: int = MIN_SET_IMAGES) -> list[str]:
    """Warnings for a set metric computed from too few images (run or reference side)."""
    out = []
    for side, count in (("run", n), ("reference", reference_n)):
        if dim is not None and count < dim:
            out.append(f"{metric}: {count} {side} images, fewer than the {dim}-d features "
                       "(the covariance is singular; values are not comparable with published ones)")
        elif count < minimum:
            out.append(f"{metric}: {count} {side} images, fewer than the documented minimum {minimum}")
    return out


def fid_value(feats, mu_ref, sigma_ref) -> float:
    """Frechet distance between a feature set and reference mean/covariance: clean-fid's frechet_distance
    when the set has at least as many images as feature dimensions, else singular_set_fid (same value)."""
    import numpy as np
    from cleanfid.fid import frechet_distance

    if len(feats) < np.shape(feats)[1]:
        return singular_set_fid(feats, mu_ref, sigma_ref)
    mu = np.mean(feats, axis=0)
    sigma = np.cov(feats, rowvar=False)
    return float(frechet_distance(mu, sigma, mu_ref, sigma_ref))


def singular_set_fid(feats, mu_ref, sigma_ref) -> float:
    """The Frechet distance of n < d features from an n x n eigenproblem instead of a d x d matrix root.

    With A = (X - mean) / sqrt(n - 1), the set's covariance is A^T A, and the nonzero eigenvalues of
    A^T A S_ref are those of A S_ref A^T (n x n, symmetric), so tr sqrt(S S_ref) = sum of their square roots.
    Why: clean-fid's scipy sqrtm of the 2048 x 2048 product takes 25-37 s on one core and on a singular
    product agrees with this to 1e-7 relative (measured with 3, 48 and 100 images); this takes 0.02 s.
    """
    import numpy as np

    x = np.asarray(feats, np.float64)
    mu = x.mean(axis=0)
    a = (x - mu) / np.sqrt(len(x) - 1)
    small = a @ np.asarray(sigma_ref, np.float64) @ a.T
    roots = np.sqrt(np.clip(np.linalg.eigvalsh((small + small.T) / 2.0), 0.0, None))
    mean_term = float(np.sum((mu - np.asarray(mu_ref, np.float64)) ** 2))
    return mean_term + float(np.sum(a * a)) + float(np.trace(sigma_ref)) - 2.0 * float(np.sum(roots))


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
        from bench.instruments.features import EXTRACTORS

        ref = ctx.refstats("inception")
        return {"extractor": ctx.extractor, "mode": ctx.mode, "refstats": ref.summary,
                "weights": EXTRACTORS.get(ctx.extractor).weights(ctx.mode)}

    @abstractmethod
    def value(self, feats, ref) -> float:
        """The set metric between the run's features and the reference statistics."""

    def warnings(self, n: int, reference_n: int, dim: int) -> list[str]:
        return small_set_warnings(self.name, n, reference_n, dim if self.name == "fid" else None)

    def compute(self, ctx) -> MetricResult:
        import numpy as np

        feats = ctx.features.inception(ctx.extractor)
        ref = ctx.refstats("inception")
        if feats.shape[1] != ref.feats.shape[1]:
            from bench.core.errors import BenchError

            raise BenchError(f"reference statistics {ref.path.name} have {ref.feats.shape[1]}-d features but "
                             f"{ctx.extractor} gives {feats.shape[1]}-d")
        dist = np.linalg.norm(feats.astype(np.float64) - ref.mu, axis=1)
        rows = [ctx.base_row(i) | {"ref_mean_distance": float(d)} for i, d in enumerate(dist)]
        value = self.value(feats, ref) if len(feats) >= 2 else None
        extra = {"extractor": ctx.extractor, "mode": ctx.mode, "refstats": ref.meta["name"],
                 "reference_n": int(ref.feats.shape[0]),
                 "warnings": self.warnings(len(feats), int(ref.feats.shape[0]), int(feats.shape[1]))}
        return MetricResult(value=value, n=len(rows), rows=rows, extra=extra | self.unit())

    def unit(self) -> dict:
        return {}


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
    display = "KID \u00d710\u00b3"

    def value(self, feats, ref) -> float:
        return kid_value(feats, ref.feats)

    def unit(self) -> dict:
        return {"display_scale": KID_SCALE, "unit": "x1000 (value is clean-fid's, shown times 1000)"}
