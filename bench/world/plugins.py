"""The toy world as a plug-in: its base, student, judge, extractor, systems, corpus source, translator,
metric, zoo components, demo stage and crowd reader, and a VQA judge, registered like any outside package's (entry point in
pyproject.toml).

register() only records names and light specs; models, numpy and the drawing code load on first use.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

BASE = "world"
TEACHER_ID = "zoo:world-teacher"
STUDENT = "world"
JUDGE = "world-clip"
VQA_JUDGE = "world-vqa"
TRANSLATOR = "world"
PEA_PREFIX = "world-"
DEFAULT_ROWS = 4000
RESOLUTION = 32  # draw.SIZE
CONTEXT_DIM = 64  # teacher.CONTEXT_DIM
_HERE = "bench.world.plugins"


def register() -> None:
    """Add every toy-world entry to the toolkit's registries."""
    from bench.core.registry import register_later
    from bench.demo import DEMOS
    from bench.instruments.features import Extractor, register_extractor, zoo_fingerprint
    from bench.instruments.judges import register_judge
    from bench.instruments.refstats import REFSTATS_BUILDERS
    from bench.metrics import METRICS
    from bench.models.bases import BASES
    from bench.models.encoders import register_student
    from bench.models.translators import TRANSLATORS
    from bench.models.zoo import COMPONENTS, Component
    from bench.world import zoo

    for name, version, build in (("world-teacher", 2, zoo.build_world_teacher),
                                 ("world-student", 1, zoo.build_world_student),
                                 ("world-clip", 1, zoo.build_world_clip)):
        COMPONENTS.register(name, Component(name, version, build))
    BASES.register(BASE, base_model())
    register_student(student_spec())
    register_judge(judge_spec())
    register_judge(vqa_judge_spec())
    register_extractor(Extractor(JUDGE, "tiny", _load_features, fingerprint=zoo_fingerprint("world-clip")))
    register_systems()
    register_later("sources", "world", f"{_HERE}:open_world_source")  # bench.corpus.sources imports polars
    TRANSLATORS.register_lazy(TRANSLATOR, f"{_HERE}:world_translator")
    METRICS.register_lazy("world-accuracy", "bench.world.metrics:WORLD_ACCURACY")
    REFSTATS_BUILDERS.register("world", "python -m bench.world.refstats")
    DEMOS.register_lazy("world", "bench.world.demo:demo_stage")
    register_later("crowd oracle", "world", "bench.world.crowd:READER")  # bench.human is optional


def _load_features(mode: str, device: str = "cpu"):
    from bench.world.features import load_world_features

    return load_world_features(mode, device)


def base_model():
    """The world teacher as a base model: an SD1.5-family pipeline, 32 px, 64-d context, tiny tier."""
    from bench.models.bases import BaseModel

    return BaseModel(BASE, TEACHER_ID, "sd15", "tiny", RESOLUTION, CONTEXT_DIM)


def student_spec():
    """The frozen random multilingual student (XLM-R-like, 64-d, sentencepiece over world captions)."""
    from bench.models.encoders import StudentSpec
    from bench.world.zoo import STUDENT_MAX_LENGTH, STUDENT_WIDTH

    return StudentSpec(STUDENT, "zoo:world-student", "auto", STUDENT_WIDTH, hidden_dim=128,
                       max_length=STUDENT_MAX_LENGTH, tier="tiny")


def judge_spec():
    """The world CLIP as a multilingual judge (a plain transformers CLIPModel folder)."""
    from bench.instruments.judges import JudgeSpec

    return JudgeSpec(JUDGE, "zoo:world-clip", "clip", "tiny")


def vqa_judge_spec():
    """The world's VQA judge: answers from the exact analyser (bench.world.vqa), in the world's six languages."""
    from bench.instruments.judges import JudgeSpec

    return JudgeSpec(VQA_JUDGE, "bench.world.vqa@1", "vqa", "tiny", ("en", "zh", "ko", "ja", "ru", "it"),
                     loader=_load_vqa)


def _load_vqa(spec):
    from bench.world.vqa import load_world_vqa

    return load_world_vqa(spec)


def register_systems() -> list[str]:
    """world-en (oracle), asis-world, translate-world (exact translator) and world-pea-<lang>."""
    from bench.models.pipelines import PEA_LANGS, register_standard_systems

    return register_standard_systems(BASE, TRANSLATOR, PEA_LANGS, pea_prefix=PEA_PREFIX)


# ---------------------------------------------------------------------------------------------------------
# Corpus source: `world:N` draws N scenes from seeds 0..N-1, with exact native captions (translator "none").


IMAGES = "images/world"  # drawn scenes, inside the corpus folder: rows name them relative to it, so it can move


def world_rows(n: int, lang: str, seed: int = 0) -> tuple[list[dict], dict[str, Any]]:
    """N corpus rows (id, English caption, native caption (exact), image path relative to the corpus folder),
    and file name -> scene of every image they name; templates drawn per row."""
    import random

    from bench.world import captions, draw

    rows, scenes = [], {}
    for i in range(n):
        rng = random.Random(f"{seed}:{i}")
        scene = draw.random_scene(rng)
        name = f"{_scene_key(scene)}.png"
        scenes[name] = scene
        rows.append({"id": f"world-{seed}-{i:06d}",
                     "text_en": captions.english(scene, rng.randrange(captions.N_TEMPLATES)),
                     "text": captions.caption(scene, lang, rng.randrange(captions.N_TEMPLATES)),
                     "image": f"{IMAGES}/{name}"})
    return rows, scenes


def draw_scenes(scenes: dict[str, Any], corpus: Path) -> int:
    """Draw every scene not yet in corpus/images/; returns how many were drawn."""
    from bench.core import paths
    from bench.world import draw

    made = 0
    for name, scene in scenes.items():
        image = Path(corpus) / IMAGES / name
        if not image.exists():
            paths.atomic_write(image, lambda tmp, s=scene: draw.draw_pil(s).save(tmp, format="PNG"))
            made += 1
    return made


def _scene_key(scene) -> str:
    parts = [scene.kind, scene.colour or "fixed", scene.size, scene.position.replace(" ", "-"),
             f"{scene.dx:+d}{scene.dy:+d}"]
    return "_".join(parts)


def open_world_source(location: str, lang: str):
    """A corpus Source for `world:N` (N defaults to 4000) in `lang`."""
    import polars as pl

    from bench.core.errors import BenchError
    from bench.corpus.sources import Source
    from bench.world import captions

    if lang not in captions.LANGS:
        raise BenchError(f"the toy world has no '{lang}' captions (it has: {', '.join(captions.LANGS)})")
    try:
        n = int(location) if location else DEFAULT_ROWS
    except ValueError:
        raise BenchError(f"world source wants a row count (world:4000), got {location!r}") from None
    if n < 1:
        raise BenchError(f"world source wants at least 1 row, got {n}")

    rows, scenes = world_rows(n, lang)

    def read(batch_rows: int):
        for start in range(0, len(rows), batch_rows):
            yield pl.DataFrame(rows[start:start + batch_rows])

    return Source("world", location or str(DEFAULT_ROWS), "world", read,
                  assets=lambda corpus: draw_scenes(scenes, corpus))


# ---------------------------------------------------------------------------------------------------------
# Translator: exact, because world captions are generated from scenes.


def world_translator(src, tgt, device=None, model=None, **settings):
    """The exact world translator between any two of en, zh, ko, ja, ru, it."""
    from bench.models.translators import Translator
    from bench.world import captions

    class WorldTranslator(Translator):
        name = TRANSLATOR

        def __init__(self, src, tgt) -> None:
            super().__init__(src, tgt)
            self.model_id, self.revision = "bench.world.captions", "1"
            self.settings = {"template": 0}

        def translate(self, texts: Sequence[str], batch_size: int = 32) -> list[str]:
            return [captions.translate(t, self.src.code, self.tgt.code) for t in texts]

    return WorldTranslator(src, tgt)
