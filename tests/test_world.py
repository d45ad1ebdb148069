"""The toy world: exact drawing, analyser and translator (fast, no models)."""

from __future__ import annotations

import numpy as np
import pytest

from bench.core.errors import BenchError
from bench.world import analyser, captions, draw


def test_analyser_reads_every_drawn_scene_exactly():
    scenes = draw.all_scenes()
    assert len(scenes) == 6 * 4 * 2 * 4 * 9 + 5 * 4 * 9
    wrong = [s for s in scenes if not all(analyser.score(analyser.analyse(draw.draw(s)), s).values())]
    assert wrong == []


def test_analyser_survives_grain_and_upscaling():
    rng = np.random.default_rng(0)
    scenes = draw.all_scenes()[::7]
    hits = 0
    for scene in scenes:
        noisy = np.clip(draw.draw(scene) + rng.normal(0, 25, (draw.SIZE, draw.SIZE, 3)), 0, 255).astype(np.uint8)
        hits += all(analyser.score(analyser.analyse(noisy), scene).values())
    assert hits == len(scenes)
    big = draw.draw_pil(scenes[3]).resize((64, 64))
    assert all(analyser.score(analyser.analyse(big), scenes[3]).values())


def test_blank_image_reads_nothing():
    blank = np.full((draw.SIZE, draw.SIZE, 3), draw.BACKGROUND, np.uint8)
    assert analyser.analyse(blank).as_dict() == {"object": None, "colour": None, "size": None, "position": None}


def test_drawing_is_deterministic_from_a_seed():
    assert draw.scene_for_seed(7) == draw.scene_for_seed(7)
    assert np.array_equal(draw.draw(draw.scene_for_seed(7)), draw.draw(draw.scene_for_seed(7)))
    assert len({draw.scene_for_seed(i) for i in range(50)}) > 30


@pytest.mark.parametrize("lang", captions.LANGS)
def test_translator_is_exact_and_captions_are_unique(lang):
    scenes = draw.all_scenes(jitter=False)
    for t in range(captions.N_TEMPLATES):
        texts = [captions.caption(s, lang, t) for s in scenes]
        assert len(set(texts)) == len(scenes)
        for scene, text in zip(scenes, texts, strict=True):
            assert captions.parse(text, lang) == scene
            assert captions.translate(text, lang, "en") == captions.english(scene)


def test_caption_examples_and_grammar():
    red_cross = draw.Scene("cross", "top left", "red", "small")
    assert captions.caption(red_cross, "en") == "a small red cross in the top left"
    assert captions.caption(red_cross, "it") == "una piccola croce rossa in alto a sinistra"
    assert captions.caption(red_cross, "zh") == "左上角有一个小的红色十字"
    assert captions.caption(red_cross, "ko", 1) == "작은 빨간 십자가가 왼쪽 위에 있다"
    assert captions.caption(draw.Scene("circle", "top left", "red"), "ko", 1).startswith("큰 빨간 원이 ")
    with pytest.raises(BenchError, match="not a toy-world caption"):
        captions.translate("a dog on a beach", "en", "zh")
