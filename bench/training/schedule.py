"""The learning-rate schedule: linear warm-up, then polynomial decay towards lr_end over a horizon."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def lr_factor(step: int, warmup: int, horizon: int, power: float = 1.0, end_ratio: float = 0.0) -> float:
    """The multiple of the peak rate used at optimizer step `step` (0-based, as torch's LambdaLR counts).

    Warm-up rises linearly to 1 over `warmup` steps; from there the rate decays as a polynomial of degree
    `power` to `end_ratio` at step `horizon` and stays there. Any warm-up and horizon are valid: a horizon
    at or before the end of warm-up holds the peak rate (no division by a zero-length decay).
    """
    if warmup > 0 and step < warmup:
        return step / warmup
    decay = horizon - warmup
    if decay <= 0:
        return 1.0
    if step >= horizon:
        return end_ratio
    remaining = 1.0 - (step - warmup) / decay
    return (1.0 - end_ratio) * remaining**power + end_ratio


def build_schedule(optimizer: Any, lr: float, warmup: int, horizon: int, power: float, lr_end: float) -> Any:
    """A LambdaLR following lr_factor; lr_end is an absolute rate (as in diffusers' polynomial schedule)."""
    from torch.optim.lr_scheduler import LambdaLR

    end_ratio = lr_end / lr
    return LambdaLR(optimizer, lambda step: lr_factor(step, warmup, horizon, power, end_ratio))
