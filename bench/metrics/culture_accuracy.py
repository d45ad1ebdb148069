"""Culture accuracy: does the judge pick the prompt's concept among the concept and its look-alike
confusers (zero-shot top-1 over their labels)? Overall and per category, with 95% bootstrap CIs.

The multilingual judge reads native labels, the English judge English labels (bare labels, no
template, so no language is favoured by an English "a photo of"). A tie for the highest similarity
(two candidates with the same label, or equal embeddings) counts as wrong: the true concept is listed
first, and an argmax would otherwise give it every tie.
"""

from __future__ import annotations

from bench.core.errors import BenchError
from bench.metrics import Metric, MetricResult, bootstrap_ci, mean, register_metric


def concept_label(concept, lang: str, english: bool) -> str:
    """The label a judge reads: English, or native (a per-language `labels` mapping wins when a table has one)."""
    if english:
        return concept.label_en
    labels = getattr(concept, "labels", None)
    if isinstance(labels, dict) and labels.get(lang):
        return labels[lang]
    return concept.label_native


def top1(image_emb, label_emb, candidates: list[list[int]]) -> list[tuple[int, int]]:
    """Per image: index (within its candidate list) of the most similar label, and how many candidates share
    that highest similarity (more than 1 is a tie, e.g. two concepts with the same label)."""
    import numpy as np

    sims = np.asarray(image_emb, np.float64) @ np.asarray(label_emb, np.float64).T
    out = []
    for i, cand in enumerate(candidates):
        row = sims[i, cand]
        best = int(np.argmax(row))
        out.append((best, int(np.sum(row == row[best]))))
    return out


def per_category(values: list[float], groups: list[str], cats: list[str]) -> dict[str, dict]:
    """Per category: mean, 95% prompt-bootstrap CI and n of per-image values."""
    out = {}
    for cat in sorted(set(cats)):
        idx = [k for k, c in enumerate(cats) if c == cat]
        vals = [values[k] for k in idx]
        ci = bootstrap_ci(vals, [groups[k] for k in idx])
        out[cat] = {"value": mean(vals), "ci": list(ci) if ci else None, "n": len(idx)}
    return out


def is_correct(pick: int, tied: int) -> bool:
    """Right only when the true concept (index 0) alone has the highest similarity: a tie never counts."""
    return pick == 0 and tied == 1


class _CultureAccuracy(Metric):
    higher_is_better = True
    version = 2  # 2: ties count as wrong
    english = False
    judge_role = "judge"

    def judge_name(self, ctx) -> str:
        return ctx.judge_en if self.english else ctx.judge

    def applicable(self, ctx) -> str | None:
        if not any(row.get("concept") for row in ctx.rows):
            return "the run's prompts name no concepts (use a culture prompt set)"
        return None

    def settings(self, ctx) -> dict:
        return {"judge": ctx.judge_info(self.judge_name(ctx)), "concepts": ctx.concepts_hash(),
                "english_labels": self.english}

    def compute(self, ctx) -> MetricResult:
        concepts = ctx.concepts()
        judge = self.judge_name(ctx)
        scored = [i for i, row in enumerate(ctx.rows) if row.get("concept")]
        label_ids: list[str] = []
        candidates: list[list[int]] = []
        position: dict[str, int] = {}
        for i in scored:
            row = ctx.rows[i]
            ids = [row["concept"], *[c for c in (row.get("confusers") or []) if c != row["concept"]]]
            for cid in ids:
                if cid not in concepts:
                    raise BenchError(f"{row['file']}: concept '{cid}' is not in the concept table of "
                                     f"prompt set '{ctx.prompt_set}'")
                if cid not in position:
                    position[cid] = len(label_ids)
                    label_ids.append(cid)
            candidates.append([position[c] for c in ids])
        labels = [concept_label(concepts[c], ctx.lang, self.english) for c in label_ids]
        label_emb, truncated = ctx.text_embeddings(judge, labels)
        image_emb = ctx.features.judge_images(judge)[scored]
        picks = top1(image_emb, label_emb, candidates)
        rows, correct, groups, cats = [], [], [], []
        ties = 0
        for k, i in enumerate(scored):
            row = ctx.rows[i]
            pick, tied = picks[k]
            hit = is_correct(pick, tied)
            ties += tied > 1
            chosen = label_ids[candidates[k][pick]] if tied == 1 else ""
            rows.append(ctx.base_row(i) | {"concept": row["concept"], "category": row.get("category") or "",
                                           "predicted": chosen, "correct": hit, "tied": tied,
                                           "candidates": len(candidates[k])})
            correct.append(1.0 if hit else 0.0)
            groups.append(row["prompt_id"])
            cats.append(row.get("category") or "")
        chance = mean([1.0 / len(c) for c in candidates])
        return MetricResult(
            value=mean(correct), n=len(rows), ci=bootstrap_ci(correct, groups), rows=rows,
            extra={"judge": judge, "labels": "en" if self.english else "native", "chance": chance,
                   "per_category": per_category(correct, groups, cats), "truncated_labels": int(sum(truncated)), "ties": int(ties)},
        )


@register_metric
class CultureAccuracy(_CultureAccuracy):
    """Zero-shot top-1 accuracy of the multilingual judge over native concept labels."""

    name = "culture-accuracy"
    needs = ("judge", "concepts")
    display = "culture accuracy"


@register_metric
class CultureAccuracyEnglish(_CultureAccuracy):
    """Zero-shot top-1 accuracy of the English judge over English concept labels."""

    name = "culture-accuracy-en"
    needs = ("judge-en", "concepts")
    display = "culture accuracy (en)"
    english = True
