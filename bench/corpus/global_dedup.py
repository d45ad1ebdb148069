"""Duplicate removal over a whole corpus by hash partitioning: the same decisions as the streaming Dedup.

The streaming build keeps a row when it is the first live row with its exact key and the first such row
with its normalised key. Rows with equal exact keys have equal normalised keys, so partitioning the live
rows by the normalised key's hash puts every row that can decide another's fate in the same partition:
each partition decides its rows alone, keeping the first occurrence in source order (by global position).
Only a 64-bit collision between two different exact keys whose normalised keys differ would be judged
otherwise than by the streaming filter (about n^2 / 2^65 for n distinct captions).

Three steps, each a pure function over numpy arrays: `partition` (one chunk's keys into P parts),
`decide` (one partition: the dropped positions and why), `apply_drops` (one chunk's frame).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from bench.corpus.filters import FilterSettings, _Drops, dedup_hashes, key_column, row_filters

EXACT, NORMALISED = 1, 2  # reason codes of a dropped row


def prepare(chunk: pl.DataFrame, settings: FilterSettings, lang: str) -> tuple[pl.DataFrame, dict[str, int], dict]:
    """One chunk through the row filters: the squashed frame with `_alive`, their counts and the live keys."""
    drops = row_filters(chunk, settings, lang)
    live = drops.alive.arg_true()
    exact, norm = dedup_hashes(key_column(drops.frame).gather(live))
    keys = {"exact": exact, "norm": norm, "row": live.to_numpy().astype(np.int64)}
    return drops.frame.with_columns(drops.alive.alias("_alive")), drops.counts, keys


def partition(keys: dict, chunk_index: int, shard_size: int, parts: int) -> list[dict]:
    """Split a chunk's live keys into `parts` by the normalised hash; rows become global positions."""
    position = keys["row"] + chunk_index * shard_size
    which = keys["norm"] % np.uint64(parts)
    return [{"exact": keys["exact"][which == p], "norm": keys["norm"][which == p], "pos": position[which == p]}
            for p in range(parts)]


def _later(values: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Mask of the entries that are not the first (by position) of their value."""
    order = np.lexsort((position, values))
    ordered = values[order]
    first = np.ones(len(values), dtype=bool)
    first[1:] = ordered[1:] != ordered[:-1]
    later = np.zeros(len(values), dtype=bool)
    later[order[~first]] = True
    return later


def decide(parts: list[dict], shard_size: int, n_chunks: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """One partition's duplicates: per chunk, (rows within the chunk, reason codes), rows ascending."""
    exact = np.concatenate([p["exact"] for p in parts]) if parts else np.zeros(0, np.uint64)
    norm = np.concatenate([p["norm"] for p in parts]) if parts else np.zeros(0, np.uint64)
    pos = np.concatenate([p["pos"] for p in parts]) if parts else np.zeros(0, np.int64)
    reason = np.zeros(len(pos), dtype=np.uint8)
    exact_dup = _later(exact, pos)
    reason[exact_dup] = EXACT
    survivors = np.flatnonzero(~exact_dup)
    reason[survivors[_later(norm[survivors], pos[survivors])]] = NORMALISED
    dropped = np.flatnonzero(reason)
    order = dropped[np.argsort(pos[dropped], kind="stable")]
    pos, reason = pos[order], reason[order]
    bounds = np.searchsorted(pos, np.arange(n_chunks + 1, dtype=np.int64) * shard_size)
    return [((pos[a:b] - i * shard_size).astype(np.int64), reason[a:b])
            for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True))]


def apply_drops(frame: pl.DataFrame, counts: dict[str, int], decided: list[tuple[np.ndarray, np.ndarray]]
                ) -> tuple[pl.DataFrame, dict[str, int]]:
    """A prepared chunk less its duplicates (from every partition): the kept rows and all pre-filter counts."""
    drops = _Drops(frame.drop("_alive"), tuple(counts))
    drops.alive = frame["_alive"]
    drops.counts = dict(counts)
    for name, code in (("exact_duplicate", EXACT), ("normalised_duplicate", NORMALISED)):
        mask = np.zeros(frame.height, dtype=bool)
        for rows, reasons in decided:
            mask[rows[reasons == code]] = True
        drops.drop(name, mask)
    return drops.result()
