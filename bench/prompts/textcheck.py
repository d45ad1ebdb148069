"""Characters a prompt's text must not hide, and the key under which two texts are the same prompt.

Hidden: format characters (Unicode category Cf: zero-width space, bidi controls, a byte-order mark inside a
line, tag characters), control characters other than whitespace, private-use and unassigned code points,
lone surrogates, and the invisible letters (Hangul fillers, the combining grapheme joiner). A judge's
tokenizer and a text encoder read them, a reader does not see them: two prompts that look the same score
differently, and a bidi control can make a text read as another.
"""

from __future__ import annotations

import re
import unicodedata

# Categories that are never visible text, with the words a message uses.
_KINDS = {"Cf": "invisible format character", "Cc": "control character", "Co": "private-use character",
          "Cn": "unassigned code point", "Cs": "lone surrogate"}
# Letters (Lo) and a mark (Mn) that draw nothing: Hangul choseong/jungseong fillers, the Hangul filler and its
# halfwidth form, the combining grapheme joiner.
_INVISIBLE = {"\u115f": "Lo", "\u1160": "Lo", "\u3164": "Lo", "\uffa0": "Lo", "\u034f": "Mn"}
# ZWNJ and ZWJ choose letter forms in these scripts (Persian and Urdu in Arabic script, Devanagari half forms):
# between two letters there they are spelling, elsewhere hidden.
_JOINERS = "\u200c\u200d"
JOINER_SCRIPTS = frozenset({"Arab", "Deva"})
_VARIATION = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")  # selectors: dropped from the duplicate key only
_WHITESPACE = re.compile(r"\s+")


def _kind(ch: str) -> str | None:
    if ch in _INVISIBLE:
        return "invisible character"
    category = unicodedata.category(ch)
    if category == "Cc" and ch.isspace():
        return None  # tabs and newlines: whitespace, which the normalisation check collapses
    return _KINDS.get(category)


def _joining(text: str, i: int, script: str | None) -> bool:
    """True for a ZWNJ/ZWJ between two letters (or a letter's marks: Devanagari's virama) in a script that
    spells with them."""
    def lettered(ch: str) -> bool:
        return unicodedata.category(ch)[0] in "LM"

    return (script in JOINER_SCRIPTS and text[i] in _JOINERS and 0 < i < len(text) - 1
            and lettered(text[i - 1]) and lettered(text[i + 1]))


def hidden_character(text: str, script: str | None = None) -> str | None:
    """'U+200B ZERO WIDTH SPACE (invisible format character, Cf) at character 5' for the first hidden
    character of `text`, else None; `script` (ISO 15924) allows the joiners its spelling needs."""
    for i, ch in enumerate(text):
        kind = _kind(ch)
        if kind is None or _joining(text, i, script):
            continue
        name = unicodedata.name(ch, "") if unicodedata.category(ch) != "Cs" else ""
        label = f"U+{ord(ch):04X}" + (f" {name}" if name else "")
        return f"{label} ({kind}, {unicodedata.category(ch)}) at character {i + 1}"
    return None


def strip_hidden(text: str) -> str:
    """`text` without its hidden characters and variation selectors (joiners included: a key, not a spelling)."""
    text = "".join(ch for ch in text if _kind(ch) is None)
    return _VARIATION.sub("", text)


def same_prompt_key(text: str, normalise=None) -> str:
    """Two texts with one key are one prompt: hidden characters removed, then the language's normalisation
    (NFKC, which includes NFC's canonical equivalence; whitespace collapsed; for Chinese traditional ->
    simplified) or NFKC, then case folded."""
    text = strip_hidden(text)
    if normalise is not None:
        text = normalise(text)
    else:
        text = _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()
    return text.casefold()
