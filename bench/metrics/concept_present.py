"""Concept present: the share of culture images whose true concept gets P("Yes") > 0.5 from the VQA judge asked,
in the prompt's language, whether the image shows it (the question and labels culture-vqa asks with)."""

from __future__ import annotations

from bench.metrics import MetricResult, register_metric
from bench.metrics.culture_vqa import ConceptQuestionMetric, concept_probabilities

THRESHOLD = 0.5


@register_metric
class ConceptPresent(ConceptQuestionMetric):
    """Share of culture images whose concept gets P("Yes") > 0.5 from the VQA judge, asked in the prompt's language."""

    name = "concept-present"
    display = "concept present"

    def compute(self, ctx) -> MetricResult:
        rows, values = [], []
        for i, _ids, probs in concept_probabilities(ctx):
            present = probs[0] > THRESHOLD
            row = ctx.rows[i]
            rows.append(ctx.base_row(i) | {"index": i, "concept": row["concept"],
                                           "category": row.get("category") or "", "p_true": probs[0],
                                           "present": present, "value": 1.0 if present else 0.0})
            values.append(1.0 if present else 0.0)
        return self.result(ctx, rows, values, {"threshold": THRESHOLD})
