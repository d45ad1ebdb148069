"""A small study over crafted run folders (no generation): three systems and an English oracle."""

from __future__ import annotations

from bench.core import paths
from tests.evalkit import make_run

SYSTEMS = ("sys-a", "sys-b", "sys-c", "sys-en")


def make_study(n_prompts: int = 6, samples: int = 2, name: str = "culture-zh", check_every: int = 4) -> str:
    """Runs for SYSTEMS under BENCH_HOME/runs and a study over them; returns the study id."""
    from bench.human.db import opened
    from bench.human.studies import create_study

    root = paths.runs_dir()
    for k, system in enumerate(SYSTEMS):
        lang = "en" if system.endswith("-en") else "zh"
        make_run(root, run_id=f"{system}-culture-{lang}-x", n_prompts=n_prompts, samples=samples, seed=k,
                 model=system, lang=lang)
    with opened() as conn:
        return create_study(conn, "culture", "zh", list(SYSTEMS), name=name, check_every=check_every)


def annotator(conn, study: str, level: str = "native", lang: str = "zh"):
    """Invite one annotator, fill their profile, return (token, row)."""
    from bench.human import studies

    token = studies.invite(conn, study, 1)[0]
    person = studies.annotator_for(conn, token)
    studies.set_profile(conn, person["id"], [{"lang": lang, "level": level}], "test")
    return token, studies.annotator_for(conn, token)
