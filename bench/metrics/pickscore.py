"""PickScore: exp(logit_scale) x cos(text, image) by PickScore_v1, on the English pivot (the model reads
English) and, as pickscore-native, on the native prompt (labelled as outside the model's languages)."""

from __future__ import annotations

from bench.metrics import register_metric
from bench.metrics.reward import RewardMetric


@register_metric
class PickScore(RewardMetric):
    """Preference for the image given its prompt as PickScore_v1 predicts it (exp(logit_scale) x cosine)."""

    name = "pickscore"
    display = "PickScore (en)"
    role = "pickscore"
    family = "pickscore"


@register_metric
class PickScoreNative(RewardMetric):
    """PickScore_v1's preference score of the image for the native prompt."""

    name = "pickscore-native"
    display = "PickScore (native text, outside its languages)"
    role = "pickscore"
    family = "pickscore"
    text_field = "text"
