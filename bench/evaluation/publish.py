"""Keeping results: merging a re-evaluation into the stored summary, and publishing to reports/results.

A metric's stored value goes only when that metric is recomputed on the same images; publishing is an
explicit act, and a run whose generation protocol differs from the results already published for its
prompt set and tier (a --limit, other steps, guidance, samples ...) is kept out with the reasons.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

from bench.core import paths
from bench.core.errors import BenchError

log = logging.getLogger(__name__)

# Generation settings that decide whether two runs' numbers can share a leaderboard table.
PROTOCOL_FIELDS = ("samples", "steps", "guidance", "scheduler", "seed", "negative_prompt")
# A result's volatile fields: when and how long it was evaluated (timings) and the commit of the checkout that
# evaluated it (git). They differ between two evaluations of the same images; every other byte of a result is
# reproducible (a fresh clone's demo writes it again), and the leaderboard neither shows nor hashes them.
VOLATILE = ("timings", "git")


def result_content(summary: dict[str, Any]) -> dict[str, Any]:
    """A result without its volatile fields: what it measured and how."""
    return {k: v for k, v in summary.items() if k not in VOLATILE}


def previous_metrics(run: Path, images_key: str, n_images: int) -> dict[str, Any]:
    """The metrics and timings of the run's stored summary when it scored these same images, else {}."""
    path = Path(run) / paths.RUN_SUMMARY
    if not path.is_file():
        return {}
    old = paths.read_json(path)
    # Summaries from before images_key was stored are trusted when the image count matches: run folders
    # are named by their spec, so only a resumed generation (more images) changes what they hold.
    if old.get("images_key", images_key) != images_key or old.get("n_images") != n_images:
        log.info("%s scored other images; its stored metrics are dropped", path)
        return {}
    return {"metrics": old.get("metrics", {}), "timings": (old.get("timings") or {}).get("metrics", {})}


def merge_metrics(previous: dict[str, Any], results: dict, timings: dict, skipped: dict) -> tuple[dict, dict, dict]:
    """New results over the stored ones: metrics not recomputed keep their stored value and are not 'skipped'."""
    kept = {name: value for name, value in previous.get("metrics", {}).items() if name not in results}
    merged = {name: (results.get(name) or kept[name]) for name in sorted({*results, *kept})}
    merged_timings = {}
    for name in merged:
        if name in timings:
            merged_timings[name] = timings[name]
        else:
            old = previous.get("timings", {}).get(name, {})
            merged_timings[name] = {"seconds": 0.0, "cached": True, "kept": True,
                                    **({"first_seconds": old["seconds"]} if "seconds" in old else {})}
    return merged, merged_timings, {k: v for k, v in skipped.items() if k not in merged}


def protocol(summary: dict) -> dict[str, Any]:
    """The generation settings (and prompt-set version and limit) a comparison must share."""
    spec = summary.get("spec") or {}
    prompts = spec.get("prompts") if isinstance(spec.get("prompts"), dict) else {}
    out = {name: spec.get(name) for name in PROTOCOL_FIELDS}
    out["limit"] = prompts.get("limit")
    out["prompt_set_version"] = (summary.get("prompt_set") or {}).get("version")
    return out


def _group(summary: dict) -> tuple[str, str]:
    return summary.get("tier", "real"), (summary.get("prompt_set") or {}).get("name", "?")


def comparability_problems(summary: dict, published: list[dict]) -> list[str]:
    """Why `summary` cannot join the published results of its prompt set and tier ([] when it can)."""
    peers = [s for s in published if _group(s) == _group(summary) and s.get("run_id") != summary.get("run_id")]
    if not peers:
        return []
    counts = Counter(repr(sorted(protocol(s).items())) for s in peers)
    usual_key = counts.most_common(1)[0][0]
    usual = next(protocol(s) for s in peers if repr(sorted(protocol(s).items())) == usual_key)
    mine = protocol(summary)
    problems = []
    for name in sorted(mine):
        if mine[name] != usual[name]:
            flag = "--" + name.replace("_", "-")
            problems.append(f"{flag} {mine[name]} where the {len(peers)} published {_group(summary)[1]} "
                            f"results use {usual[name]}")
    return problems


def published_path(run_id: str) -> Path:
    """reports/results/<run-id>.json."""
    return paths.result_path(run_id)


def read_published(exclude: str | None = None) -> list[dict]:
    """Every published summary (except run `exclude`)."""
    folder = paths.results_dir()
    if not folder.is_dir():
        return []
    return [paths.read_json(p) for p in sorted(folder.glob("*.json")) if p.stem != exclude]


def is_published(run_id: str) -> bool:
    """True when reports/results holds this run's summary."""
    return published_path(run_id).is_file()


def publish_summary(summary: dict) -> list[str]:
    """Copy a summary to reports/results when it is comparable; returns the reasons it was kept out ([] = written)."""
    problems = comparability_problems(summary, read_published(exclude=summary.get("run_id")))
    if problems:
        return problems
    paths.write_json(published_path(summary["run_id"]), summary)
    return []


def publish_run(run: str | Path) -> tuple[Path, list[str]]:
    """`bench publish RUN`: publish an evaluated run folder (path or run id); (file, reasons kept out)."""
    from bench.generation.runs import find_run

    folder = find_run(run)
    summary_file = folder / paths.RUN_SUMMARY
    if not summary_file.is_file():
        raise BenchError(f"{folder} has no {paths.RUN_SUMMARY}: evaluate it first "
                         f"(bench evaluate --run {folder} --publish)")
    summary = paths.read_json(summary_file)
    return published_path(summary["run_id"]), publish_summary(summary)


def not_published_message(run_id: str, problems: list[str]) -> str:
    """One line saying why a run stayed out of reports/results and what would put it there."""
    return (f"not published: {run_id} cannot be compared with the published results ({'; '.join(problems)}); "
            f"rerun with the published settings, or remove those results first")
