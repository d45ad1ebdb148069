"""ImageReward's network, ported: BLIP's ViT (timm's VisionTransformer, same parameter names) and BLIP's BERT
text encoder whose every layer also attends to the image, then the reward MLP.

A port because the image-reward package's own model code does not import against this stack (its BERT file
needs transformers 4 helpers removed in transformers 5, and the package imports OpenAI's `clip` at start-up);
tests/test_rewards_imagereward.py checks that outputs equal the package's code on the same weights to 1e-5.
Parameter names are the released checkpoint's (blip.visual_encoder.*, blip.text_encoder.*, mlp.layers.*), so
ImageReward.pt loads strictly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

# ImageReward's published normalisation of the MLP's output (the constants in its ImageReward.py).
REWARD_MEAN = 0.16717362830052426
REWARD_STD = 1.0333394966054072
MASKED = -10000.0  # BERT's additive mask for padding, as BLIP's encoder builds it


def blip_tokenizer(source: str):
    """BLIP's tokenizer: a BERT WordPiece vocabulary plus [DEC] (bos) and [ENC], as BLIP's init_tokenizer adds."""
    from transformers import BertTokenizer

    tokenizer = BertTokenizer.from_pretrained(source)
    if "[DEC]" not in tokenizer.get_vocab():
        tokenizer.add_special_tokens({"bos_token": "[DEC]"})
        tokenizer.add_special_tokens({"additional_special_tokens": ["[ENC]"]})
    return tokenizer


@dataclass(frozen=True)
class VisionConfig:
    """BLIP's ViT: 'large' is ImageReward's (ViT-L/16 at 224 px)."""

    image_size: int = 224
    patch_size: int = 16
    width: int = 1024
    layers: int = 24
    heads: int = 16


@dataclass(frozen=True)
class TextConfig:
    """BLIP's med_config.json (BERT-base, cross-attention in every layer, 30524 tokens with [DEC] and [ENC])."""

    vocab_size: int = 30524
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    max_position_embeddings: int = 512
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0
    encoder_width: int = 1024  # BLIP_Pretrain sets it to the ViT's width
    extra: dict = field(default_factory=dict, compare=False)

    @classmethod
    def from_dict(cls, data: dict, encoder_width: int) -> TextConfig:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data and k not in ("extra", "encoder_width")}
        return cls(**known, encoder_width=encoder_width)


def vision_transformer(cfg: VisionConfig) -> nn.Module:
    """timm's ViT with BLIP's settings: class token, qkv bias, LayerNorm eps 1e-6, no head, all tokens out."""
    from functools import partial

    from timm.models.vision_transformer import VisionTransformer

    return VisionTransformer(img_size=cfg.image_size, patch_size=cfg.patch_size, embed_dim=cfg.width,
                             depth=cfg.layers, num_heads=cfg.heads, mlp_ratio=4.0, qkv_bias=True, num_classes=0,
                             global_pool="", norm_layer=partial(nn.LayerNorm, eps=1e-6))


class _Heads(nn.Module):
    """query from the text, key and value from the text (self) or the image (cross)."""

    def __init__(self, hidden: int, heads: int, kv_width: int) -> None:
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(kv_width, hidden)
        self.value = nn.Linear(kv_width, hidden)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        return x.view(b, n, self.heads, d // self.heads).transpose(1, 2)

    def forward(self, x: torch.Tensor, source: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        q, k, v = self._split(self.query(x)), self._split(self.key(source)), self._split(self.value(source))
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
        if mask is not None:
            scores = scores + mask
        out = scores.softmax(dim=-1) @ v
        return out.transpose(1, 2).reshape(x.shape)


class _AddNorm(nn.Module):
    """LayerNorm(dense(h) + residual): BERT's output sub-layer."""

    def __init__(self, width_in: int, hidden: int, eps: float) -> None:
        super().__init__()
        self.dense = nn.Linear(width_in, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, h: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dense(h) + residual)


class _Attention(nn.Module):
    def __init__(self, cfg: TextConfig, kv_width: int) -> None:
        super().__init__()
        self.self = _Heads(cfg.hidden_size, cfg.num_attention_heads, kv_width)
        self.output = _AddNorm(cfg.hidden_size, cfg.hidden_size, cfg.layer_norm_eps)

    def forward(self, x, source, mask):
        return self.output(self.self(x, source, mask), x)


class _Intermediate(nn.Module):
    def __init__(self, cfg: TextConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.intermediate_size)

    def forward(self, x):
        return nn.functional.gelu(self.dense(x))


class _Layer(nn.Module):
    """Self-attention over the text, cross-attention to the image tokens, feed-forward."""

    def __init__(self, cfg: TextConfig) -> None:
        super().__init__()
        self.attention = _Attention(cfg, cfg.hidden_size)
        self.crossattention = _Attention(cfg, cfg.encoder_width)
        self.intermediate = _Intermediate(cfg)
        self.output = _AddNorm(cfg.intermediate_size, cfg.hidden_size, cfg.layer_norm_eps)

    def forward(self, x, mask, image):
        x = self.attention(x, x, mask)
        x = self.crossattention(x, image, None)  # every image token is attended to (an all-ones mask)
        return self.output(self.intermediate(x), x)


class _Embeddings(nn.Module):
    """Word + absolute position embeddings (no token types), LayerNorm."""

    def __init__(self, cfg: TextConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden_size, padding_idx=cfg.pad_token_id)
        self.position_embeddings = nn.Embedding(cfg.max_position_embeddings, cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.register_buffer("position_ids", torch.arange(cfg.max_position_embeddings).expand((1, -1)))

    def forward(self, ids):
        return self.LayerNorm(self.word_embeddings(ids) + self.position_embeddings(self.position_ids[:, :ids.shape[1]]))


class _Encoder(nn.Module):
    def __init__(self, cfg: TextConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(_Layer(cfg) for _ in range(cfg.num_hidden_layers))


class TextEncoder(nn.Module):
    """BLIP's multimodal BERT (mode 'multimodal', no pooler): token states after attending to the image."""

    def __init__(self, cfg: TextConfig) -> None:
        super().__init__()
        self.embeddings = _Embeddings(cfg)
        self.encoder = _Encoder(cfg)

    def forward(self, ids: torch.Tensor, attention_mask: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
        x = self.embeddings(ids)
        mask = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * MASKED
        for layer in self.encoder.layer:
            x = layer(x, mask, image)
        return x


class _Blip(nn.Module):
    def __init__(self, vision: VisionConfig, text: TextConfig, embed_dim: int = 256) -> None:
        super().__init__()
        self.visual_encoder = vision_transformer(vision)
        self.text_encoder = TextEncoder(text)
        # BLIP's contrastive projections: in the checkpoint, unused by the reward
        self.vision_proj = nn.Linear(vision.width, embed_dim)
        self.text_proj = nn.Linear(text.hidden_size, embed_dim)


class ImageRewardNet(nn.Module):
    """The reward: (MLP(text state at [CLS] after attending to the image) - mean) / std."""

    def __init__(self, vision: VisionConfig = VisionConfig(), text: TextConfig = TextConfig()) -> None:
        super().__init__()
        self.blip = _Blip(vision, text)
        width = text.hidden_size
        # The released head: linear layers with dropout between them and no activation (indices as released).
        self.mlp = nn.Module()
        self.mlp.layers = nn.Sequential(nn.Linear(width, 1024), nn.Dropout(0.2), nn.Linear(1024, 128),
                                        nn.Dropout(0.2), nn.Linear(128, 64), nn.Dropout(0.1), nn.Linear(64, 16),
                                        nn.Linear(16, 1))

    def image_tokens(self, pixels: torch.Tensor) -> torch.Tensor:
        """The ViT's output tokens ([CLS] first), which the text encoder attends to."""
        return self.blip.visual_encoder.forward_features(pixels)

    def forward(self, ids: torch.Tensor, attention_mask: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
        states = self.blip.text_encoder(ids, attention_mask, self.image_tokens(pixels))
        raw = self.mlp.layers(states[:, 0, :]).float()
        return ((raw - REWARD_MEAN) / REWARD_STD).squeeze(-1)
