"""Machine translation for translate-<base> systems, cached on disk per translator identity and text."""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from bench.core import paths
from bench.core.config import stable_hash, to_jsonable


@functools.cache
def _translator(name: str, src: str, tgt: str):
    """The corpus stage's translator, loaded once per process on this process's device."""
    from bench.core.runtime import default_device
    from bench.models.translators import load_translator

    return load_translator(name, src, tgt, device=default_device())


def translator_identity(name: str, lang: str, tgt: str = "en") -> dict[str, Any]:
    """What decides the translations (name, model id, revision, settings, language pair); loads no model."""
    from bench.core.runtime import default_device
    from bench.models import translators

    return to_jsonable(translators.translator_identity(name, lang, tgt, device=default_device()))


class CachedTranslator:
    """Translate lists of texts, reusing translations cached under cache_dir('translations')."""

    def __init__(self, name: str, lang: str, tgt: str = "en") -> None:
        self.name, self.lang, self.tgt = name, lang, tgt
        self.identity = translator_identity(name, lang, tgt)
        self.folder = paths.cache_dir("translations") / stable_hash(self.identity, length=16)

    def _file(self, text: str):
        return self.folder / f"{hashlib.sha256(text.encode('utf-8')).hexdigest()[:32]}.json"

    def translate(self, texts: list[str]) -> list[str]:
        """Translations of `texts` in order; only texts never seen by this translator are translated."""
        out: dict[str, str] = {}
        for text in dict.fromkeys(texts):
            cached = self._file(text)
            if cached.exists():
                row = json.loads(cached.read_text(encoding="utf-8"))
                if row.get("text") == text:
                    out[text] = row["translation"]
        todo = [t for t in dict.fromkeys(texts) if t not in out]
        if todo:
            from bench.core.progress import track

            translator, step = _translator(self.name, self.lang, self.tgt), 32
            starts = range(0, len(todo), step)
            done = [t for i in track(starts, f"translate {self.lang}->{self.tgt}", "prompts", total=len(todo),
                                     weight=lambda i: len(todo[i:i + step]), enabled=len(starts) > 1)
                    for t in translator.translate(todo[i:i + step])]
            if not (self.folder / "identity.json").exists():
                paths.write_json(self.folder / "identity.json", self.identity)
            for text, translation in zip(todo, done, strict=True):
                paths.write_json(self._file(text), {"text": text, "translation": translation})
                out[text] = translation
        return [out[t] for t in texts]
