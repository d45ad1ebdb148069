"""The toy world inside the toolkit's registries: source, translator, systems, metric (no trained models)."""

from __future__ import annotations

import json

import pytest

from bench.core import paths
from bench.world import captions, draw, prompts


def test_world_names_are_registered():
    from bench.corpus.sources import SOURCES
    from bench.models.bases import get_base
    from bench.models.encoders import get_student_spec
    from bench.models.pipelines import SYSTEMS
    from bench.models.translators import TRANSLATORS

    assert get_base("world").model_id == "zoo:world-teacher"
    assert get_student_spec("world").width == 64
    assert "world" in SOURCES and "world" in TRANSLATORS
    assert {"world-en", "asis-world", "translate-world", "world-pea-zh"} <= set(SYSTEMS.names())


def test_world_translator_is_exact_both_ways():
    from bench.models.translators import load_translator

    scene = draw.Scene("triangle", "bottom right", "purple", "large")
    to_en = load_translator("world", "ru", "en")
    assert to_en.translate([captions.caption(scene, "ru")]) == [captions.english(scene)]
    to_ja = load_translator("world", "en", "ja")
    assert to_ja.translate([captions.english(scene, 1)]) == [captions.caption(scene, "ja")]


def test_world_source_rows_are_exact_pairs(bench_home):
    from bench.corpus.sources import open_source

    frames = list(open_source("world:40", "it").batches(16))
    rows = [r for f in frames for r in f.iter_rows(named=True)]
    assert len(rows) == 40
    from bench.world import analyser, draw
    from bench.world.plugins import IMAGES, world_rows

    _, scenes = world_rows(40, "it")  # what the build draws into the corpus folder, by the rows' image names
    for row in rows:
        scene = captions.parse(row["text"], "it")
        assert scene is not None and captions.parse(row["text_en"], "en") == scene
        assert row["image"].startswith(f"{IMAGES}/")  # relative to the corpus folder, so a corpus can move
        img = draw.draw_pil(scenes[row["image"].rsplit("/", 1)[1]])
        assert analyser.score(analyser.analyse(img.convert("RGB")), scene) == dict.fromkeys(scene.attributes(), True)


def test_world_accuracy_metric_scores_drawn_images_perfectly(bench_home, tmp_path, monkeypatch):
    from bench.evaluation.evaluate import EvalConfig, evaluate_run

    monkeypatch.setenv("BENCH_REPORTS_DIR", str(tmp_path / "reports"))
    run = tmp_path / "run"
    (run / "images").mkdir(parents=True)
    rows = []
    scenes = prompts.general_scenes()[:6] + prompts.culture_scenes()[:2]
    for i, scene in enumerate(scenes):
        file = f"images/p{i}_0.png"
        draw.draw_pil(scene).save(run / file)
        rows.append({"prompt_id": f"p{i}", "sample": 0, "file": file, "text": captions.caption(scene, "zh"),
                     "text_en": captions.english(scene)})
    # One wrong image: a drawing of another scene under the first prompt.
    draw.draw_pil(draw.Scene("cross", "top left", "blue", "small")).save(run / "images/px_0.png")
    rows.append({"prompt_id": "px", "sample": 0, "file": "images/px_0.png", "text": "",
                 "text_en": captions.english(draw.Scene("circle", "top left", "red", "small"))})
    paths.write_json(run / paths.RUN_SPEC, {"tier": "tiny", "lang": "zh", "prompts": {"name": "world-general"}})
    (run / paths.RUN_METADATA).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    summary = evaluate_run(run, EvalConfig(metrics=("world-accuracy",), judge="world-clip", judge_en="world-clip",
                                           extractor="world-clip", copy_to_reports=False))
    result = summary["metrics"]["world-accuracy"]
    # 8 perfect images and one with 2 of 4 attributes right (size and position).
    assert result["value"] == pytest.approx((8 + 0.5) / 9)
    assert result["per_attribute"]["position"] == 1.0
    assert result["per_attribute"]["colour"] == pytest.approx(6 / 7)


def test_world_plugin_constants_match_the_world_and_its_demo_is_registered():
    from bench.demo import DEMOS
    from bench.world import plugins, teacher
    from bench.world.demo import demo_stage

    assert (plugins.RESOLUTION, plugins.CONTEXT_DIM) == (draw.SIZE, teacher.CONTEXT_DIM)
    assert DEMOS.names() == ["world"] and DEMOS.get("world") is demo_stage


def test_world_reader_is_the_crowd_oracle_and_counts_shown_attributes():
    from bench.human.crowd import ORACLES

    reader = ORACLES.get("world")
    scene = draw.Scene("triangle", "bottom right", "purple", "large")
    image = draw.draw_pil(scene).convert("RGB")
    assert reader.parse(captions.english(scene)) == scene and reader.parse("a photo of a cat") is None
    assert reader.hits(reader.read(image), scene) == len(scene.attributes()) == 4
    other = draw.Scene("circle", "top left", "purple", "large")  # same colour and size only
    assert reader.hits(reader.read(draw.draw_pil(other).convert("RGB")), scene) == 2
