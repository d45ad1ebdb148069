"""Judge models that score images against text (CLIP-like), by name, loaded from a hub id or a local folder.

Defaults (documented in README "Evaluation"): the multilingual judge is the language's `judge` in
bench.languages (BAAI/AltCLIP-m18 through transformers' AltCLIPModel for most languages, Chinese-CLIP
ViT-L/14 for zh); the English judge is openai/clip-vit-large-patch14. Tiny runs use the tiny zoo
judges. Register your own with JUDGES.register(name, JudgeSpec(..., loader=fn)).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bench.errors import BenchError
from bench.registry import Registry

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

MULTILINGUAL = ("*",)


@dataclass(frozen=True)
class JudgeSpec:
    """A named judge: where its weights are, which transformers family loads them, what it reads."""

    name: str
    model_id: str  # hub id, local folder, or zoo:<name>
    kind: str  # "clip", "altclip", "chinese-clip", or anything a custom loader understands
    tier: str  # "real" or "tiny"
    languages: tuple[str, ...] = MULTILINGUAL  # ("*",) reads every language
    loader: Callable[[JudgeSpec], Judge] | None = field(default=None, compare=False)

    def reads(self, lang: str) -> bool:
        """True when the judge was trained on text in `lang`."""
        return self.languages == MULTILINGUAL or lang in self.languages


JUDGES: Registry[JudgeSpec] = Registry("judge", hint="bench judge-check --list shows them")


def register_judge(spec: JudgeSpec) -> JudgeSpec:
    """Add a judge (the plug-in point for toy-world or custom judges)."""
    JUDGES.register(spec.name, spec)
    return spec


register_judge(JudgeSpec("clip-l", "openai/clip-vit-large-patch14", "clip", "real", ("en",)))
register_judge(JudgeSpec("altclip-m18", "BAAI/AltCLIP-m18", "altclip", "real"))
register_judge(JudgeSpec("altclip", "BAAI/AltCLIP", "altclip", "real", ("en", "zh")))
register_judge(JudgeSpec("chinese-clip-l14", "OFA-Sys/chinese-clip-vit-large-patch14", "chinese-clip", "real",
                         ("zh", "en")))
register_judge(JudgeSpec("tiny-clip", "zoo:tiny-clip-judge", "clip", "tiny", ("en",)))
register_judge(JudgeSpec("tiny-altclip", "zoo:tiny-altclip-judge", "altclip", "tiny"))

# Judges used when the evaluation config names none: the language's default for real runs.
TINY_DEFAULTS = {"judge": "tiny-altclip", "judge_en": "tiny-clip"}
REAL_EN_JUDGE = "clip-l"


def default_judge(tier: str, lang: str) -> str:
    """The multilingual judge for a run of `tier` in `lang`."""
    if tier == "tiny":
        return TINY_DEFAULTS["judge"]
    from bench.languages import get_language

    return get_language(lang).judge


def default_english_judge(tier: str) -> str:
    """The English judge for a run of `tier`."""
    return TINY_DEFAULTS["judge_en"] if tier == "tiny" else REAL_EN_JUDGE


class Judge:
    """A loaded CLIP-like judge: L2-normalised image and text embeddings, with truncation counted."""

    def __init__(self, spec: JudgeSpec, model, image_processor, tokenizer, batch_size: int = 32) -> None:
        self.spec = spec
        self.model = model.eval()
        self.image_processor = image_processor
        self.tokenizer = tokenizer
        self.batch_size = batch_size

    @property
    def context_length(self) -> int:
        """Tokens the text tower reads; longer prompts are truncated."""
        return int(self.tokenizer.model_max_length)

    def encode_images(self, images: Sequence) -> np.ndarray:
        """Unit-norm image embeddings (float32, one row per PIL image)."""
        import numpy as np
        import torch

        out = []
        for start in range(0, len(images), self.batch_size):
            batch = self.image_processor(images=list(images[start:start + self.batch_size]), return_tensors="pt")
            with torch.inference_mode():
                emb = _pooled(self.model.get_image_features(pixel_values=batch["pixel_values"]))
            out.append(torch.nn.functional.normalize(emb.float(), dim=-1).numpy())
        return np.concatenate(out) if out else np.zeros((0, 0), np.float32)

    def truncated_flags(self, texts: Sequence[str]) -> list[bool]:
        """Per text, whether it is longer than the judge's context (and so gets truncated)."""
        ids = self.tokenizer(list(texts), truncation=False)["input_ids"]
        return [len(row) > self.context_length for row in ids]

    def encode_texts(self, texts: Sequence[str]) -> tuple[np.ndarray, int]:
        """Unit-norm text embeddings and the number of texts truncated to the context."""
        import numpy as np
        import torch

        truncated = sum(self.truncated_flags(texts))
        if truncated:
            log.warning("judge %s: %d of %d texts longer than %d tokens were truncated",
                        self.spec.name, truncated, len(texts), self.context_length)
        out = []
        for start in range(0, len(texts), self.batch_size):
            tokens = self.tokenizer(list(texts[start:start + self.batch_size]), padding="max_length",
                                    truncation=True, max_length=self.context_length, return_tensors="pt")
            kwargs = {k: v for k, v in tokens.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
            with torch.inference_mode():
                emb = _pooled(self.model.get_text_features(**kwargs))
            out.append(torch.nn.functional.normalize(emb.float(), dim=-1).numpy())
        return (np.concatenate(out) if out else np.zeros((0, 0), np.float32)), truncated


def _pooled(output):
    """Projected embeddings from get_*_features: a tensor (transformers 4) or an output object (5)."""
    return output if hasattr(output, "dim") else output.pooler_output


_FAMILIES = {
    "clip": ("CLIPModel", "CLIPImageProcessor", "AutoTokenizer"),
    "altclip": ("AltCLIPModel", "CLIPImageProcessor", "AutoTokenizer"),
    "chinese-clip": ("ChineseCLIPModel", "ChineseCLIPImageProcessor", "AutoTokenizer"),
}


def require_available(spec: JudgeSpec) -> None:
    """Fail early, with what to do, when the judge's weights cannot be loaded here."""
    if spec.loader is not None:
        return
    from bench.models.weights import require_offline

    require_offline(spec.model_id, f"judge '{spec.name}'", probe="config.json")


@functools.lru_cache(maxsize=4)
def load_judge(name: str) -> Judge:
    """Load judge `name` (cached per process; judges are read-only)."""
    spec = JUDGES.get(name)
    if spec.loader is not None:
        return spec.loader(spec)
    if spec.kind not in _FAMILIES:
        raise BenchError(f"judge '{name}' has kind '{spec.kind}' and no loader; known kinds: {', '.join(_FAMILIES)}")
    require_available(spec)
    import transformers

    from bench.models.weights import load_path

    model_cls, image_cls, tok_cls = (getattr(transformers, n) for n in _FAMILIES[spec.kind])
    folder = load_path(spec.model_id, probe="config.json")
    try:
        model = model_cls.from_pretrained(folder)
        image_processor = image_cls.from_pretrained(folder)
        tokenizer = tok_cls.from_pretrained(folder)
    except OSError as exc:
        raise BenchError(f"judge '{name}' could not be loaded from {folder}: {str(exc).splitlines()[0]}") from None
    log.info("loaded judge %s from %s", name, folder)
    return Judge(spec, model, image_processor, tokenizer)
