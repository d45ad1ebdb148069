"""Cross-lingual consistency: does the model draw the same thing whatever the language of the prompt?

For each (prompt id, sample), the cosine between the English judge's image embeddings of a system's image
and another run's image of the same id and seed (the English oracle's, or the same system's in another
language). Runs are paired only where the seeds agree; the English oracle of a run is found among the
generated runs by its spec (same base, prompt set, seed and sampler settings, system kind 'english').
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import paths

# Spec fields two runs must share for their images of one (prompt id, sample) to be comparable.
SAMPLER_FIELDS = ("seed", "samples", "steps", "guidance", "scheduler", "size", "tier")


def system_info(spec: dict) -> dict:
    """The spec's system block ({} when the spec predates it)."""
    model = spec.get("model")
    system = model.get("system") if isinstance(model, dict) else None
    return system if isinstance(system, dict) else {}


def prompt_set_name(spec: dict) -> str:
    value = spec.get("prompts") or spec.get("prompt_set") or {}
    return value.get("name", "") if isinstance(value, dict) else str(value)


def is_oracle(spec: dict) -> bool:
    """True for an English-prompt run of an English model (system kind 'english', or language en)."""
    kind = system_info(spec).get("kind")
    return kind == "english" if kind else spec.get("lang") == "en"


def find_oracle(spec: dict, runs: Path | None = None, rows: list[dict] | None = None) -> Path | None:
    """The English oracle's run folder matching `spec` (same base, prompt set and sampler settings), or None;
    given the run's `rows`, the candidate sharing most (prompt id, sample, seed) with them."""
    runs = runs or paths.runs_dir()
    if not runs.is_dir():
        return None
    base = system_info(spec).get("base")
    found = []
    for folder in sorted(runs.iterdir()):
        candidate = folder / paths.RUN_SPEC
        if not candidate.is_file() or not (folder / paths.RUN_METADATA).is_file():
            continue
        other = paths.read_json(candidate)
        if not is_oracle(other) or prompt_set_name(other) != prompt_set_name(spec):
            continue
        if base and system_info(other).get("base") not in (None, base):
            continue
        if all(other.get(f) == spec.get(f) for f in SAMPLER_FIELDS):
            found.append(folder)
    if len(found) > 1 and rows:  # several (e.g. other --limit): the one that pairs with most of the run's images
        from bench.evaluate import read_run

        return max(found, key=lambda f: (len(pair_rows(rows, read_run(f).rows)), f.name))
    return found[0] if found else None


def pair_rows(rows_a: list[dict], rows_b: list[dict]) -> list[tuple[int, int]]:
    """Index pairs (i in A, j in B) of the same prompt id and sample with the same seed."""
    index = {(r["prompt_id"], int(r["sample"])): j for j, r in enumerate(rows_b)}
    pairs = []
    for i, r in enumerate(rows_a):
        j = index.get((r["prompt_id"], int(r["sample"])))
        if j is not None and r.get("seed") == rows_b[j].get("seed"):
            pairs.append((i, j))
    return pairs


def cosines(emb_a, emb_b, pairs: list[tuple[int, int]]):
    """Row-wise cosine of unit-norm embeddings for each index pair (float64)."""
    import numpy as np

    a = np.asarray(emb_a, np.float64)[[i for i, _ in pairs]]
    b = np.asarray(emb_b, np.float64)[[j for _, j in pairs]]
    a /= np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b /= np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return np.sum(a * b, axis=1)


def run_consistency(run_a: Path, run_b: Path, judge: str, device: str = "cpu") -> dict[str, Any]:
    """Mean cosine (95% prompt-bootstrap CI, n) between two runs' images of the same id and seed."""
    from bench.features import RunFeatures
    from bench.runs import read_run
    from bench.stats.paired import bootstrap_ci

    a, b = read_run(run_a), read_run(run_b)
    pairs = pair_rows(a.rows, b.rows)
    if not pairs:
        from bench.errors import BenchError

        raise BenchError(f"runs {a.id} and {b.id} share no (prompt id, sample) with the same seed")
    emb_a = RunFeatures(a.path, a.files, device=device).judge_images(judge)
    emb_b = RunFeatures(b.path, b.files, device=device).judge_images(judge)
    cos = cosines(emb_a, emb_b, pairs)
    groups = [a.rows[i]["prompt_id"] for i, _ in pairs]
    ci = bootstrap_ci(cos, groups)
    return {"value": float(cos.mean()), "ci": list(ci) if ci else None, "n": len(pairs),
            "prompts": len(set(groups)), "judge": judge}
