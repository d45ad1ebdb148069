"""The leaderboard's human tables (from reports/human/<study>.json) and the `bench human rank` summary."""

from __future__ import annotations

from pathlib import Path

from bench.core import paths

GROUP_TITLES = {"all": "all annotators", "native": "native speakers", "others": "other annotators"}


def load_rankings(folder: Path | None = None) -> list[dict]:
    """Every ranking `bench human rank` wrote, sorted by study."""
    from bench.human.rank import human_dir

    folder = folder or human_dir()
    if not folder.is_dir():
        return []
    out = []
    for file in sorted(folder.glob("*.json")):
        data = paths.read_json(file)
        if isinstance(data, dict) and "rankings" in data and "study" in data:
            out.append(data)
    return out


def _ci(ci) -> str:
    return f"[{ci[0]:.0f}, {ci[1]:.0f}]" if ci else "-"


def ranking_table(result: dict) -> list[str]:
    """Markdown: score, 95% interval, votes and annotators per system and annotator group."""
    a = result["annotators"]
    note = (f"{a['flagged']} of {a['voted']} annotators failed attention checks and are "
            + ("included" if result["include_flagged"] else "left out") if a["flagged"] else
            f"no annotator failed the attention checks ({result['attention_checks']['answered']} answered)")
    lines = [f"#### Human preference: study {result['study']} ({result['lang']})", "",
             f"Bradley-Terry on pairwise votes (ties and both-bad count half a win each), Elo scale (mean 1000), "
             f"95% bootstrap interval over votes ({result['bootstrap']} replicates); {note}.", "",
             "| group | system | score | 95% interval | votes | annotators |", "|---|---|---|---|---|---|"]
    for group in ("all", "native", "others"):
        ranking = result["rankings"].get(group)
        if not ranking or not ranking["votes"]:
            continue
        for r in ranking["systems"]:
            lines.append(f"| {GROUP_TITLES[group]} | {r['system']} | {r['score']:.0f} | {_ci(r['ci'])} | "
                         f"{r['votes']} | {ranking['annotators']} |")
    return lines + [""]


def agreement_table(result: dict) -> list[str]:
    """Markdown: per metric, the share of decided votes whose winner it prefers, and Kendall's tau."""
    if not result.get("agreement"):
        return []
    lines = [f"#### Agreement with people: study {result['study']} ({result['lang']})", "",
             "Share of decided votes (not ties) whose winner the metric also scores higher (metric ties count "
             "half), 95% bootstrap interval over votes; Kendall's tau between the metric's and the people's "
             "system ranking.", "",
             "| metric | agreement | 95% interval | decided votes | Kendall's tau |", "|---|---|---|---|---|"]
    for _, a in sorted(result["agreement"].items()):
        value = "-" if a["agreement"] is None else f"{a['agreement']:.2f}"
        ci = f"[{a['ci'][0]:.2f}, {a['ci'][1]:.2f}]" if a["ci"] else "-"
        tau = "-" if a["kendall_tau"] is None else f"{a['kendall_tau']:.2f}"
        lines.append(f"| {a['display']} | {value} | {ci} | {a['n']} | {tau} |")
    return lines + [""]


def tables_for_runs(run_ids: set[str], rankings: list[dict] | None = None) -> list[str]:
    """Human tables of every study whose runs are among `run_ids` (the report's hook per prompt set)."""
    rankings = load_rankings() if rankings is None else rankings
    out: list[str] = []
    for result in rankings:
        if set(result["runs"].values()) & run_ids:
            out += ranking_table(result) + agreement_table(result)
    return out


def unplaced_tables(run_ids: set[str], rankings: list[dict] | None = None) -> list[str]:
    """A closing section for studies whose runs have no evaluation results in the leaderboard."""
    rankings = load_rankings() if rankings is None else rankings
    left = [r for r in rankings if not set(r["runs"].values()) & run_ids]
    if not left:
        return []
    out = ["## Human preference (studies of runs without automatic results)", ""]
    for result in left:
        out += ranking_table(result) + agreement_table(result)
    return out


def summary_lines(result: dict) -> list[str]:
    """Plain-text summary for the terminal."""
    lines = []
    a = result["annotators"]
    lines.append(f"study {result['study']} ({result['prompt_set']}, {result['lang']}): {a['voted']} annotators "
                 f"voted, {a['flagged']} flagged by attention checks "
                 f"({'included' if result['include_flagged'] else 'left out'})")
    for group in ("all", "native", "others"):
        ranking = result["rankings"][group]
        if not ranking["votes"]:
            continue
        lines.append(f"{GROUP_TITLES[group]}: {ranking['votes']} votes from {ranking['annotators']} annotators")
        for r in ranking["systems"]:
            lines.append(f"  {r['system']:<24} {r['score']:7.1f}  95% {_ci(r['ci'])}")
    for name, ag in sorted(result.get("agreement", {}).items()):
        value = "-" if ag["agreement"] is None else f"{ag['agreement']:.2f}"
        tau = "-" if ag["kendall_tau"] is None else f"{ag['kendall_tau']:.2f}"
        lines.append(f"agreement {name}: {value} of {ag['n']} decided votes; Kendall's tau {tau}")
    return lines
