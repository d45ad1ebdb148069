"""Tiny SD1.5-like and SDXL-like pipelines: two-block UNets, 2x VAEs, small CLIP text encoders."""

from __future__ import annotations

from pathlib import Path

from bench.models.zoo import component
from bench.models.zoo.tokenizers import clip_tokenizer, clip_vocab

# The real SD noise schedule (Stable Diffusion's DDPM scaled_linear, beta 0.00085..0.012).
SCHEDULE = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000)


def _clip_text_config(hidden: int, projection: int | None = None):
    """A small CLIP text config over the character vocabulary."""
    from transformers import CLIPTextConfig

    vocab, _ = clip_vocab()
    return CLIPTextConfig(
        vocab_size=len(vocab), hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=77, projection_dim=projection or hidden,
        bos_token_id=vocab["<|startoftext|>"], eos_token_id=vocab["<|endoftext|>"],
        pad_token_id=vocab["<|endoftext|>"], hidden_act="quick_gelu",
    )


def _vae():
    """A 2-level VAE: 8x8 latents per 16x16 pixels (scale factor 2), 4 latent channels as in SD."""
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(16, 32), layers_per_block=1,
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
        norm_num_groups=16, sample_size=64,
    )


@component("tiny-sd15", version=1)
def build_tiny_sd15(folder: Path) -> None:
    """A StableDiffusionPipeline folder with the SD1.5 structure at toy size (32-d context)."""
    import torch
    from diffusers import DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=32, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(32, 64),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=32, attention_head_dim=8, norm_num_groups=16,
    )
    torch.manual_seed(1)
    vae = _vae()
    torch.manual_seed(2)
    text_encoder = CLIPTextModel(_clip_text_config(32))
    pipe = StableDiffusionPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=clip_tokenizer(), unet=unet,
        scheduler=DDIMScheduler(**SCHEDULE, clip_sample=False, set_alpha_to_one=False, steps_offset=1),
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    pipe.save_pretrained(folder, safe_serialization=True)


@component("tiny-sdxl", version=1)
def build_tiny_sdxl(folder: Path) -> None:
    """A StableDiffusionXLPipeline folder: two text encoders (32+32 -> 64-d context), pooled 32-d, time ids."""
    import torch
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=32, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(32, 64),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4), use_linear_projection=True, transformer_layers_per_block=(1, 2),
        cross_attention_dim=64, addition_embed_type="text_time", addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=6 * 8 + 32, norm_num_groups=16,
    )
    torch.manual_seed(1)
    vae = _vae()
    torch.manual_seed(2)
    text_encoder = CLIPTextModel(_clip_text_config(32))
    torch.manual_seed(3)
    text_encoder_2 = CLIPTextModelWithProjection(_clip_text_config(32, projection=32))
    pipe = StableDiffusionXLPipeline(
        vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2, tokenizer=clip_tokenizer(),
        tokenizer_2=clip_tokenizer(), unet=unet,
        scheduler=EulerDiscreteScheduler(**SCHEDULE, steps_offset=1, timestep_spacing="leading"),
        force_zeros_for_empty_prompt=True,
    )
    pipe.save_pretrained(folder, safe_serialization=True)
