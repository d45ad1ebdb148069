"""Cross-lingual consistency: does the model draw the same thing whatever the language of the prompt?

For each (prompt id, sample), the cosine between the English judge's image embeddings of a system's image
and another run's image of the same id and seed (the English oracle's, or the same system's in another
language). Runs are paired only where the seeds agree; the English oracle of a run is found among the
generated runs by its spec (same base, prompt set, seed and sampler settings, system kind 'english').
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.metrics.pairing import cosines, pair_rows


def run_consistency(run_a: Path, run_b: Path, judge: str, device: str = "cpu") -> dict[str, Any]:
    """Mean cosine (95% prompt-bootstrap CI, n) between two runs' images of the same id and seed."""
    from bench.generation.runs import read_run
    from bench.instruments.features import RunFeatures
    from bench.stats.paired import bootstrap_ci

    a, b = read_run(run_a), read_run(run_b)
    pairs = pair_rows(a.rows, b.rows)
    if not pairs:
        from bench.core.errors import BenchError

        raise BenchError(f"runs {a.id} and {b.id} share no (prompt id, sample) with the same seed")
    emb_a = RunFeatures(a.path, a.files, device=device).judge_images(judge)
    emb_b = RunFeatures(b.path, b.files, device=device).judge_images(judge)
    cos = cosines(emb_a, emb_b, pairs)
    groups = [a.rows[i]["prompt_id"] for i, _ in pairs]
    ci = bootstrap_ci(cos, groups)
    return {"value": float(cos.mean()), "ci": list(ci) if ci else None, "n": len(pairs),
            "prompts": len(set(groups)), "judge": judge}
