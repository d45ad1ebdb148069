"""The toy world's VQA judge: it reads the language table's questions back, answers from the analyser with the
documented probabilities, and its vqascore and culture-vqa agree with the simulated crowd."""

from __future__ import annotations

import json
import random

import pytest

from bench.core import paths
from bench.world import captions, draw
from bench.world.vqa import RELIABILITY, WorldVqaJudge, read_question

PLAIN = draw.Scene("circle", "top left", "red", "small")
CULTURE = draw.Scene("torii", "bottom right")


@pytest.mark.parametrize("lang", captions.LANGS)
def test_the_judge_reads_every_world_languages_questions_back(lang):
    from bench.instruments.vqa import ask, ask_concept

    for scene in (PLAIN, CULTURE):
        for template in range(captions.N_TEMPLATES):
            assert read_question(ask(lang, captions.caption(scene, lang, template))) == ("text", scene)
    for kind in draw.CULTURE:
        assert read_question(ask_concept(lang, captions.object_label(kind, lang))) == ("concept", kind)


def test_answers_are_the_product_of_per_attribute_reliabilities():
    from bench.instruments.vqa import ask, ask_concept

    judge = WorldVqaJudge()
    r = RELIABILITY
    right, wrong_colour = draw.draw_pil(PLAIN), draw.draw_pil(draw.Scene("circle", "top left", "blue", "small"))
    torii, lantern = draw.draw_pil(CULTURE), draw.draw_pil(draw.Scene("lantern", "bottom right"))
    q = ask("zh", captions.caption(PLAIN, "zh"))
    qc = ask("ko", captions.caption(CULTURE, "ko"))
    concept = ask_concept("ja", captions.object_label("torii", "ja"))
    got = judge.yes_probabilities([right, wrong_colour, torii, lantern, torii, lantern], [q, q, qc, qc, concept, concept])
    assert got == pytest.approx([r ** 4, r ** 3 * (1 - r), r ** 2, r * (1 - r), r, 1 - r])


def test_questions_that_are_not_about_the_world_are_refused():
    from bench.core.errors import BenchError
    from bench.instruments.vqa import ask

    with pytest.raises(BenchError, match="world's VQA judge reads only"):
        WorldVqaJudge().yes_probabilities([draw.draw_pil(PLAIN)], [ask("en", "a photo of a cat")])


def _drawn_culture_run(name: str, lang: str, prompts, wrong: float, rng: random.Random) -> None:
    """A world-culture run folder of drawn images: object and position each replaced with probability `wrong`."""
    run = paths.run_dir(f"{name}-world-culture-{lang}-drawn")
    (run / "images").mkdir(parents=True)
    rows = []
    for prompt in prompts:
        scene = captions.parse(prompt.text_en, "en")
        kind = rng.choice(list(draw.CULTURE)) if rng.random() < wrong else scene.kind
        position = rng.choice(list(draw.POSITIONS)) if rng.random() < wrong else scene.position
        file = f"images/{prompt.id}_0.png"
        draw.draw_pil(draw.Scene(kind, position)).save(run / file)
        rows.append({"prompt_id": prompt.id, "sample": 0, "file": file, "text": prompt.text, "text_en": prompt.text_en,
                     "category": prompt.category, "concept": prompt.concept, "confusers": list(prompt.confusers)})
    paths.write_json(run / paths.RUN_SPEC, {"model_name": name, "tier": "tiny", "lang": lang,
                                            "prompts": {"name": "world-culture"}})
    (run / paths.RUN_METADATA).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                          encoding="utf-8")


def test_world_vqa_metrics_agree_with_the_simulated_crowd(tmp_path, monkeypatch):
    from bench.evaluation.evaluate import EvalConfig, evaluate_run
    from bench.prompts import load_prompt_set
    from bench.world.study import FLIP, crowd_study

    monkeypatch.setenv("BENCH_REPORTS_DIR", str(tmp_path / "reports"))
    rng = random.Random(0)
    zh = list(load_prompt_set("world-culture", "zh").prompts)
    en = {p.id: p for p in load_prompt_set("world-culture", "en").prompts}
    _drawn_culture_run("drawn-oracle", "en", [en[p.id] for p in zh], 0.0, rng)
    for name, wrong in (("drawn-exact", 0.0), ("drawn-partial", 0.4), ("drawn-chance", 1.0)):
        _drawn_culture_run(name, "zh", zh, wrong, rng)
    runs = {}
    for run in sorted(paths.runs_dir().iterdir()):
        summary = evaluate_run(run, EvalConfig(metrics=("world-accuracy", "vqascore", "culture-vqa",
                                                        "concept-present")))  # the set names world-vqa
        runs[summary["system"]] = summary["run_id"]
        m = summary["metrics"]
        if summary["system"] in ("drawn-oracle", "drawn-exact"):  # drawn as stated: exact answers
            assert m["vqascore"]["value"] == pytest.approx(RELIABILITY ** 2)
            assert m["culture-vqa"]["value"] == m["concept-present"]["value"] == 1.0
        assert summary["judges"]["world-vqa"]["weights"] == "id:bench.world.vqa@1"
    result = crowd_study("world-culture", "zh", runs)
    again = crowd_study("world-culture", "zh", runs)  # the study exists: ranked again, no new votes
    assert again["rankings"]["all"]["votes"] == result["rankings"]["all"]["votes"] > 100
    agreement = result["agreement"]
    print({k: (round(v["agreement"], 3), v["kendall_tau"]) for k, v in agreement.items()})
    # vqascore orders images exactly as the crowd's reader does: only flipped votes disagree
    assert agreement["vqascore"]["agreement"] >= 1 - FLIP - 0.06
    assert agreement["vqascore"]["kendall_tau"] >= 0.6
    # culture-vqa sees the object only: position-only differences are its ties (half a vote each)
    assert agreement["culture-vqa"]["agreement"] > 0.6 and agreement["culture-vqa"]["kendall_tau"] >= 0.6
    assert (tmp_path / "reports" / "human" / f"{result['study']}.json").is_file()


def _pairs_file(folder, lang: str, n: int = 12):
    """A judge-check pairs.jsonl of drawn world scenes with their captions in `lang` and English."""
    folder.mkdir(parents=True, exist_ok=True)
    scenes = random.Random(3).sample(draw.all_scenes(culture=False, jitter=False), n)
    rows = []
    for k, scene in enumerate(scenes):
        draw.draw_pil(scene).save(folder / f"{k}.png")
        rows.append({"image": f"{k}.png", "text": captions.caption(scene, lang), "text_en": captions.english(scene)})
    (folder / "pairs.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                        encoding="utf-8")
    return folder / "pairs.jsonl", scenes


@pytest.mark.parametrize("judge", ["world-vqa", "tiny-qwen2.5-vl"])
def test_judge_check_matches_own_captions_against_other_images_captions(tmp_path, judge):
    from typer.testing import CliRunner

    from bench.cli import app
    from bench.evaluation.judge_check import JudgeCheckConfig, judge_check
    from bench.instruments.features import load_images
    from bench.instruments.vqa import ask, load_vqa_judge

    pairs, scenes = _pairs_file(tmp_path / "pairs", "ko")
    result = judge_check(JudgeCheckConfig(lang="ko", judge=judge, pairs=str(pairs), tier="tiny"))
    images = load_images([tmp_path / "pairs" / f"{k}.png" for k in range(len(scenes))])
    own = load_vqa_judge(judge).yes_probabilities(images, [ask("ko", captions.caption(s, "ko")) for s in scenes])
    assert result["kind"] == "vqa" and result["n"] == len(scenes) and result["chance"] == 0.5
    assert result["p_matched_native"] == pytest.approx(float(own.mean()))
    if judge == "world-vqa":  # drawn as captioned: the own caption always wins, in either language
        assert result["wins_native"] == result["wins_english"] == 1.0
        assert result["p_matched_native"] == pytest.approx(RELIABILITY ** 4)
    out = CliRunner().invoke(app, ["judge-check", "--lang", "ko", "--judge", judge, "--pairs", str(pairs)])
    assert out.exit_code == 0, out.output
    assert f"own caption higher for {result['wins_native']:.3f}" in out.output
