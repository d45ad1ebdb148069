"""Tiny offline stand-ins for the public multilingual systems: AltDiffusion-like and Taiyi-like pipelines.

Both reuse the tiny SD1.5 UNet and VAE (32-d cross-attention) and swap in the text encoder family the real
model ships (XLM-R with a projection for AltDiffusion, BERT for Taiyi), so the same diffusers classes and
from_pretrained paths that load the real models load these.
"""

from __future__ import annotations

from pathlib import Path

from bench.models.zoo import component, ensure
from bench.models.zoo.students import LINES


def _sd15_parts():
    """UNet, VAE and scheduler of the tiny SD1.5 pipeline."""
    from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel

    folder = ensure("tiny-sd15")
    return (UNet2DConditionModel.from_pretrained(folder / "unet"), AutoencoderKL.from_pretrained(folder / "vae"),
            DDIMScheduler.from_pretrained(folder / "scheduler"))


@component("tiny-taiyi", version=1)
def build_tiny_taiyi(folder: Path) -> None:
    """A StableDiffusionPipeline whose text encoder is a 32-d BERT with a character WordPiece vocabulary."""
    import torch
    from diffusers import StableDiffusionPipeline
    from transformers import BertConfig, BertModel, BertTokenizer

    chars = sorted({ch for line in LINES for ch in line.lower() if not ch.isspace()})
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars]
    (folder / "tokenizer").mkdir(parents=True, exist_ok=True)
    vocab_file = folder / "tokenizer" / "vocab.txt"
    vocab_file.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(vocab_file=str(vocab_file), model_max_length=32)
    torch.manual_seed(5)
    text_encoder = BertModel(BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2,
                                        num_attention_heads=4, intermediate_size=64, max_position_embeddings=32),
                             add_pooling_layer=True)
    unet, vae, scheduler = _sd15_parts()
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                   scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    pipe.save_pretrained(folder, safe_serialization=True)


@component("tiny-altdiffusion", version=1)
def build_tiny_altdiffusion(folder: Path) -> None:
    """An AltDiffusionPipeline: XLM-R-like encoder (48-d) with AltDiffusion's projection to the 32-d context."""
    import torch
    from diffusers import AltDiffusionPipeline
    from diffusers.pipelines.deprecated.alt_diffusion.modeling_roberta_series import (
        RobertaSeriesConfig,
        RobertaSeriesModelWithTransformation,
    )
    from transformers import XLMRobertaTokenizer

    tokenizer = XLMRobertaTokenizer.from_pretrained(ensure("tiny-xlmr"))
    torch.manual_seed(6)
    config = RobertaSeriesConfig(
        vocab_size=len(tokenizer), hidden_size=48, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=96, max_position_embeddings=tokenizer.model_max_length + 2,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, project_dim=32, has_pre_transformation=True,
    )
    text_encoder = RobertaSeriesModelWithTransformation(config)
    unet, vae, scheduler = _sd15_parts()
    pipe = AltDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                requires_safety_checker=False)
    pipe.save_pretrained(folder, safe_serialization=True)
