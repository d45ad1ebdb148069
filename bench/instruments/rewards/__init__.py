"""Reward judges: models trained on human preferences that give one number per (image, text) pair.

- PickScore (yuvalkirstain/PickScore_v1): a CLIP ViT-H/14 fine-tuned on Pick-a-Pic, read through transformers'
  CLIPModel with the processor of laion/CLIP-ViT-H-14-laion2B-s32B-b79K (77 tokens); score =
  exp(logit_scale) x cos(text, image), as its model card computes it (bench.instruments.rewards.pickscore).
- ImageReward-v1.0 (THUDM/ImageReward): BLIP's ViT-L/16 and a BERT-base text encoder with cross-attention
  to the image, an MLP head, and the published normalisation (score - mean) / std (...rewards.imagereward).
- HPS v2.1 (xswu/HPSv2, HPS_v2.1_compressed.pt): an open_clip ViT-H-14 fine-tuned on HPDv2; score =
  cos(image, text), as the hpsv2 package computes it (...rewards.hps).

All three read English. Each has a tiny random-weight twin in the zoo (tiny-pickscore, tiny-imagereward,
tiny-hpsv2) so every code path runs offline.
"""

from __future__ import annotations

from collections.abc import Callable

# Published preference accuracy (%) on the test sets of ImageReward, Pick-a-Pic, HPDv2 and HPDv3, as HPSv3's
# README tabulates them (CLIP-H: the ViT-H/14 the first and last are fine-tuned from, for comparison).
PREFERENCE_SETS = ("ImageReward", "Pick-a-Pic", "HPDv2", "HPDv3")
PUBLISHED_ACCURACY: dict[str, tuple[float, float, float, float]] = {
    "pickscore": (61.6, 70.5, 79.8, 65.6),
    "hpsv2": (65.7, 63.8, 83.3, 65.3),
    "imagereward": (65.1, 61.1, 74.0, 58.6),
    "clip-h": (57.1, 60.8, 65.1, 48.6),
}


def published_accuracy(family: str) -> str:
    """'ImageReward 61.6, Pick-a-Pic 70.5, ...' for a reward family, as printed by --list-metrics and the docs."""
    values = PUBLISHED_ACCURACY[family]
    return ", ".join(f"{name} {value:.1f}" for name, value in zip(PREFERENCE_SETS, values, strict=True))


def reward_judges(JudgeSpec: type) -> list:
    """The reward judges (real and tiny) as JudgeSpec entries (the class is passed in: judges.py registers them)."""
    return [
        JudgeSpec("pickscore", "yuvalkirstain/PickScore_v1", "pickscore", "real", ("en",), context=77,
                  loader=_lazy("pickscore"), probe="config.json",
                  processor="laion/CLIP-ViT-H-14-laion2B-s32B-b79K"),
        JudgeSpec("imagereward", "THUDM/ImageReward", "imagereward", "real", ("en",), context=35,
                  loader=_lazy("imagereward"), probe="ImageReward.pt", processor="bert-base-uncased"),
        JudgeSpec("hpsv2", "xswu/HPSv2", "hps", "real", ("en",), context=77, loader=_lazy("hps"),
                  probe="HPS_v2.1_compressed.pt"),
        JudgeSpec("tiny-pickscore", "zoo:tiny-pickscore", "pickscore", "tiny", ("en",), context=77,
                  loader=_lazy("pickscore"), probe="config.json"),
        JudgeSpec("tiny-imagereward", "zoo:tiny-imagereward", "imagereward", "tiny", ("en",), context=35,
                  loader=_lazy("imagereward"), probe="config.json"),
        JudgeSpec("tiny-hpsv2", "zoo:tiny-hpsv2", "hps", "tiny", ("en",), context=77, loader=_lazy("hps"),
                  probe="config.json"),
    ]


def _lazy(module: str) -> Callable:
    """A loader that imports its module (and torch) only when the judge is loaded."""

    def load(spec, device: str = "cpu"):
        import importlib

        return importlib.import_module(f"bench.instruments.rewards.{module}").load(spec, device)

    load.__name__ = f"load_{module}"
    return load


ROLES = {"pickscore": "pickscore", "imagereward": "imagereward", "hpsv2": "hpsv2"}  # role -> the real judge
