"""The pieces of distillation on their own: losses against hand computations, the LR schedule, checkpoint repair."""

from __future__ import annotations

import pytest
import torch

from bench.training import losses
from bench.training.schedule import lr_factor


def test_mse_and_feature_loss_match_hand_computations():
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    b = torch.tensor([[1.0, 0.0], [0.0, 4.0]])
    assert losses.mse(a, b).item() == pytest.approx((0 + 4 + 9 + 0) / 4)
    # Two blocks: (4 + 9) / 4 + ((1 - 3)^2) / 1 = 3.25 + 4
    feats = losses.feature_loss([a, torch.tensor([1.0])], [b, torch.tensor([3.0])])
    assert feats.item() == pytest.approx(7.25)
    with pytest.raises(ValueError, match="2 student feature maps but 1 teacher"):
        losses.feature_loss([a, a], [b])


def test_text_loss_adds_the_pooled_term_only_when_both_are_given():
    ctx, t_ctx = torch.ones(1, 2, 2), torch.zeros(1, 2, 2)
    pooled, t_pooled = torch.tensor([[2.0, 0.0]]), torch.tensor([[0.0, 0.0]])
    assert losses.text_loss(ctx, t_ctx).item() == pytest.approx(1.0)
    assert losses.text_loss(ctx, t_ctx, pooled, t_pooled).item() == pytest.approx(1.0 + 2.0)


def test_combine_weights_terms_by_their_rows_share():
    # 3 parallel rows of 4, one native: 0.75 * (2 + 0.1 * 10 + 0.5 * 4) + 0.25 * 8 = 3.75 + 2
    total = losses.combine(0.75, 0.25, kd_output=torch.tensor(2.0), kd_features=torch.tensor(10.0),
                           kd_text=torch.tensor(4.0), denoise=torch.tensor(8.0), feature_weight=0.1,
                           text_weight=0.5)
    assert total.item() == pytest.approx(5.75)
    assert losses.combine(1.0, 0.0, kd_output=torch.tensor(3.0)).item() == pytest.approx(3.0)


def test_replace_rows_swaps_only_dropped_rows_for_the_empty_prompt():
    values = torch.arange(12, dtype=torch.float32).view(3, 2, 2)
    empty = torch.full((1, 2, 2), -1.0)
    keep = torch.tensor([True, False, True])
    out = losses.replace_rows(keep, values, empty)
    assert torch.equal(out[0], values[0]) and torch.equal(out[2], values[2]) and (out[1] == -1).all()
    pooled = losses.replace_rows(keep, torch.ones(3, 4), torch.zeros(1, 4))
    assert pooled.sum(dim=1).tolist() == [4.0, 0.0, 4.0]


def test_offset_noise_adds_one_constant_per_image_and_channel():
    plain = losses.offset_noise((2, 3, 4, 4), 0.0, torch.Generator().manual_seed(0))
    offset = losses.offset_noise((2, 3, 4, 4), 0.5, torch.Generator().manual_seed(0))
    shift = offset - plain  # the same first draw, then 0.5 x one value per (image, channel)
    assert torch.allclose(shift, shift[..., :1, :1].expand_as(shift))
    assert shift.abs().max() > 0


def test_denoise_target_is_noise_or_velocity():
    noise, v = torch.zeros(1), torch.ones(1)
    assert losses.denoise_target("epsilon", noise, v) is noise
    assert losses.denoise_target("v_prediction", noise, v) is v


@pytest.mark.parametrize(("step", "expected"), [(0, 0.0), (5, 0.5), (10, 1.0), (15, 0.5), (20, 0.0), (30, 0.0)])
def test_lr_factor_warms_up_then_decays_linearly(step, expected):
    assert lr_factor(step, warmup=10, horizon=20) == pytest.approx(expected)


def test_lr_factor_never_divides_by_a_zero_length_decay():
    # warm-up == horizon (the crash of --steps 100 --warmup-steps 100) and warm-up beyond the horizon
    assert lr_factor(100, warmup=100, horizon=100) == 1.0
    assert lr_factor(99, warmup=100, horizon=100) == pytest.approx(0.99)
    assert lr_factor(50, warmup=200, horizon=100) == pytest.approx(0.25)
    assert lr_factor(0, warmup=0, horizon=0) == 1.0


def test_lr_factor_polynomial_to_an_end_rate():
    # power 2, end ratio 0.1: halfway through the decay (1 - 0.1) * 0.5^2 + 0.1
    assert lr_factor(15, warmup=10, horizon=20, power=2.0, end_ratio=0.1) == pytest.approx(0.325)
    assert lr_factor(25, warmup=10, horizon=20, power=2.0, end_ratio=0.1) == pytest.approx(0.1)
