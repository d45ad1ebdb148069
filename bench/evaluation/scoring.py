"""Scoring one run: which metrics apply, each metric computed or read from its cache, judge-bias warnings."""

from __future__ import annotations

from typing import Any

from bench.core import paths
from bench.core.config import stable_hash, to_jsonable
from bench.core.errors import BenchError


def choose_metrics(ctx: Any, names: tuple[str, ...] | None) -> tuple[list, dict[str, str]]:
    """The metrics to compute and, for defaults that do not apply, why they were skipped."""
    from bench.metrics import get_metric, load_metrics

    if names:
        metrics = [get_metric(n) for n in names]
        for m in metrics:
            why = m.applicable(ctx)
            if why:
                raise BenchError(f"metric '{m.name}' cannot score run {ctx.run.id}: {why}")
        return metrics, {}
    chosen, skipped = [], {}
    for _, m in load_metrics().items():
        why = m.by_default(ctx) or m.applicable(ctx)
        if why is None and {"refstats", "refstats-judge"} & set(m.needs) and not ctx.refstats_name:
            why = "no --refstats given"
        if why:
            skipped[m.name] = why
        else:
            chosen.append(m)
    return chosen, skipped


def score_metric(ctx: Any, metric, images_key: str) -> tuple[dict, bool]:
    """The metric's cached result when its key matches, else compute it and write scores; (result, cached)."""
    import polars as pl

    from bench.stats.setlevel import SPREAD_METRICS, SPREAD_VERSION, set_metric_spread

    spread = metric.name in SPREAD_METRICS  # set-level metrics get a prompt-resampled spread as their CI
    key = stable_hash({"metric": metric.name, "version": metric.version, "settings": metric.settings(ctx),
                       "images": images_key, "rows": ctx.rows, **({"spread": SPREAD_VERSION} if spread else {})},
                      length=16)
    cache = paths.run_scores_path(ctx.run.path, metric.name, ".json")
    table = paths.run_scores_path(ctx.run.path, metric.name)
    if cache.is_file() and table.is_file():
        stored = paths.read_json(cache)
        if stored.get("key") == key:
            return stored["result"], True
    result = metric.compute(ctx)
    if spread and result.ci is None:
        result.ci = set_metric_spread(ctx, metric, result.value)
        result.extra["ci_kind"] = "spread: value ± half the 95% range over prompt resamples"
    data = {"value": result.value, "ci": list(result.ci) if result.ci else None, "n": result.n,
            "higher_is_better": metric.higher_is_better, "display": metric.display or metric.name,
            "settings": to_jsonable(metric.settings(ctx)), **to_jsonable(result.extra)}
    frame = pl.DataFrame(result.rows) if result.rows else pl.DataFrame({"file": []})
    paths.atomic_write(table, lambda tmp: frame.write_parquet(tmp))
    paths.write_json(cache, {"key": key, "result": data})
    return data, False


def shared_weight_warnings(ctx: Any) -> list[str]:
    """Warn when a judge's weights, or its model family, also appear in the system's spec (a Chinese-CLIP judge
    scoring a Chinese-CLIP student, at any size): its scores favour that system."""
    from bench.instruments.judges import JUDGES, judge_family, shared_with

    found = sorted({s for s in _strings(ctx.run.spec)})
    warnings = []
    for judge in sorted({ctx.judge, ctx.judge_en}):
        spec = JUDGES.get(judge)
        how = shared_with(spec, found)
        if how == "weights":
            warnings.append(f"judge '{judge}' ({spec.model_id}) shares weights with the system's own text encoder; "
                            "its scores favour this system (bench judge-check --lang LANG says which to prefer)")
        elif how == "family":
            warnings.append(f"judge '{judge}' ({spec.model_id}) is of the {judge_family(spec)} family, like the "
                            "system's own text encoder; its scores favour this system (bench judge-check --lang "
                            "LANG says which to prefer)")
    return warnings


def _strings(value: Any):
    """Every string inside a nested JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
