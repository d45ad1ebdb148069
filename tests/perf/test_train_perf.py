"""Step time of PEA distillation with cached frozen inputs vs computing them every step, in the same run."""

from __future__ import annotations

import math
import statistics
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent))
from train_corpus import make_corpus  # noqa: E402


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        tick = time.perf_counter()
        fn()
        times.append(time.perf_counter() - tick)
    return statistics.median(times) * 1000


@pytest.mark.perf
@pytest.mark.parametrize("base", ["tiny-sd15", "tiny-sdxl"])
def test_cached_embeddings_and_latents_make_steps_faster(tmp_path, bench_home, base, smoke):
    import torch

    from bench.training.distill import TrainConfig, Trainer

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # 2 shared cores: more threads thrash
    rows, repeats, blocks = (8, 1, 1) if smoke else (32, 5, 3)
    corpus = make_corpus(tmp_path / "corpus", rows=rows, size=(96, 80))
    trainer = Trainer(TrainConfig(lang="zh", base=base, encoder="tiny", corpus=str(corpus), steps=100,
                                  batch_size=4, lr=1e-4, warmup_steps=0, val_rows=4, resolution=32, cache=True))
    tick = time.perf_counter()
    trainer.setup()  # builds the cache: student, teacher and VAE over every row once
    setup = time.perf_counter() - tick
    store = trainer.frozen.cached
    batch = trainer.batch_indices(1, 0)

    def use(cache):
        trainer.frozen.cached = cache

    use(store)
    inputs_cached = _median_ms(lambda: trainer.inputs(batch), repeats)
    use(None)
    inputs_uncached = _median_ms(lambda: trainer.inputs(batch), repeats)
    counter = iter(range(1, 1000))
    runs = {"cached": [], "uncached": []}
    trainer.step(next(counter))  # warm-up
    for _block in range(blocks):  # interleaved, so load from other processes hits both alike
        for name, cache in (("cached", store), ("uncached", None)):
            use(cache)
            runs[name].append(_median_ms(lambda: trainer.step(next(counter)), min(repeats, 3)))
    cached, uncached = statistics.median(runs["cached"]), statistics.median(runs["uncached"])
    torch.set_num_threads(threads)
    print(f"\n{base} @ 32 px, batch 4, CPU, 1 thread: setup incl. cache build {setup:.1f} s; frozen inputs per "
          f"batch {inputs_cached:.1f} ms cached vs {inputs_uncached:.1f} ms computed; median step "
          f"{cached:.0f} ms cached vs {uncached:.0f} ms uncached ({uncached / cached:.2f}x){' [smoke]' if smoke else ''}")
    use(store)
    from_cache = trainer.inputs(batch)
    use(None)
    computed = trainer.inputs(batch)
    assert from_cache.keys() == computed.keys()
    for key, value in from_cache.items():  # the cache holds the values the frozen models compute
        if isinstance(value, torch.Tensor):
            torch.testing.assert_close(value.float(), computed[key].float(), rtol=1e-3, atol=1e-3, msg=key)
    assert all(math.isfinite(ms) and ms > 0 for ms in runs["cached"] + runs["uncached"])
    if not smoke:
        assert inputs_cached * 5 < inputs_uncached  # the cache removes the frozen encoders from the step
