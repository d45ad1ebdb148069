"""The shared body of the reward metrics (PickScore, ImageReward, HPS v2.1): each image's reward for its
prompt by the reward judge of the run's tier, mean over images with a 95% bootstrap CI over prompts.

Embedding rewards (PickScore, HPS) reuse the run's cached image embeddings by the judge (bench.instruments.
features); ImageReward reads each image with its prompt. The judge's weights' fingerprint is in the settings,
so new weights recompute the cached scores. On the tiny tier the judges have random weights, so the metrics
run only when named (--metrics pickscore ...).
"""

from __future__ import annotations

from typing import Any

from bench.core.errors import BenchError
from bench.metrics import Metric, MetricResult, bootstrap_ci, mean


class RewardMetric(Metric):
    """A reward judge's score of (image, prompt) per image; subclasses name the judge role and text field."""

    higher_is_better = True
    role = ""  # the tier-default role naming the judge (bench.instruments.judges.TIER_DEFAULTS)
    text_field = "text_en"  # the reward models read English: the English pivot
    reads = "en"  # the language the model was trained on
    family = ""  # the key of its published accuracies (bench.instruments.rewards.PUBLISHED_ACCURACY)

    def describe(self) -> str:
        from bench.instruments.rewards import published_accuracy

        text = "the English pivot" if self.text_field == "text_en" else "the native prompt"
        outside = " (outside its languages unless the run is English)" if self.text_field == "text" else ""
        return (f"{super().describe().rstrip('.')}: reads {self.reads}, scores {text}{outside}; published preference "
                f"accuracy % {published_accuracy(self.family)}")

    def judge_name(self, ctx) -> str:
        from bench.instruments.judges import tier_default

        name = getattr(ctx, "reward_judges", {}).get(self.role) or tier_default(ctx.tier, self.role)
        if not name:
            raise BenchError(f"no {self.role} judge for tier '{ctx.tier}'")
        return name

    def by_default(self, ctx) -> str | None:
        if ctx.tier == "tiny":
            return f"tiny tier: the {self.role} judge has random weights (name it with --metrics {self.name})"
        return None

    def applicable(self, ctx) -> str | None:
        from bench.core.errors import NotAvailableOffline
        from bench.instruments.judges import JUDGES, require_available

        try:
            require_available(JUDGES.get(self.judge_name(ctx)))
        except NotAvailableOffline as exc:
            return str(exc)
        return None

    def outside_languages(self, ctx) -> bool:
        """True when the text scored is in a language the model was not trained on."""
        return self.text_field == "text" and ctx.lang != self.reads

    def settings(self, ctx) -> dict[str, Any]:
        return {"judge": ctx.judge_info(self.judge_name(ctx)), "text": self.text_field}

    def compute(self, ctx) -> MetricResult:
        from bench.instruments.judges import load_judge

        judge = self.judge_name(ctx)
        loaded: Any = load_judge(judge, ctx.device)  # a Judge or a pair-scoring reward judge
        texts = [row[self.text_field] for row in ctx.rows]
        unique = sorted(set(texts))
        flags = dict(zip(unique, loaded.truncated_flags(unique), strict=True))
        if getattr(loaded, "embeds", False):
            emb, _ = ctx.text_embeddings(judge, unique)
            position = {t: i for i, t in enumerate(unique)}
            values = loaded.scores_from_embeddings(ctx.features.judge_images(judge), emb[[position[t] for t in texts]])
        else:
            values = score_files(loaded, ctx.files, texts, judge)
        rows = [ctx.base_row(i) | {"value": float(values[i]), "truncated": bool(flags[t])}
                for i, t in enumerate(texts)]
        groups = [row["prompt_id"] for row in ctx.rows]
        extra: dict[str, Any] = {"judge": judge, "text": self.text_field, "reads": self.reads,
                                 "prompts": len(unique), "truncated_prompts": int(sum(flags.values())),
                                 "context_length": loaded.context_length}
        if self.outside_languages(ctx):
            extra["outside_languages"] = True
            extra["warnings"] = [f"{self.name}: {judge} reads {self.reads}; the {ctx.lang} text it scored is "
                                 "outside the model's languages"]
        return MetricResult(value=mean(values), n=len(rows), ci=bootstrap_ci(values, groups), rows=rows, extra=extra)


def score_files(judge, files, texts: list[str], name: str, batch: int = 16):
    """A pair-scoring judge over image files, one batch of images in memory at a time, with a progress bar."""
    import numpy as np

    from bench.core.progress import track
    from bench.instruments.features import load_images

    starts = range(0, len(files), batch)
    out = [judge.score(load_images(files[i:i + batch]), texts[i:i + batch])
           for i in track(starts, f"{name} rewards", "img", total=len(files),
                          weight=lambda i: len(files[i:i + batch]), enabled=len(starts) > 1)]
    return np.concatenate(out) if out else np.zeros(0)
