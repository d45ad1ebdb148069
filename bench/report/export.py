"""The leaderboard's cells as data: filtered by prompt set, language and tier; written as CSV, JSON or markdown."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from bench.core.errors import BenchError

COLUMNS = ("tier", "prompt_set", "system", "lang", "metric", "value", "ci_low", "ci_high", "n",
           "higher_is_better", "run_id")
FORMATS = ("md", "csv", "json")


def filtered_entries(prompts: tuple[str, ...] = (), langs: tuple[str, ...] = (), tiers: tuple[str, ...] = (),
                     prefer: tuple[str, ...] = ()) -> list:
    """The entries the leaderboard shows (one per system, set, language and tier), kept when they match."""
    from bench.report.leaderboard import load_results, select

    chosen, _ = select(load_results(), prefer)
    _check_filters(chosen, prompts, langs, tiers)

    def keep(e) -> bool:
        name = (e.summary.get("prompt_set") or {}).get("name", "?")
        return ((not prompts or name in prompts or e.prompt_set in prompts) and (not langs or e.lang in langs)
                and (not tiers or e.tier in tiers))

    return [e for e in chosen if keep(e)]


def _check_filters(entries: list, prompts: tuple[str, ...], langs: tuple[str, ...], tiers: tuple[str, ...]) -> None:
    """A filter value that names no prompt set, language or tier is a typo: say so instead of printing nothing."""
    from bench.core.errors import unknown_name
    from bench.core.languages import get_language
    from bench.prompts import list_prompt_sets
    from bench.report.leaderboard import TIERS

    sets = set(list_prompt_sets()) | {e.prompt_set for e in entries}
    sets |= {(e.summary.get("prompt_set") or {}).get("name", "?") for e in entries}
    for name in prompts:
        if name not in sets:
            raise unknown_name("prompt set", name, sets, "bench prompts list shows them")
    for lang in langs:
        if lang not in {e.lang for e in entries}:
            get_language(lang)  # an unknown code is an error; a known one without results is an empty view
    for tier in tiers:
        if tier not in {t for t, _ in TIERS}:
            raise unknown_name("tier", tier, [t for t, _ in TIERS])


def rows(entries: list) -> list[dict[str, Any]]:
    """One row per (result, metric), in the leaderboard's order."""
    out = []
    for e in entries:
        for metric, result in sorted(e.summary.get("metrics", {}).items()):
            ci = result.get("ci") or (None, None)
            out.append({"tier": e.tier, "prompt_set": e.prompt_set, "system": e.system, "lang": e.lang,
                        "metric": metric, "value": result.get("value"), "ci_low": ci[0], "ci_high": ci[1],
                        "n": result.get("n"), "higher_is_better": result.get("higher_is_better"),
                        "run_id": e.summary.get("run_id")})
    return out


def export(entries: list, fmt: str) -> str:
    """The entries as CSV (one row per result and metric), JSON (the same rows) or the leaderboard markdown."""
    if fmt not in FORMATS:
        raise BenchError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "md":
        from bench.report.leaderboard import render

        return render(entries)
    data = rows(entries)
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(data)
    return buffer.getvalue()
