"""CLIP score, 100 * max(cos(image, text), 0), by a multilingual judge on the native prompt and an English
judge on the English pivot (the definition torchmetrics' CLIPScore implements, computed directly because
torchmetrics 1.9 breaks on transformers 5)."""

from __future__ import annotations

from bench.metrics import Metric, MetricResult, bootstrap_ci, mean, register_metric


def clip_scores(image_emb, text_emb):
    """Row-wise 100 * max(cos, 0) of unit-norm embeddings (float64)."""
    import numpy as np

    cos = np.sum(np.asarray(image_emb, np.float64) * np.asarray(text_emb, np.float64), axis=1)
    return 100.0 * np.maximum(cos, 0.0), cos


class _ClipScore(Metric):
    """Shared body: which judge and which text column differ."""

    higher_is_better = True
    text_field = "text"
    judge_role = "judge"

    def judge_name(self, ctx) -> str:
        return getattr(ctx, self.judge_role.replace("-", "_"))

    def settings(self, ctx) -> dict:
        return {"judge": ctx.judge_info(self.judge_name(ctx)), "text": self.text_field}

    def compute(self, ctx) -> MetricResult:
        judge = self.judge_name(ctx)
        texts = [row[self.text_field] for row in ctx.rows]
        unique = sorted(set(texts))
        emb, truncated_flags = ctx.text_embeddings(judge, unique)
        position = {t: i for i, t in enumerate(unique)}
        text_emb = emb[[position[t] for t in texts]]
        scores, cos = clip_scores(ctx.features.judge_images(judge), text_emb)
        rows = [ctx.base_row(i) | {"value": float(scores[i]), "cos": float(cos[i]),
                                   "truncated": bool(truncated_flags[position[t]])}
                for i, t in enumerate(texts)]
        groups = [row["prompt_id"] for row in ctx.rows]
        return MetricResult(
            value=mean(scores), n=len(rows), ci=bootstrap_ci(scores, groups), rows=rows,
            extra={"judge": judge, "text": self.text_field, "prompts": len(unique),
                   "truncated_prompts": int(sum(truncated_flags)), "context_length": ctx.context_length(judge)},
        )


@register_metric
class ClipScore(_ClipScore):
    """CLIP score of the native prompt by the multilingual judge."""

    name = "clip-score"
    needs = ("judge",)
    display = "CLIP score"


@register_metric
class ClipScoreEnglish(_ClipScore):
    """CLIP score of the English pivot by the English judge."""

    name = "clip-score-en"
    needs = ("judge-en",)
    display = "CLIP score (en)"
    text_field = "text_en"
    judge_role = "judge-en"
