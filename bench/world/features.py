"""The world CLIP's image tower as a feature extractor for FID/KID (clean-fid hands it 0..255 batches)."""

from __future__ import annotations

from collections.abc import Callable

from bench.world import draw

EXTRACTOR = "world-clip"


def load_world_features(mode: str, device: str = "cpu") -> Callable:
    """fn(float batch 0..255, N x 3 x H x W) -> N x 64 pooled features of the world CLIP's vision tower."""
    import torch

    from bench.models import zoo
    from bench.world.judge import load_world_clip

    model, _, _ = load_world_clip(zoo.ensure("world-clip"))
    vision = model.vision_model.to(device)

    def features(batch: torch.Tensor) -> torch.Tensor:
        # clean-fid resizes to 299 px first; area-average back to the world's 32 px, then scale to [-1, 1].
        x = torch.nn.functional.interpolate(batch.float().to(device), size=(draw.SIZE, draw.SIZE), mode="area")
        with torch.inference_mode():
            return vision(pixel_values=x / 127.5 - 1).pooler_output

    return features

