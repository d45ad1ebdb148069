"""The distillation losses and the random draws of one micro-batch, as pure functions of tensors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def sample_latents(mean: Any, std: Any, scaling_factor: float, gen: Any) -> Any:
    """A draw from the VAE posterior N(mean, std^2), scaled as the UNet expects (CPU generator, mean's shape)."""
    import torch

    return (mean + std * torch.randn(mean.shape, generator=gen).to(mean.device)) * scaling_factor


def offset_noise(shape: Sequence[int], offset: float, gen: Any) -> Any:
    """Gaussian noise plus `offset` x one Gaussian per image and channel (the "offset noise" trick; 0 = plain)."""
    import torch

    noise = torch.randn(tuple(shape), generator=gen)
    if offset:
        noise = noise + offset * torch.randn((shape[0], shape[1], 1, 1), generator=gen)
    return noise


def dropout_mask(batch: int, p: float, gen: Any) -> Any:
    """Which rows lose their prompt for classifier-free guidance training (True = dropped), drawn with `gen`."""
    import torch

    return torch.rand(batch, generator=gen) < p


def replace_rows(keep: Any, values: Any, empty: Any) -> Any:
    """values where keep is True, else the empty-prompt embedding (broadcast over the batch)."""
    import torch

    return torch.where(keep.view(-1, *([1] * (values.dim() - 1))), values, empty.to(values.device, values.dtype))


def mse(a: Any, b: Any) -> Any:
    """Mean squared error in float32."""
    import torch.nn.functional as F

    return F.mse_loss(a.float(), b.float())


def feature_loss(student: Sequence[Any], teacher: Sequence[Any]) -> Any:
    """Sum over the tapped blocks of the MSE between student and teacher outputs."""
    if len(student) != len(teacher):
        raise ValueError(f"{len(student)} student feature maps but {len(teacher)} teacher ones")
    return sum(mse(s, t) for s, t in zip(student, teacher, strict=True))


def text_loss(context: Any, teacher_context: Any, pooled: Any = None, teacher_pooled: Any = None) -> Any:
    """The text-encoder KD of the ablation: MSE of the adapter's context (and pooled output) to the teacher's."""
    loss = mse(context, teacher_context)
    if pooled is not None and teacher_pooled is not None:
        loss = loss + mse(pooled, teacher_pooled)
    return loss


def denoise_target(prediction_type: str, noise: Any, velocity: Any = None) -> Any:
    """What the UNet should predict on native-only rows: the noise, or v for v-prediction models."""
    if prediction_type == "v_prediction":
        if velocity is None:
            raise ValueError("a v-prediction model needs the velocity target")
        return velocity
    return noise


def combine(parallel_share: Any, native_share: Any, kd_output: Any = None, kd_features: Any = None,
            kd_text: Any = None, denoise: Any = None, feature_weight: float = 0.1, text_weight: float = 0.0) -> Any:
    """The micro-batch loss: the parallel rows' share x (KD terms) + the native rows' share x denoising.

    Each term is a mean over its own rows, so weighting by the shares makes the total a mean over the batch.
    """
    total = 0.0
    if kd_output is not None:
        total = total + parallel_share * kd_output
    if kd_features is not None:
        total = total + parallel_share * feature_weight * kd_features
    if kd_text is not None:
        total = total + parallel_share * text_weight * kd_text
    if denoise is not None:
        total = total + native_share * denoise
    return total
