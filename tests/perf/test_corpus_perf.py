"""Corpus build speed: filtering, dedup and writing of 1M synthetic captions (target >= 500k captions/s, peak
memory < 2 GiB, no language ID); language ID alone; length-sorted vs unsorted batches with the tiny translator.
Run with `make perf` (figures are printed; -s shows them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import write_synthetic  # noqa: E402

pytestmark = pytest.mark.perf

REPO = Path(__file__).resolve().parents[2]
N_CAPTIONS, N_SMOKE = 1_000_000, 20_000

_RUN = """
import json, resource, sys, time
import polars as pl
from bench.corpus.build import CorpusConfig, build_corpus
from bench.corpus.filters import FilterSettings

def plain(source, out):
    # The floor any build pays: read, drop empty captions, keep first exact repeats, write parquet.
    frame = pl.read_parquet(source).filter(pl.col("caption").str.len_chars() > 0)
    frame.unique(subset=["caption"], keep="first", maintain_order=True).write_parquet(out)

runs, floor = [], []
for name in ("perf-1", "perf-2"):  # best of two: the machine is shared, so single timings are noisy
    start, cpu = time.perf_counter(), time.process_time()
    r = build_corpus(CorpusConfig(lang="it", sources=("parquet:" + sys.argv[1],), translator="none",
                                  name=name, shard_size=int(sys.argv[2]), filters=FilterSettings(language_id=False)))
    runs.append((time.perf_counter() - start, time.process_time() - cpu))
    start, cpu = time.perf_counter(), time.process_time()
    plain(sys.argv[1], sys.argv[3])
    floor.append((time.perf_counter() - start, time.process_time() - cpu))
print(json.dumps({"seconds": min(w for w, _ in runs), "cpu_seconds": min(c for _, c in runs),
                  "plain_seconds": min(w for w, _ in floor), "plain_cpu_seconds": min(c for _, c in floor),
                  "rows": r.manifest["rows"], "filters": r.manifest["filters"],
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def test_filter_dedup_write_throughput(tmp_path, smoke):
    n = N_SMOKE if smoke else N_CAPTIONS
    source = write_synthetic(tmp_path / "synthetic.parquet", n)
    env = {**os.environ, "BENCH_CORPORA_DIR": str(tmp_path / "corpora"), "BENCH_HOME": str(tmp_path / "home"),
           "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", _RUN, str(source), str(n // 10), str(tmp_path / "plain.parquet")],
                          env=env, capture_output=True, text=True, timeout=600, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    rate, cpu_rate = n / result["seconds"], n / result["cpu_seconds"]
    dropped = {f["name"]: f["dropped"] for f in result["filters"] if f["dropped"]}
    print(f"\nfilter+dedup+write (best of 2): {n} captions in {result['seconds']:.2f} s wall = {rate:,.0f} captions/s; "
          f"{result['cpu_seconds']:.2f} CPU-s (all threads) = {cpu_rate:,.0f} captions per CPU-second; "
          f"plain polars read+drop empty+unique+write {result['plain_seconds']:.2f} s wall, "
          f"{result['plain_cpu_seconds']:.2f} CPU-s (build / plain: x{result['cpu_seconds'] / result['plain_cpu_seconds']:.2f} "
          f"CPU, x{result['seconds'] / result['plain_seconds']:.2f} wall); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; peak RSS {result['peak_rss_mib']:.0f} MiB; "
          f"kept {result['rows']['kept']}; dropped {dropped}{' [smoke]' if smoke else ''}")
    assert result["rows"]["read"] == n
    assert dropped.get("exact_duplicate", 0) >= n // 40
    assert 0 < result["rows"]["kept"] < n - n // 40
    if not smoke:
        assert result["peak_rss_mib"] < 2048
        # Wall time depends on what else the shared machine runs; CPU time (summed over threads) does not.
        assert cpu_rate >= 500_000


def test_language_id_throughput(smoke):
    from lingua import Language, LanguageDetectorBuilder

    from bench.core import langid
    from bench.core.languages import LANGUAGES, get_language

    rows = [json.loads(line) for line in (REPO / "corpora" / "sample" / "captions.jsonl").read_text().splitlines()]
    rows, copies = (rows[:40], 1) if smoke else (rows, 4)
    texts = [row[lang] for row in rows for lang in ("zh", "ko", "ja", "ru", "it")] * copies  # 4000 captions
    expected = [lang for _ in range(copies) for _row in rows for lang in ("zh", "ko", "ja", "ru", "it")]
    # The plain baseline: lingua itself over the same candidate languages, no wrapper.
    plain = LanguageDetectorBuilder.from_languages(
        *(getattr(Language, get_language(c).lingua) for c in LANGUAGES.names())).build()
    langid.detect_for(texts[:10], "ko")  # load the models outside the timing
    plain.compute_language_confidence_values_in_parallel(texts[:10])
    ours_s, plain_s = [], []
    for _ in range(2):
        start = time.perf_counter()
        found, _ = langid.detect_for(texts, "ko")
        ours_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        values = plain.compute_language_confidence_values_in_parallel(texts)
        plain_s.append(time.perf_counter() - start)
    seconds, baseline = min(ours_s), min(plain_s)
    accuracy = np.mean([f == e for f, e in zip(found, expected, strict=True)])
    print(f"\nlanguage ID: {len(texts)} captions in {seconds:.2f} s = {len(texts) / seconds:,.0f} captions/s; lingua "
          f"called directly {baseline:.2f} s (x{seconds / baseline:.2f}; best of 2); accuracy {accuracy:.3f} on the "
          f"hand translations{' [smoke]' if smoke else ''}")
    assert [v[0].language.name for v in values] == [get_language(f).lingua for f in found]
    assert accuracy > 0.99


def test_length_sorted_batches_beat_unsorted_with_the_tiny_translator(bench_home, smoke):
    from bench.models.translators import load_translator

    translator = load_translator("tiny", "en", "ko")
    rows = [json.loads(line) for line in (REPO / "corpora" / "sample" / "captions.jsonl").read_text().splitlines()]
    rng = np.random.default_rng(0)
    n, batch = (32, 8) if smoke else (256, 32)
    # Mixed lengths, as in web captions: short captions alongside captions of several sentences.
    texts = [" ".join(r["en"] for r in rng.choice(rows, size=int(k))) for k in rng.choice([1, 1, 1, 2, 6], n)]
    timings = {}
    for sort in (False, True, False, True):
        start = time.perf_counter()
        out = translator.translate(texts, batch_size=batch, sort_by_length=sort)
        timings.setdefault(sort, []).append(time.perf_counter() - start)
        timings[f"out{sort}"] = out
    unsorted_s, sorted_s = min(timings[False]), min(timings[True])
    print(f"\ntiny translator, {n} mixed-length captions, batch {batch}: unsorted {unsorted_s:.2f} s, "
          f"length-sorted {sorted_s:.2f} s ({unsorted_s / sorted_s:.2f}x){' [smoke]' if smoke else ''}")
    assert timings["outTrue"] == timings["outFalse"]  # sorting changes speed, not output
    assert len(out) == n and all(isinstance(t, str) and t for t in out)
    if not smoke:
        # The tiny model decodes a fixed number of steps, so padding costs little here; sorting must not cost.
        assert sorted_s < unsorted_s * 1.05
