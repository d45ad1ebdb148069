"""Consistency with the English oracle: the cosine between the English judge's embeddings of a system's
image and the oracle's image of the same prompt id and seed (bench.metrics.pairing). 1 means the
same picture; it scores no text, so it answers 'is the picture the one English would give?'."""

from __future__ import annotations

from bench.metrics import Metric, MetricResult, bootstrap_ci, mean, register_metric


@register_metric
class OracleConsistency(Metric):
    """Image-embedding cosine to the English oracle's image of the same prompt id and seed."""

    name = "consistency"
    higher_is_better = True
    needs = ("judge-en",)
    display = "consistency with the English oracle (image cosine)"

    def _oracle(self, ctx):
        from bench.metrics.pairing import find_oracle, is_oracle

        if is_oracle(ctx.run.spec):
            return None, "the run is the English oracle itself"
        folder = find_oracle(ctx.run.spec, rows=ctx.rows)
        if folder is None:
            return None, "no English oracle run with the same prompt set, base, seed and sampler (generate it first)"
        return folder, None

    def applicable(self, ctx) -> str | None:
        return self._oracle(ctx)[1]

    def settings(self, ctx) -> dict:
        from bench.generation.runs import read_run
        from bench.instruments.features import files_key

        folder, _ = self._oracle(ctx)
        oracle = read_run(folder)
        return {"judge": ctx.judge_info(ctx.judge_en), "oracle": oracle.id, "oracle_images": files_key(oracle.files)}

    def compute(self, ctx) -> MetricResult:
        from bench.generation.runs import read_run
        from bench.instruments.features import RunFeatures
        from bench.metrics.pairing import cosines, pair_rows

        folder, why = self._oracle(ctx)
        oracle = read_run(folder)
        pairs = pair_rows(ctx.rows, oracle.rows)
        emb = ctx.features.judge_images(ctx.judge_en)
        oracle_emb = RunFeatures(oracle.path, oracle.files, ctx.mode, ctx.device).judge_images(ctx.judge_en)
        cos = cosines(emb, oracle_emb, pairs) if pairs else []
        rows = [ctx.base_row(i) | {"value": float(c), "oracle_file": oracle.rows[j]["file"]}
                for (i, j), c in zip(pairs, cos, strict=True)]
        groups = [ctx.rows[i]["prompt_id"] for i, _ in pairs]
        return MetricResult(value=mean(list(cos)), n=len(rows), ci=bootstrap_ci(list(cos), groups), rows=rows,
                            extra={"judge": ctx.judge_en, "oracle": oracle.id, "unpaired": len(ctx.rows) - len(rows)})
