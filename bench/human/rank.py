"""Rankings from votes (Bradley-Terry, overall and per annotator group) and each metric's agreement with them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from bench.core import paths
from bench.core.errors import BenchError
from bench.human import bt
from bench.human.studies import get_study, study_systems
from bench.human.tasks import OUTCOME
from bench.human.votes import check_scores, vote_records

GROUPS = ("all", "native", "others")


def _ranking(systems: list[str], votes: list[dict], n_boot: int, seed: int) -> dict:
    index = {s: k for k, s in enumerate(systems)}
    ranking = bt.rank(systems, [index[v["left_system"]] for v in votes], [index[v["right_system"]] for v in votes],
                      [OUTCOME[v["answer"]] for v in votes], n_boot=n_boot, seed=seed)
    return {"votes": len(votes), "annotators": len({v["annotator_id"] for v in votes}), "systems": ranking}


def per_image_scores(run_id: str) -> dict[str, dict]:
    """metric -> {higher_is_better, values: {(prompt_id, sample): value}} from a run's scores/*.parquet."""
    import polars as pl

    run = paths.run_dir(run_id)
    summary_file = run / paths.RUN_SUMMARY
    summary = paths.read_json(summary_file) if summary_file.is_file() else {}
    out = {}
    for name, result in (summary.get("metrics") or {}).items():
        file = paths.run_scores_path(run, name)
        if not file.is_file():
            continue
        frame = pl.read_parquet(file)
        if not {"prompt_id", "sample", "value"} <= set(frame.columns) or frame.height == 0:
            continue  # a set metric (FID, KID, CMMD): no per-image value to compare
        values = {(r["prompt_id"], int(r["sample"])): float(r["value"]) for r in frame.iter_rows(named=True)
                  if r["value"] is not None}
        out[name] = {"higher_is_better": bool(result.get("higher_is_better", True)),
                     "display": result.get("display", name), "values": values}
    return out


def agreement(votes: list[dict], scores: dict[str, dict[str, dict]], human: dict[str, float], n_boot: int,
              seed: int) -> dict[str, dict]:
    """Per metric: share of decided votes whose winner the metric also prefers (its ties count half), with a
    bootstrap interval over votes, and Kendall's tau between the metric's and the people's system ranking."""
    from scipy.stats import kendalltau

    metrics = sorted(set.intersection(*(set(s) for s in scores.values()))) if scores else []
    decided = [v for v in votes if v["answer"] in ("left", "right")]
    rng = np.random.default_rng(seed)
    out = {}
    for metric in metrics:
        sign = 1.0 if next(iter(scores.values()))[metric]["higher_is_better"] else -1.0
        hits = []
        for v in decided:
            key = (v["prompt_id"], int(v["sample"]))
            left = scores[v["left_system"]][metric]["values"].get(key)
            right = scores[v["right_system"]][metric]["values"].get(key)
            if left is None or right is None:
                continue
            diff = sign * (left - right) * (1 if v["answer"] == "left" else -1)
            hits.append(1.0 if diff > 0 else 0.5 if diff == 0 else 0.0)
        hits_arr = np.array(hits)
        value = float(hits_arr.mean()) if len(hits) else None
        ci = None
        if len(hits) > 1:
            boots = hits_arr[rng.integers(0, len(hits), (n_boot, len(hits)))].mean(axis=1)
            ci = [float(x) for x in np.quantile(boots, [0.025, 0.975])]
        systems = sorted(human)
        means = [sign * float(np.mean(list(scores[s][metric]["values"].values()))) for s in systems]
        tau = float(kendalltau(means, [human[s] for s in systems]).statistic) if len(systems) > 1 else None
        out[metric] = {"display": next(iter(scores.values()))[metric]["display"], "agreement": value, "ci": ci,
                       "n": len(hits), "kendall_tau": None if tau is None or np.isnan(tau) else tau,
                       "metric_means": dict(zip(systems, [sign * m for m in means], strict=True))}
    return out


def rank_study(conn: sqlite3.Connection, study_id: str, include_flagged: bool = False, n_boot: int = 1000,
               seed: int = 0) -> dict:
    """Rankings overall and per annotator group (native speakers of the study's language vs others), the
    attention-check summary, and each automatic metric's agreement with the overall ranking."""
    if n_boot < 1:
        raise BenchError("--bootstrap must be at least 1")
    study = get_study(conn, study_id)
    systems_runs = study_systems(conn, study_id)
    systems = sorted(systems_runs)
    checks = check_scores(conn, study_id)
    flagged = {a for a, s in checks.items() if s["flagged"]}
    records = vote_records(conn, study_id)
    pair_votes = [v for v in records if v["kind"] == "pair" and (include_flagged or v["annotator_id"] not in flagged)]
    groups = {
        "all": pair_votes,
        "native": [v for v in pair_votes if v["annotator_level"] == "native"],
        "others": [v for v in pair_votes if v["annotator_level"] != "native"],
    }
    rankings = {name: _ranking(systems, votes, n_boot, seed) for name, votes in groups.items()}
    human = {r["system"]: r["score"] for r in rankings["all"]["systems"]}
    scores = {s: per_image_scores(run) for s, run in systems_runs.items()}
    return {
        "study": study_id, "prompt_set": study["prompt_set"], "lang": study["lang"], "runs": systems_runs,
        "oracle": study["oracle"], "include_flagged": include_flagged, "bootstrap": n_boot,
        "annotators": {"invited": len(checks), "voted": len({v["annotator_id"] for v in records}),
                       "flagged": len(flagged), "excluded": 0 if include_flagged else len(flagged)},
        "attention_checks": {"answered": sum(s["checks"] for s in checks.values()),
                             "passed": sum(s["passed"] for s in checks.values()),
                             "threshold": study["check_threshold"]},
        "rankings": rankings,
        "agreement": agreement(pair_votes, scores, human, n_boot, seed) if pair_votes else {},
    }


def human_dir() -> Path:
    """reports/human/: rankings (<study>.json) and exported votes."""
    return paths.human_dir()


def write_ranking(result: dict) -> Path:
    """reports/human/<study>.json, which the leaderboard reads."""
    return paths.write_json(paths.human_ranking_path(result["study"]), result)
