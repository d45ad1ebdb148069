"""`make gpu-bench` at tiny size on the CPU: the same code the GPU measurement runs, so it cannot rot."""

from __future__ import annotations

import json

import pytest


def test_gpu_bench_runs_at_tiny_size_and_writes_consistent_json(tmp_path, bench_home):
    from bench.perf.gpubench import default_settings, main

    out = tmp_path / "gpu-bench.json"
    result = main(["--size", "tiny", "--out", str(out), "--work", str(tmp_path / "work")])
    assert json.loads(out.read_text()) == result
    gen, dist = result["generation"], result["distillation"]
    for name in ("plain_eager", "pea_eager"):
        assert gen[name]["images_per_s"] > 0 and gen[name]["seconds_per_call"] > 0
    assert gen["ratio_eager"] == pytest.approx(gen["pea_eager"]["images_per_s"] / gen["plain_eager"]["images_per_s"],
                                               rel=1e-3)
    assert "compiled" in gen  # says why compiled numbers are absent at this size
    assert dist["batch_size"] == 10
    # Cached and uncached frozen inputs give the same losses (same seed), only the time differs.
    assert dist["cached"]["losses"] == pytest.approx(dist["uncached"]["losses"], rel=1e-5)
    assert dist["speedup_cached"] == pytest.approx(dist["cached"]["steps_per_s"] / dist["uncached"]["steps_per_s"],
                                                   rel=1e-3)
    full = default_settings("full")
    assert (full.resolution, full.dtype, full.train_batch, full.compile) == (1024, "fp16", 10, True)
