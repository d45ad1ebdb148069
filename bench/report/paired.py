"""Leaderboard sections built on paired comparisons: per prompt set a headline table of gaps to the English
oracle (rows strategies, columns languages), strategy-vs-strategy gaps, gap tables for the other per-image
metrics, per-category tables and a plot of the gaps (the image grids' prompts: bench.report.grids).

Everything here is computed from the summaries' per-image scores (reports/results/*.json), with fixed
seeds, so `bench leaderboard --check` regenerates it exactly.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations
from pathlib import Path
from typing import Any

from bench.metrics.pairing import is_oracle, system_info
from bench.report.rows import md_text
from bench.stats.holm import holm
from bench.stats.paired import PerImage, paired_difference

# The main metric of a prompt set: the first of these its runs have per-image scores for.
MAIN_METRICS = ("world-accuracy", "culture-accuracy", "clip-score-en", "clip-score")
ALPHA = 0.05
MARK = "\u2021"  # the Holm-adjusted sign-flip test rejects "no difference" at ALPHA (\u2020 marks warnings)
GAPS_PLOT = "gaps.png"
CATEGORY_METRICS = ("culture-accuracy", "culture-vqa", "clip-score")


def _per_image(summary: dict, metric: str) -> PerImage | None:
    images, scores = summary.get("images"), (summary.get("scores") or {}).get(metric)
    if not images or scores is None:
        return None
    keys = list(zip(images["prompt_id"], images["sample"], strict=True))
    return PerImage({k: v for k, v in zip(keys, scores, strict=True) if v is not None},
                    {k: s for k, s in zip(keys, images["seed"], strict=True) if s is not None})


def _base(entry) -> str | None:
    return system_info(entry.summary.get("spec") or {}).get("base")


def oracle_of(entry, oracles: list) -> Any:
    """The oracle result paired with `entry`: same base where both say, seeds matching on shared images."""
    from bench.core.errors import BenchError
    from bench.stats.paired import align

    mine = _per_image(entry.summary, next(iter(entry.summary.get("scores") or {}), ""))
    for oracle in oracles:
        if _base(entry) and _base(oracle) and _base(entry) != _base(oracle):
            continue
        theirs = _per_image(oracle.summary, next(iter(oracle.summary.get("scores") or {}), ""))
        if mine is None or theirs is None:
            continue
        try:
            align(mine, theirs, strict=False)
        except BenchError:
            continue
        return oracle
    return None


def main_metric(entries: list) -> str | None:
    """The set's main metric: the first of MAIN_METRICS with per-image scores in an oracle and a system."""
    for metric in MAIN_METRICS:
        have = [e for e in entries if metric in (e.summary.get("scores") or {})]
        if any(_is_oracle(e) for e in have) and any(not _is_oracle(e) for e in have):
            return metric
    return None


def _is_oracle(entry) -> bool:
    return is_oracle(entry.summary.get("spec") or {"lang": entry.lang})


def _fmt(value: float | None) -> str:
    from bench.report.rows import fmt

    return fmt(value, like=max(abs(value), 0.01) if value is not None else None)


def _gap_cell(result: dict | None) -> str:
    if result is None or result.get("diff") is None:
        return ""
    ci = result.get("ci")
    text = _fmt(result["diff"]) + (f" [{_fmt(ci[0])}, {_fmt(ci[1])}]" if ci else "")
    return text + (f" {MARK}" if result.get("reject") else "")


def _adjust(results: list[dict]) -> None:
    """Holm across one table's comparisons; marks which reject zero."""
    for result, p in zip(results, holm([r.get("p") for r in results]), strict=True):
        result["p_holm"] = p
        result["reject"] = p is not None and p <= ALPHA


def oracle_gaps(entries: list, metric: str) -> dict[tuple[str, str], dict]:
    """(strategy, language) -> paired difference system - oracle on `metric`, Holm-adjusted across the table."""
    from bench.report.rows import system_family

    oracles = [e for e in entries if _is_oracle(e) and metric in (e.summary.get("scores") or {})]
    cells: dict[tuple[str, str], dict] = {}
    for e in sorted(entries, key=lambda e: e.file):
        mine = _per_image(e.summary, metric)
        if _is_oracle(e) or mine is None:
            continue
        oracle = oracle_of(e, oracles)
        if oracle is None:
            continue
        result = paired_difference(mine, _per_image(oracle.summary, metric), strict=False)
        cells[(system_family(e), e.lang)] = result | {"oracle": oracle.system}
    _adjust(list(cells.values()))
    return cells


def strategy_gaps(entries: list, metric: str) -> dict[tuple[str, str, str], dict]:
    """(strategy A, strategy B, language) -> paired difference A - B, Holm-adjusted across the table."""
    from bench.core.errors import BenchError
    from bench.report.rows import system_family

    by_lang: dict[str, list] = defaultdict(list)
    for e in entries:
        if not _is_oracle(e) and _per_image(e.summary, metric) is not None:
            by_lang[e.lang].append(e)
    cells: dict[tuple[str, str, str], dict] = {}
    for lang, group in sorted(by_lang.items()):
        for x, y in combinations(sorted(group, key=_order), 2):
            try:
                result = paired_difference(_per_image(x.summary, metric), _per_image(y.summary, metric),
                                           strict=False)
            except BenchError:  # different seeds or no shared prompts: not a paired comparison
                continue
            cells[(system_family(x), system_family(y), lang)] = result | {"order": (_order(x), _order(y))}
    _adjust(list(cells.values()))
    return cells


KIND_ORDER = {"pea": 0, "translate": 1, "asis": 3}  # other kinds (native multilingual models) sit at 2


def _order(entry) -> tuple[int, str]:
    """PEA, translate, native models, as-is: rows read 'PEA - translate', 'PEA - as-is', 'translate - as-is'."""
    from bench.report.rows import system_family

    kind = system_info(entry.summary.get("spec") or {}).get("kind") or ""
    if not kind and "pea" in system_family(entry):
        kind = "pea"
    return (KIND_ORDER.get(kind, 2), system_family(entry))


def _n_label(results: list[dict]) -> str:
    """'48 prompts x 1 sample' (or a range when cells differ)."""
    labels = sorted({f"{r['n_prompts']} prompts \u00d7 {r['n_samples']:g} sample{'s' if r['n_samples'] != 1 else ''}"
                     for r in results})
    return "; ".join(labels)


def _display(entries: list, metric: str) -> str:
    for e in entries:
        info = (e.summary.get("metrics") or {}).get(metric)
        if info:
            arrow = "\u2191" if info.get("higher_is_better", True) else "\u2193"
            return f"{info.get('display', metric)} {arrow}"
    return metric


def headline(entries: list) -> list[str]:
    """The set's opening tables: gaps to the English oracle and between strategies on the main metric."""
    metric = main_metric(entries)
    if metric is None:
        return []
    gaps = oracle_gaps(entries, metric)
    if not gaps:
        return []
    langs = sorted({lang for _, lang in gaps})
    oracle = sorted({r["oracle"] for r in gaps.values()})
    out = [f"#### Headline: gap to the English oracle ({', '.join(oracle)}), {_display(entries, metric)}", "",
           f"Cells: system − oracle on the same prompt ids and seeds, mean [95% CI]; {MARK}: the Holm-adjusted "
           f"sign-flip test rejects a zero gap at {ALPHA} ({len(gaps)} comparisons; with few prompts that differ "
           f"the exact test cannot reject even where the interval excludes zero); n: {_n_label(list(gaps.values()))}.",
           "", "| strategy | " + " | ".join(langs) + " |", "|---|" + "---|" * len(langs)]
    for strategy in sorted({s for s, _ in gaps}):
        out.append(f"| {md_text(strategy)} | " + " | ".join(_gap_cell(gaps.get((strategy, lang))) for lang in langs)
                   + " |")
    out.append("")
    between = strategy_gaps(entries, metric)
    if between:
        order = {(a, b): r["order"] for (a, b, _), r in between.items()}
        pairs = sorted(order, key=order.get)  # PEA - translate, PEA - as-is, translate - as-is
        out += [f"#### Strategy against strategy, {_display(entries, metric)}", "",
                f"Cells: A − B on the same prompt ids and seeds, mean [95% CI]; {MARK}: Holm-adjusted across "
                f"this table ({len(between)} comparisons).", "",
                "| A − B | " + " | ".join(langs) + " |", "|---|" + "---|" * len(langs)]
        for a, b in pairs:
            out.append(f"| {md_text(a)} − {md_text(b)} | "
                       + " | ".join(_gap_cell(between.get((a, b, lang))) for lang in langs) + " |")
        out.append("")
    return out


def other_gaps(entries: list) -> list[str]:
    """Gap-to-oracle tables for the per-image metrics besides the main one (collapsed)."""
    main = main_metric(entries)
    metrics = sorted({m for e in entries for m in (e.summary.get("scores") or {})} - {main, "consistency"})
    out: list[str] = []
    for metric in metrics:
        gaps = oracle_gaps(entries, metric)
        if not gaps:
            continue
        langs = sorted({lang for _, lang in gaps})
        out += [f"Gap to the oracle, {_display(entries, metric)} ({MARK}: Holm across this table; n: "
                f"{_n_label(list(gaps.values()))})", "",
                "| strategy | " + " | ".join(langs) + " |", "|---|" + "---|" * len(langs)]
        for strategy in sorted({s for s, _ in gaps}):
            out.append(f"| {md_text(strategy)} | "
                       + " | ".join(_gap_cell(gaps.get((strategy, lang))) for lang in langs) + " |")
        out.append("")
    if not out:
        return []
    return ["<details><summary>Gaps to the English oracle on the other metrics</summary>", "", *out,
            "</details>", ""]


def category_tables(entries: list) -> list[str]:
    """Culture accuracy and CLIP score per category: rows system (language), columns categories."""
    from bench.report.rows import cell, row_labels

    labels = row_labels(entries)
    out: list[str] = []
    for metric in CATEGORY_METRICS:
        rows = [(f"{labels[e.file]} ({e.lang})", e.summary["metrics"][metric]["per_category"])
                for e in sorted(entries, key=lambda e: (labels[e.file], e.lang))
                if (e.summary.get("metrics", {}).get(metric) or {}).get("per_category")]
        if not rows:
            continue
        cats = sorted({c for _, per in rows for c in per})
        out += [f"#### {_display(entries, metric)} per category", "",
                "| system (lang) | " + " | ".join(cats) + " |", "|---|" + "---|" * len(cats)]
        for label, per in rows:
            out.append(f"| {md_text(label)} | " + " | ".join(cell(per[c] | {"n_prompts": per[c].get("prompts")})
                                                   if c in per else "" for c in cats) + " |")
        out.append("")
    return out


def write_gaps_plot(entries: list, out: Path) -> Path | None:
    """Gaps to the oracle on each set's main metric with their 95% intervals, one panel per tier and set."""
    panels = []
    for key in sorted({(e.tier, e.prompt_set) for e in entries}):
        group = [e for e in entries if (e.tier, e.prompt_set) == key]
        metric = main_metric(group)
        gaps = oracle_gaps(group, metric) if metric else {}
        if gaps:
            panels.append((key, metric, gaps))
    if not panels:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from bench.core import paths

    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 2.8 * len(panels)), squeeze=False)
    for ax, ((tier, set_name), metric, gaps) in zip(axes[:, 0], panels, strict=True):
        strategies = sorted({s for s, _ in gaps})
        langs = sorted({lang for _, lang in gaps})
        width = 0.8 / max(len(langs), 1)
        for k, lang in enumerate(langs):
            ys, lo, hi, xs = [], [], [], []
            for i, s in enumerate(strategies):
                r = gaps.get((s, lang))
                if r is None or r["diff"] is None:
                    continue
                ci = r["ci"] or [r["diff"], r["diff"]]
                xs.append(i + (k - (len(langs) - 1) / 2) * width)
                ys.append(r["diff"])
                lo.append(r["diff"] - ci[0])
                hi.append(ci[1] - r["diff"])
            ax.errorbar(xs, ys, yerr=[lo, hi], fmt="o", capsize=3, label=lang)
        ax.axhline(0.0, color="grey", linewidth=0.8)
        ax.set_xticks(np.arange(len(strategies)), strategies, fontsize=8)
        ax.set_ylabel(f"{metric}: system − oracle", fontsize=8)
        ax.set_title(f"{'tiny: ' if tier == 'tiny' else ''}{set_name} (95% CI over prompts)", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    paths.atomic_write(out, lambda tmp: fig.savefig(tmp, format="png", dpi=90, metadata={"Software": None}))
    plt.close(fig)
    return out


def demo_lines(run_ids: list[str]) -> list[str]:
    """What the demo prints: per prompt set, gaps to the oracle and PEA against the others on the main
    metric (mean [95% CI], Holm-adjusted p), and each system's consistency with the oracle."""
    from bench.core import paths
    from bench.report.rows import Entry

    entries = []
    for run_id in run_ids:
        file = paths.runs_dir() / run_id / paths.RUN_SUMMARY
        if file.is_file():
            entries.append(Entry(f"{run_id}.json", paths.read_json(file)))
    lines: list[str] = []
    for set_name in sorted({e.prompt_set for e in entries}):
        group = [e for e in entries if e.prompt_set == set_name]
        metric = main_metric(group)
        if metric is None:
            continue
        lines.append(f"{set_name}: paired gaps on {metric}, mean [95% CI] (Holm-adjusted sign-flip p)")
        for (strategy, lang), r in sorted(oracle_gaps(group, metric).items()):
            lines.append(f"  {strategy + ' - ' + r['oracle']:<36} {lang} {_demo_cell(r)}")
        between = strategy_gaps(group, metric)
        for (a, b, lang), r in sorted(between.items(), key=lambda kv: (kv[1]["order"], kv[0][2])):
            lines.append(f"  {a + ' - ' + b:<36} {lang} {_demo_cell(r)}")
        cons = [(e.summary["metrics"]["consistency"], e) for e in group if "consistency" in e.summary["metrics"]]
        if cons:
            lines.append("  consistency with the oracle (image cosine): " + ", ".join(
                f"{e.system} {e.lang} {_fmt(c['value'])}" for c, e in sorted(cons, key=lambda x: -x[0]["value"])))
        lines += _between_languages(group)
    return lines


def _between_languages(group: list) -> list[str]:
    """Image consistency between two languages of one strategy (same prompt ids and seeds), when computable."""
    from bench.core import paths
    from bench.core.errors import BenchError
    from bench.report.rows import system_family
    from bench.stats.consistency import run_consistency

    families: dict[str, list] = defaultdict(list)
    for e in group:
        if not _is_oracle(e):
            families[system_family(e)].append(e)
    cells = []
    for family, members in sorted(families.items()):
        members = sorted(members, key=lambda e: e.lang)
        judge = ((members[0].summary["metrics"].get("consistency") or {}).get("judge"))
        for x, y in combinations(members, 2):
            if not judge:
                continue
            try:
                c = run_consistency(paths.runs_dir() / x.summary["run_id"], paths.runs_dir() / y.summary["run_id"],
                                    judge)
            except BenchError:
                continue
            cells.append(f"{family} {x.lang}-{y.lang} {_fmt(c['value'])} [{_fmt(c['ci'][0])}, {_fmt(c['ci'][1])}]")
    return ["  consistency between languages (image cosine): " + ", ".join(cells)] if cells else []


def _demo_cell(r: dict) -> str:
    ci = r.get("ci") or [float("nan")] * 2
    return f"{r['diff']:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}] (p {r['p_holm']:.3g})"
