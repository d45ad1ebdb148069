"""HPS v2.1: cos(image, text) by the HPS v2.1 open_clip ViT-H-14, of the English pivot (as hpsv2 scores)."""

from __future__ import annotations

from bench.metrics import register_metric
from bench.metrics.reward import RewardMetric


@register_metric
class HPSv2(RewardMetric):
    """Preference for the image given its prompt as HPS v2.1 predicts it (cosine of its CLIP features)."""

    name = "hpsv2"
    display = "HPS v2.1 (en)"
    role = "hpsv2"
    family = "hpsv2"
