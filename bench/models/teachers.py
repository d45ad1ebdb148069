"""The base pipeline's own English text encoding (the distillation teacher), exactly as diffusers does it."""

from __future__ import annotations

from typing import Any

from bench.models.bases import BaseModel


class TeacherEncoder:
    """SD1.5: CLIP-L last hidden states. SDXL: both encoders' penultimate states joined, pooled from the second."""

    def __init__(self, base: BaseModel, tokenizers: list[Any], text_encoders: list[Any]) -> None:
        self.base = base
        self.tokenizers = tokenizers
        self.text_encoders = [enc.eval().requires_grad_(False) for enc in text_encoders]

    @classmethod
    def from_base(cls, base: BaseModel) -> TeacherEncoder:
        """Load the base pipeline's tokenizers and text encoders from its folder or hub id (frozen, CPU)."""
        from transformers import AutoTokenizer, CLIPTextModel, CLIPTextModelWithProjection

        from bench.models.encoders import _from_pretrained

        def part(kind, sub):
            return _from_pretrained(kind, base.model_id, f"{base.name} {sub}", subfolder=sub)

        if base.is_sdxl:
            return cls(base, [part(AutoTokenizer, "tokenizer"), part(AutoTokenizer, "tokenizer_2")],
                       [part(CLIPTextModel, "text_encoder"), part(CLIPTextModelWithProjection, "text_encoder_2")])
        return cls(base, [part(AutoTokenizer, "tokenizer")], [part(CLIPTextModel, "text_encoder")])

    @property
    def model_ids(self) -> list[str]:
        """What the teacher's embeddings depend on (for cache keys)."""
        return [self.base.model_id, self.base.family]

    def to(self, device=None, dtype=None) -> TeacherEncoder:
        """Move the frozen encoders (returns self)."""
        for enc in self.text_encoders:
            enc.to(device=device, dtype=dtype)
        return self

    def encode(self, texts: list[str]):
        """English texts -> (prompt_embeds B x 77 x context_dim float32, pooled B x pooled_dim or None)."""
        import torch

        texts = list(texts)
        with torch.no_grad():
            if not self.base.is_sdxl:
                return self._sd15(texts), None
            return self._sdxl(texts)

    def _ids(self, tokenizer: Any, texts: list[str], device):
        return tokenizer(texts, padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                         return_tensors="pt").input_ids.to(device)

    def _sd15(self, texts: list[str]):
        (tokenizer,), (encoder,) = self.tokenizers, self.text_encoders
        device = next(encoder.parameters()).device
        ids = self._ids(tokenizer, texts, device)
        mask = None
        # StableDiffusionPipeline passes the mask only to encoders configured to use it.
        if getattr(encoder.config, "use_attention_mask", False):
            mask = tokenizer(texts, padding="max_length", max_length=tokenizer.model_max_length,
                             truncation=True, return_tensors="pt").attention_mask.to(device)
        return encoder(ids, attention_mask=mask)[0].float()

    def _sdxl(self, texts: list[str]):
        import torch

        states, pooled = [], None
        for tokenizer, encoder in zip(self.tokenizers, self.text_encoders, strict=True):
            device = next(encoder.parameters()).device
            out = encoder(self._ids(tokenizer, texts, device), output_hidden_states=True)
            # Only the projection model (text_encoder_2) has a 2-D first output: the pooled embedding.
            if pooled is None and out[0].ndim == 2:
                pooled = out[0]
            states.append(out.hidden_states[-2])
        return torch.cat(states, dim=-1).float(), pooled.float()


def add_time_ids(height: int, width: int, batch: int, crop_top_left: tuple[int, int] = (0, 0)):
    """SDXL's micro-conditioning: (original size, crop corner, target size), here an uncropped square image."""
    import torch

    row = [height, width, *crop_top_left, height, width]
    return torch.tensor([row], dtype=torch.float32).repeat(batch, 1)
