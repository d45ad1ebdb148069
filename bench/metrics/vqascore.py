"""VQAScore: P("Yes") from the VQA judge asked whether the image shows the prompt (bench.instruments.vqa).

`vqascore` asks in the prompt's own language about the native prompt (the question from the language table);
`vqascore-en` asks VQAScore's English question about the English pivot. The value is the mean over images,
with a prompt-bootstrap 95% CI.
"""

from __future__ import annotations

from bench.metrics import Metric, MetricResult, bootstrap_ci, mean, register_metric


def unless_named(ctx) -> str | None:
    """Why a VQA metric is left out of a default evaluation: its multi-gigabyte judge is opt-in."""
    if getattr(ctx, "vqa_judge_named", False):
        return None
    return "no --vqa-judge given (a vision-language model; the prompt set names none)"


class _VqaScore(Metric):
    higher_is_better = True
    needs = ("vqa-judge",)
    english = False
    text_field = "text"

    def asked_in(self, ctx) -> str:
        return "en" if self.english else ctx.lang

    def by_default(self, ctx) -> str | None:
        return unless_named(ctx)

    def applicable(self, ctx) -> str | None:
        from bench.core.errors import BenchError
        from bench.instruments.vqa import question

        try:
            question(self.asked_in(ctx), "text")
        except BenchError as exc:
            return str(exc)
        return None

    def settings(self, ctx) -> dict:
        from bench.instruments.vqa import templates_key

        return {"judge": ctx.judge_info(ctx.vqa_judge), "text": self.text_field,
                "question": templates_key(self.asked_in(ctx))["question"], "answer": templates_key("en")["answer"]}

    def compute(self, ctx) -> MetricResult:
        from bench.instruments.vqa import ANSWER, ask, question

        lang = self.asked_in(ctx)
        texts = [row[self.text_field] for row in ctx.rows]
        probs = ctx.vqa_answers([(i, ask(lang, t)) for i, t in enumerate(texts)])
        rows = [ctx.base_row(i) | {"value": p} for i, p in enumerate(probs)]
        groups = [row["prompt_id"] for row in ctx.rows]
        return MetricResult(
            value=mean(probs), n=len(rows), ci=bootstrap_ci(probs, groups), rows=rows,
            extra={"judge": ctx.vqa_judge, "text": self.text_field, "asked_in": lang,
                   "question": question(lang, "text"), "answer": ANSWER},
        )


@register_metric
class VqaScore(_VqaScore):
    """P("Yes") of the VQA judge asked, in the prompt's language, whether the image shows the native prompt."""

    name = "vqascore"
    display = "VQAScore"


@register_metric
class VqaScoreEnglish(_VqaScore):
    """P("Yes") of the VQA judge asked, in English, whether the image shows the English pivot."""

    name = "vqascore-en"
    display = "VQAScore (en)"
    english = True
    text_field = "text_en"
