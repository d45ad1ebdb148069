"""CMMD: maximum mean discrepancy between CLIP image embeddings of the run and of the references, with a
Gaussian kernel (sigma 10, scaled by 1000), as defined by Jayasumana et al. 2024; it needs no normality
assumption and stays stable with few images."""

from __future__ import annotations

from bench.metrics import Metric, MetricResult, register_metric

SIGMA = 10.0
SCALE = 1000.0


def cmmd_value(x, y, sigma: float = SIGMA, scale: float = SCALE) -> float:
    """Biased (V-statistic) squared MMD with k(a, b) = exp(-|a - b|^2 / (2 sigma^2)), times `scale`."""
    import numpy as np

    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    gamma = 1.0 / (2.0 * sigma**2)

    def kernel_mean(a, b):
        sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
        return float(np.exp(-gamma * sq).mean())

    return scale * (kernel_mean(x, x) + kernel_mean(y, y) - 2.0 * kernel_mean(x, y))


@register_metric
class CMMD(Metric):
    """CMMD over the English judge's image embeddings against reference embeddings by the same judge."""

    name = "cmmd"
    higher_is_better = False
    needs = ("judge-en", "refstats-judge")
    display = "CMMD"

    def settings(self, ctx) -> dict:
        return {"judge": ctx.judge_info(ctx.judge_en), "refstats": ctx.refstats("judge").summary}

    def compute(self, ctx) -> MetricResult:
        import numpy as np

        emb = ctx.features.judge_images(ctx.judge_en)
        ref = ctx.refstats("judge")
        cos_to_ref = emb.astype(np.float64) @ (ref.mu / max(np.linalg.norm(ref.mu), 1e-12))
        rows = [ctx.base_row(i) | {"cos_to_ref_mean": float(c)} for i, c in enumerate(cos_to_ref)]
        return MetricResult(value=cmmd_value(emb, ref.feats), n=len(rows), rows=rows,
                            extra={"judge": ctx.judge_en, "refstats": ref.meta["name"],
                                   "reference_n": int(ref.feats.shape[0])})
