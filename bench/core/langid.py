"""Offline language identification with lingua, restricted to the languages the toolkit knows."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from bench.core.languages import LANGUAGES, get_language


@dataclass(frozen=True)
class Detection:
    """The most likely language of a text (ISO code, None when undecidable) and its confidence."""

    lang: str | None
    confidence: float


@functools.cache
def _detector(codes: tuple[str, ...]):
    """A lingua detector over `codes`, built once; models load lazily, only for languages it meets."""
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(
        *(getattr(Language, get_language(code).lingua) for code in codes)
    ).build()


@functools.cache
def _iso_of_lingua() -> dict[str, str]:
    """lingua enum name -> our ISO code."""
    return {lang.lingua: code for code, lang in LANGUAGES.items()}


def _codes(candidates: Sequence[str] | None) -> tuple[str, ...]:
    """Validated, sorted candidate codes (all known languages by default)."""
    codes = LANGUAGES.names() if candidates is None else sorted({get_language(c).code for c in candidates})
    if len(codes) < 2:
        # lingua needs at least two languages to choose between; English is the natural rival.
        codes = sorted({*codes, "en" if codes != ["en"] else "zh"})
    return tuple(codes)


def detect(texts: Sequence[str], candidates: Sequence[str] | None = None) -> list[Detection]:
    """Identify the language of each text among `candidates` (default: every language in bench.core.languages)."""
    detector = _detector(_codes(candidates))
    iso = _iso_of_lingua()
    out = []
    for values in detector.compute_language_confidence_values_in_parallel(list(texts)):
        top = values[0] if values else None
        if top is None or top.value <= 0.0:
            out.append(Detection(None, 0.0))
        else:
            out.append(Detection(iso[top.language.name], float(top.value)))
    return out


def identify_many(texts: Sequence[str], candidates: Sequence[str] | None = None) -> list[str | None]:
    """The ISO code of each text's language, or None when it cannot be told."""
    return [d.lang for d in detect(texts, candidates)]


def identify(text: str, candidates: Sequence[str] | None = None) -> str | None:
    """The ISO code of one text's language, or None when it cannot be told."""
    return identify_many([text], candidates)[0]


def detect_for(texts: Sequence[str], lang: str, candidates: Sequence[str] | None = None
               ) -> tuple[list[str | None], list[float]]:
    """In one pass: each text's most likely language, and the confidence that it is in `lang`."""
    codes = _codes(candidates if candidates is None else [*candidates, lang])
    iso = _iso_of_lingua()
    found: list[str | None] = []
    scores: list[float] = []
    for values in _detector(codes).compute_language_confidence_values_in_parallel(list(texts)):
        top = values[0] if values else None
        found.append(iso[top.language.name] if top is not None and top.value > 0.0 else None)
        scores.append(next((float(v.value) for v in values if iso[v.language.name] == lang), 0.0))
    return found, scores


def confidences(text: str, candidates: Sequence[str] | None = None) -> dict[str, float]:
    """Every candidate language's confidence for one text, most likely first."""
    iso = _iso_of_lingua()
    values = _detector(_codes(candidates)).compute_language_confidence_values(text)
    return {iso[v.language.name]: float(v.value) for v in values}
