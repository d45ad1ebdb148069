"""Every vote of a study as flat records (what export writes and rankings read), and attention-check flags."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

from bench.human.studies import get_study

GENAI_ARENA_WINNER = {"left": "model_a", "right": "model_b", "tie": "tie", "both_bad": "tie (bothbad)"}


def _level(languages: list[dict], lang: str) -> str:
    return next((x["level"] for x in languages if x["lang"] == lang), "none")


def vote_records(conn: sqlite3.Connection, study_id: str) -> list[dict]:
    """One dict per vote, oldest first: who (pseudonymous), what they saw on which side, what they answered."""
    study = get_study(conn, study_id)
    rows = conn.execute(
        "SELECT v.id AS vote_id, v.answer, v.ms, v.created, t.id AS task_id, t.kind, t.prompt_id, t.sample, "
        "t.expected, a.id AS annotator_id, a.languages, a.region, li.system AS left_system, "
        "ri.system AS right_system, li.sha256 AS left_sha256, ri.sha256 AS right_sha256, "
        "li.prompt_id AS left_prompt_id, ri.prompt_id AS right_prompt_id FROM votes v "
        "JOIN tasks t ON t.id = v.task_id JOIN annotators a ON a.id = v.annotator_id "
        "JOIN images li ON li.id = t.left_image JOIN images ri ON ri.id = t.right_image "
        "WHERE v.study_id = ? ORDER BY v.id", (study_id,)).fetchall()
    out = []
    for r in rows:
        languages = json.loads(r["languages"]) if r["languages"] else []
        created = dt.datetime.fromisoformat(r["created"])
        out.append({
            "vote_id": r["vote_id"], "study": study_id, "prompt_set": study["prompt_set"], "lang": study["lang"],
            "annotator_id": r["annotator_id"], "annotator_languages": languages,
            "annotator_level": _level(languages, study["lang"]), "annotator_region": r["region"],
            "kind": r["kind"], "prompt_id": r["prompt_id"], "sample": r["sample"],
            "left_system": r["left_system"], "right_system": r["right_system"],
            "left_prompt_id": r["left_prompt_id"], "right_prompt_id": r["right_prompt_id"],
            "left_sha256": r["left_sha256"], "right_sha256": r["right_sha256"],
            "answer": r["answer"], "expected": r["expected"],
            "correct": None if r["expected"] is None else r["answer"] == r["expected"],
            "ms": r["ms"], "time": r["created"],
            # The fields of GenAI-Arena's (FastChat's) battle records, so their rating scripts read ours.
            "model_a": r["left_system"], "model_b": r["right_system"],
            "winner": GENAI_ARENA_WINNER[r["answer"]], "judge": r["annotator_id"], "anony": True,
            "language": study["lang"], "tstamp": created.timestamp(), "turn": 1,
        })
    return out


def check_scores(conn: sqlite3.Connection, study_id: str) -> dict[str, dict]:
    """Per annotator: attention checks answered, passed, and whether they are flagged (below the threshold)."""
    study = get_study(conn, study_id)
    out: dict[str, dict] = {}
    for a in conn.execute("SELECT id FROM annotators WHERE study_id = ?", (study_id,)):
        out[a["id"]] = {"checks": 0, "passed": 0, "flagged": False}
    for r in conn.execute("SELECT v.annotator_id, v.answer, t.expected FROM votes v JOIN tasks t ON t.id = v.task_id "
                          "WHERE v.study_id = ? AND t.kind = 'check'", (study_id,)):
        score = out[r["annotator_id"]]
        score["checks"] += 1
        score["passed"] += int(r["answer"] == r["expected"])
    for score in out.values():
        score["flagged"] = (score["checks"] >= max(1, study["min_checks"])
                            and score["passed"] / score["checks"] < study["check_threshold"])
    return out
