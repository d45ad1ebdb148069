"""What evaluation adds to a run's summary for paired comparisons: the images (prompt id, sample, seed,
category) and each per-image metric's scores in that order, plus per-category values with CIs.

The leaderboard reads only reports/results/*.json, so the per-image scores travel in the summary; a
few numbers per image keep it small (a 210-prompt x 4-sample run adds about 30 kB per metric).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.core import paths

# The per-image column that holds a metric's score, in the order tried ("correct" is culture accuracy's).
VALUE_COLUMNS = ("value", "correct")
DECIMALS = 6  # enough for any score here; keeps the JSON short


def read_scores(run: Path, metric: str) -> dict[str, float] | None:
    """file -> per-image score from scores/<metric>.parquet, None for a set-level metric (no score column)."""
    import polars as pl

    table = paths.run_scores_path(run, metric)
    if not table.is_file():
        return None
    frame = pl.read_parquet(table)
    column = next((c for c in VALUE_COLUMNS if c in frame.columns), None)
    if column is None or "file" not in frame.columns:
        return None
    return {f: (None if v is None else round(float(v), DECIMALS))
            for f, v in zip(frame["file"].to_list(), frame[column].to_list(), strict=True)}


def per_image_section(run: Path, rows: list[dict], metrics: list[str]) -> tuple[dict, dict]:
    """(images, scores): the run's images as parallel lists and, per per-image metric, one score per image."""
    images = {
        "prompt_id": [r["prompt_id"] for r in rows],
        "sample": [int(r["sample"]) for r in rows],
        "seed": [r.get("seed") for r in rows],
        "category": [r.get("category") or "" for r in rows],
    }
    scores = {}
    for metric in metrics:
        by_file = read_scores(run, metric)
        if by_file is not None:
            scores[metric] = [by_file.get(r["file"]) for r in rows]
    return images, scores


def per_category(values: list[float | None], images: dict) -> dict[str, dict[str, Any]]:
    """Mean, 95% prompt-bootstrap CI and n per category, over the images that have a score."""
    from bench.metrics import bootstrap_ci, mean

    out = {}
    cats = images["category"]
    for cat in sorted({c for c in cats if c}):
        idx = [i for i, c in enumerate(cats) if c == cat and values[i] is not None]
        if not idx:
            continue
        vals = [values[i] for i in idx]
        ci = bootstrap_ci(vals, [images["prompt_id"][i] for i in idx])
        out[cat] = {"value": mean(vals), "ci": list(ci) if ci else None, "n": len(idx),
                    "prompts": len({images["prompt_id"][i] for i in idx})}
    return out


def add_to_summary(summary: dict, run: Path, rows: list[dict]) -> dict:
    """Put the per-image section into `summary` and per-category values into each metric that lacks them."""
    images, scores = per_image_section(run, rows, sorted(summary.get("metrics", {})))
    summary["images"] = images
    summary["scores"] = scores
    if any(images["category"]):
        for metric, values in scores.items():
            result = summary["metrics"][metric]
            if not result.get("per_category"):
                result["per_category"] = per_category(values, images)
    return summary
