"""PickScore: transformers' CLIPModel with PickScore_v1's weights and the LAION ViT-H/14 processor.

score = exp(logit_scale) x cos(text, image), the model card's computation; texts are cut at 77 tokens
(padding and truncation as the card's processor call). The CLIP judge class does the embedding.
"""

from __future__ import annotations

from bench.core.errors import BenchError
from bench.instruments.judges import Judge
from bench.instruments.rewards.base import BATCH_SIZE, EmbeddingReward


class PickScoreJudge(EmbeddingReward, Judge):
    """A CLIP judge whose pair score is scaled by the model's learnt temperature."""

    def __init__(self, spec, model, image_processor, tokenizer, device: str = "cpu") -> None:
        super().__init__(spec, model, image_processor, tokenizer, batch_size=BATCH_SIZE, device=device)
        self.scale = float(model.logit_scale.detach().float().exp())


def load(spec, device: str = "cpu") -> PickScoreJudge:
    """The model from spec.model_id, the processor from spec.processor (else the model's folder)."""
    from transformers import AutoTokenizer, CLIPImageProcessor, CLIPModel

    from bench.instruments.judges import require_available
    from bench.models.weights import load_path

    require_available(spec)
    folder = load_path(spec.model_id, probe="config.json")
    processor = load_path(spec.processor or spec.model_id, probe="tokenizer_config.json")
    try:
        model = CLIPModel.from_pretrained(folder)
        image_processor = CLIPImageProcessor.from_pretrained(processor)
        tokenizer = AutoTokenizer.from_pretrained(processor)
    except OSError as exc:
        raise BenchError(f"judge '{spec.name}' could not be loaded from {folder}: {str(exc).splitlines()[0]}") from None
    return PickScoreJudge(spec, model, image_processor, tokenizer, device=device)
