"""Studies (finished runs of one prompt set and language), annotator links and profiles."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from bench.core import paths
from bench.core.errors import BenchError
from bench.core.hashing import sha256_file

LEVELS = ("native", "fluent", "learning")
_LANG_CODE = re.compile(r"^[a-z]{2,3}$")
MAX_LANGUAGES = 4
MAX_REGION = 64


def now() -> str:
    """UTC time as ISO 8601 with milliseconds."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def token_hash(token: str) -> str:
    """What the database keeps of an annotator token (a leaked file does not leak working links)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes."""
    return sha256_file(path)


@dataclass(frozen=True)
class RunInfo:
    """A finished run as a study sees it."""

    run_id: str
    system: str
    prompt_set: str
    lang: str
    rows: list[dict]


def read_runs() -> list[RunInfo]:
    """Every run under BENCH_HOME/runs that has a spec and complete metadata (unreadable ones are skipped)."""
    from bench.generation.runs import read_run

    out: list = []
    root = paths.runs_dir()
    if not root.is_dir():
        return out
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and (p / paths.RUN_SPEC).is_file()):
        try:
            run = read_run(folder)
        except BenchError:
            continue  # unfinished or broken: not something people can vote on
        out.append(RunInfo(folder.name, run.system, run.prompt_set.get("name", "?"), run.lang, run.rows))
    return out


def pick_run(runs: list[RunInfo], system: str, prompt_set: str, lang: str) -> RunInfo:
    """The run of `system` on the prompt set in `lang` (or in English, for an English oracle): most images wins."""
    same = [r for r in runs if r.system == system and r.prompt_set == prompt_set]
    for wanted in (lang, "en"):
        found = [r for r in same if r.lang == wanted]
        if found:
            return max(found, key=lambda r: (len(r.rows), r.run_id))
    known = sorted({r.system for r in runs if r.prompt_set == prompt_set})
    raise BenchError(f"no finished run of system {system!r} on prompt set {prompt_set!r} in {lang!r} or 'en' "
                     f"(runs there: {', '.join(known) or 'none'}); run bench generate first")


def check_names(prompt_set: str, lang: str) -> None:
    """An unknown language or prompt set is named as such (with a did-you-mean), not as a missing run."""
    from bench.core.errors import unknown_name
    from bench.core.languages import get_language
    from bench.prompts import list_prompt_sets

    get_language(lang)
    sets = set(list_prompt_sets()) | {r.prompt_set for r in read_runs()}
    if prompt_set not in sets:
        raise unknown_name("prompt set", prompt_set, sets, "bench prompts list shows them")


def create_study(conn: sqlite3.Connection, prompt_set: str, lang: str, systems: list[str], name: str | None = None,
                 oracle: str | None = None, check_every: int = 8, check_threshold: float = 0.7,
                 min_checks: int = 2, seed: int = 0, run_ids: dict[str, str] | None = None) -> str:
    """Create a study from finished runs; returns its id. Items are the (prompt, sample) pairs all runs share."""
    if len(set(systems)) < 2 or len(set(systems)) != len(systems):
        raise BenchError("a study needs at least two different systems (--systems a,b,...)")
    if not 0 <= check_threshold <= 1 or check_every < 0 or min_checks < 0:
        raise BenchError("--check-threshold must be in [0, 1]; --check-every and --min-checks >= 0")
    check_names(prompt_set, lang)
    runs = read_runs()
    by_id = {r.run_id: r for r in runs}
    chosen: dict[str, RunInfo] = {}
    for system in systems:
        if run_ids and system in run_ids:
            run = by_id.get(run_ids[system])
            if run is None:
                raise BenchError(f"run {run_ids[system]!r} is not a finished run under {paths.runs_dir()}")
            chosen[system] = run
        else:
            chosen[system] = pick_run(runs, system, prompt_set, lang)
    if oracle is None:
        oracle = next((s for s in systems if chosen[s].lang == "en" and lang != "en"), None)
    elif oracle not in chosen:
        raise BenchError(f"--oracle {oracle!r} must be one of --systems ({', '.join(systems)})")
    items = None
    for run in chosen.values():
        keys = {(r["prompt_id"], int(r["sample"])) for r in run.rows}
        items = keys if items is None else items & keys
    if not items:
        raise BenchError("the runs share no (prompt id, sample): generate them on the same prompt set")
    native = next((r for r in chosen.values() if r.lang == lang), None)
    if native is None:
        raise BenchError(f"none of the runs is in {lang!r}: the study needs the native prompts of one run")
    study_id = paths.safe_id(name or f"{prompt_set}-{lang}", what="study name")
    if conn.execute("SELECT 1 FROM studies WHERE id = ?", (study_id,)).fetchone():
        raise BenchError(f"study {study_id!r} exists already; pick another --name")
    prompt_ids = sorted({p for p, _ in items})
    native_rows = {r["prompt_id"]: r for r in native.rows}
    from bench.human.db import transaction

    with transaction(conn):
        conn.execute("INSERT INTO studies (id, prompt_set, lang, oracle, check_every, check_threshold, min_checks, "
                     "seed, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (study_id, prompt_set, lang, oracle, check_every if oracle else 0, check_threshold,
                      min_checks, seed, now()))
        for pid in prompt_ids:
            row = native_rows[pid]
            conn.execute("INSERT INTO prompts (study_id, prompt_id, text, text_en, concept, category) "
                         "VALUES (?, ?, ?, ?, ?, ?)", (study_id, pid, row.get("text") or "",
                                                       row.get("text_en") or "", row.get("concept"),
                                                       row.get("category")))
        for system, run in chosen.items():
            conn.execute("INSERT INTO study_systems (study_id, system, run_id, run_lang) VALUES (?, ?, ?, ?)",
                         (study_id, system, run.run_id, run.lang))
            folder = paths.run_dir(run.run_id)
            for row in run.rows:
                key = (row["prompt_id"], int(row["sample"]))
                if key in items:
                    conn.execute("INSERT INTO images (study_id, system, prompt_id, sample, file, sha256) "
                                 "VALUES (?, ?, ?, ?, ?, ?)", (study_id, system, key[0], key[1], row["file"],
                                                               file_sha256(folder / row["file"])))
    return study_id


def get_study(conn: sqlite3.Connection, study_id: str) -> sqlite3.Row:
    """A study's row, or a BenchError naming the known ones."""
    row = conn.execute("SELECT * FROM studies WHERE id = ?", (study_id,)).fetchone()
    if row is None:
        known = [r["id"] for r in conn.execute("SELECT id FROM studies ORDER BY id")]
        raise BenchError(f"unknown study {study_id!r} (known: {', '.join(known) or 'none'}; "
                         "bench human new-study creates one)")
    return row


def study_systems(conn: sqlite3.Connection, study_id: str) -> dict[str, str]:
    """system -> run id of a study."""
    rows = conn.execute("SELECT system, run_id FROM study_systems WHERE study_id = ? ORDER BY system", (study_id,))
    return {r["system"]: r["run_id"] for r in rows}


def list_studies(conn: sqlite3.Connection) -> list[dict]:
    """Every study with its systems and vote, annotator and item counts."""
    out = []
    for s in conn.execute("SELECT * FROM studies ORDER BY created, id").fetchall():
        count = conn.execute
        out.append(dict(s) | {
            "systems": study_systems(conn, s["id"]),
            "items": count("SELECT COUNT(*) FROM images WHERE study_id = ? AND system = "
                           "(SELECT MIN(system) FROM study_systems WHERE study_id = ?)", (s["id"], s["id"])).fetchone()[0],
            "annotators": count("SELECT COUNT(*) FROM annotators WHERE study_id = ?", (s["id"],)).fetchone()[0],
            "votes": count("SELECT COUNT(*) FROM votes WHERE study_id = ?", (s["id"],)).fetchone()[0],
        })
    return out


def invite(conn: sqlite3.Connection, study_id: str, n: int, ids: list[str] | None = None) -> list[str]:
    """Create n annotators for a study; returns their secret tokens (only their hashes are stored).

    `ids` names them (a simulated crowd: each annotator's task order follows from its id, so fixed ids make
    its votes reproducible); people get random ones."""
    from bench.human.db import transaction

    get_study(conn, study_id)
    if not 1 <= n <= 10_000:
        raise BenchError("-n must be between 1 and 10000")
    if ids is not None and len(ids) != n:
        raise ValueError(f"{len(ids)} ids for {n} annotators")
    tokens = [secrets.token_urlsafe(24) for _ in range(n)]
    with transaction(conn):
        for k, token in enumerate(tokens):
            conn.execute("INSERT INTO annotators (id, study_id, token_sha256, created) VALUES (?, ?, ?, ?)",
                         (ids[k] if ids is not None else secrets.token_hex(6), study_id, token_hash(token), now()))
    return tokens


def annotator_for(conn: sqlite3.Connection, token: str) -> sqlite3.Row | None:
    """The annotator a token belongs to, or None."""
    if not isinstance(token, str) or not 16 <= len(token) <= 64:
        return None
    return conn.execute("SELECT * FROM annotators WHERE token_sha256 = ?", (token_hash(token),)).fetchone()


def parse_profile(languages: list[tuple[str, str]], region: str) -> tuple[list[dict], str]:
    """Validated profile: [(lang code, level)] and a region; raises BenchError with a short reason."""
    out, seen = [], set()
    for code, level in languages:
        code, level = (code or "").strip().lower(), (level or "").strip().lower()
        if not code and not level:
            continue
        if not _LANG_CODE.match(code):
            raise BenchError(f"language {code!r} is not an ISO 639 code (two or three letters, e.g. ko)")
        if level not in LEVELS:
            raise BenchError(f"level {level!r} must be one of {', '.join(LEVELS)}")
        if code in seen:
            raise BenchError(f"language {code!r} is listed twice")
        seen.add(code)
        out.append({"lang": code, "level": level})
    if not out:
        raise BenchError("give at least one language you read and how well")
    if len(out) > MAX_LANGUAGES:
        raise BenchError(f"at most {MAX_LANGUAGES} languages")
    region = " ".join((region or "").split())
    if not region or len(region) > MAX_REGION or any(not (c.isprintable()) for c in region):
        raise BenchError(f"region must be 1 to {MAX_REGION} printable characters")
    return out, region


def set_profile(conn: sqlite3.Connection, annotator_id: str, languages: list[dict], region: str) -> None:
    """Store what we keep about a person: the languages they read, how well, and their region."""
    from bench.human.db import transaction

    with transaction(conn):
        conn.execute("UPDATE annotators SET languages = ?, region = ? WHERE id = ?",
                     (json.dumps(languages, sort_keys=True), region, annotator_id))


def languages_of(annotator: sqlite3.Row | dict) -> list[dict]:
    """The annotator's [{lang, level}] (empty before the profile is filled)."""
    raw = annotator["languages"]
    return json.loads(raw) if raw else []


def is_native(annotator: sqlite3.Row | dict, lang: str) -> bool:
    """True when the annotator reads `lang` natively."""
    return any(x["lang"] == lang and x["level"] == "native" for x in languages_of(annotator))


def image_path(conn: sqlite3.Connection, image_id: int, study_id: str | None = None) -> Path | None:
    """The file of a study image by its id (optionally only within one study); None when there is none."""
    row = conn.execute("SELECT i.file, i.study_id, s.run_id FROM images i JOIN study_systems s "
                       "ON s.study_id = i.study_id AND s.system = i.system WHERE i.id = ?", (image_id,)).fetchone()
    if row is None or (study_id is not None and row["study_id"] != study_id):
        return None
    folder = paths.run_dir(row["run_id"]).resolve()
    path = (folder / row["file"]).resolve()
    if folder not in path.parents or not path.is_file():
        return None
    return path
