"""Synthetic English/Italian caption pairs for the corpus benchmarks, written as parquet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

_EN = ["a", "the", "man", "woman", "dog", "cat", "red", "blue", "small", "old", "young", "runs", "sits", "walks", "on", "in", "under", "near", "with", "street", "park", "beach", "table", "car", "bus", "tree", "house", "river", "boat", "child", "girl", "boy", "two", "three", "green", "yellow", "big", "quiet", "busy"]
_IT = ["un", "una", "il", "la", "uomo", "donna", "cane", "gatto", "rosso", "blu", "piccolo", "vecchio", "giovane", "corre", "siede", "cammina", "su", "in", "sotto", "vicino", "con", "strada", "parco", "spiaggia", "tavolo", "auto", "autobus", "albero", "casa", "fiume", "barca", "bambino", "ragazza", "ragazzo", "due", "tre", "verde", "giallo", "grande", "tranquillo"]


def write_synthetic(path: Path, n: int, seed: int = 0, native: bool = True) -> Path:
    """n captions of 6-12 words as parquet; ~3% repeats, a few empties. native: each with its Italian
    caption; otherwise English only (the translator fills the Italian)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(6, 13, size=n)
    en_words, it_words = np.array(_EN), np.array(_IT)
    idx = rng.integers(0, len(_EN), size=(n, 12))
    en = [" ".join(en_words[row[:k]]) for row, k in zip(idx, lengths, strict=True)]
    it = [" ".join(it_words[row[:k] % len(_IT)]) for row, k in zip(idx, lengths, strict=True)]
    for i in rng.choice(n, size=n // 33, replace=False):  # repeats of earlier rows
        j = int(rng.integers(0, max(i, 1)))
        en[i], it[i] = en[j], it[j]
    for i in rng.choice(n, size=max(n // 1000, 1), replace=False):
        en[i] = it[i] = ""
    it_column = pl.Series("it", it if native else [None] * n, dtype=pl.String)
    pl.DataFrame({"id": [f"s{i}" for i in range(n)], "caption": en, "it": it_column,
                  "url": [f"http://img/{i}.jpg" for i in range(n)]}).write_parquet(path)
    return path
