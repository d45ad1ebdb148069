"""`bench compare RUN_A RUN_B`: paired differences A - B per metric, with intervals, p-values (Holm-adjusted
across the table) and the image consistency between the two runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.core import paths
from bench.core.errors import BenchError
from bench.stats.holm import holm
from bench.stats.paired import PerImage, align, paired_difference

COMPARE_FORMAT = 1


def resolve_run(value: str) -> Path:
    """A run folder from a path or a run id (one that does not exist is an error saying so)."""
    from bench.generation.runs import find_run

    return find_run(value)


def read_summary(run: Path) -> dict:
    """The run's summary.json, with the per-image scores paired comparisons need."""
    file = run / paths.RUN_SUMMARY
    if not file.is_file():
        raise BenchError(f"run {run.name} has not been evaluated: run bench evaluate --run {run.name} first")
    summary = paths.read_json(file)
    if "scores" not in summary or "images" not in summary:
        raise BenchError(f"run {run.name} was evaluated before per-image scores were kept in its summary: "
                         f"run bench evaluate --run {run.name} again")
    return summary


def per_image(summary: dict, metric: str) -> PerImage:
    """One metric's per-image scores of a summary, keyed by (prompt id, sample)."""
    images = summary["images"]
    keys = list(zip(images["prompt_id"], images["sample"], strict=True))
    values = summary["scores"][metric]
    return PerImage({k: v for k, v in zip(keys, values, strict=True) if v is not None},
                    {k: s for k, s in zip(keys, images["seed"], strict=True) if s is not None})


def _images(summary: dict) -> PerImage:
    """The run's (prompt id, sample) keys with their seeds."""
    images = summary["images"]
    keys = list(zip(images["prompt_id"], images["sample"], strict=True))
    return PerImage(dict.fromkeys(keys, 0.0), {k: s for k, s in zip(keys, images["seed"], strict=True)
                                              if s is not None})


def _check_same_prompts(a: dict, b: dict) -> None:
    """Both runs must be of one prompt set; ids and seeds are checked per metric by the pairing."""
    set_a = (a.get("prompt_set") or {}).get("name")
    set_b = (b.get("prompt_set") or {}).get("name")
    if set_a != set_b:
        raise BenchError(f"prompt sets differ: A is {set_a}, B is {set_b}; compare runs of one prompt set")


def compare_runs(run_a: str | Path, run_b: str | Path, metrics: tuple[str, ...] | None = None,
                 consistency: bool = True, device: str = "cpu") -> dict[str, Any]:
    """The paired table A - B (dict), raising a one-line BenchError when the runs do not line up."""
    from bench.core.runtime import check_device

    check_device(device)  # before any file is read
    folder_a, folder_b = resolve_run(str(run_a)), resolve_run(str(run_b))
    if folder_a.resolve() == folder_b.resolve():
        raise BenchError(f"A and B are the same run ({folder_a.name}): compare two different runs")
    a, b = read_summary(folder_a), read_summary(folder_b)
    _check_same_prompts(a, b)
    from bench.stats.setpaired import SET_METRICS, set_difference

    shared = sorted(set(a["scores"]) & set(b["scores"]))
    shared_sets = [m for m in SET_METRICS if m in a["metrics"] and m in b["metrics"]
                   and a["metrics"][m].get("value") is not None and b["metrics"][m].get("value") is not None]
    if metrics:
        for m in metrics:
            for name, s in (("A", a), ("B", b)):
                if m not in s["scores"] and m not in shared_sets:
                    raise BenchError(f"metric '{m}' is not scored in both runs (missing in {name}, "
                                     f"{s['run_id']}); both have: {', '.join(shared + shared_sets) or 'none'}")
        shared_sets = [m for m in metrics if m in shared_sets and m not in shared]
        shared = [m for m in metrics if m in shared]
    # the pairing is checked once on the image lists, so a mismatch is reported before any metric
    align(_images(a), _images(b), strict=True)
    rows = []
    for m in shared:
        result = paired_difference(per_image(a, m), per_image(b, m), strict=False)
        info = a["metrics"].get(m, {})
        rows.append({"metric": m, "display": info.get("display", m),
                     "higher_is_better": info.get("higher_is_better", True), **result})
    keys_a = list(zip(a["images"]["prompt_id"], a["images"]["sample"], strict=True))
    keys_b = list(zip(b["images"]["prompt_id"], b["images"]["sample"], strict=True))
    for m in shared_sets:
        info = a["metrics"][m]
        result = set_difference(folder_a, folder_b, a, b, m, keys_a, keys_b)
        rows.append({"metric": m, "display": info.get("display", m),
                     "higher_is_better": info.get("higher_is_better", False), **result})
    for row, p in zip(rows, holm([r["p"] for r in rows]), strict=True):
        row["p_holm"] = p
    out = {"format": COMPARE_FORMAT, "a": _describe(a), "b": _describe(b), "difference": "A - B",
           "interval": "95% bootstrap over prompts (a prompt's samples together), expanded for few prompts",
           "test": "two-sided paired sign-flip permutation test over prompts; p_holm: Holm across this table",
           "rows": rows}
    if consistency:
        out["consistency"] = _consistency(folder_a, folder_b, a, device)
    return out


def _describe(summary: dict) -> dict:
    return {"run_id": summary["run_id"], "system": summary.get("system"), "lang": summary.get("lang"),
            "prompt_set": (summary.get("prompt_set") or {}).get("name")}


def _consistency(folder_a: Path, folder_b: Path, a: dict, device: str) -> dict | None:
    """Image cosine between the two runs by A's English judge, when that judge is available."""
    from bench.core.errors import NotAvailableOffline
    from bench.stats.consistency import run_consistency

    judge = _english_judge(a)
    if judge is None:
        return None
    try:
        return run_consistency(folder_a, folder_b, judge, device)
    except NotAvailableOffline as exc:
        return {"skipped": str(exc)}


def _english_judge(summary: dict) -> str | None:
    """The English judge an evaluation used (from clip-score-en or cmmd settings)."""
    for metric in ("clip-score-en", "consistency", "culture-accuracy-en", "cmmd"):
        judge = ((summary["metrics"].get(metric) or {}).get("settings") or {}).get("judge")
        if isinstance(judge, dict) and judge.get("name"):
            return judge["name"]
    return None


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    size = abs(value)
    return f"{value:.2e}" if 0 < size < 1e-3 else f"{value:.{1 if size >= 100 else 2 if size >= 1 else 4}f}"


def _fmt_p(p: float | None) -> str:
    return "-" if p is None else f"{p:.4f}" if p >= 1e-4 else f"{p:.1e}"


def format_table(result: dict) -> str:
    """The paired table as text: one line per metric."""
    a, b = result["a"], result["b"]
    lines = [f"A: {a['run_id']} ({a['system']}, {a['lang']})", f"B: {b['run_id']} ({b['system']}, {b['lang']})",
             f"{'metric':<24} {'A':>9} {'B':>9} {'A - B':>9}  {'95% CI':<22} {'p':>7} {'p Holm':>7}  n"]
    for r in result["rows"]:
        ci = f"[{_fmt(r['ci'][0])}, {_fmt(r['ci'][1])}]" if r["ci"] else "-"
        arrow = "\u2191" if r["higher_is_better"] else "\u2193"
        lines.append(f"{r['metric'] + ' ' + arrow:<24} {_fmt(r['mean_a']):>9} {_fmt(r['mean_b']):>9} "
                     f"{_fmt(r['diff']):>9}  {ci:<22} {_fmt_p(r['p']):>7} {_fmt_p(r['p_holm']):>7}  "
                     f"{r['n_prompts']} prompts x {r['n_samples']:g} samples")
    c = result.get("consistency")
    if c and "value" in c:
        ci = f"[{_fmt(c['ci'][0])}, {_fmt(c['ci'][1])}]" if c.get("ci") else "-"
        lines.append(f"image consistency A vs B (cosine, {c['judge']}): {_fmt(c['value'])} {ci}, n={c['n']}")
    elif c:
        lines.append(f"image consistency: skipped ({c['skipped']})")
    return "\n".join(lines)


def default_output(result: dict) -> Path:
    """Where the JSON goes by default: BENCH_HOME/compare/<A>--<B>.json."""
    name = f"{paths.safe_id(result['a']['run_id'])}--{paths.safe_id(result['b']['run_id'])}.json"
    return paths.bench_home() / "compare" / name
