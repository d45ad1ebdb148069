"""Judge models that score images against text (CLIP-like), by name, loaded from a hub id or a local folder.

Defaults (documented in docs/evaluation.md, Judges): the multilingual judge is the language's `judge` in
bench.core.languages (BAAI/AltCLIP-m18 through transformers' AltCLIPModel for most languages, Chinese-CLIP
ViT-L/14 for zh); the English judge is openai/clip-vit-large-patch14. Tiny runs use the tiny zoo
judges. Register your own with JUDGES.register(name, JudgeSpec(..., loader=fn)).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bench.core.errors import BenchError
from bench.core.registry import Registry

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

MULTILINGUAL = ("*",)
# Judges that answer questions (bench.instruments.vqa) rather than embed; "vqa" is a plug-in family with a loader
VQA_KINDS = ("qwen2-vl", "qwen2.5-vl", "vqa")
REWARD_KINDS = ("pickscore", "imagereward", "hps")  # reward models (bench.instruments.rewards): a score per pair


@dataclass(frozen=True)
class JudgeSpec:
    """A named judge: where its weights are, which transformers family loads them, what it reads."""

    name: str
    model_id: str  # hub id, local folder, or zoo:<name>
    kind: str  # "clip", "altclip", "chinese-clip", or anything a custom loader understands
    tier: str  # "real" or "tiny"
    languages: tuple[str, ...] = MULTILINGUAL  # ("*",) reads every language
    loader: Callable[..., Judge] | None = field(default=None, compare=False)  # (spec[, device]) -> judge
    # Tokens the text tower reads as its own project uses it (CLIP 77, Chinese-CLIP 52, AltCLIP 77);
    # None: the tokenizer's and position table's limit.
    context: int | None = None
    # "processor": the model's image processor; "cmmd": the CMMD reference's preprocessing (the whole
    # image resized bicubically to the model's input size, no crop), see bench.metrics.cmmd
    preprocess: str = "processor"
    # A custom loader's hub snapshot marker (e.g. a reward model's weights file): when set, the weights'
    # fingerprint is the hub revision or folder hash and availability is checked like a built-in judge's.
    probe: str | None = None
    processor: str | None = None  # hub id or folder of the tokenizer/image processor, when not the model's

    def reads(self, lang: str) -> bool:
        """True when the judge was trained on text in `lang`."""
        return self.languages == MULTILINGUAL or lang in self.languages


JUDGES: Registry[JudgeSpec] = Registry("judge", hint="bench judge-check --list shows them")


def register_judge(spec: JudgeSpec) -> JudgeSpec:
    """Add a judge (the plug-in point for toy-world or custom judges)."""
    JUDGES.register(spec.name, spec)
    return spec


register_judge(JudgeSpec("clip-l", "openai/clip-vit-large-patch14", "clip", "real", ("en",), context=77))
# CMMD's embedding model, preprocessed as google-research/cmmd does (bench.metrics.cmmd)
register_judge(JudgeSpec("clip-l-336", "openai/clip-vit-large-patch14-336", "clip", "real", ("en",), context=77,
                         preprocess="cmmd"))
# AltCLIP reads 77 tokens as AltDiffusion and the PEA code use it (its position table would allow 512)
register_judge(JudgeSpec("altclip-m18", "BAAI/AltCLIP-m18", "altclip", "real", context=77))
register_judge(JudgeSpec("altclip", "BAAI/AltCLIP", "altclip", "real", ("en", "zh"), context=77))
# Chinese-CLIP's own code (cn_clip) tokenises to 52 tokens by default
register_judge(JudgeSpec("chinese-clip-l14", "OFA-Sys/chinese-clip-vit-large-patch14", "chinese-clip", "real",
                         ("zh", "en"), context=52))
register_judge(JudgeSpec("tiny-clip", "zoo:tiny-clip-judge", "clip", "tiny", ("en",)))
register_judge(JudgeSpec("tiny-altclip", "zoo:tiny-altclip-judge", "altclip", "tiny"))
# VQA judges (bench.instruments.vqa answers with them): Qwen2.5-VL-7B-Instruct is vqascore's default
register_judge(JudgeSpec("qwen2.5-vl-7b", "Qwen/Qwen2.5-VL-7B-Instruct", "qwen2.5-vl", "real"))
register_judge(JudgeSpec("qwen2.5-vl-3b", "Qwen/Qwen2.5-VL-3B-Instruct", "qwen2.5-vl", "real"))
register_judge(JudgeSpec("qwen2-vl-7b", "Qwen/Qwen2-VL-7B-Instruct", "qwen2-vl", "real"))
register_judge(JudgeSpec("qwen2-vl-2b", "Qwen/Qwen2-VL-2B-Instruct", "qwen2-vl", "real"))
register_judge(JudgeSpec("tiny-qwen2.5-vl", "zoo:tiny-qwen2.5-vl", "qwen2.5-vl", "tiny"))
# PickScore, ImageReward and HPS v2.1 (custom loaders in bench.instruments.rewards)
from bench.instruments.rewards import reward_judges  # noqa: E402  (a cheap import: no torch)

for _spec in reward_judges(JudgeSpec):
    register_judge(_spec)

# The one table of tier defaults: what evaluation, reference statistics and judge checks use when no judge or
# extractor is named. judge None = the language's own judge (bench.core.languages); a prompt set may override these.
TIER_DEFAULTS: dict[str, dict[str, str | None]] = {
    "real": {"judge": None, "judge_en": "clip-l", "extractor": "inception", "cmmd_judge": "clip-l-336"},
    "tiny": {"judge": "tiny-altclip", "judge_en": "tiny-clip", "extractor": "tiny-inception", "cmmd_judge": "tiny-clip"},
}
# The reward models (bench.instruments.rewards): one judge per metric family and tier.
TIER_DEFAULTS["real"].update(pickscore="pickscore", imagereward="imagereward", hpsv2="hpsv2")
TIER_DEFAULTS["tiny"].update(pickscore="tiny-pickscore", imagereward="tiny-imagereward", hpsv2="tiny-hpsv2")


def tier_default(tier: str, role: str) -> str | None:
    """The default judge ('judge', 'judge_en', 'cmmd_judge') or feature extractor ('extractor') of a tier."""
    return TIER_DEFAULTS["tiny" if tier == "tiny" else "real"][role]


@functools.lru_cache(maxsize=32)
def judge_fingerprint(name: str) -> str:
    """Identity of a judge's weights (content hash for zoo/local folders, snapshot revision for hub ids)."""
    from bench.models.weights import fingerprint, is_local

    spec = JUDGES.get(name)
    if spec.loader is not None and spec.probe is None and not is_local(spec.model_id):
        return f"id:{spec.model_id}"  # a custom loader's weights: the id is all that is known here

    def one(model_id: str, probe: str) -> str:
        found = fingerprint(model_id, probe=probe)
        return f"sha256:{found['sha256']}" if "sha256" in found else f"revision:{found['id']}@{found['revision']}"

    weights = one(spec.model_id, spec.probe or "config.json")
    if spec.processor and spec.processor != spec.model_id:  # the preprocessing decides the score too
        weights += f"+{one(spec.processor, 'tokenizer_config.json')}"
    return weights


def default_judge(tier: str, lang: str) -> str:
    """The multilingual judge for a run of `tier` in `lang`."""
    judge = tier_default(tier, "judge")
    if judge:
        return judge
    from bench.core.languages import get_language

    return get_language(lang).judge


def default_english_judge(tier: str) -> str:
    """The English judge for a run of `tier`."""
    return tier_default(tier, "judge_en") or ""


def reference_pixels(images, image_processor):
    """pixel_values as the CMMD reference prepares them: centre square crop, PIL bicubic resize to the model's
    input size, /255 in float32, then only CLIP's mean/std normalisation (no second resize or crop)."""
    import numpy as np
    from PIL import Image

    crop = getattr(image_processor, "crop_size", None) or {}
    size = int(crop.get("height") or crop.get("shortest_edge") or image_processor.size["shortest_edge"])
    arrays = []
    for im in images:
        w, h = im.size
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        square = im.crop((left, top, left + side, top + side)).resize((size, size), resample=Image.BICUBIC)
        arrays.append(np.asarray(square.convert("RGB")).astype(np.float32) / 255.0)
    out = image_processor(images=arrays, do_resize=False, do_center_crop=False, do_rescale=False,
                          do_normalize=True, return_tensors="pt")
    return out["pixel_values"]


class Judge:
    """A loaded CLIP-like judge: L2-normalised image and text embeddings, with truncation counted."""

    def __init__(self, spec: JudgeSpec, model, image_processor, tokenizer, batch_size: int = 32,
                 device: str = "cpu") -> None:
        self.spec = spec
        self.device = device
        self.model = model.eval().to(device)
        self.image_processor = image_processor
        self.tokenizer = tokenizer
        self.batch_size = batch_size

    @property
    def context_length(self) -> int:
        """Tokens the text tower reads; longer prompts are truncated.

        A tokenizer without model_max_length reports a huge number, so the text tower's position table
        bounds it (less the 2 positions RoBERTa-style towers such as AltCLIP's reserve).
        """
        if self.spec.context:
            return int(self.spec.context)
        limit = int(self.tokenizer.model_max_length)
        text_config = getattr(self.model.config, "text_config", None)
        positions = getattr(text_config, "max_position_embeddings", None)
        if positions:
            reserved = 2 if "altclip" in str(getattr(text_config, "model_type", "")) else 0
            limit = min(limit, int(positions) - reserved)
        return limit

    def encode_images(self, images: Sequence) -> np.ndarray:
        """Unit-norm image embeddings (float32, one row per PIL image)."""
        import numpy as np
        import torch

        out = []
        for start in range(0, len(images), self.batch_size):
            chunk = list(images[start:start + self.batch_size])
            if self.spec.preprocess == "cmmd":
                batch = {"pixel_values": reference_pixels(chunk, self.image_processor)}
            else:
                batch = self.image_processor(images=chunk, return_tensors="pt")
            with torch.inference_mode():
                pixels = batch["pixel_values"].to(self.device, getattr(self.model, "dtype", None))  # fp16 models too
                emb = _pooled(self.model.get_image_features(pixel_values=pixels))
            out.append(torch.nn.functional.normalize(emb.float(), dim=-1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 0), np.float32)

    def truncated_flags(self, texts: Sequence[str]) -> list[bool]:
        """Per text, whether it is longer than the judge's context (and so gets truncated)."""
        ids = self.tokenizer(list(texts), truncation=False, verbose=False)["input_ids"]
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
            tokens = self.tokenizer(list(texts[start:start + self.batch_size]), padding=True,
                                    truncation=True, max_length=self.context_length, return_tensors="pt")
            kwargs = {k: v.to(self.device) for k, v in tokens.items()
                      if k in ("input_ids", "attention_mask", "token_type_ids")}
            with torch.inference_mode():
                emb = _pooled(self.model.get_text_features(**kwargs))
            out.append(torch.nn.functional.normalize(emb.float(), dim=-1).cpu().numpy())
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
    if spec.loader is not None and spec.probe is None:
        return
    from bench.models.weights import require_offline

    require_offline(spec.model_id, f"judge '{spec.name}'", probe=spec.probe or "config.json")
    if spec.processor:
        require_offline(spec.processor, f"judge '{spec.name}' tokenizer", probe="tokenizer_config.json")


@functools.lru_cache(maxsize=4)
def load_judge(name: str, device: str = "cpu") -> Judge:
    """Load judge `name` on `device` (cached per process; judges are read-only)."""
    spec = JUDGES.get(name)
    if spec.kind in VQA_KINDS:
        raise BenchError(f"judge '{name}' is a VQA judge: it answers questions and embeds nothing; use it as "
                         "--vqa-judge (vqascore, culture-vqa, concept-present)")
    if spec.loader is not None:
        import inspect

        takes_device = "device" in inspect.signature(spec.loader).parameters
        return spec.loader(spec, device=device) if takes_device else spec.loader(spec)
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
    return Judge(spec, model, image_processor, tokenizer, device=device)


# Model families a judge and a system's text encoder can share (same training data and recipe, so a judge of
# the family favours the system even at another size): a substring of the lower-cased model id -> family.
_FAMILY_MARKERS = (("chinese-clip", "chinese-clip"), ("altclip", "altclip"), ("altdiffusion", "altclip"),
                   ("openai/clip-", "openai-clip"))


def family_of(model_id: str) -> str | None:
    """The model family a hub id or name belongs to (chinese-clip, altclip, openai-clip), or None."""
    low = model_id.lower()
    return next((family for marker, family in _FAMILY_MARKERS if marker in low), None)


def judge_family(spec: JudgeSpec) -> str | None:
    """A judge's family: from its model id, else its kind (a tiny altclip judge is of the altclip family)."""
    return family_of(spec.model_id) or ({"altclip": "altclip", "chinese-clip": "chinese-clip"}.get(spec.kind))


def shared_with(spec: JudgeSpec, strings: Sequence[str]) -> str | None:
    """How a judge shares weights with a system whose spec holds `strings`: 'weights', 'family', or None."""
    if any(spec.model_id == s or s.endswith(f"/{spec.model_id}") for s in strings):
        return "weights"
    family = judge_family(spec)
    if family and any(family_of(s) == family for s in strings if "/" in s or s.startswith("zoo:")):
        return "family"
    return None


def preferred_judge(lang: str, tier: str = "real") -> dict:
    """Which judge to prefer for `lang`: one that reads it and is not of the default student's family."""
    from bench.core.languages import get_language
    from bench.models.encoders import STUDENT_ENCODERS

    language = get_language(lang)
    encoder = language.student_encoder
    student = STUDENT_ENCODERS.get(encoder) if encoder in STUDENT_ENCODERS else None
    student_family = family_of(student.model_id) if student else None
    readers = [spec for _, spec in JUDGES.items() if spec.tier == tier and spec.reads(lang)
               and spec.preprocess == "processor" and spec.kind not in VQA_KINDS + REWARD_KINDS]
    default = default_judge(tier, lang)
    readers.sort(key=lambda spec: spec.name != default)  # the language's default first, when it qualifies
    independent = [spec for spec in readers if judge_family(spec) != student_family]
    pick = (independent or readers or [None])[0]
    reason = ("reads the language and is not of the family of the default student encoder "
              f"({student.model_id if student else 'none'})" if independent else
              "no judge that reads the language is independent of the default student; scores of that "
              "student's systems favour them" if readers else "no judge reads the language")
    return {"judge": pick.name if pick else None, "reason": reason,
            "student_family": student_family, "independent": [j.name for j in independent]}


def resolve_reward_judges(values: Sequence[str]) -> dict[str, str]:
    """ROLE=JUDGE settings -> {role: judge name}; a hub id or folder is registered as a judge of the role's kind
    (a folder with its own tokenizer files keeps them, else the role's processor is used)."""
    import dataclasses
    from pathlib import Path

    from bench.core.errors import BenchError
    from bench.instruments.rewards import ROLES

    out: dict[str, str] = {}
    for value in values:
        role, sep, judge = value.partition("=")
        if not sep or role not in ROLES or not judge:
            raise BenchError(f"--reward-judges takes ROLE=JUDGE with ROLE one of {', '.join(ROLES)}, got '{value}'")
        base = JUDGES.get(ROLES[role])
        if judge in JUDGES:
            if JUDGES.get(judge).kind != base.kind:
                raise BenchError(f"judge '{judge}' is a {JUDGES.get(judge).kind} judge, not a {role} judge")
        elif "/" in judge or Path(judge).exists():
            own = Path(judge, "tokenizer_config.json").is_file()
            register_judge(dataclasses.replace(base, name=judge, model_id=judge,
                                               processor=None if own else base.processor))
        else:
            JUDGES.get(judge)  # did-you-mean error
        out[role] = judge
    return out
