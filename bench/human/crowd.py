"""A simulated crowd: an exact image reader (the toy world's analyser) votes as a noisy annotator.

It prefers the image that shows more of the prompt's attributes (equal counts: a tie, or both bad when neither
shows any) and flips a set share of its preferences (left <-> right; a tie has no side to flip). It goes through
the same task, vote and check code as people, so the rankings it yields test the whole chain.

The reader is a plug-in's entry in ORACLES (the toy world registers "world"): an object with
parse(text_en) -> scene or None, read(PIL image) -> reading, and hits(reading, scene) -> attributes shown.
"""

from __future__ import annotations

import random
import sqlite3
from typing import Any

from bench.core.config import stable_hash
from bench.core.errors import BenchError
from bench.core.registry import Registry
from bench.human import studies, tasks

ORACLES: Registry[Any] = Registry("crowd oracle", hint="the toy world's is 'world'")


def _answer(shown: tuple[int, int], flip: float, rng: random.Random) -> str:
    left, right = shown
    answer = "left" if left > right else "right" if right > left else ("both_bad" if left == 0 else "tie")
    if rng.random() < flip:
        answer = {"left": "right", "right": "left"}.get(answer, answer)
    return answer


def simulate(conn: sqlite3.Connection, study_id: str, annotators: int = 20, votes: int = 30, flip: float = 0.1,
             seed: int = 0, oracle: str = "world") -> dict[str, int]:
    """Invite `annotators` simulated people (half native speakers) and let each cast up to `votes` votes."""
    from PIL import Image

    reader = ORACLES.get(oracle)

    if not 0 <= flip <= 1:
        raise BenchError("--flip must be in [0, 1]")
    study = studies.get_study(conn, study_id)
    scenes = {}
    for row in conn.execute("SELECT prompt_id, text_en FROM prompts WHERE study_id = ?", (study_id,)):
        scene = reader.parse(row["text_en"])
        if scene is None:
            raise BenchError(f"study {study_id} is not a toy-world study (prompt {row['prompt_id']} is not a "
                             "world caption); the simulated crowd reads world images only")
        scenes[row["prompt_id"]] = scene
    readings: dict[int, Any] = {}

    def hits(image_id: int, prompt_id: str) -> int:
        if image_id not in readings:
            with Image.open(studies.image_path(conn, image_id, study_id)) as img:
                readings[image_id] = reader.read(img.convert("RGB"))
        return reader.hits(readings[image_id], scenes[prompt_id])

    rng = random.Random(seed)
    people = []
    # Ids from (study, seed, number): tasks are drawn per annotator id, so random ids made each simulation's
    # votes, and the crowd tables in reports/, differ from run to run.
    before = conn.execute("SELECT COUNT(*) FROM annotators WHERE study_id = ?", (study_id,)).fetchone()[0]
    ids = [stable_hash([study_id, seed, before + k], length=12) for k in range(annotators)]
    for k, token in enumerate(studies.invite(conn, study_id, annotators, ids=ids)):
        person = studies.annotator_for(conn, token)
        level = "native" if k % 2 == 0 else rng.choice(("fluent", "learning"))
        studies.set_profile(conn, person["id"], [{"lang": study["lang"], "level": level}], "simulated")
        people.append(studies.annotator_for(conn, token))
    cast = 0
    for _ in range(votes):  # round-robin, so pair choices react to everyone's votes as they would live
        for person in people:
            task = tasks.current_task(conn, person)
            if task is None:
                continue
            shown = (hits(task["left_image"], task["prompt_id"]), hits(task["right_image"], task["prompt_id"]))
            tasks.vote(conn, person, task["id"], _answer(shown, flip, rng))
            cast += 1
    return {"annotators": len(people), "votes": cast}
