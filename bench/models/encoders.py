"""Frozen non-English (student) text encoders by name: each returns token states and an attention mask."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.core import paths
from bench.core.errors import BenchError, NotAvailableOffline
from bench.core.registry import Registry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StudentSpec:
    """A registered student encoder: where its weights are, how to load it, and its state width."""

    name: str
    model_id: str  # hub id, local folder or zoo:<name>
    family: str  # a key of FAMILIES, or any label when `loader` is given
    width: int  # width of the token states the adapter receives
    hidden_dim: int = 2048  # the adapter's hidden width on SDXL (the PEA-Diffusion paper: 1024 for Chinese-CLIP, else 2048)
    max_length: int = 77  # token states are padded to this length (the pooled mean includes padding)
    tier: str = "real"
    loader: Callable[[StudentSpec], StudentEncoder] | None = None  # custom loaders (e.g. a toy world)


class StudentEncoder:
    """A loaded, frozen student: tokenizer + model + the function picking token states from its output."""

    def __init__(self, spec: StudentSpec, tokenizer: Any, model: Any,
                 states: Callable[[Any], Any] = lambda out: out.last_hidden_state) -> None:
        self.spec = spec
        self.tokenizer = tokenizer
        self.model = model.eval().requires_grad_(False)
        self._states = states

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def model_id(self) -> str:
        return self.spec.model_id

    @property
    def width(self) -> int:
        return self.spec.width

    @property
    def device(self):
        import torch

        param = next(iter(self.model.parameters()), None)
        return param.device if param is not None else torch.device("cpu")

    def to(self, device=None, dtype=None) -> StudentEncoder:
        """Move the frozen model (returns self)."""
        self.model.to(device=device, dtype=dtype)
        return self

    def encode(self, texts: list[str]):
        """texts -> (states B x L x width float32, attention_mask B x L), padded to spec.max_length."""
        import torch

        batch = self.tokenizer(list(texts), padding="max_length", max_length=self.spec.max_length,
                               truncation=True, return_tensors="pt")
        ids = batch["input_ids"].to(self.device)
        mask = batch["attention_mask"].to(self.device)
        with torch.no_grad():
            states = self._states(self.model(input_ids=ids, attention_mask=mask))
        if states.shape[-1] != self.width:
            raise BenchError(f"student encoder '{self.name}' ({self.model_id}) gives {states.shape[-1]}-d states "
                             f"but is registered as {self.width}-d")
        return states.float(), mask


STUDENT_ENCODERS: Registry[StudentSpec] = Registry("student encoder")
FAMILIES: Registry[Callable[[StudentSpec], StudentEncoder]] = Registry("student encoder family")


def register_student(spec: StudentSpec) -> StudentSpec:
    """Register a student encoder under spec.name (one call; give `loader` for a model of your own)."""
    if spec.loader is None and spec.family not in FAMILIES:
        raise BenchError(f"student encoder family '{spec.family}' is unknown; "
                         f"pass loader= or use one of {', '.join(FAMILIES.names())}")
    STUDENT_ENCODERS.register(spec.name, spec)
    return spec


def get_student_spec(name: str) -> StudentSpec:
    """Look a student encoder up by name (plug-ins included); a model id (zoo:, hub, folder) builds one."""
    if name not in STUDENT_ENCODERS:
        from bench.models.resolve import looks_like_model

        if looks_like_model(name):  # zoo:<name>, a hub id or a local transformers folder
            return student_from_argument(name)
    return STUDENT_ENCODERS.get(name)


def student_from_argument(value: str):
    """A StudentSpec for `zoo:<name>`, a hub id or a local transformers folder (family and width from config.json)."""
    from bench.models import resolve

    for _, spec in STUDENT_ENCODERS.items():
        if spec.model_id == value:
            return spec
    folder = resolve.local_folder(value, "config.json")
    if folder is None or not (folder / "config.json").is_file():
        raise resolve.not_found("student encoder", value, "config.json")
    config = paths.read_json(folder / "config.json")
    family = resolve.ENCODER_FAMILIES.get(config.get("model_type", ""), "auto")
    text = config.get("text_config") or {}
    if family == "altclip":
        width = text.get("project_dim") or text.get("hidden_size")
    elif family == "mt5":
        width = config.get("d_model")
    else:
        width = text.get("hidden_size") or config.get("hidden_size") or config.get("d_model")
    if not width:
        raise BenchError(f"{value}: cannot tell the encoder's state width from config.json")
    name = str(Path(value).resolve()) if Path(value).exists() else value
    return register_student(StudentSpec(name, name, family, int(width), hidden_dim=1024 if family == "chinese-clip"
                                        else 2048, tier=resolve.tier_of(value)))


def load_student_encoder(name: str) -> StudentEncoder:
    """Load a registered student encoder (frozen, eval mode, on the CPU)."""
    spec = get_student_spec(name)
    loader = spec.loader or FAMILIES.get(spec.family)
    return loader(spec)


def _from_pretrained(cls: Any, model_id: str, what: str, **kwargs: Any) -> Any:
    """from_pretrained on a hub id, local folder or zoo name; offline misses become one clear line."""
    from bench.models import zoo

    try:
        return cls.from_pretrained(zoo.resolve(model_id), **kwargs)
    except OSError as exc:
        raise NotAvailableOffline(
            f"cannot load {what} '{model_id}' ({str(exc).splitlines()[0][:160]}); pass a local folder or run "
            f"once with HF_HUB_OFFLINE=0 on a machine with hub access"
        ) from None


def _text_tower(cls: Any, spec: StudentSpec) -> Any:
    """Load a dual-encoder CLIP model and keep its text tower, refusing a tower with missing weights."""
    # Loading the text model class alone from a full CLIP checkpoint silently re-initialises it
    # (key prefixes differ; measured with transformers 5.24), so load the whole model and detach the tower.
    model, info = _from_pretrained(cls, spec.model_id, "student encoder", output_loading_info=True)
    missing = [k for k in info.get("missing_keys", []) if k.startswith("text_model.")]
    if missing:
        raise BenchError(f"{spec.model_id}: text tower weights missing ({', '.join(missing[:3])} ...)")
    return model.text_model


@FAMILIES.register("chinese-clip")
def _load_chinese_clip(spec: StudentSpec) -> StudentEncoder:
    """Chinese-CLIP's BERT text tower; states are its last hidden layer (1024-d for ViT-H/14)."""
    from transformers import AutoTokenizer, ChineseCLIPModel

    tokenizer = _from_pretrained(AutoTokenizer, spec.model_id, "tokenizer")
    return StudentEncoder(spec, tokenizer, _text_tower(ChineseCLIPModel, spec))


@FAMILIES.register("altclip")
def _load_altclip(spec: StudentSpec) -> StudentEncoder:
    """AltCLIP's XLM-R text tower; its last_hidden_state is already projected to 768."""
    from transformers import AltCLIPModel, AutoTokenizer

    tokenizer = _from_pretrained(AutoTokenizer, spec.model_id, "tokenizer")
    return StudentEncoder(spec, tokenizer, _text_tower(AltCLIPModel, spec))


@FAMILIES.register("mt5")
def _load_mt5(spec: StudentSpec) -> StudentEncoder:
    """The encoder half of an mT5 checkpoint (the decoder is never loaded)."""
    from transformers import AutoTokenizer, MT5EncoderModel

    tokenizer = _from_pretrained(AutoTokenizer, spec.model_id, "tokenizer")
    return StudentEncoder(spec, tokenizer, _from_pretrained(MT5EncoderModel, spec.model_id, "student encoder"))


@FAMILIES.register("auto")
def _load_auto(spec: StudentSpec) -> StudentEncoder:
    """Any AutoModel text encoder (BERT, XLM-R, ...): last hidden layer."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer = _from_pretrained(AutoTokenizer, spec.model_id, "tokenizer")
    return StudentEncoder(spec, tokenizer, _from_pretrained(AutoModel, spec.model_id, "student encoder"))


# Chinese-CLIP's own tokenizer context is 52 tokens (cn_clip's clip.tokenize, which the public PEA code uses);
# the pooled embedding is a mean over all tokens, padding included, so the length is part of the model.
register_student(StudentSpec("chinese-clip", "OFA-Sys/chinese-clip-vit-huge-patch14", "chinese-clip", 1024,
                             hidden_dim=1024, max_length=52))
register_student(StudentSpec("altclip-m18", "BAAI/AltCLIP-m18", "altclip", 768))
register_student(StudentSpec("mt5-xl", "google/mt5-xl", "mt5", 2048))
register_student(StudentSpec("tiny", "zoo:tiny-xlmr", "auto", 48, hidden_dim=64, max_length=16, tier="tiny"))


def default_hidden_dim(spec: StudentSpec, family: str, tier: str) -> int:
    """The paper's hidden width: the encoder's own on SDXL; 2048 on SD1.5 (its 1024 -> 2048 -> 2048 -> 768 MLP)."""
    if family == "sd15" and tier == "real":
        return 2048
    return spec.hidden_dim
