"""Paired bootstrap, sign-flip permutation test, Holm adjustment, set-level resampling: hand-worked cases,
direct loop implementations, and coverage / false-rejection rates on constructed runs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bench.core.errors import BenchError
from bench.stats.holm import holm, reject
from bench.stats.paired import (
    PerImage,
    bootstrap_ci,
    bootstrap_means,
    expansion,
    paired_difference,
    sign_flip_pvalue,
)


def _loop_bootstrap_means(values, groups, n_boot, seed):
    """The bootstrap written as the textbook loop: draw prompts with replacement, average their images."""
    labels = sorted(set(groups))
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(labels), size=(n_boot, len(labels)))
    out = []
    for row in picks:
        pooled = []
        for p in row:
            pooled += [v for v, g in zip(values, groups, strict=True) if g == labels[p]]
        out.append(sum(pooled) / len(pooled))
    return np.array(out)


def _loop_sign_flip(diffs, groups):
    """Exact two-sided sign-flip p-value by enumerating every sign pattern in a plain loop."""
    labels = sorted(set(groups))
    sums = [sum(d for d, g in zip(diffs, groups, strict=True) if g == lab) for lab in labels]
    observed = abs(sum(sums))
    hits = total = 0
    for signs in itertools.product((1, -1), repeat=len(sums)):
        total += 1
        hits += abs(sum(s * x for s, x in zip(signs, sums, strict=True))) >= observed - 1e-12
    return hits / total


def test_bootstrap_hand_worked_clusters():
    # prompt a has two images scoring 0, prompt b one scoring 3: resamples aa -> 0, ab/ba -> 3/3 = 1, bb -> 3
    means = bootstrap_means([0.0, 0.0, 3.0], ["a", "a", "b"], n_boot=20000, seed=1)
    values, counts = np.unique(np.round(means, 12), return_counts=True)
    assert values.tolist() == [0.0, 1.0, 3.0]
    assert counts / counts.sum() == pytest.approx([0.25, 0.5, 0.25], abs=0.01)
    assert bootstrap_ci([0.0, 0.0, 3.0], ["a", "a", "b"], expand=False) == (0.0, 3.0)
    # expanded: widened about the mean 1 by sqrt(2/1) * t_1 / z = 1.4142 * 12.706 / 1.96 = 9.168
    lo, hi = bootstrap_ci([0.0, 0.0, 3.0], ["a", "a", "b"])
    assert (lo, hi) == pytest.approx((1 - 9.168, 1 + 2 * 9.168), rel=1e-3)
    assert expansion(20) == pytest.approx(np.sqrt(20 / 19) * 2.093024 / 1.959964, rel=1e-6)
    assert bootstrap_ci([2.0] * 6, list("aabbcc")) == (2.0, 2.0)  # no spread, no interval width
    assert bootstrap_ci([1.0, 2.0], ["a", "a"]) is None  # one prompt: nothing to resample


def test_bootstrap_equals_direct_loop():
    rng = np.random.default_rng(3)
    groups = [f"p{i // 3}" for i in range(30)] + ["p10"]  # ragged: one prompt with four images
    values = rng.normal(size=len(groups)).tolist()
    fast = bootstrap_means(values, groups, n_boot=300, seed=7)
    slow = _loop_bootstrap_means(values, groups, n_boot=300, seed=7)
    np.testing.assert_allclose(fast, slow, rtol=1e-12)


def test_sign_flip_hand_worked_and_loop():
    # per-prompt differences 1, 2, 3: of the 8 sign patterns only +++ and --- reach |sum| >= 6
    assert sign_flip_pvalue([1.0, 2.0, 3.0], ["a", "b", "c"]) == pytest.approx(2 / 8)
    # samples of one prompt flip together: (1, 1) is one cluster of sum 2, so {2, 3}: |+-| patterns 5,1 -> 2/4
    assert sign_flip_pvalue([1.0, 1.0, 3.0], ["a", "a", "b"]) == pytest.approx(2 / 4)
    assert sign_flip_pvalue([0.0, 0.0], ["a", "b"]) == 1.0
    rng = np.random.default_rng(5)
    groups = [f"p{i % 9}" for i in range(27)]
    diffs = (rng.normal(size=27) + 0.3).tolist()
    assert sign_flip_pvalue(diffs, groups) == pytest.approx(_loop_sign_flip(diffs, groups), abs=1e-12)


def test_sign_flip_sampled_agrees_with_exact():
    rng = np.random.default_rng(2)
    groups = [f"p{i:02d}" for i in range(13)]
    diffs = (rng.normal(size=13) + 0.4).tolist()
    exact = sign_flip_pvalue(diffs, groups)  # 13 clusters: enumerated
    sampled = sign_flip_pvalue(diffs + [0.0], groups + ["zz"], n_perm=20000)  # 14: sampled; a 0 changes nothing
    assert sampled == pytest.approx(exact, abs=0.01)


def test_holm_worked_example():
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> running max 0.02 0.03 0.06 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert reject([0.01, 0.04, 0.03, 0.005]) == [True, False, False, True]
    assert holm([0.5, None, 0.9]) == [pytest.approx(1.0), None, pytest.approx(1.0)]
    assert holm([]) == []


def _per_image(values, prompts, samples, seeds=None):
    keys = [(f"p{p:03d}", s) for p in range(prompts) for s in range(samples)]
    return PerImage(dict(zip(keys, values, strict=True)), dict(zip(keys, seeds or range(len(keys)), strict=True)))


def _constructed_pair(rng, shift, prompts=50, samples=2):
    """Scores of two systems on the same prompts: a shared prompt effect, per-image noise, B shifted by `shift`."""
    effect = np.repeat(rng.normal(0.0, 1.0, prompts), samples)
    a = effect + rng.normal(0.0, 0.5, prompts * samples)
    b = effect + shift + rng.normal(0.0, 0.5, prompts * samples)
    return _per_image(b.tolist(), prompts, samples), _per_image(a.tolist(), prompts, samples)


def test_coverage_and_false_rejections():
    covered = rejected = 0
    for rep in range(100):
        rng = np.random.default_rng(1000 + rep)
        b, a = _constructed_pair(rng, shift=0.3)
        out = paired_difference(b, a, n_boot=1000, n_perm=2000, seed=rep)
        covered += out["ci"][0] <= 0.3 <= out["ci"][1]
        b0, a0 = _constructed_pair(rng, shift=0.0)
        rejected += paired_difference(b0, a0, n_boot=200, n_perm=2000, seed=rep)["p"] < 0.05
    print(f"coverage {covered}/100, false rejections {rejected}/100")
    assert covered >= 93
    assert rejected <= 8  # nominal 5; binomial(100, 0.05) exceeds 8 with probability 0.06


def test_paired_difference_values_and_mismatches():
    a = _per_image([3.0, 5.0, 4.0, 6.0], prompts=2, samples=2)
    b = _per_image([1.0, 2.0, 2.0, 2.0], prompts=2, samples=2)
    out = paired_difference(a, b)
    assert out["diff"] == pytest.approx(2.75) and out["mean_a"] == 4.5 and out["mean_b"] == 1.75
    assert (out["n_prompts"], out["n_samples"], out["n_images"]) == (2, 2, 4)
    # per prompt the differences average 2.5 and 3: resamples give 2.5, 2.75, 3, widened by 9.168 about 2.75
    assert out["ci"] == pytest.approx([2.75 - 0.25 * 9.168, 2.75 + 0.25 * 9.168], rel=1e-3)
    assert out["p"] == pytest.approx(2 / 4)  # prompt sums 5 and 6: only ++ and -- reach |sum| >= 11
    short = _per_image([1.0, 2.0], prompts=1, samples=2)
    with pytest.raises(BenchError, match=r"2 image\(s\) only in A \(p001/0, p001/1\)"):
        paired_difference(a, short)
    reseeded = _per_image([1.0, 2.0, 2.0, 2.0], prompts=2, samples=2, seeds=[0, 1, 9, 3])
    with pytest.raises(BenchError, match="seeds differ for 1 of 4 image.*p001/0: 2 vs 9"):
        paired_difference(a, reseeded)
    assert paired_difference(a, short, strict=False)["n_images"] == 2


def test_set_level_resamplers_match_the_metrics():
    from bench.metrics.cmmd import cmmd_value
    from bench.metrics.fid import fid_value
    from bench.stats.setlevel import (
        FastFID,
        cmmd_resampler,
        kid_resampler,
        resample_indices,
        resampled_ci,
    )

    rng = np.random.default_rng(0)
    feats = rng.normal(size=(40, 8)) + 0.3
    ref = rng.normal(size=(300, 8))
    mu, sigma = ref.mean(0), np.cov(ref, rowvar=False)
    idx = next(resample_indices([f"p{i // 2}" for i in range(40)], n_boot=1, seed=3))
    assert len(idx) == 40 and len(set(idx.tolist())) < 40  # whole prompts, drawn with replacement
    assert FastFID(mu, sigma)(feats[idx]) == pytest.approx(fid_value(feats[idx], mu, sigma), rel=1e-5)  # sqrtm rounding
    emb = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    remb = ref / np.linalg.norm(ref, axis=1, keepdims=True)
    assert cmmd_resampler(emb, remb, 1.0, 1000.0)(idx) == pytest.approx(cmmd_value(emb[idx], remb, 1.0), rel=1e-9)
    shift = cmmd_resampler(emb, remb, 1.0, 1000.0)(idx) - cmmd_resampler(emb, remb, 1.0, 1000.0, False)(idx)
    assert shift == pytest.approx(1000.0 * np.exp(-np.sum((remb[:, None] - remb[None]) ** 2, -1) / 2).mean())
    # KID: with no repeats the resample statistic is the full unbiased MMD^2, which clean-fid's subset
    # average estimates; a direct double loop over pairs gives the same number
    kid = kid_resampler(feats[:10], ref[:12])(np.arange(10))
    k = lambda a, b: (a @ b / 8 + 1.0) ** 3  # noqa: E731
    xx = np.mean([k(feats[i], feats[j]) for i in range(10) for j in range(10) if i != j])
    yy = np.mean([k(ref[i], ref[j]) for i in range(12) for j in range(12) if i != j])
    xy = np.mean([k(feats[i], ref[j]) for i in range(10) for j in range(12)])
    assert kid == pytest.approx(xx + yy - 2 * xy, rel=1e-9)
    groups = [f"p{i // 2}" for i in range(40)]
    fid = fid_value(feats, mu, sigma)
    lo, hi = resampled_ci(lambda i: FastFID(mu, sigma)(feats[i]), groups, n_boot=50)
    assert fid < lo < hi  # resamples repeat prompts: less diverse sets, higher FID
    clo, chi = resampled_ci(lambda i: FastFID(mu, sigma)(feats[i]), groups, n_boot=50, centre=fid)
    assert (clo + chi) / 2 == pytest.approx(fid) and chi - clo == pytest.approx(hi - lo)
