"""English base text-to-image models a PEA adapter plugs into, by name."""

from __future__ import annotations

from dataclasses import dataclass

from bench.registry import Registry


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
        from bench.models.resolve import base_from_argument, looks_like_model

        if looks_like_model(name):
            return base_from_argument(name)
    return BASES.get(name)
