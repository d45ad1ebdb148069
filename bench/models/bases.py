"""English base text-to-image models a PEA adapter plugs into, by name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.core import paths
from bench.core.errors import BenchError
from bench.core.registry import Registry


@dataclass(frozen=True)
class BaseModel:
    """A frozen English text-to-image model: where its weights are and which architecture family it is."""

    name: str
    model_id: str  # hub id, local folder, or zoo:<name>
    family: str  # "sd15" (one CLIP text encoder, context only) or "sdxl" (two encoders, pooled + time ids)
    tier: str  # "real" or "tiny": tiny results never mix with real ones
    resolution: int  # default square image size in pixels
    context_dim: int  # width of the UNet's cross-attention context
    pooled_dim: int | None = None  # SDXL's pooled text embedding width

    @property
    def is_sdxl(self) -> bool:
        """True for the SDXL family (pooled embedding and time ids)."""
        return self.family == "sdxl"


BASES: Registry[BaseModel] = Registry("base model", hint="bench models lists them")

BASES.register("sdxl", BaseModel("sdxl", "stabilityai/stable-diffusion-xl-base-1.0", "sdxl", "real", 1024, 2048, 1280))
BASES.register("sd15", BaseModel("sd15", "stable-diffusion-v1-5/stable-diffusion-v1-5", "sd15", "real", 512, 768))
BASES.register("tiny-sdxl", BaseModel("tiny-sdxl", "zoo:tiny-sdxl", "sdxl", "tiny", 64, 64, 32))
BASES.register("tiny-sd15", BaseModel("tiny-sd15", "zoo:tiny-sd15", "sd15", "tiny", 64, 32))


def get_base(name: str) -> BaseModel:
    """Look a base model up by name, or by `zoo:<name>`, hub id or local pipeline folder (bench.models.resolve)."""
    if name not in BASES:
        from bench.models.resolve import looks_like_model

        if looks_like_model(name):
            return base_from_argument(name)
    return BASES.get(name)


def base_from_argument(value: str):
    """A BaseModel for `zoo:<name>`, a hub id or a local diffusers pipeline folder (family from model_index.json)."""
    from bench.models import resolve

    for _, base in BASES.items():  # a registered base's own model id is that base
        if base.model_id == value or (Path(value).exists() and Path(base.model_id).exists()
                                      and Path(value).resolve() == Path(base.model_id).resolve()):
            return base
    folder = resolve.local_folder(value, "model_index.json")
    if folder is None or not (folder / "model_index.json").is_file():
        raise resolve.not_found("base model", value, "model_index.json")
    index = paths.read_json(folder / "model_index.json")
    family = resolve.PIPELINE_FAMILIES.get(index.get("_class_name", ""))
    if family is None:
        raise BenchError(f"{value}: model_index.json names {index.get('_class_name')!r}; a base must be one of "
                         f"{', '.join(resolve.PIPELINE_FAMILIES)}")
    unet = paths.read_json(folder / "unet" / "config.json")
    vae = paths.read_json(folder / "vae" / "config.json")
    scale = 2 ** (len(vae.get("block_out_channels", [0, 0, 0, 0])) - 1)
    sample = unet.get("sample_size", 64)
    resolution = (sample[0] if isinstance(sample, list) else sample) * scale
    pooled = None
    if family == "sdxl":
        pooled = paths.read_json(folder / "text_encoder_2" / "config.json").get("projection_dim")
    name = str(Path(value).resolve()) if Path(value).exists() else value
    return BASES.register(name, BaseModel(name, name, family, resolve.tier_of(value), int(resolution),
                                          int(unet["cross_attention_dim"]), pooled))


def load_base_pipeline(base: str | BaseModel, torch_dtype=None, text_encoders: bool = True):
    """The stock diffusers pipeline of a base model, the one loader every stage uses: from the zoo, a local
    folder or the HF cache; the English text encoders left out for PEA use; safety checker off (images are
    scored, not shown)."""
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

    from bench.core.errors import NotAvailableOffline
    from bench.models import weights

    b = get_base(base) if isinstance(base, str) else base
    kwargs: dict = {} if torch_dtype is None else {"dtype": torch_dtype}
    if not text_encoders:
        kwargs.update(text_encoder=None, tokenizer=None)
        if b.is_sdxl:
            kwargs.update(text_encoder_2=None, tokenizer_2=None)
    if not b.is_sdxl:
        kwargs.update(safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    cls = StableDiffusionXLPipeline if b.is_sdxl else StableDiffusionPipeline
    try:
        return cls.from_pretrained(weights.load_path(b.model_id), **kwargs)
    except OSError as exc:
        raise NotAvailableOffline(f"cannot load base '{b.name}' ({b.model_id}): "
                                  f"{str(exc).splitlines()[0][:160]}") from None
