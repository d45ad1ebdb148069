"""Is a prompt written in its declared language? A script test plus lingua, offline.

Short prompts are where language identifiers slip, so the candidate languages are the toolkit's own
(bench.core.languages.LANGUAGES), not lingua's 75: the question the validator asks is "was this row left
in English, or pasted from another language file?", not "could this be Bulgarian?". Within that set,
a top guess other than the declared language still passes as *ambiguous* when the two are a known
close pair (CLOSE), the declared language keeps at least MIN_CONFIDENCE and the script test holds.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bench.core import langid
from bench.core.languages import get_language

# Pairs lingua can swap on a few words; anything else is a hard mismatch.
CLOSE: dict[str, frozenset[str]] = {
    "zh": frozenset({"ja"}),
    "ja": frozenset({"zh"}),
    "it": frozenset({"es", "fr"}),
    "es": frozenset({"it", "fr"}),
    "fr": frozenset({"it", "es"}),
}
MIN_CONFIDENCE = 0.2
MIN_SCRIPT_SHARE = 0.9  # share of a text's letters that must be in the language's script

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_SCRIPT_LETTERS = {
    "Hans": (_HAN,),
    "Jpan": (_HAN, _KANA),
    "Hang": (_HANGUL, _HAN),
    "Cyrl": (_CYRILLIC,),
    "Latn": (_LATIN,),
}


@dataclass(frozen=True)
class LangCheck:
    """Outcome for one text: status is 'ok', 'ambiguous' or 'wrong'; detail says why."""

    status: str
    detected: str | None
    confidence: float
    detail: str = ""


def script_problem(text: str, lang: str) -> str | None:
    """Why `text` is not written in `lang`'s script, or None when it is."""
    script = get_language(lang).script
    patterns = _SCRIPT_LETTERS.get(script)
    if patterns is None:
        return None  # no script rule for this language; lingua alone decides
    letters = [ch for ch in text if unicodedata.category(ch).startswith("L")]
    if not letters:
        return "no letters"
    inside = sum(1 for ch in letters if any(p.match(ch) for p in patterns))
    if inside / len(letters) < MIN_SCRIPT_SHARE:
        return f"only {inside}/{len(letters)} letters in script {script}"
    if lang == "ja" and not _KANA.search(text):
        return "Japanese text without kana reads as Chinese"
    if lang == "zh" and _KANA.search(text):
        return "Chinese text with Japanese kana"
    return None


def identify(text: str) -> tuple[str | None, float, dict[str, float]]:
    """(top ISO code or None, its confidence, all confidences) over the toolkit's languages."""
    scores = langid.confidences(text)
    top, confidence = next(iter(scores.items()), (None, 0.0))
    if confidence <= 0:
        return None, 0.0, scores
    return top, confidence, scores


def check_language(text: str, lang: str) -> LangCheck:
    """Decide whether `text` is in `lang` (see the module docstring for the ambiguity rule)."""
    problem = script_problem(text, lang)
    top, confidence, scores = identify(text)
    if problem:
        return LangCheck("wrong", top, confidence, problem)
    if top == lang:
        return LangCheck("ok", top, confidence)
    own = scores.get(lang, 0.0)
    if top in CLOSE.get(lang, frozenset()) and own >= MIN_CONFIDENCE:
        return LangCheck("ambiguous", top, confidence, f"read as {top} ({confidence:.2f}), {lang} {own:.2f}")
    return LangCheck("wrong", top, confidence, f"identified as {top} ({confidence:.2f}), {lang} only {own:.2f}")
