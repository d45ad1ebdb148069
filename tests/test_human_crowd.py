"""A simulated crowd in the toy world: the exact analyser votes as a noisy annotator through the study, task
and ranking code; its Bradley-Terry ranking must order the systems by how much of the prompt they draw, and
world accuracy (the same analyser, as a metric) must agree with it."""

from __future__ import annotations

import json
import random

import pytest

from bench.core import paths

FLIP = 0.05  # share of answers each simulated annotator flips


def _rank(study: str, annotators: int, votes: int):
    from bench.human.crowd import simulate
    from bench.human.db import opened
    from bench.human.rank import rank_study

    with opened() as conn:
        done = simulate(conn, study, annotators=annotators, votes=votes, flip=FLIP, seed=0)
        result = rank_study(conn, study, n_boot=500)
    scores = {r["system"]: r for r in result["rankings"]["all"]["systems"]}
    return done, result, scores


def _assert_order(result, scores, oracle, translate, pea, asis):
    print("crowd:", {s: (round(r["score"]), [round(x) for x in r["ci"]]) for s, r in scores.items()},
          {k: (round(v["agreement"], 3), v["kendall_tau"]) for k, v in result["agreement"].items()})
    assert min(scores[oracle]["score"], scores[translate]["score"]) > scores[pea]["score"] > scores[asis]["score"]
    assert scores[pea]["ci"][0] > scores[asis]["ci"][1]  # the intervals separate PEA from as-is
    acc = result["agreement"]["world-accuracy"]
    # The metric is the crowd's own judgement: only the flipped answers disagree.
    assert acc["agreement"] >= 1 - FLIP - 0.05 and acc["n"] >= 100  # bounds ~3 standard errors wide
    assert acc["kendall_tau"] >= 0.9


def _drawn_run(name: str, lang: str, scenes, prompts, wrong: float, rng: random.Random) -> None:
    """A run folder of drawn world images: each stated attribute replaced with probability `wrong`."""
    from bench.world import draw

    run = paths.run_dir(f"{name}-world-general-{lang}-drawn")
    (run / "images").mkdir(parents=True)
    rows = []
    for prompt, scene in zip(prompts, scenes, strict=True):
        for sample in range(2):
            kind = rng.choice(draw.SHAPES) if rng.random() < wrong else scene.kind
            colour = rng.choice(list(draw.COLOURS)) if rng.random() < wrong else scene.colour
            size = rng.choice(list(draw.SIZES)) if rng.random() < wrong else scene.size
            position = rng.choice(list(draw.POSITIONS)) if rng.random() < wrong else scene.position
            file = f"images/{prompt.id}_{sample}.png"
            draw.draw_pil(draw.Scene(kind, position, colour, size)).save(run / file)
            rows.append({"prompt_id": prompt.id, "sample": sample, "file": file, "text": prompt.text,
                         "text_en": prompt.text_en, "category": prompt.category})
    paths.write_json(run / paths.RUN_SPEC, {"model_name": name, "tier": "tiny", "lang": lang,
                                            "prompts": {"name": "world-general"}})
    (run / paths.RUN_METADATA).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                          encoding="utf-8")


def test_crowd_on_drawn_world_images(bench_home, tmp_path, monkeypatch):
    """Fast: drawn images whose share of right attributes is known (exact, exact, 70%, chance)."""
    from bench.evaluation.evaluate import EvalConfig, evaluate_run
    from bench.human.db import opened
    from bench.human.studies import create_study
    from bench.prompts import load_prompt_set
    from bench.world import captions

    monkeypatch.setenv("BENCH_REPORTS_DIR", str(tmp_path / "reports"))
    rng = random.Random(0)
    zh = [p for p in load_prompt_set("world-general", "zh").prompts if p.category == "plain-object"][:20]
    en = {p.id: p for p in load_prompt_set("world-general", "en").prompts}
    scenes = [captions.parse(p.text_en, "en") for p in zh]
    _drawn_run("drawn-oracle", "en", scenes, [en[p.id] for p in zh], 0.0, rng)
    _drawn_run("drawn-exact", "zh", scenes, zh, 0.0, rng)
    _drawn_run("drawn-partial", "zh", scenes, zh, 0.3, rng)
    _drawn_run("drawn-chance", "zh", scenes, zh, 1.0, rng)
    for run in paths.runs_dir().iterdir():
        evaluate_run(run, EvalConfig(metrics=("world-accuracy",), judge="world-clip", judge_en="world-clip",
                                     extractor="world-clip", copy_to_reports=False))
    with opened() as conn:
        study = create_study(conn, "world-general", "zh", ["drawn-oracle", "drawn-exact", "drawn-partial",
                                                           "drawn-chance"], name="drawn", check_every=8)
    done, result, scores = _rank(study, annotators=12, votes=30)
    assert done["votes"] == 360
    checks = result["attention_checks"]
    assert checks["answered"] >= 30 and checks["passed"] / checks["answered"] >= 1 - FLIP - 0.1  # only flips fail
    _assert_order(result, scores, "drawn-oracle", "drawn-exact", "drawn-partial", "drawn-chance")

    # The same study simulated again from scratch (a fresh database): the same votes, so the same tables.
    from bench.human.db import db_path

    votes = _votes()
    for leftover in db_path().parent.glob(db_path().name + "*"):
        leftover.unlink()
    with opened() as conn:
        create_study(conn, "world-general", "zh", ["drawn-oracle", "drawn-exact", "drawn-partial", "drawn-chance"],
                     name="drawn", check_every=8)
    _, again, _ = _rank(study, annotators=12, votes=30)
    assert _votes() == votes and again["rankings"] == result["rankings"]


def _votes() -> list[tuple]:
    from bench.human.db import opened

    with opened() as conn:
        return [tuple(r) for r in conn.execute(
            "SELECT v.annotator_id, t.prompt_id, t.left_image, t.right_image, v.answer FROM votes v "
            "JOIN tasks t ON t.id = v.task_id ORDER BY v.id")]


@pytest.mark.slow
def test_crowd_ranks_the_world_pipeline(bench_home, tmp_path, monkeypatch):
    """The real toy-world pipeline: oracle, translate, a shortly trained PEA and as-is, generated and scored."""
    from bench.human.db import opened
    from bench.human.studies import create_study
    from bench.world import demo

    monkeypatch.setenv("BENCH_CORPORA_DIR", str(tmp_path / "corpora"))
    monkeypatch.setenv("BENCH_REPORTS_DIR", str(tmp_path / "reports"))
    cfg = demo.WorldDemoConfig(langs=("zh",), corpus_rows=800, train_steps=200, train_batch=16, lr=2e-2,
                               prompts_limit=24, culture=False, samples=2, steps=10, fid=False,
                               metrics=("world-accuracy",))
    demo.train_world_pea("zh", demo.build_world_corpus("zh", cfg.corpus_rows), cfg)
    timings: dict = {}
    runs = {system: demo.run_system(system, "world-general", lang, cfg, timings)["run"] for system, lang in
            (("world-en", "en"), ("translate-world", "zh"), ("world-pea-zh", "zh"), ("asis-world", "zh"))}
    with opened() as conn:
        study = create_study(conn, "world-general", "zh", list(runs), name="world", run_ids=runs)
    done, result, scores = _rank(study, annotators=16, votes=30)
    _assert_order(result, scores, "world-en", "translate-world", "world-pea-zh", "asis-world")
