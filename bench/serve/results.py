"""What the results browser shows: runs, prompts, images and per-image scores, read from the run folders."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.core import paths
from bench.core.errors import BenchError


@dataclass
class RunView:
    """One run folder: spec fields, metadata rows keyed by (prompt id, sample), per-image scores."""

    run_id: str
    system: str
    prompt_set: str
    lang: str
    tier: str
    rows: dict[tuple[str, int], dict]
    summary: dict = field(default_factory=dict)
    scores: dict[str, dict[tuple[str, int], float]] = field(default_factory=dict)
    higher: dict[str, bool] = field(default_factory=dict)


def _stamp(folder: Path) -> tuple:
    """Changes whenever the run's metadata, summary or scores change (cache key)."""
    files = [folder / paths.RUN_METADATA, folder / paths.RUN_SUMMARY, *sorted(paths.run_scores_dir(folder).glob("*.parquet"))]
    return tuple((f.name, f.stat().st_mtime_ns) for f in files if f.is_file())


@functools.lru_cache(maxsize=512)
def _load(folder: str, stamp: tuple) -> RunView | None:
    import polars as pl

    from bench.generation.runs import read_run

    try:
        run = read_run(Path(folder))
    except BenchError:
        return None
    view = RunView(run.id, run.system, run.prompt_set.get("name", "?"), run.lang, run.tier,
                   {(r["prompt_id"], int(r["sample"])): r for r in run.rows})
    summary_file = Path(folder) / paths.RUN_SUMMARY
    if summary_file.is_file():
        view.summary = json.loads(summary_file.read_text(encoding="utf-8"))
    for name, result in (view.summary.get("metrics") or {}).items():
        file = paths.run_scores_path(Path(folder), name)
        if not file.is_file():
            continue
        frame = pl.read_parquet(file)
        if {"prompt_id", "sample", "value"} <= set(frame.columns) and frame.height:
            view.scores[name] = {(r["prompt_id"], int(r["sample"])): r["value"] for r in
                                 frame.select("prompt_id", "sample", "value").iter_rows(named=True)
                                 if r["value"] is not None}
            view.higher[name] = bool(result.get("higher_is_better", True))
    return view


def runs() -> list[RunView]:
    """Every readable run under BENCH_HOME/runs."""
    root = paths.runs_dir()
    if not root.is_dir():
        return []
    out = []
    for folder in sorted(p for p in root.iterdir() if (p / paths.RUN_SPEC).is_file()):
        view = _load(str(folder), _stamp(folder))
        if view is not None:
            out.append(view)
    return out


def get_run(run_id: str) -> RunView | None:
    """A run by id (checked as one safe path component), or None."""
    try:
        folder = paths.run_dir(run_id)
    except BenchError:
        return None
    if not (folder / paths.RUN_SPEC).is_file():
        return None
    return _load(str(folder), _stamp(folder))


def runs_for(prompt_set: str, lang: str) -> list[RunView]:
    """Runs of a prompt set in a language, plus its English runs (the oracle) when the language is not English."""
    return [r for r in runs() if r.prompt_set == prompt_set and r.lang in {lang, "en"}]


def prompt_table(prompt_set: str, lang: str) -> list[dict]:
    """Prompts of the set in the language, from its runs' metadata: id, text, gloss, concept, category."""
    table: dict[str, dict] = {}
    for run in sorted(runs_for(prompt_set, lang), key=lambda r: r.lang != lang):  # native text first
        for (pid, _), row in run.rows.items():
            table.setdefault(pid, {"prompt_id": pid, "text": row.get("text", ""), "text_en": row.get("text_en", ""),
                                   "concept": row.get("concept"), "category": row.get("category"),
                                   "confusers": row.get("confusers") or []})
    return [table[k] for k in sorted(table)]


def disagreement(prompt_set: str, lang: str) -> dict[str, float]:
    """Per prompt, how much the metrics disagree on the order of systems: mean over metric pairs of
    (1 - Kendall's tau) / 2 between their per-prompt system scores (0: same order, 1: reversed)."""
    from scipy.stats import kendalltau

    views = runs_for(prompt_set, lang)
    metrics = sorted({m for v in views for m in v.scores})
    per_prompt: dict[str, dict[str, list[float]]] = {}
    for metric in metrics:
        having = [v for v in views if metric in v.scores]
        if len(having) < 2:
            continue
        for pid in {p for v in having for p, _ in v.scores[metric]}:
            means: list[float] = []
            for v in having:
                vals = [x for (p, _), x in v.scores[metric].items() if p == pid]
                means.append(float(np.mean(vals)) * (1 if v.higher[metric] else -1) if vals else float("nan"))
            per_prompt.setdefault(pid, {})[metric] = means
    out = {}
    for pid, by_metric in per_prompt.items():
        names = sorted(by_metric)
        taus = []
        for a in range(len(names)):
            for b in range(a + 1, len(names)):
                x, y = np.array(by_metric[names[a]]), np.array(by_metric[names[b]])
                ok = ~(np.isnan(x) | np.isnan(y))
                if ok.sum() >= 2 and len(set(x[ok])) > 1 and len(set(y[ok])) > 1:
                    taus.append(kendalltau(x[ok], y[ok]).statistic)
        if taus:
            out[pid] = float(np.mean([(1 - t) / 2 for t in taus]))
    return out


def prompt_images(prompt_set: str, lang: str, prompt_id: str) -> list[dict]:
    """Per run of the set: its system and language, and each sample's image key and per-image scores."""
    out = []
    for v in sorted(runs_for(prompt_set, lang), key=lambda r: (r.lang != lang, r.system)):
        samples = sorted(s for p, s in v.rows if p == prompt_id)
        if not samples:
            continue
        out.append({"run_id": v.run_id, "system": v.system, "lang": v.lang, "samples": [
            {"sample": s, "scores": {m: v.scores[m][(prompt_id, s)] for m in sorted(v.scores)
                                     if (prompt_id, s) in v.scores[m]}} for s in samples]})
    return out


def image_file(run_id: str, prompt_id: str, sample: int) -> Path | None:
    """The image of a run's (prompt, sample) as its metadata names it; None when there is none."""
    view = get_run(run_id)
    row = view.rows.get((prompt_id, sample)) if view else None
    if row is None:
        return None
    folder = paths.run_dir(run_id).resolve()
    path = (folder / row["file"]).resolve()
    return path if folder in path.parents and path.is_file() else None
