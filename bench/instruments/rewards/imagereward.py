"""ImageReward-v1.0 as a judge: its preprocessing (bicubic resize to 224, centre crop, CLIP's mean/std), its
tokenisation (bert-base-uncased with BLIP's [DEC] and [ENC], padded and cut to 35 tokens) and the ported
network (bench.models.blip).

A folder or hub snapshot holds ImageReward.pt (read with torch.load(weights_only=True)) or model.safetensors,
and med_config.json; the tiny zoo twin also has config.json (its ViT size) and its own tokenizer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bench.core.errors import BenchError
from bench.instruments.rewards.base import BATCH_SIZE, check_pairs, warn_truncated, weights_file

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

CONTEXT = 35  # ImageReward's max_length
IMAGE_MEAN = (0.48145466, 0.4578275, 0.40821073)
IMAGE_STD = (0.26862954, 0.26130258, 0.27577711)
WEIGHT_FILES = ("model.safetensors", "ImageReward.pt")


def preprocess(image_size: int):
    """ImageReward's _transform(n_px): PIL bicubic resize of the short side, centre crop, tensor, CLIP mean/std."""
    from torchvision.transforms import (
        CenterCrop,
        Compose,
        InterpolationMode,
        Normalize,
        Resize,
        ToTensor,
    )

    return Compose([Resize(image_size, interpolation=InterpolationMode.BICUBIC), CenterCrop(image_size),
                    lambda im: im.convert("RGB"), ToTensor(), Normalize(IMAGE_MEAN, IMAGE_STD)])


class ImageRewardJudge:
    """score(images, texts): ImageReward's normalised reward per pair, batched."""

    embeds = False

    def __init__(self, spec, net, tokenizer, image_size: int, device: str = "cpu",
                 batch_size: int = BATCH_SIZE) -> None:
        self.spec = spec
        self.device = device
        self.net = net.eval().to(device)
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.transform = preprocess(image_size)

    @property
    def context_length(self) -> int:
        return CONTEXT

    def encode_images(self, images: Sequence):
        raise BenchError(f"judge '{self.spec.name}' scores (image, text) pairs and embeds nothing: it serves the "
                         "imagereward metric, not CLIP score, CMMD or culture accuracy")

    encode_texts = encode_images

    def truncated_flags(self, texts: Sequence[str]) -> list[bool]:
        ids = self.tokenizer(list(texts), truncation=False, verbose=False)["input_ids"]
        return [len(row) > CONTEXT for row in ids]

    def tokens(self, texts: Sequence[str]):
        """input_ids and attention_mask as ImageReward.score makes them."""
        return self.tokenizer(list(texts), padding="max_length", truncation=True, max_length=CONTEXT,
                              return_tensors="pt")

    def score(self, images: Sequence, texts: Sequence[str]) -> np.ndarray:
        """The normalised reward of each (image, text) pair."""
        import numpy as np
        import torch

        check_pairs(images, texts)
        warn_truncated(self.spec.name, self.truncated_flags(texts), CONTEXT)
        dtype = next(self.net.parameters()).dtype
        out = []
        for start in range(0, len(texts), self.batch_size):
            chunk = slice(start, start + self.batch_size)
            tokens = self.tokens(texts[chunk])
            pixels = torch.stack([self.transform(im) for im in images[chunk]]).to(self.device, dtype)
            with torch.inference_mode():
                reward = self.net(tokens["input_ids"].to(self.device), tokens["attention_mask"].to(self.device),
                                  pixels)
            out.append(reward.float().cpu().numpy().astype(np.float64))
        return np.concatenate(out) if out else np.zeros(0)


def read_configs(folder: Path):
    """(VisionConfig, TextConfig) from a folder: med_config.json for the text encoder, config.json (the zoo's)
    for a ViT other than ImageReward's ViT-L/16."""
    from bench.models.blip import TextConfig, VisionConfig

    med = folder / "med_config.json"
    if not med.is_file():
        raise BenchError(f"{folder} has no med_config.json (ImageReward's text-encoder configuration)")
    extra = folder / "config.json"
    vision = VisionConfig(**json.loads(extra.read_text())["vision"]) if extra.is_file() else VisionConfig()
    return vision, TextConfig.from_dict(json.loads(med.read_text()), encoder_width=vision.width)


def build(folder: Path):
    """The network with the folder's weights, loaded strictly."""
    from bench.instruments.rewards.base import read_state_dict
    from bench.models.blip import ImageRewardNet

    vision, text = read_configs(folder)
    net = ImageRewardNet(vision, text)
    state = read_state_dict(weights_file(str(folder), WEIGHT_FILES, "ImageReward"))
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]  # a buffer (0..n-1) some saves leave out
    if missing or unexpected:
        raise BenchError(f"{folder}: the weights do not fit ImageReward's network (missing {missing[:3]}, "
                         f"unexpected {unexpected[:3]})")
    return net, vision


def load(spec, device: str = "cpu") -> ImageRewardJudge:
    """The judge from a hub id or folder (spec.model_id), with the tokenizer of spec.processor or the folder."""
    from bench.instruments.judges import require_available
    from bench.models.blip import blip_tokenizer
    from bench.models.weights import load_path

    require_available(spec)
    folder = Path(load_path(spec.model_id, probe=spec.probe or "med_config.json"))
    net, vision = build(folder)
    tokenizer = blip_tokenizer(load_path(spec.processor, probe="tokenizer_config.json") if spec.processor
                               else str(folder))
    return ImageRewardJudge(spec, net, tokenizer, vision.image_size, device=device)
