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
import polars as pl
import pytest

pytestmark = pytest.mark.perf

REPO = Path(__file__).resolve().parents[2]
N_CAPTIONS = 1_000_000

_EN = ["a", "the", "man", "woman", "dog", "cat", "red", "blue", "small", "old", "young", "runs", "sits", "walks", "on", "in", "under", "near", "with", "street", "park", "beach", "table", "car", "bus", "tree", "house", "river", "boat", "child", "girl", "boy", "two", "three", "green", "yellow", "big", "quiet", "busy"]
_IT = ["un", "una", "il", "la", "uomo", "donna", "cane", "gatto", "rosso", "blu", "piccolo", "vecchio", "giovane", "corre", "siede", "cammina", "su", "in", "sotto", "vicino", "con", "strada", "parco", "spiaggia", "tavolo", "auto", "autobus", "albero", "casa", "fiume", "barca", "bambino", "ragazza", "ragazzo", "due", "tre", "verde", "giallo", "grande", "tranquillo"]


def write_synthetic(path: Path, n: int = N_CAPTIONS, seed: int = 0) -> Path:
    """n English/Italian caption pairs of 6-12 words as parquet; ~3% repeats, a few empties and long ones."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(6, 13, size=n)
    en_words, it_words = np.array(_EN), np.array(_IT)
    idx = rng.integers(0, len(_EN), size=(n, 12))
    en = [" ".join(en_words[row[:k]]) for row, k in zip(idx, lengths, strict=True)]
    it = [" ".join(it_words[row[:k] % len(_IT)]) for row, k in zip(idx, lengths, strict=True)]
    for i in rng.choice(n, size=n // 33, replace=False):  # repeats of earlier rows
        j = int(rng.integers(0, max(i, 1)))
        en[i], it[i] = en[j], it[j]
    for i in rng.choice(n, size=n // 1000, replace=False):
        en[i] = it[i] = ""
    pl.DataFrame({"id": [f"s{i}" for i in range(n)], "caption": en, "it": it,
                  "url": [f"http://img/{i}.jpg" for i in range(n)]}).write_parquet(path)
    return path


_RUN = """
import json, resource, sys, time
from bench.corpus.build import CorpusConfig, build_corpus
from bench.corpus.filters import FilterSettings
runs = []
for name in ("perf-1", "perf-2"):  # best of two: the machine is shared, so single timings are noisy
    start, cpu = time.perf_counter(), time.process_time()
    r = build_corpus(CorpusConfig(lang="it", sources=("parquet:" + sys.argv[1],), translator="none",
                                  name=name, shard_size=100_000, filters=FilterSettings(language_id=False)))
    runs.append((time.perf_counter() - start, time.process_time() - cpu))
print(json.dumps({"seconds": min(w for w, _ in runs), "cpu_seconds": min(c for _, c in runs),
                  "rows": r.manifest["rows"], "filters": r.manifest["filters"],
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def test_filter_dedup_write_throughput(tmp_path):
    source = write_synthetic(tmp_path / "synthetic.parquet")
    env = {**os.environ, "BENCH_CORPORA_DIR": str(tmp_path / "corpora"), "BENCH_HOME": str(tmp_path / "home"),
           "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", _RUN, str(source)], env=env, capture_output=True, text=True,
                          timeout=600, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    rate, cpu_rate = N_CAPTIONS / result["seconds"], N_CAPTIONS / result["cpu_seconds"]
    dropped = {f["name"]: f["dropped"] for f in result["filters"] if f["dropped"]}
    print(f"\nfilter+dedup+write (best of 2): {N_CAPTIONS} captions in {result['seconds']:.2f} s wall = {rate:,.0f} captions/s; "
          f"{result['cpu_seconds']:.2f} CPU-s (all threads) = {cpu_rate:,.0f} captions per CPU-second; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; peak RSS {result['peak_rss_mib']:.0f} MiB; "
          f"kept {result['rows']['kept']}; dropped {dropped}")
    assert result["rows"]["read"] == N_CAPTIONS
    assert dropped.get("exact_duplicate", 0) >= N_CAPTIONS // 40
    assert result["peak_rss_mib"] < 2048
    # Wall time depends on what else the shared machine runs; CPU time (summed over threads) does not.
    assert cpu_rate >= 500_000


def test_language_id_throughput():
    from bench.core import langid

    rows = [json.loads(line) for line in (REPO / "corpora" / "sample" / "captions.jsonl").read_text().splitlines()]
    texts = [row[lang] for row in rows for lang in ("zh", "ko", "ja", "ru", "it")] * 4  # 4000 captions
    langid.detect_for(texts[:10], "ko")  # load the models outside the timing
    start = time.perf_counter()
    found, _ = langid.detect_for(texts, "ko")
    seconds = time.perf_counter() - start
    expected = [lang for _ in range(4) for _row in rows for lang in ("zh", "ko", "ja", "ru", "it")]
    accuracy = np.mean([f == e for f, e in zip(found, expected, strict=True)])
    print(f"\nlanguage ID: {len(texts)} captions in {seconds:.2f} s = {len(texts) / seconds:,.0f} captions/s "
          f"(accuracy {accuracy:.3f} on the hand translations)")
    assert accuracy > 0.99


def test_length_sorted_batches_beat_unsorted_with_the_tiny_translator(bench_home):
    from bench.models.translators import load_translator

    translator = load_translator("tiny", "en", "ko")
    rows = [json.loads(line) for line in (REPO / "corpora" / "sample" / "captions.jsonl").read_text().splitlines()]
    rng = np.random.default_rng(0)
    # Mixed lengths, as in web captions: short captions alongside captions of several sentences.
    texts = [" ".join(r["en"] for r in rng.choice(rows, size=int(k))) for k in rng.choice([1, 1, 1, 2, 6], 256)]
    timings = {}
    for sort in (False, True, False, True):
        start = time.perf_counter()
        out = translator.translate(texts, batch_size=32, sort_by_length=sort)
        timings.setdefault(sort, []).append(time.perf_counter() - start)
        timings[f"out{sort}"] = out
    unsorted_s, sorted_s = min(timings[False]), min(timings[True])
    print(f"\ntiny translator, 256 mixed-length captions, batch 32: unsorted {unsorted_s:.2f} s, "
          f"length-sorted {sorted_s:.2f} s ({unsorted_s / sorted_s:.2f}x)")
    assert timings["outTrue"] == timings["outFalse"]  # sorting changes speed, not output
    # The tiny model decodes a fixed number of steps, so padding costs little here; sorting must not cost.
    assert sorted_s < unsorted_s * 1.05
