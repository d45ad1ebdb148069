"""What an annotator sees next, their votes and undo: pairs that cover every system pair evenly, then the
least certain ones; now and then an attention check; never the same pair twice for one person."""

from __future__ import annotations

import itertools
import random
import sqlite3
import time

import numpy as np

from bench.core.errors import BenchError
from bench.human.db import transaction
from bench.human.studies import now

ANSWERS = ("left", "right", "tie", "both_bad")
OUTCOME = {"left": 1.0, "right": 0.0, "tie": 0.5, "both_bad": 0.5}  # both bad counts as a tie, as in arenas
COVER = 5  # votes per system pair before choices follow uncertainty instead of coverage
IMBALANCE = 2  # after that, no system pair gets more than this many times the tasks of the rarest


class Rejected(BenchError):
    """A request the server refuses, with the HTTP status to send."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def pair_key(prompt_id: str, sample: int, a: str, b: str) -> str:
    """The same two systems on the same prompt and sample, in either order."""
    lo, hi = sorted((a, b))
    return f"{prompt_id}/{sample}/{lo}|{hi}"


def pending_task(conn: sqlite3.Connection, annotator_id: str) -> sqlite3.Row | None:
    """The annotator's oldest unanswered task."""
    return conn.execute("SELECT t.* FROM tasks t LEFT JOIN votes v ON v.task_id = t.id "
                        "WHERE t.annotator_id = ? AND v.id IS NULL ORDER BY t.id LIMIT 1",
                        (annotator_id,)).fetchone()


def current_task(conn: sqlite3.Connection, annotator: sqlite3.Row) -> sqlite3.Row | None:
    """The task to show now (an unanswered one, else a new one); None when the annotator has seen every pair."""
    with transaction(conn):
        task = pending_task(conn, annotator["id"])
        if task is None:
            task_id = _new_task(conn, annotator)
            if task_id is None:
                return None
        else:
            task_id = task["id"]
        conn.execute("UPDATE tasks SET shown_at = ? WHERE id = ?", (time.time(), task_id))
        return conn.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()


def _rng(annotator_id: str, n_tasks: int, seed: int) -> random.Random:
    return random.Random(f"{seed}/{annotator_id}/{n_tasks}")


def _new_task(conn: sqlite3.Connection, annotator: sqlite3.Row) -> int | None:
    """Insert the next task for the annotator (inside the caller's write transaction); its id or None."""
    study = conn.execute("SELECT * FROM studies WHERE id = ?", (annotator["study_id"],)).fetchone()
    n_tasks = conn.execute("SELECT COUNT(*) FROM tasks WHERE annotator_id = ?", (annotator["id"],)).fetchone()[0]
    rng = _rng(annotator["id"], n_tasks, study["seed"])
    every = study["check_every"]
    offset = random.Random(f"{study['seed']}/{annotator['id']}").randrange(every) if every else 0
    if every and study["oracle"] and n_tasks % every == offset:
        task = _check_task(conn, study, rng)
        if task is not None:
            return _insert(conn, study, annotator, "check", *task, rng=rng)
    task = _pair_task(conn, study, annotator, rng)
    if task is None:
        return None
    return _insert(conn, study, annotator, "pair", *task, rng=rng)


def _insert(conn, study, annotator, kind, prompt_id, sample, first, second, expected_first, *, rng) -> int:
    """Insert a task with sides randomised; `first`/`second` are (image id, system)."""
    swap = rng.random() < 0.5
    left, right = (second, first) if swap else (first, second)
    expected = None
    if expected_first is not None:
        expected = ("right" if swap else "left") if expected_first else ("left" if swap else "right")
    lo, hi = sorted((first[1], second[1])) if kind == "pair" else (None, None)
    key = pair_key(prompt_id, sample, first[1], second[1]) if kind == "pair" else None
    cur = conn.execute(
        "INSERT INTO tasks (study_id, annotator_id, kind, prompt_id, sample, left_image, right_image, sys_lo, "
        "sys_hi, pair_key, expected, shown_at, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (study["id"], annotator["id"], kind, prompt_id, sample, left[0], right[0], lo, hi, key, expected,
         time.time(), now()))
    return int(cur.lastrowid)


def _check_task(conn, study, rng):
    """The oracle's image of a prompt against its image of a different prompt; the first is the right answer."""
    rows = conn.execute("SELECT id, prompt_id, sample FROM images WHERE study_id = ? AND system = ? ORDER BY id",
                        (study["id"], study["oracle"])).fetchall()
    prompts = sorted({r["prompt_id"] for r in rows})
    if len(prompts) < 2:
        return None
    right = rng.choice(rows)
    wrong = rng.choice([r for r in rows if r["prompt_id"] != right["prompt_id"]])
    return (right["prompt_id"], right["sample"], (right["id"], study["oracle"]),
            (wrong["id"], study["oracle"]), True)


def _pair_task(conn, study, annotator, rng):
    """A pair of systems (fewest votes first, then least certain) on an item this annotator has not seen."""
    systems = [r["system"] for r in conn.execute(
        "SELECT system FROM study_systems WHERE study_id = ? ORDER BY system", (study["id"],))]
    counts = {(r["sys_lo"], r["sys_hi"]): r["n"] for r in conn.execute(
        "SELECT sys_lo, sys_hi, COUNT(*) AS n FROM tasks WHERE study_id = ? AND kind = 'pair' "
        "GROUP BY sys_lo, sys_hi", (study["id"],))}
    pairs = list(itertools.combinations(systems, 2))
    least = min(counts.get(p, 0) for p in pairs)
    if least < COVER:  # coverage first: the pairs with the fewest tasks
        order = sorted(pairs, key=lambda p: (counts.get(p, 0), rng.random()))
    else:
        # Then the least certain pair, among those with at most twice the fewest tasks: two identical systems
        # stay "uncertain" forever, and must not take every vote from then on.
        uncertainty = _uncertainty(conn, study["id"], systems, counts)
        eligible = [p for p in pairs if counts.get(p, 0) <= IMBALANCE * least]
        order = sorted(eligible, key=lambda p: (-uncertainty[p], rng.random()))
        order += sorted((p for p in pairs if p not in eligible), key=lambda p: (counts.get(p, 0), rng.random()))
    seen = {r[0] for r in conn.execute("SELECT pair_key FROM tasks WHERE annotator_id = ? AND pair_key IS NOT NULL",
                                       (annotator["id"],))}
    for a, b in order:
        images_a = {(r["prompt_id"], r["sample"]): r["id"] for r in conn.execute(
            "SELECT id, prompt_id, sample FROM images WHERE study_id = ? AND system = ?", (study["id"], a))}
        images_b = {(r["prompt_id"], r["sample"]): r["id"] for r in conn.execute(
            "SELECT id, prompt_id, sample FROM images WHERE study_id = ? AND system = ?", (study["id"], b))}
        used = {(r["prompt_id"], r["sample"]): r["n"] for r in conn.execute(
            "SELECT prompt_id, sample, COUNT(*) AS n FROM tasks WHERE study_id = ? AND sys_lo = ? AND sys_hi = ? "
            "GROUP BY prompt_id, sample", (study["id"], a, b))}
        free = [item for item in images_a if item in images_b and pair_key(*item, a, b) not in seen]
        if not free:
            continue
        least = min(used.get(item, 0) for item in free)  # spread each pair's votes over prompts too
        item = rng.choice(sorted(x for x in free if used.get(x, 0) == least))
        return item[0], item[1], (images_a[item], a), (images_b[item], b), None
    return None


def _uncertainty(conn, study_id, systems, counts) -> dict[tuple[str, str], float]:
    """Per system pair, p(1-p)/(n+1) under the current Bradley-Terry fit: close calls with few votes score high."""
    from bench.human import bt

    index = {s: k for k, s in enumerate(systems)}
    rows = conn.execute(
        "SELECT li.system AS left_sys, ri.system AS right_sys, v.answer FROM votes v JOIN tasks t ON t.id = v.task_id "
        "JOIN images li ON li.id = t.left_image JOIN images ri ON ri.id = t.right_image "
        "WHERE t.study_id = ? AND t.kind = 'pair'", (study_id,)).fetchall()
    theta = np.zeros(len(systems))
    if rows:
        w = bt.win_matrix(len(systems), [index[r["left_sys"]] for r in rows], [index[r["right_sys"]] for r in rows],
                          [OUTCOME[r["answer"]] for r in rows])
        theta = bt.fit(w)
    out = {}
    for a, b in itertools.combinations(systems, 2):
        p = 1 / (1 + np.exp(-(theta[index[a]] - theta[index[b]])))
        out[(a, b)] = float(p * (1 - p) / (counts.get((a, b), 0) + 1))
    return out


def vote(conn: sqlite3.Connection, annotator: sqlite3.Row, task_id: int, answer: str) -> int:
    """Record the answer to one of the annotator's unanswered tasks; returns the vote id."""
    if answer not in ANSWERS:
        raise Rejected(400, f"answer must be one of {', '.join(ANSWERS)}")
    with transaction(conn):
        task = conn.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
        if task is None or task["annotator_id"] != annotator["id"]:
            raise Rejected(404, "no such task for this link")
        if conn.execute("SELECT 1 FROM votes WHERE task_id = ?", (task_id,)).fetchone():
            raise Rejected(409, "this task is answered already")
        ms = max(0, int((time.time() - task["shown_at"]) * 1000))
        cur = conn.execute("INSERT INTO votes (task_id, study_id, annotator_id, answer, ms, created) "
                           "VALUES (?, ?, ?, ?, ?, ?)", (task_id, task["study_id"], annotator["id"], answer, ms, now()))
        return int(cur.lastrowid)


def undo(conn: sqlite3.Connection, annotator: sqlite3.Row) -> int | None:
    """Remove the annotator's last vote; its task is shown again next. Returns the task id, None if nothing to undo."""
    with transaction(conn):
        last = conn.execute("SELECT id, task_id FROM votes WHERE annotator_id = ? ORDER BY id DESC LIMIT 1",
                            (annotator["id"],)).fetchone()
        if last is None:
            return None
        conn.execute("DELETE FROM votes WHERE id = ?", (last["id"],))
        # The undone task must come next, before any task created meanwhile.
        pending = conn.execute("SELECT t.id FROM tasks t LEFT JOIN votes v ON v.task_id = t.id "
                               "WHERE t.annotator_id = ? AND v.id IS NULL AND t.id != ?",
                               (annotator["id"], last["task_id"])).fetchall()
        for row in pending:
            conn.execute("DELETE FROM tasks WHERE id = ?", (row["id"],))
        return int(last["task_id"])


def progress(conn: sqlite3.Connection, annotator: sqlite3.Row) -> dict[str, int]:
    """Votes given (attention checks included) and the pairs still available to this annotator."""
    votes = conn.execute("SELECT COUNT(*) FROM votes WHERE annotator_id = ?", (annotator["id"],)).fetchone()[0]
    n_systems = conn.execute("SELECT COUNT(*) FROM study_systems WHERE study_id = ?",
                             (annotator["study_id"],)).fetchone()[0]
    items = conn.execute("SELECT COUNT(*) FROM images WHERE study_id = ? AND system = (SELECT MIN(system) FROM "
                         "study_systems WHERE study_id = ?)", (annotator["study_id"],) * 2).fetchone()[0]
    seen = conn.execute("SELECT COUNT(*) FROM tasks t JOIN votes v ON v.task_id = t.id WHERE t.annotator_id = ? "
                        "AND t.kind = 'pair'", (annotator["id"],)).fetchone()[0]
    return {"votes": votes, "pairs_left": items * n_systems * (n_systems - 1) // 2 - seen}
