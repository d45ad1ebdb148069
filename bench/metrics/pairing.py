"""Pairing two runs' images: the English oracle of a run, and the images of the same prompt id and seed.

The oracle is found among the generated runs by its spec (same base, prompt set, seed and sampler
settings, system kind 'english'); two images pair only where their seeds agree.
"""

from __future__ import annotations

from pathlib import Path

from bench.core import paths

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
        from bench.generation.runs import read_run

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
