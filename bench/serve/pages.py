"""Template contexts of the server's pages (plain dicts; no HTTP here)."""

from __future__ import annotations

import html
import re
import sqlite3

from bench.core.errors import BenchError


def markdown_html(text: str) -> str:
    """The leaderboard's markdown (headings, paragraphs, tables, bold) as HTML; everything else escaped."""
    out: list[str] = []
    table: list[list[str]] = []

    def inline(s: str) -> str:
        s = html.escape(s)
        s = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", s)
        return re.sub(r"`(.+?)`", r"<code>\1</code>", s)

    def flush() -> None:
        if not table:
            return
        head, *body = table
        out.append('<div class="scroll"><table><thead><tr>' + "".join(f"<th>{inline(c)}</th>" for c in head)
                   + "</tr></thead><tbody>" + "".join("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in row)
                                                      + "</tr>" for row in body) + "</tbody></table></div>")
        table.clear()

    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|"):
            cells = [c.strip() for c in stripped.strip("|").split("|")]
            if not all(set(c) <= set("-:") and c for c in cells):
                table.append(cells)
            continue
        flush()
        if not stripped or stripped in {"<details>", "</details>"}:
            continue
        if stripped.startswith(("<summary>", "<details>")):  # collapsible blocks become plain headings
            out.append(f"<h4>{inline(re.sub('<[^>]+>', '', stripped))}</h4>")
            continue
        level = len(stripped) - len(stripped.lstrip("#"))
        if level:
            tag = f"h{min(level + 1, 5)}"
            out.append(f"<{tag}>{inline(stripped[level:].strip())}</{tag}>")
        else:
            out.append(f"<p>{inline(stripped)}</p>")
    flush()
    return "\n".join(out)


def leaderboard_context(conn: sqlite3.Connection) -> dict:
    """The leaderboard (as bench leaderboard renders it, human tables included) and the studies."""
    from bench.human.studies import list_studies
    from bench.report import leaderboard as report

    return {"leaderboard": markdown_html(report.render(report.load_results())), "studies": list_studies(conn)}


def runs_context() -> dict:
    """Every run with its system, set, language, images and metric values."""
    from bench.serve.results import runs

    rows = []
    for v in runs():
        metrics = {k: r.get("value") for k, r in (v.summary.get("metrics") or {}).items()}
        rows.append({"run_id": v.run_id, "system": v.system, "prompt_set": v.prompt_set, "lang": v.lang,
                     "tier": v.tier, "images": len(v.rows), "metrics": metrics})
    return {"runs": rows}


def _choices() -> dict[str, list[str]]:
    from bench.serve.results import runs

    views = runs()
    return {"sets": sorted({v.prompt_set for v in views}), "langs": sorted({v.lang for v in views})}


def prompts_context(prompt_set: str | None, lang: str | None, category: str | None, sort: str | None,
                    query: str | None) -> dict:
    """Prompts of a set and language with filters; `sort=disagree` puts those the metrics disagree on first."""
    from bench.serve.results import disagreement, prompt_table

    choices = _choices()
    prompt_set = prompt_set or (choices["sets"][0] if choices["sets"] else "")
    langs = [lg for lg in choices["langs"] if lg != "en"] or choices["langs"]
    lang = lang or (langs[0] if langs else "")
    if sort not in (None, "", "id", "disagree"):
        raise BenchError("sort must be id or disagree")
    if query and len(query) > 100:
        raise BenchError("search text is too long")
    table = prompt_table(prompt_set, lang) if prompt_set else []
    categories = sorted({p["category"] for p in table if p["category"]})
    scores = disagreement(prompt_set, lang) if prompt_set else {}
    for p in table:
        p["disagreement"] = scores.get(p["prompt_id"])
    if category:
        table = [p for p in table if p["category"] == category]
    if query:
        q = query.lower()
        table = [p for p in table if q in p["text"].lower() or q in p["text_en"].lower() or q in p["prompt_id"]]
    if sort == "disagree":
        table.sort(key=lambda p: -(p["disagreement"] or -1))
    return {"prompts": table, "set": prompt_set, "lang": lang, "category": category or "", "sort": sort or "id",
            "q": query or "", "categories": categories, **choices}


def prompt_context(prompt_set: str | None, lang: str | None, prompt_id: str | None) -> dict:
    """One prompt: native text, English gloss, concept and confusers, every system's images with scores."""
    from bench.serve.results import prompt_images, prompt_table

    if not (prompt_set and lang and prompt_id):
        raise BenchError("give set, lang and id")
    prompt = next((p for p in prompt_table(prompt_set, lang) if p["prompt_id"] == prompt_id), None)
    if prompt is None:
        raise BenchError(f"no prompt {prompt_id!r} in runs of {prompt_set!r} ({lang})")
    systems = prompt_images(prompt_set, lang, prompt_id)
    return {"prompt": prompt, "systems": systems, "set": prompt_set, "lang": lang,
            "metrics": sorted({m for s in systems for x in s["samples"] for m in x["scores"]})}


def annotator_context(conn: sqlite3.Connection, token: str) -> dict | None:
    """What an annotator's page shows: the profile form, or the current task and progress."""
    from bench.human import studies, tasks

    person = studies.annotator_for(conn, token)
    if person is None:
        return None
    study = studies.get_study(conn, person["study_id"])
    context = {"token": token, "study_lang": study["lang"], "levels": studies.LEVELS,
               "slots": range(studies.MAX_LANGUAGES), "needs_profile": not person["languages"]}
    if context["needs_profile"]:
        return context
    task = tasks.current_task(conn, person)
    context["progress"] = tasks.progress(conn, person)
    context["can_undo"] = context["progress"]["votes"] > 0
    if task is not None:
        prompt = conn.execute("SELECT text FROM prompts WHERE study_id = ? AND prompt_id = ?",
                              (person["study_id"], task["prompt_id"])).fetchone()
        context["task"] = {"id": task["id"], "text": prompt["text"], "left": task["left_image"],
                           "right": task["right_image"]}
    return context
