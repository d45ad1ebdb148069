"""The published configurations of the real components, kept as data, built with random weights offline.

Every component here is a config.json copied from its public release (values only); `build(name)` makes the
model on the meta device (no memory, no download) or on a real device with random weights, so shapes,
parameter counts and state-dict key names can be checked without the hub.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.core.errors import BenchError

_HERE = Path(__file__).parent


@dataclass(frozen=True)
class Component:
    """One released model part: its config file, the class that loads it, where it sits in its repository."""

    name: str
    config: str  # JSON file next to this module
    library: str  # "diffusers", "transformers", "open_clip" or "pea-bench" (a network of this package)
    cls: str
    repo: str  # the hub repository it comes from
    weights: str  # the weights file a real checkpoint folder has for it
    published: int  # the published parameter count
    tolerance: int  # 0 where the published count is exact, else half the published rounding unit
    source: str  # where the published count comes from


COMPONENTS: dict[str, Component] = {c.name: c for c in (
    Component("sdxl/unet", "sdxl-unet.json", "diffusers", "UNet2DConditionModel",
              "stabilityai/stable-diffusion-xl-base-1.0", "unet/diffusion_pytorch_model.safetensors",
              2_567_463_684, 0, "num_parameters() of the released UNet (SDXL report: 2.6B)"),
    Component("sdxl/vae", "sdxl-vae.json", "diffusers", "AutoencoderKL",
              "stabilityai/stable-diffusion-xl-base-1.0", "vae/diffusion_pytorch_model.safetensors",
              83_653_863, 0, "num_parameters() of the released VAE (same architecture as SD's, new weights)"),
    Component("sdxl/text_encoder", "sdxl-text_encoder.json", "transformers", "CLIPTextModel",
              "stabilityai/stable-diffusion-xl-base-1.0", "text_encoder/model.safetensors",
              123_060_480, 0, "CLIP ViT-L/14 text tower; with OpenCLIP bigG: 817M text encoders (SDXL report)"),
    Component("sdxl/text_encoder_2", "sdxl-text_encoder_2.json", "transformers", "CLIPTextModelWithProjection",
              "stabilityai/stable-diffusion-xl-base-1.0", "text_encoder_2/model.safetensors",
              694_659_840, 0, "OpenCLIP ViT-bigG/14 text tower + projection; 817M with CLIP-L (SDXL report)"),
    Component("sd15/unet", "sd15-unet.json", "diffusers", "UNet2DConditionModel",
              "stable-diffusion-v1-5/stable-diffusion-v1-5", "unet/diffusion_pytorch_model.safetensors",
              859_520_964, 0, "diffusers' ModelMixin.num_parameters documentation example (SD v1-5 UNet)"),
    Component("sd15/vae", "sd15-vae.json", "diffusers", "AutoencoderKL",
              "stable-diffusion-v1-5/stable-diffusion-v1-5", "vae/diffusion_pytorch_model.safetensors",
              83_653_863, 0, "num_parameters() of the released VAE"),
    Component("sd15/text_encoder", "sd15-text_encoder.json", "transformers", "CLIPTextModel",
              "stable-diffusion-v1-5/stable-diffusion-v1-5", "text_encoder/model.safetensors",
              123_060_480, 0, "CLIP ViT-L/14 text tower"),
    Component("chinese-clip", "chinese-clip-vit-huge-patch14.json", "transformers", "ChineseCLIPModel",
              "OFA-Sys/chinese-clip-vit-huge-patch14", "pytorch_model.bin",
              958_000_000, 500_000, "Chinese-CLIP model table: CN-CLIP ViT-H/14, 958M (RoBERTa-wwm-ext-large text)"),
    Component("altclip-m18", "altclip-m18.json", "transformers", "AltCLIPModel",
              "BAAI/AltCLIP-m18", "pytorch_model.bin",
              559_890_432 - 1_049_600 + 789_248 + 427_616_513 - 123_060_480, 0,
              "xlm-roberta-large (559,890,432) without its pooler, + the 1024->768 projection and LayerNorm; "
              "+ clip-vit-large-patch14 (427,616,513) without its 123,060,480-parameter text tower"),
    Component("qwen2.5-vl-7b", "qwen2.5-vl-7b-instruct.json", "transformers", "Qwen2_5_VLForConditionalGeneration",
              "Qwen/Qwen2.5-VL-7B-Instruct", "model.safetensors.index.json",
              8_292_166_656, 0, "model.safetensors.index.json: total_size 16,584,333,312 bytes of bf16 weights / 2"),
    Component("mt5-xl", "mt5-xl.json", "transformers", "MT5ForConditionalGeneration",
              "google/mt5-xl", "pytorch_model.bin",
              3_700_000_000, 50_000_000, "mT5 paper, model sizes table: mT5-XL 3.7B"),
    # The default corpus translator (bench.models.translators; gpu-bench measures its rate)
    Component("nllb-600m", "nllb-200-distilled-600M.json", "transformers", "M2M100ForConditionalGeneration",
              "facebook/nllb-200-distilled-600M", "pytorch_model.bin", 600_000_000, 50_000_000,
              "NLLB-200 paper (NLLB Team 2022), distilled dense models: NLLB-200-Distilled 600M (615,073,792 here, "
              "the output head shared with the embeddings)"),
    # The reward judges (bench.instruments.rewards)
    Component("pickscore", "pickscore-v1.json", "transformers", "CLIPModel", "yuvalkirstain/PickScore_v1",
              "model.safetensors", 986_110_000, 5_000, "open_clip's model profile: ViT-H-14 986.11M (image 632.08M, "
              "text 354.03M); PickScore_v1 is that architecture in transformers' CLIPModel"),
    Component("hpsv2", "hps-v2.1.json", "open_clip", "CLIP", "xswu/HPSv2", "HPS_v2.1_compressed.pt",
              986_110_000, 5_000, "open_clip's model profile: ViT-H-14 986.11M, the model HPS v2.1 fine-tunes"),
    Component("imagereward", "imagereward-v1.json", "pea-bench", "ImageRewardNet", "THUDM/ImageReward",
              "ImageReward.pt", 304_326_632 - 1_025_000 + 109_482_240 - 590_592 + 12 * 2_757_120 + 262_400 + 196_864
              + 927_969, 0,
              "timm's vit_large_patch16_224 (304,326,632) without its 1000-class head; bert-base-uncased "
              "(109,482,240) without its pooler, with 2 more tokens and no token types, + 12 cross-attention "
              "blocks (2,757,120 each, keys and values from 1024 wide); BLIP's two 256-d projections; the reward "
              "MLP (927,969). 446.7M x 4 bytes: the 1.79 GB ImageReward.pt"),
)}

# The text towers the PEA students use, and the width of the states the adapter receives.
STUDENT_TOWERS = {"chinese-clip": ("text_model", 1024), "altclip-m18": ("text_model", 768),
                  "mt5-xl": ("encoder", 2048)}


def load_config(name: str) -> dict[str, Any]:
    """The stored config.json of a component (or of a part without weights, e.g. sdxl/scheduler)."""
    path = _HERE / (COMPONENTS[name].config if name in COMPONENTS else f"{name.replace('/', '-')}.json")
    if not path.is_file():
        raise BenchError(f"unknown full-size component '{name}'; known: {', '.join(COMPONENTS)}, sdxl/scheduler, "
                         "qwen2.5-vl-7b/preprocessor")
    return json.loads(path.read_text(encoding="utf-8"))


def build(name: str, device: str = "meta", dtype=None):
    """The component with random weights on `device` (meta: shapes only, nothing allocated)."""
    import torch

    config = load_config(name)
    comp = COMPONENTS.get(name)
    if comp is None:
        raise BenchError(f"'{name}' is a stored config without weights to build; known: {', '.join(COMPONENTS)}")
    previous = torch.get_default_dtype()
    if dtype is not None:  # initialise directly in the target dtype: half the peak memory of float32 then cast
        torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            if comp.library == "diffusers":
                import diffusers

                return getattr(diffusers, comp.cls).from_config(config)
            if comp.library == "open_clip":
                import open_clip

                return getattr(open_clip, comp.cls)(**config)
            if comp.library == "pea-bench":  # ImageReward's network, ported (bench.models.blip)
                from bench.models.blip import ImageRewardNet, TextConfig, VisionConfig

                vision = VisionConfig(**config["vision"])
                return ImageRewardNet(vision, TextConfig.from_dict(config["text"], encoder_width=vision.width))
            import transformers

            cls = getattr(transformers, comp.cls)
            cfg = cls.config_class.from_dict(config)
            if name == "mt5-xl":
                # transformers 5 reads tie_word_embeddings=False as untying every embedding; mT5 shares
                # its input embeddings and keeps only the output head separate (counted in tests).
                cfg.tie_word_embeddings = True
            return cls(cfg)
    finally:
        torch.set_default_dtype(previous)


def build_student_tower(name: str, device: str = "meta", dtype=None):
    """The part of a student checkpoint the PEA student keeps (text tower or encoder), random weights."""
    if name == "mt5-xl":
        import torch
        from transformers import MT5Config, MT5EncoderModel

        cfg = MT5Config.from_dict(load_config(name))
        cfg.tie_word_embeddings = True
        previous = torch.get_default_dtype()
        if dtype is not None:
            torch.set_default_dtype(dtype)
        try:
            with torch.device(device):
                return MT5EncoderModel(cfg)
        finally:
            torch.set_default_dtype(previous)
    attr, _width = STUDENT_TOWERS[name]
    return getattr(build(name, device, dtype), attr)


def parameter_count(module) -> int:
    """Unique parameters of a module (shared tensors once)."""
    return sum(p.numel() for p in module.parameters())
