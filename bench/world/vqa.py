"""The toy world's VQA judge: it answers the language table's yes/no questions about world images from the exact
analyser, so vqascore, culture-vqa and concept-present mean something in the world.

It reads the question back (which language's template, which caption or concept label), reads the image with
the analyser and answers as a judge sure of each attribute reading to RELIABILITY: P("Yes") is the product over
the caption's stated attributes of RELIABILITY where the image shows it and 1 - RELIABILITY where it does not
(a caption holds only when all of it holds); for a concept, RELIABILITY when the analyser sees that object, else
1 - RELIABILITY.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Sequence

import numpy as np

from bench.core.errors import BenchError
from bench.world import analyser, captions, draw

NAME = "world-vqa"
VERSION = 1  # bump when its answers change (part of its weights' identity)
RELIABILITY = 0.9


@functools.cache
def _patterns() -> list[tuple[str, str, re.Pattern]]:
    """(lang, 'text' or 'concept', regex with one group for the caption or label), over the world's languages."""
    from bench.core.languages import get_language

    out = []
    for lang in captions.LANGS:
        language = get_language(lang)
        for kind, template, slot in (("text", language.vqa_question, "{text}"),
                                     ("concept", language.vqa_concept, "{label}")):
            before, _, after = template.partition(slot)
            out.append((lang, kind, re.compile(f"^{re.escape(before)}(.+?){re.escape(after)}$", re.S)))
    return out


@functools.cache
def _labels() -> dict[str, str]:
    """Every world language's bare object name -> object kind (English names included)."""
    return {captions.object_label(kind, lang): kind for lang in captions.LANGS
            for kind in (*draw.SHAPES, *draw.CULTURE)}


def read_question(question: str):
    """('text', scene) for a VQAScore question about a world caption, ('concept', kind) for a concept question."""
    for lang, kind, pattern in _patterns():
        match = pattern.match(question)
        if not match:
            continue
        if kind == "text":
            scene = captions.parse(match.group(1), lang)
            if scene is not None:
                return "text", scene
        elif match.group(1) in _labels():
            return "concept", _labels()[match.group(1)]
    raise BenchError(f"the world's VQA judge reads only the language table's questions about toy-world captions "
                     f"and objects, not {question[:80]!r}")


def answer(reading: analyser.Reading, question: str) -> float:
    """P("Yes") for one question given what the analyser read in the image."""
    kind, subject = read_question(question)
    if kind == "concept":
        return RELIABILITY if reading.object == subject else 1 - RELIABILITY
    shown = analyser.score(reading, subject)
    return float(np.prod([RELIABILITY if ok else 1 - RELIABILITY for ok in shown.values()]))


class WorldVqaJudge:
    """The VQA judge interface (yes_probabilities) over the analyser; readings are kept per image content."""

    batch_size = 64

    def __init__(self) -> None:
        self._readings: dict[str, analyser.Reading] = {}

    def _read(self, image) -> analyser.Reading:
        key = hashlib.sha256(analyser.to_array(image).tobytes()).hexdigest()
        if key not in self._readings:
            self._readings[key] = analyser.analyse(image)
        return self._readings[key]

    def yes_probabilities(self, images: Sequence, questions: Sequence[str]) -> np.ndarray:
        """P("Yes") per (image, question) pair."""
        return np.array([answer(self._read(im), q) for im, q in zip(images, questions, strict=True)], np.float64)


def load_world_vqa(spec=None) -> WorldVqaJudge:
    """The judge's loader (JudgeSpec.loader): nothing to load."""
    return WorldVqaJudge()
