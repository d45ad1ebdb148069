"""Summaries -> reports/leaderboard.md (tables per prompt set: systems x languages), image grids, a plot.

The markdown depends only on reports/results/*.json, so `bench leaderboard --check` can tell whether
the committed file is current. Tiny-model results get their own, clearly labelled section.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import paths
from bench import report_paired as paired
from bench.errors import BenchError
from bench.human import leaderboard as human_tables

log = logging.getLogger(__name__)

LEADERBOARD = "leaderboard.md"
PLOT = "leaderboard.png"
TIERS = (("real", "Real models"),
         ("tiny", "Tiny offline models (never comparable with real ones: random weights only show that the "
                  "pipeline runs; the toy world's trained weights measure the method in that world)"))
GRID_PROMPTS = 6


@dataclass(frozen=True)
class Entry:
    """One evaluated run, as the leaderboard sees it."""

    file: str
    summary: dict[str, Any]

    @property
    def tier(self) -> str:
        return self.summary.get("tier", "?")

    @property
    def prompt_set(self) -> str:
        ps = self.summary.get("prompt_set") or {}
        name = ps.get("name", "?")
        return f"{name} v{ps['version']}" if ps.get("version") else name

    @property
    def system(self) -> str:
        return self.summary.get("system", "?")

    @property
    def lang(self) -> str:
        return self.summary.get("lang", "?")


def load_results(folder: Path | None = None) -> list[Entry]:
    """Every summary in reports/results/, sorted by file name; a result without a known tier is an error."""
    folder = folder or paths.results_dir()
    if not folder.is_dir():
        return []
    entries = [Entry(p.name, paths.read_json(p)) for p in sorted(folder.glob("*.json"))]
    known = [tier for tier, _ in TIERS]
    for e in entries:
        if e.summary.get("tier") not in known:
            found = f"unknown tier {e.summary['tier']!r}" if "tier" in e.summary else "no tier"
            raise BenchError(f"{folder / e.file} has {found} (known: {', '.join(known)}); evaluate the run "
                             "again or remove the file")
    return entries


def _evaluated_at(entry: Entry) -> str:
    """When the result was evaluated (ISO time, sorts by time), '' when the summary does not say."""
    return str((entry.summary.get("timings") or {}).get("evaluated_at") or "")


def select(entries: list[Entry], prefer: tuple[str, ...] = ()) -> tuple[list[Entry], dict[str, str]]:
    """One result per (tier, prompt set, system, language): a preferred run id, else the newest evaluation.

    Returns the chosen entries (in file order) and, for every result left out, the run id that replaced it.
    """
    groups: dict[tuple[str, str, str, str], list[Entry]] = defaultdict(list)
    for e in entries:
        groups[(e.tier, e.prompt_set, e.system, e.lang)].append(e)
    known = {str(e.summary.get("run_id")) for e in entries}
    missing = [p for p in prefer if p not in known]
    if missing:
        raise BenchError(f"--prefer {missing[0]}: no result with that run id in {paths.results_dir()}")
    chosen, replaced = [], {}
    for group in groups.values():
        preferred = [e for e in group if e.summary.get("run_id") in prefer]
        if len(preferred) > 1:
            raise BenchError(f"--prefer names {len(preferred)} results of {group[0].system} "
                             f"({group[0].lang}, {group[0].prompt_set}); name one")
        best = preferred[0] if preferred else max(group, key=lambda e: (_evaluated_at(e), e.file))
        chosen.append(best)
        replaced.update({e.file: str(best.summary.get("run_id")) for e in group if e is not best})
    return sorted(chosen, key=lambda e: e.file), replaced


def _decimals(value: float) -> int:
    """Decimals that show about four significant digits for numbers of this size."""
    size = abs(value)
    return 1 if size >= 100 else 2 if size >= 1 else 4


def _fmt(value: float | None, like: float | None = None) -> str:
    """A number with the decimals suited to `like` (default: itself); tiny values in scientific notation."""
    if value is None:
        return "-"
    reference = value if like is None else like
    if reference != 0 and abs(reference) < 1e-3:
        return f"{value:.2e}"
    return f"{value:.{_decimals(reference)}f}"


def _cell(result: dict) -> str:
    """value ± half-width of the 95% CI, and n; shown in the metric's display unit (KID x1000); a † when
    the summary warns about the value (too few images, truncated prompts)."""
    value = result.get("value")
    scale = result.get("display_scale", 1)
    if value is not None:
        value *= scale
    text = _fmt(value)
    ci = result.get("ci")
    if ci and value is not None:
        text += f" ± {_fmt((ci[1] - ci[0]) * scale / 2, like=value)}"
    mark = " \u2020" if result.get("warnings") or result.get("truncated_prompts") else ""
    n, prompts = result.get("n"), result.get("n_prompts")
    if n and prompts:  # images = prompts x samples per prompt
        return f"{text}{mark} (n={prompts}\u00d7{n / prompts:.3g})"
    return f"{text}{mark} (n={n if n is not None else '?'})"


def _metric_title(name: str, results: list[dict]) -> str:
    """Display name, judge or extractor, and the direction arrow."""
    first = results[0]
    arrow = "\u2191" if first.get("higher_is_better", True) else "\u2193"
    detail = first.get("judge") or first.get("extractor") or ""
    if first.get("refstats"):
        detail = f"{detail} vs {first['refstats']}" if detail else f"vs {first['refstats']}"
    display = first.get("display", name)
    return f"{display} {arrow}" + (f" ({detail})" if detail else "")


PREFER_LINE = "Preferred over newer results (bench leaderboard --prefer): "


def render(entries: list[Entry], prefer: tuple[str, ...] = ()) -> str:
    """The leaderboard markdown: per tier, per prompt set, one table per metric (systems x languages).

    Several results of one system, prompt set, language and tier give one row (select()); the others are
    listed under the sources.
    """
    everything = entries
    entries, replaced = select(entries, prefer)
    lines = ["# pea-bench leaderboard", "",
             "Generated by `bench leaderboard` from reports/results/*.json; do not edit by hand.",
             "Each prompt set opens with the gap of every strategy to the English oracle on its main metric "
             "(paired by prompt id and seed). Metric tables: mean ± half-width of the 95% bootstrap CI over "
             "prompts; FID/KID/CMMD: ± half the 95% range of the metric recomputed on prompt resamples (a "
             "spread of the estimate); n = prompts × samples per prompt. Bold: best in the column. "
             "\u2191 higher is better, \u2193 lower is better. "
             "\u2020: the result's summary carries a warning (fewer images than the feature dimension or "
             "the documented minimum, or prompts truncated by the judge). KID is shown \u00d710\u00b3.", ""]
    if prefer:
        lines += [PREFER_LINE + ", ".join(sorted(prefer)), ""]
    if not entries:
        lines += ["No results yet: run `bench evaluate` first.", ""]
    for tier, title in TIERS:
        tier_entries = [e for e in entries if e.tier == tier]
        if not tier_entries:
            continue
        lines += [f"## {title}", ""]
        by_set: dict[str, list[Entry]] = defaultdict(list)
        for e in tier_entries:
            by_set[e.prompt_set].append(e)
        for set_name in sorted(by_set):
            lines += [f"### Prompt set: {set_name}", ""]
            lines += paired.headline(by_set[set_name])
            lines += _set_tables(by_set[set_name])
            lines += paired.other_gaps(by_set[set_name])
            lines += paired.category_tables(by_set[set_name])
            lines += paired.grid_section(by_set[set_name], tier, GRID_PROMPTS)
            lines += human_tables.tables_for_runs({str(e.summary.get("run_id")) for e in by_set[set_name]})
        lines += _sources(tier_entries)
    lines += human_tables.unplaced_tables({str(e.summary.get("run_id")) for e in entries})
    if replaced:
        lines += ["<details><summary>Results replaced by a newer (or preferred) one</summary>", "",
                  "| result | system | lang | evaluated | replaced by |", "|---|---|---|---|---|"]
        lines += [f"| {e.file} | {e.system} | {e.lang} | {_evaluated_at(e) or '?'} | {replaced[e.file]} |"
                  for e in everything if e.file in replaced]
        lines += ["", "</details>", ""]
    return "\n".join(lines).rstrip() + "\n"


def _set_tables(entries: list[Entry]) -> list[str]:
    """One table per metric for one prompt set."""
    langs = sorted({e.lang for e in entries})
    rows_key = _row_labels(entries)
    metrics = sorted({m for e in entries for m in e.summary.get("metrics", {})})
    out: list[str] = []
    for metric in metrics:
        cells: dict[tuple[str, str], dict] = {}
        for e in entries:
            if metric in e.summary.get("metrics", {}):
                cells[(rows_key[e.file], e.lang)] = e.summary["metrics"][metric] | {
                    "n_prompts": e.summary.get("n_prompts")}
        if not cells:
            continue
        results = list(cells.values())
        higher = results[0].get("higher_is_better", True)
        best = {}
        for lang in langs:
            values = [r["value"] for (_, lg), r in cells.items() if lg == lang and r.get("value") is not None]
            if len(values) > 1:  # a lone entry is not "best" of anything
                best[lang] = max(values) if higher else min(values)
        out += [f"#### {_metric_title(metric, results)}", "",
                "| system | " + " | ".join(langs) + " |", "|---|" + "---|" * len(langs)]
        for label in sorted({row for row, _ in cells}):
            row_cells = []
            for lang in langs:
                result = cells.get((label, lang))
                if result is None:
                    row_cells.append("")
                    continue
                text = _cell(result)
                bold = lang in best and result.get("value") == best[lang]
                row_cells.append(f"**{text}**" if bold else text)
            out.append(f"| {label} | " + " | ".join(row_cells) + " |")
        out.append("")
    return out


def _system_family(entry: Entry) -> str:
    """The system name with its language suffix as '<lang>' (pea-zh -> pea-<lang>), so one row spans languages."""
    suffix = f"-{entry.lang}"
    if entry.lang == "en" or not entry.system.endswith(suffix):  # the English oracle keeps its own name
        return entry.system
    return entry.system[: -len(suffix)] + "-<lang>"


def _row_labels(entries: list[Entry]) -> dict[str, str]:
    """Row label per result file: the system family, plus the run id where one family has several runs."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for e in entries:
        counts[(_system_family(e), e.lang)] += 1
    return {e.file: _system_family(e) if counts[(_system_family(e), e.lang)] == 1
            else f"{e.system} ({e.summary.get('run_id')})" for e in entries}


def _sources(entries: list[Entry]) -> list[str]:
    """Where each number comes from: run, judges, reference statistics, commit."""
    out = ["<details><summary>Sources</summary>", "", "| result | system | lang | judges | refstats | commit |",
           "|---|---|---|---|---|---|"]
    for e in entries:
        judges = ", ".join(f"{j['name']} ({j['model_id']})" for j in e.summary.get("judges", {}).values())
        refs = ", ".join(r.get("file", "") for r in e.summary.get("refstats", []))
        commit = ((e.summary.get("git") or {}).get("commit") or "")[:10]
        out.append(f"| {e.file} | {e.system} | {e.lang} | {judges} | {refs} | {commit} |")
    return out + ["", "</details>", ""]


def leaderboard_path() -> Path:
    """reports/leaderboard.md."""
    return paths.reports_dir() / LEADERBOARD


def recorded_prefer() -> tuple[str, ...]:
    """The --prefer run ids the committed leaderboard.md was written with."""
    path = leaderboard_path()
    if not path.is_file():
        return ()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith(PREFER_LINE):
            return tuple(p.strip() for p in line[len(PREFER_LINE):].split(",") if p.strip())
    return ()


def check_leaderboard(prefer: tuple[str, ...] | None = None) -> bool:
    """True when the committed leaderboard.md equals what the current results render to.

    Without `prefer`, the preferences recorded in the file itself are used.
    """
    path = leaderboard_path()
    prefer = recorded_prefer() if prefer is None else prefer
    expected = render(load_results(), prefer)  # broken results are an error even without a leaderboard
    return path.is_file() and path.read_text(encoding="utf-8") == expected


def write_leaderboard(grids: bool = True, plot: bool = True, prefer: tuple[str, ...] = ()) -> dict[str, Any]:
    """Write leaderboard.md (and image grids and the plot) from one result per row; returns what was written."""
    everything = load_results()
    text = render(everything, prefer)
    entries, _ = select(everything, prefer)
    paths.write_text(leaderboard_path(), text)
    written: dict[str, Any] = {"leaderboard": str(leaderboard_path()), "results": len(entries), "grids": []}
    if grids:
        written["grids"] = [str(p) for p in write_grids(entries)]
    if plot and entries:
        written["plot"] = str(write_plot(entries))
        gaps = paired.write_gaps_plot(entries, paths.reports_dir() / paired.GAPS_PLOT)
        if gaps:
            written["gaps_plot"] = str(gaps)
    return written


def write_grids(entries: list[Entry], n_prompts: int = GRID_PROMPTS) -> list[Path]:
    """Per tier, prompt set and language: the same prompts (sample 0) across systems, one row per system."""
    from PIL import Image, ImageDraw

    groups: dict[tuple[str, str, str], list[Entry]] = defaultdict(list)
    for e in entries:
        groups[(e.tier, (e.summary.get("prompt_set") or {}).get("name", "?"), e.lang)].append(e)
    written = []
    for (tier, set_name, lang), group in sorted(groups.items()):
        runs = []
        for e in sorted(group, key=lambda e: e.system):
            run = paths.run_dir(str(e.summary.get("run_id")))  # read from a file: checked as an id
            if (run / paths.RUN_METADATA).is_file():
                runs.append((e.system, run))
        if not runs:
            continue
        shared = None
        for _, run in runs:
            ids = paths.run_image_prompt_ids(run, sample=0)
            shared = ids if shared is None else shared & ids
        chosen = paired.grid_prompts(group, n_prompts)  # the columns the leaderboard lists, when all exist
        prompts = chosen if chosen and set(chosen) <= (shared or set()) else sorted(shared or ())[:n_prompts]
        if not prompts:
            continue
        texts = paired.prompt_texts(set_name, lang, prompts)
        cell, label_w, head = 128, 160, 56
        grid = Image.new("RGB", (label_w + cell * len(prompts), head + cell * len(runs)), "white")
        draw = ImageDraw.Draw(grid)
        for c, pid in enumerate(prompts):  # column heads: the prompt as asked, and its English gloss
            native, english = texts.get(pid, (pid, ""))
            paired.draw_head(draw, (label_w + c * cell + 3, 2), cell - 6, f"{c + 1}. {native}",
                             english if english != native else "")
        for r, (system, run) in enumerate(runs):
            draw.text((4, head + r * cell + cell // 2), system[:24], fill="black")
            for c, pid in enumerate(prompts):
                with Image.open(run / paths.run_image_name(pid, 0)) as img:
                    grid.paste(img.convert("RGB").resize((cell, cell)), (label_w + c * cell, head + r * cell))
        out = paths.grid_path(tier, set_name, lang)
        paths.atomic_write(out, lambda tmp, g=grid: g.save(tmp, format="PNG"))
        written.append(out)
    return written


def write_plot(entries: list[Entry]) -> Path:
    """Bar chart of the primary metric (CLIP score, native prompt) per system and language, per tier and set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    panels = sorted({(e.tier, e.prompt_set) for e in entries})
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 3 * len(panels)), squeeze=False)
    for ax, (tier, set_name) in zip(axes[:, 0], panels, strict=True):
        group = [e for e in entries if (e.tier, e.prompt_set) == (tier, set_name)]
        metric = "clip-score" if any("clip-score" in e.summary.get("metrics", {}) for e in group) else None
        if metric is None:
            ax.set_title(f"{tier}: {set_name} (no CLIP score)")
            continue
        systems = sorted({_system_family(e) for e in group})
        langs = sorted({e.lang for e in group})
        width = 0.8 / max(len(systems), 1)
        for k, system in enumerate(systems):
            vals, errs = [], []
            for lang in langs:
                res = next((e.summary["metrics"].get(metric) for e in group
                            if _system_family(e) == system and e.lang == lang), None) or {}
                vals.append(res.get("value") or 0.0)
                ci = res.get("ci")
                errs.append((ci[1] - ci[0]) / 2 if ci else 0.0)
            ax.bar(np.arange(len(langs)) + k * width, vals, width, yerr=errs, label=system, capsize=2)
        ax.set_xticks(np.arange(len(langs)) + 0.4 - width / 2, langs)
        ax.set_ylabel("CLIP score \u2191")
        ax.set_title(f"{'tiny: ' if tier == 'tiny' else ''}{set_name}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    out = paths.reports_dir() / PLOT
    paths.atomic_write(out, lambda tmp: fig.savefig(tmp, format="png", dpi=90, metadata={"Software": None}))
    plt.close(fig)
    return out


def require_results() -> None:
    """Explain what to do when there is nothing to report."""
    if not load_results():
        raise BenchError(f"no results in {paths.results_dir()}; run bench evaluate first")
