"""Machine translators by name: transformers seq2seq models (NLLB-200, M2M100, Marian opus-mt), tiny, none.

Every translator works in any direction its model supports (the generation stage translates native prompts
into English with the same code), decodes deterministically, and records the settings it decoded with.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.core.errors import BenchError, NotAvailableOffline
from bench.core.hashing import sha256_files
from bench.core.languages import Language, get_language
from bench.core.registry import Registry
from bench.core.runtime import hub_offline, pick_device, torch_threads

log = logging.getLogger(__name__)

OFFLINE_HINT = "not cached: connect once or pass a local folder"

# Marian models that serve several target languages need a sentence-initial target token.
MARIAN_TARGET_TOKENS = {
    "zh": (">>cmn_Hans<<", ">>zho_Hans<<", ">>cmn<<", ">>zho<<"),
    "ko": (">>kor_Hang<<", ">>kor<<"),
    "ja": (">>jpn<<", ">>jpn_Jpan<<"),
}


class Translator(abc.ABC):
    """Translates captions from src_lang to tgt_lang; `settings` are the decoding settings for manifests."""

    name: str = "base"
    model_id: str = ""
    revision: str = ""
    settings: dict[str, Any]

    def __init__(self, src: Language, tgt: Language) -> None:
        self.src, self.tgt = src, tgt
        self.settings = {}

    @abc.abstractmethod
    def translate(self, texts: Sequence[str], batch_size: int = 32) -> list[str]:
        """Translate every text; the output list is in input order."""

    def describe(self) -> dict[str, Any]:
        """Everything that decides the output, for the manifest."""
        return {"name": self.name, "model_id": self.model_id, "revision": self.revision,
                "src_lang": self.src.code, "tgt_lang": self.tgt.code, "settings": dict(self.settings)}


class NoTranslator(Translator):
    """For native parallel sources: no translation (identity only when source and target agree)."""

    name = "none"

    def __init__(self, src: Language, tgt: Language) -> None:
        super().__init__(src, tgt)
        self.model_id, self.revision = "none", "none"

    def translate(self, texts: Sequence[str], batch_size: int = 32) -> list[str]:
        if self.src.code != self.tgt.code:
            raise BenchError(f"translator 'none' cannot translate {self.src.code} -> {self.tgt.code}; "
                             "pick nllb, m2m100, opus-mt or tiny")
        return list(texts)


@dataclass(frozen=True)
class Family:
    """How one seq2seq family names languages and which model it loads by default."""

    name: str
    default_model: Callable[[Language, Language], str]
    set_languages: Callable[[Any, Language, Language], dict[str, Any]] = field(repr=False)


def _nllb_languages(tokenizer, src: Language, tgt: Language) -> dict[str, Any]:
    tokenizer.src_lang = src.nllb
    return {"forced_bos_token_id": tokenizer.convert_tokens_to_ids(tgt.nllb)}


def _m2m100_languages(tokenizer, src: Language, tgt: Language) -> dict[str, Any]:
    tokenizer.src_lang = src.m2m100
    return {"forced_bos_token_id": tokenizer.get_lang_id(tgt.m2m100)}


def _marian_model(src: Language, tgt: Language) -> str:
    if src.code == "en" and tgt.opus_mt_from_en:
        return tgt.opus_mt_from_en
    if tgt.code == "en" and src.opus_mt_to_en:
        return src.opus_mt_to_en
    raise BenchError(f"opus-mt has no {src.code} -> {tgt.code} model in the language table; use nllb or m2m100")


def _marian_prefix(vocab, tgt: Language) -> str:
    """The target-language token a multi-target Marian model wants first ('' when it has none)."""
    prefix = next((tok for tok in MARIAN_TARGET_TOKENS.get(tgt.code, ()) if tok in vocab), None)
    return f"{prefix} " if prefix else ""


def _marian_languages(tokenizer, src: Language, tgt: Language) -> dict[str, Any]:
    return {"_prefix": _marian_prefix(tokenizer.get_vocab(), tgt)}


FAMILIES = {
    "nllb": Family("nllb", lambda s, t: "facebook/nllb-200-distilled-600M", _nllb_languages),
    "m2m100": Family("m2m100", lambda s, t: "facebook/m2m100_418M", _m2m100_languages),
    "marian": Family("marian", _marian_model, _marian_languages),
}


def weights_revision(folder: Path) -> str:
    """A short content hash of a local model folder's config and weights (its 'revision')."""
    files = sorted(folder.glob("*.json")) + sorted(folder.glob("*.safetensors"))
    return "sha256:" + sha256_files(files, label=lambda p: p.name.encode())[:16]


def _load_pretrained(model_id: str, dtype):
    """Tokenizer and seq2seq model from a hub id (cache only when offline) or a local folder."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    from bench.models import zoo

    resolved = zoo.resolve(model_id)
    local = Path(resolved).is_dir()
    if not local and Path(resolved).exists():
        raise BenchError(f"translator model {resolved} is a file; pass a model folder or a hub id")
    offline = hub_offline()
    try:
        tokenizer = AutoTokenizer.from_pretrained(resolved, local_files_only=offline and not local)
        model = AutoModelForSeq2SeqLM.from_pretrained(resolved, dtype=dtype, local_files_only=offline and not local)
    except OSError as exc:
        if not local:
            raise NotAvailableOffline(f"translator {model_id} {OFFLINE_HINT}") from None
        raise BenchError(f"cannot load translator from {resolved}: {str(exc).splitlines()[0][:200]}") from None
    revision = getattr(model.config, "_commit_hash", None) or (weights_revision(Path(resolved)) if local else "")
    return tokenizer, model, revision


def _dtype_name(device: str) -> str:
    return "float16" if device.startswith("cuda") else "float32"


def _settings(family: Family, num_beams: int, max_new_tokens: int, max_input_tokens: int, device: str,
              prefix: str) -> dict[str, Any]:
    """The decoding settings a Seq2SeqTranslator records (and decodes with)."""
    return {
        "num_beams": num_beams, "do_sample": False, "max_new_tokens": max_new_tokens,
        "max_input_tokens": max_input_tokens, "length_penalty": 1.0, "early_stopping": True,
        "dtype": _dtype_name(device), "family": family.name, "target_prefix": prefix.strip() or None,
    }


def seq2seq_identity(name: str, family: Family, src: Language, tgt: Language, model_id: str | None = None,
                     device: str | None = None, num_beams: int = 4, max_new_tokens: int = 128,
                     max_input_tokens: int = 256, cpu_threads: int | None = None) -> dict[str, Any]:
    """Seq2SeqTranslator(...).describe() read from the weights' files, without loading the model."""
    import json

    from bench.models import weights, zoo

    model_id = model_id or family.default_model(src, tgt)
    resolved = zoo.resolve(model_id)
    if Path(resolved).is_dir():
        folder, revision = Path(resolved), weights_revision(Path(resolved))
    else:
        snapshot = weights.hub_snapshot(model_id, probe="config.json")
        if snapshot is None:
            raise NotAvailableOffline(f"translator {model_id} {OFFLINE_HINT}")
        folder, revision = snapshot, snapshot.name  # the snapshot folder is named by its commit
    prefix = ""
    if family.name == "marian":
        vocab = folder / "vocab.json"
        prefix = _marian_prefix(json.loads(vocab.read_text(encoding="utf-8")) if vocab.is_file() else {}, tgt)
    settings = _settings(family, num_beams, max_new_tokens, max_input_tokens, pick_device(device), prefix)
    return {"name": name, "model_id": model_id, "revision": revision, "src_lang": src.code, "tgt_lang": tgt.code,
            "settings": settings}


class Seq2SeqTranslator(Translator):
    """A transformers encoder-decoder translator with length-sorted batches and deterministic beam search."""

    def __init__(self, name: str, family: Family, src: Language, tgt: Language, model_id: str | None = None,
                 device: str | None = None, num_beams: int = 4, max_new_tokens: int = 128,
                 max_input_tokens: int = 256, cpu_threads: int | None = None) -> None:
        import torch

        super().__init__(src, tgt)
        self.name = name
        self.model_id = model_id or family.default_model(src, tgt)
        self.device = pick_device(device)
        dtype = getattr(torch, _dtype_name(self.device))
        self.tokenizer, self.model, self.revision = _load_pretrained(self.model_id, dtype)
        self.model.to(self.device).eval()
        self._generate_kwargs = family.set_languages(self.tokenizer, src, tgt)
        self._prefix = self._generate_kwargs.pop("_prefix", "")
        # Language tokens are not always flagged special (M2M100 under transformers 5): drop them by id.
        self._drop_ids = set(self.tokenizer.all_special_ids) | set(
            getattr(self.tokenizer, "lang_token_to_id", {}).values())
        self.max_input_tokens = max_input_tokens
        self.cpu_threads = cpu_threads
        self.settings = _settings(family, num_beams, max_new_tokens, max_input_tokens, self.device, self._prefix)

    def translate(self, texts: Sequence[str], batch_size: int = 32, sort_by_length: bool = True) -> list[str]:
        """Translate in batches of similar length (less padding), returning outputs in input order."""

        order = list(range(len(texts)))
        if sort_by_length:
            order.sort(key=lambda i: len(texts[i]), reverse=True)
        out: list[str] = [""] * len(texts)
        kwargs = {k: v for k, v in self.settings.items()
                  if k in {"num_beams", "do_sample", "max_new_tokens", "length_penalty", "early_stopping"}}
        if kwargs["num_beams"] == 1:
            kwargs.pop("early_stopping")
        # A tiny model on a shared CPU is faster on one thread: more threads only spin against each other.
        with torch_threads(self.cpu_threads if self.device == "cpu" else None):
            self._run(texts, order, batch_size, kwargs, out)
        return out

    def _run(self, texts: Sequence[str], order: list[int], batch_size: int, kwargs: dict, out: list[str]) -> None:
        import torch

        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            batch = self.tokenizer([self._prefix + texts[i] for i in idx], return_tensors="pt", padding=True,
                                   truncation=True, max_length=self.max_input_tokens).to(self.device)
            with torch.inference_mode():
                generated = self.model.generate(**batch, **kwargs, **self._generate_kwargs)
            for i, ids in zip(idx, generated.tolist(), strict=True):
                kept = [t for t in ids if t not in self._drop_ids]
                out[i] = self.tokenizer.decode(kept, skip_special_tokens=True).strip()


TranslatorFactory = Callable[..., Translator]
TRANSLATORS: Registry[TranslatorFactory] = Registry("translator", hint="nllb, m2m100, opus-mt, tiny or none")


class Seq2SeqFactory:
    """A registry entry building Seq2SeqTranslators of one family; identity() describes one without loading."""

    def __init__(self, name: str, family: str, model: str | None = None, **defaults: Any) -> None:
        self.name, self.family, self.model, self.defaults = name, family, model, defaults

    def __call__(self, src, tgt, device=None, model=None, **kw) -> Translator:
        return Seq2SeqTranslator(self.name, FAMILIES[self.family], src, tgt, model or self.model, device,
                                 **{**self.defaults, **kw})

    def identity(self, src, tgt, device=None, model=None, **kw) -> dict[str, Any]:
        return seq2seq_identity(self.name, FAMILIES[self.family], src, tgt, model or self.model, device,
                                **{**self.defaults, **kw})


TRANSLATORS.register("nllb", Seq2SeqFactory("nllb", "nllb"))
TRANSLATORS.register("m2m100", Seq2SeqFactory("m2m100", "m2m100"))
TRANSLATORS.register("opus-mt", Seq2SeqFactory("opus-mt", "marian"))
# A random-weight M2M100 from the zoo: the real from_pretrained + generate path, meaningless output.
TRANSLATORS.register("tiny", Seq2SeqFactory("tiny", "m2m100", "zoo:tiny-translator", num_beams=2, max_new_tokens=24,
                                            cpu_threads=1))


@TRANSLATORS.register("none")
def _none(src, tgt, device=None, model=None, **kw) -> Translator:
    return NoTranslator(src, tgt)


def translator_identity(name: str, src_lang: str, tgt_lang: str, device: str | None = None,
                        model: str | None = None, **settings: Any) -> dict[str, Any]:
    """load_translator(...).describe() without loading a model where the entry can say it (identity());
    other entries (none, the toy world's, plug-ins without identity()) are cheap to build and are built."""
    factory = TRANSLATORS.get(name)
    src, tgt = get_language(src_lang), get_language(tgt_lang)
    identity = getattr(factory, "identity", None)
    if identity is not None:
        return identity(src, tgt, device=device, model=model, **settings)
    return factory(src, tgt, device=device, model=model, **settings).describe()


def load_translator(name: str, src_lang: str, tgt_lang: str, device: str | None = None,
                    model: str | None = None, **settings: Any) -> Translator:
    """Build translator `name` for src_lang -> tgt_lang; `model` overrides its hub id or local folder."""
    factory = TRANSLATORS.get(name)
    src, tgt = get_language(src_lang), get_language(tgt_lang)
    log.info("loading translator %s (%s -> %s)", name, src.code, tgt.code)
    return factory(src, tgt, device=device, model=model, **settings)

