"""Building a registered system: the diffusers pipeline and what it needs (translator, PEA conditioner)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.core import paths
from bench.core.errors import BenchError, NotAvailableOffline
from bench.core.runtime import default_device, resolve_dtype
from bench.models import weights
from bench.models.bases import get_base, load_base_pipeline
from bench.models.pipelines import SystemSpec, check_language, get_system


@dataclass
class LoadedSystem:
    """A built system: `pipe` consumes what model_inputs() returns (for translate: the English translation)."""

    spec: SystemSpec
    lang: str
    pipe: Any
    translator: Any = None  # CachedTranslator for translate systems
    extras: dict[str, Any] = field(default_factory=dict)

    def model_inputs(self, prompts) -> list[str]:
        """Exactly the strings the model consumes for these prompts (recorded in metadata as model_input)."""
        if self.spec.prompt_field == "text_en":
            missing = [p.id for p in prompts if not getattr(p, "text_en", None)]
            if missing:
                raise BenchError(f"prompts {missing[:3]} have no English pivot text_en for {self.spec.name}")
            return [p.text_en for p in prompts]
        texts = [p.text for p in prompts]
        if self.spec.kind == "translate":
            return self.translator.translate(texts)
        return texts

    def native_pipeline(self):
        """The pipeline taking native prompts directly (translate systems translate inside encode_prompt)."""
        if self.spec.kind != "translate":
            return self.pipe
        from bench.models.native import TranslateRoute, make_native

        # A second pipeline object over the same modules: self.pipe keeps taking English (model_inputs()).
        return make_native(type(self.pipe).from_pipe(self.pipe), TranslateRoute(self.translator.translate))


def load_system(name: str, lang: str | None = None, device: str | None = None, dtype: str = "auto") -> LoadedSystem:
    """Build a registered system on `device` in `dtype`, after checking language and offline availability."""
    import torch

    spec = get_system(name)
    lang = lang or (spec.languages[0] if spec.languages else None)
    if lang is None:
        raise BenchError(f"model '{name}' takes several languages; say which with lang=")
    check_language(spec, lang)
    spec.require_available()
    device = device or default_device()
    torch_dtype = getattr(torch, resolve_dtype(dtype, device))
    system = _BUILDERS[spec.kind](spec, lang, torch_dtype)
    system.pipe.to(device)
    system.pipe.set_progress_bar_config(disable=True)
    return system


def load_pipeline(name: str, lang: str | None = None, device: str | None = None, dtype: str = "auto"):
    """A diffusers pipeline for system `name` that takes native-language prompts (LoRA and ControlNet work)."""
    return load_system(name, lang=lang, device=device, dtype=dtype).native_pipeline()


def _build_plain(spec: SystemSpec, lang: str, torch_dtype) -> LoadedSystem:
    """asis and english systems: the base pipeline as it is."""
    return LoadedSystem(spec, lang, load_base_pipeline(spec.base, torch_dtype))


def _build_translate(spec: SystemSpec, lang: str, torch_dtype) -> LoadedSystem:
    """The base pipeline plus a cached translator native -> English."""
    from bench.models.translations import CachedTranslator

    return LoadedSystem(spec, lang, load_base_pipeline(spec.base, torch_dtype),
                        translator=CachedTranslator(spec.translator, lang))


def _build_pea(spec: SystemSpec, lang: str, torch_dtype) -> LoadedSystem:
    """Base pipeline without its English encoders (SDXL) + PEA conditioner from the checkpoint."""
    from bench.models.native import EmbeddingRoute, make_native

    conditioner = _load_conditioner(spec)
    base = getattr(conditioner, "base", None) or spec.base
    base = getattr(base, "name", base)
    pipe = load_base_pipeline(base, torch_dtype, text_encoders=False)
    make_native(pipe, EmbeddingRoute(conditioner))
    return LoadedSystem(spec, lang, pipe, extras={"base": base})


def _load_conditioner(spec: SystemSpec):
    """B's PEAConditioner from the checkpoint, or from the released weights for zh."""
    ckpt = spec.checkpoint_dir()
    if ckpt is not None:
        from bench.models.pea import PEAConditioner

        return PEAConditioner.from_checkpoint(ckpt)
    # Released weights: an adapter only, paired with the language's default student encoder.
    from bench.core.languages import get_language
    from bench.models.adapter import load_released_weights
    from bench.models.encoders import load_student_encoder
    from bench.models.pea import PEAConditioner

    folder = Path(weights.load_path(spec.released, probe="README.md"))
    files = [folder / n for n in ("adapter.safetensors", "pytorch_model.bin") if (folder / n).is_file()]
    if not files:
        raise NotAvailableOffline(f"released weights '{spec.released}' have no adapter file in {folder}")
    student = load_student_encoder(get_language(spec.languages[0]).student_encoder)
    return PEAConditioner(load_released_weights(files[0]), student, get_base(spec.base))


def _build_public(spec: SystemSpec, lang: str, torch_dtype) -> LoadedSystem:
    """A published pipeline loaded with its own diffusers class (never trust_remote_code)."""
    import diffusers

    cls = getattr(diffusers, spec.pipeline)
    kwargs: dict[str, Any] = {"dtype": torch_dtype}
    if "safety_checker" in cls._optional_components:
        kwargs.update(safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    path = weights.load_path(spec.model_id)
    if spec.pipeline == "AltDiffusionPipeline":
        return LoadedSystem(spec, lang, _load_altdiffusion(Path(path), torch_dtype))
    pipe = cls.from_pretrained(path, **kwargs)
    return LoadedSystem(spec, lang, pipe)


def _load_altdiffusion(path: Path, torch_dtype):
    """AltDiffusion part by part: its model_index names a text encoder class diffusers now keeps in deprecated/."""
    from diffusers import AltDiffusionPipeline, AutoencoderKL, UNet2DConditionModel
    from diffusers.pipelines.deprecated.alt_diffusion.modeling_roberta_series import (
        RobertaSeriesModelWithTransformation,
    )
    from transformers import XLMRobertaTokenizer

    return AltDiffusionPipeline(
        vae=AutoencoderKL.from_pretrained(path / "vae", dtype=torch_dtype),
        text_encoder=RobertaSeriesModelWithTransformation.from_pretrained(path / "text_encoder", dtype=torch_dtype),
        tokenizer=XLMRobertaTokenizer.from_pretrained(path / "tokenizer"),
        unet=UNet2DConditionModel.from_pretrained(path / "unet", dtype=torch_dtype),
        scheduler=_scheduler_class(path / "scheduler").from_pretrained(path / "scheduler"),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )


def _scheduler_class(folder: Path):
    """The scheduler class a saved scheduler_config.json names."""
    import diffusers

    return getattr(diffusers, paths.read_json(folder / "scheduler_config.json")["_class_name"])


_BUILDERS = {"pea": _build_pea, "translate": _build_translate, "asis": _build_plain, "english": _build_plain,
             "public": _build_public}
