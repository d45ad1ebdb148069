"""ImageReward: ImageReward-v1.0's normalised reward ((MLP - mean) / std) of the image for the English pivot."""

from __future__ import annotations

from bench.metrics import register_metric
from bench.metrics.reward import RewardMetric


@register_metric
class ImageReward(RewardMetric):
    """Preference for the image given its prompt as ImageReward-v1.0 predicts it (normalised, 35 tokens)."""

    name = "imagereward"
    display = "ImageReward (en)"
    role = "imagereward"
    family = "imagereward"
