"""Evaluation speed: first evaluation vs re-evaluation of the same run; FID through this toolkit vs
clean-fid's folder path on the same images and extractor. Run with `make perf`."""

from __future__ import annotations

import time

import pytest
import torch
from evalkit import make_reference_folder, make_run, write_prompt_set

from bench.evaluation.evaluate import EvalConfig, evaluate_run
from bench.instruments.refstats import RefstatsConfig, build_refstats

pytestmark = pytest.mark.perf

FULL, SMOKE = (16, 4, 64), (4, 1, 8)  # prompts, samples per prompt, reference images


def _fresh_process_caches():
    """Forget loaded judges and extractors, so a 'first' evaluation pays what a new process pays."""
    from bench.instruments import features, judges

    judges.load_judge.cache_clear()
    features._loaded_extractors.clear()


@pytest.fixture
def world(bench_home, tmp_path, monkeypatch, smoke):
    n_prompts, samples, n_refs = SMOKE if smoke else FULL
    monkeypatch.setenv("BENCH_PROMPTS_DIR", str(write_prompt_set(tmp_path / "prompts")))
    monkeypatch.setenv("BENCH_REPORTS_DIR", str(tmp_path / "reports"))
    run = make_run(tmp_path / "runs", n_prompts=n_prompts, samples=samples)
    refs = make_reference_folder(tmp_path / "refs", n=n_refs)
    build_refstats(RefstatsConfig("perf", str(refs), extractor="tiny-inception", judge="tiny-clip"))
    return run, refs, n_prompts * samples, n_refs


def test_reevaluation_costs_under_a_tenth_of_the_first(world, smoke):
    run, _, n_images, _ = world
    _fresh_process_caches()
    t0 = time.perf_counter()
    first = evaluate_run(run, EvalConfig(refstats="perf"))
    t1 = time.perf_counter()
    second = evaluate_run(run, EvalConfig(refstats="perf"))
    t2 = time.perf_counter()
    first_s, second_s = t1 - t0, t2 - t1
    print(f"\n[perf] evaluate {n_images} images, {len(first['metrics'])} metrics: "
          f"first {first_s:.2f} s, re-evaluation {second_s:.3f} s ({100 * second_s / first_s:.1f}%)"
          f"{' [smoke]' if smoke else ''}")
    assert all(t["cached"] for t in second["timings"]["metrics"].values())
    assert second["metrics"] == first["metrics"]
    if not smoke:
        assert second_s < 0.10 * first_s


def test_fid_toolkit_vs_clean_fid_folder_path(world, smoke):
    from cleanfid.fid import compute_fid

    from bench.instruments.features import load_extractor

    run, refs, n_images, n_refs = world
    _fresh_process_caches()
    t0 = time.perf_counter()
    ours = evaluate_run(run, EvalConfig(metrics=("fid",), refstats="perf"))["metrics"]["fid"]["value"]
    t1 = time.perf_counter()
    fn = load_extractor("tiny-inception", "clean")
    t2 = time.perf_counter()
    oracle = compute_fid(str(run / "images"), str(refs), mode="clean", custom_feat_extractor=fn,
                         device=torch.device("cpu"), num_workers=0, use_dataparallel=False, verbose=False)
    t3 = time.perf_counter()
    t4 = time.perf_counter()
    again = evaluate_run(run, EvalConfig(metrics=("fid",), refstats="perf"))["metrics"]["fid"]["value"]
    t5 = time.perf_counter()
    print(f"\n[perf] FID of {n_images} images vs {n_refs} references: toolkit (stored refstats) "
          f"{t1 - t0:.2f} s, cached {t5 - t4:.3f} s; clean-fid compute_fid (both folders) {t3 - t2:.2f} s "
          f"(toolkit / clean-fid x{(t1 - t0) / (t3 - t2):.2f}); values {ours!r} vs {oracle!r}{' [smoke]' if smoke else ''}")
    assert ours == again
    # below 64 images (the tiny extractor's dimensions) FID takes the n x n route: clean-fid's value up to its rounding
    assert ours == (pytest.approx(oracle, rel=1e-6) if n_images < 64 else oracle)
