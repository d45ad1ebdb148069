"""HPS v2.1 as the hpsv2 package computes it: open_clip's ViT-H-14 with the HPS checkpoint, score =
cos(image, text) of the model's unit-norm features (no temperature).

Its preprocessing is the package's validation transform: tensor first, the longest side resized to 224
(bicubic, antialiased), padded to a square with black, then OpenAI's mean/std. Texts are open_clip's BPE
tokens cut at 77. A folder (or hub snapshot) holds HPS_v2.1_compressed.pt, read with
torch.load(weights_only=True), for the ViT-H-14 architecture; or open_clip_config.json +
open_clip_model.safetensors (the tiny twin).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bench.core.errors import BenchError
from bench.instruments.rewards.base import (
    BATCH_SIZE,
    EmbeddingReward,
    read_state_dict,
    weights_file,
)

if TYPE_CHECKING:
    import numpy as np

ARCHITECTURE = "ViT-H-14"  # the open_clip configuration HPS v2 and v2.1 fine-tune
CHECKPOINT = "HPS_v2.1_compressed.pt"
CONTEXT = 77


def pad_to_square(image_size: int, mean: Sequence[float], std: Sequence[float]):
    """hpsv2's validation transform (image_transform with resize_longest_max=True)."""
    import torch
    import torchvision.transforms.functional as F
    from torchvision.transforms import InterpolationMode

    def transform(image) -> torch.Tensor:
        x = F.to_tensor(image if image.mode == "RGB" else image.convert("RGB"))
        height, width = x.shape[1:]
        scale = image_size / float(max(height, width))
        if scale != 1.0:
            size = [round(height * scale), round(width * scale)]
            x = F.resize(x, size, InterpolationMode.BICUBIC)
            pad_h, pad_w = image_size - size[0], image_size - size[1]
            x = F.pad(x, [pad_w // 2, pad_h // 2, pad_w - pad_w // 2, pad_h - pad_h // 2], fill=0)
        return F.normalize(x, list(mean), list(std))

    return transform


class HPSJudge(EmbeddingReward):
    """Unit-norm image and text features of the HPS model; the reward is their cosine."""

    def __init__(self, spec, model, tokenizer, device: str = "cpu", batch_size: int = BATCH_SIZE) -> None:
        self.spec = spec
        self.device = device
        self.model = model.eval().to(device)
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD

        size = model.visual.image_size
        size = size[0] if isinstance(size, tuple) else size
        # hpsv2 passes no mean/std, so its transform uses OpenAI's (as ViT-H-14's LAION weights do)
        self.transform = pad_to_square(int(size), OPENAI_DATASET_MEAN, OPENAI_DATASET_STD)

    @property
    def context_length(self) -> int:
        return CONTEXT

    def truncated_flags(self, texts: Sequence[str]) -> list[bool]:
        """Texts whose BPE tokens (with start and end) exceed the context."""
        encoder = self.tokenizer
        return [len(encoder.encode(text)) + 2 > CONTEXT for text in texts]

    def encode_images(self, images: Sequence) -> np.ndarray:
        import numpy as np
        import torch

        dtype = next(self.model.parameters()).dtype
        out = []
        for start in range(0, len(images), self.batch_size):
            pixels = torch.stack([self.transform(im) for im in images[start:start + self.batch_size]])
            with torch.inference_mode():
                emb = self.model.encode_image(pixels.to(self.device, dtype), normalize=True)
            out.append(emb.float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 0), np.float32)

    def encode_texts(self, texts: Sequence[str]) -> tuple[np.ndarray, int]:
        import numpy as np
        import torch

        from bench.instruments.rewards.base import warn_truncated

        truncated = warn_truncated(self.spec.name, self.truncated_flags(texts), CONTEXT)
        out = []
        for start in range(0, len(texts), self.batch_size):
            tokens = self.tokenizer(list(texts[start:start + self.batch_size])).to(self.device)
            with torch.inference_mode():
                emb = self.model.encode_text(tokens, normalize=True)
            out.append(emb.float().cpu().numpy())
        return (np.concatenate(out) if out else np.zeros((0, 0), np.float32)), truncated


def model_config(folder: Path | None) -> dict:
    """open_clip's model_cfg: the folder's open_clip_config.json, else ViT-H-14's built-in configuration."""
    import open_clip

    if folder is not None and (folder / "open_clip_config.json").is_file():
        return json.loads((folder / "open_clip_config.json").read_text())["model_cfg"]
    return open_clip.get_model_config(ARCHITECTURE)


def build(cfg: dict, device: str = "cpu", dtype=None):
    """An open_clip CLIP from a model_cfg, random weights (meta device: shapes only)."""
    import open_clip
    import torch

    previous = torch.get_default_dtype()
    if dtype is not None:
        torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            return open_clip.CLIP(**cfg)
    finally:
        torch.set_default_dtype(previous)


def load(spec, device: str = "cpu") -> HPSJudge:
    """The HPS judge from a hub id, a folder or a checkpoint file (spec.model_id)."""
    import open_clip

    from bench.instruments.judges import require_available
    from bench.models.weights import load_path

    require_available(spec)
    path = Path(spec.model_id)
    folder = None if path.is_file() else Path(load_path(spec.model_id, probe=spec.probe or CHECKPOINT))
    file = weights_file(spec.model_id if folder is None else str(folder),
                        ("open_clip_model.safetensors", CHECKPOINT), "HPS")
    cfg = model_config(folder)
    model = build(cfg)
    missing, unexpected = model.load_state_dict(read_state_dict(file), strict=False)
    if missing or unexpected:
        raise BenchError(f"{file}: the weights do not fit open_clip's {cfg.get('name', ARCHITECTURE)} "
                         f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    tokenizer = open_clip.SimpleTokenizer(context_length=cfg["text_cfg"].get("context_length", CONTEXT))
    return HPSJudge(spec, model, tokenizer, device=device)
