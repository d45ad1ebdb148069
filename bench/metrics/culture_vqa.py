"""Culture VQA: the VQA judge is asked, in the prompt's language, whether the image shows each candidate
concept (the prompt's concept and its look-alike confusers); an image is right when the true concept's
P("Yes") is strictly the highest (a tie counts as wrong, as in culture accuracy). Overall and per category,
with 95% prompt-bootstrap CIs.

Labels are the concept table's in the prompt's language (English labels for English runs); the question is
the language table's concept question (bench.core.languages vqa_concept).
"""

from __future__ import annotations

from bench.core.errors import BenchError
from bench.metrics import Metric, MetricResult, bootstrap_ci, mean, register_metric
from bench.metrics.culture_accuracy import concept_label, per_category
from bench.metrics.vqascore import unless_named


def concept_candidates(ctx) -> list[tuple[int, list[str]]]:
    """(image index, [true concept, *confusers]) for every image whose prompt names a concept."""
    concepts = ctx.concepts()
    out = []
    for i, row in enumerate(ctx.rows):
        if not row.get("concept"):
            continue
        ids = [row["concept"], *[c for c in (row.get("confusers") or []) if c != row["concept"]]]
        for cid in ids:
            if cid not in concepts:
                raise BenchError(f"{row['file']}: concept '{cid}' is not in the concept table of "
                                 f"prompt set '{ctx.prompt_set}'")
        out.append((i, ids))
    return out


def concept_probabilities(ctx) -> list[tuple[int, list[str], list[float]]]:
    """Per concept image: its index, candidates and the judge's P("Yes") for each candidate's question."""
    from bench.instruments.vqa import ask_concept

    concepts = ctx.concepts()
    english = ctx.lang == "en"
    items = concept_candidates(ctx)
    pairs = [(i, ask_concept(ctx.lang, concept_label(concepts[c], ctx.lang, english)))
             for i, ids in items for c in ids]
    probs = ctx.vqa_answers(pairs)
    out, k = [], 0
    for i, ids in items:
        out.append((i, ids, probs[k:k + len(ids)]))
        k += len(ids)
    return out


def strict_top(probs: list[float]) -> tuple[int, int]:
    """Index of the highest P("Yes") and how many candidates share it (more than 1 is a tie)."""
    best = max(range(len(probs)), key=lambda j: probs[j])
    return best, sum(1 for p in probs if p == probs[best])


class ConceptQuestionMetric(Metric):
    """Shared body of the metrics that ask the VQA judge about each candidate concept of a culture prompt."""

    higher_is_better = True
    needs = ("vqa-judge", "concepts")

    def by_default(self, ctx) -> str | None:
        return unless_named(ctx)

    def applicable(self, ctx) -> str | None:
        from bench.instruments.vqa import question

        if not any(row.get("concept") for row in ctx.rows):
            return "the run's prompts name no concepts (use a culture prompt set)"
        try:
            question(ctx.lang, "concept")
        except BenchError as exc:
            return str(exc)
        return None

    def settings(self, ctx) -> dict:
        from bench.instruments.vqa import templates_key

        return {"judge": ctx.judge_info(ctx.vqa_judge), "concepts": ctx.concepts_hash(),
                "question": templates_key(ctx.lang)["concept"], "answer": templates_key(ctx.lang)["answer"],
                "english_labels": ctx.lang == "en"}

    def result(self, ctx, rows: list[dict], values: list[float], extra: dict) -> MetricResult:
        """Mean, CI and per-category table of per-image 0/1 values."""
        from bench.instruments.vqa import question

        groups = [ctx.rows[r["index"]]["prompt_id"] for r in rows]
        cats = [r["category"] for r in rows]
        for r in rows:
            del r["index"]
        return MetricResult(value=mean(values), n=len(rows), ci=bootstrap_ci(values, groups), rows=rows,
                            extra={"judge": ctx.vqa_judge, "question": question(ctx.lang, "concept"),
                                   "labels": "en" if ctx.lang == "en" else "native",
                                   "per_category": per_category(values, groups, cats), **extra})


@register_metric
class CultureVqa(ConceptQuestionMetric):
    """Share of culture images whose concept gets strictly the highest P("Yes") among its confusers, asked in the prompt's language."""

    name = "culture-vqa"
    display = "culture VQA"

    def compute(self, ctx) -> MetricResult:
        rows, values, ties, chance = [], [], 0, []
        for i, ids, probs in concept_probabilities(ctx):
            best, tied = strict_top(probs)
            hit = best == 0 and tied == 1
            ties += tied > 1
            chance.append(1.0 / len(ids))
            row = ctx.rows[i]
            rows.append(ctx.base_row(i) | {
                "index": i, "concept": row["concept"], "category": row.get("category") or "",
                "predicted": ids[best] if tied == 1 else "", "correct": hit, "value": 1.0 if hit else 0.0,
                "tied": tied, "candidates": len(ids), "p_true": probs[0],
                "p_best_confuser": max(probs[1:]) if len(probs) > 1 else None})
            values.append(1.0 if hit else 0.0)
        return self.result(ctx, rows, values, {"chance": mean(chance), "ties": ties})
