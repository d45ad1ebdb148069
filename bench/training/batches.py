"""Which rows each micro-batch trains on: seeded epoch permutations, cut into batches of one image shape."""

from __future__ import annotations

import hashlib
from typing import Any


def step_generator(seed: int, step: int, micro: int, what: str):
    """Randomness of one micro-batch, derived from (seed, step, micro): a resumed run draws the same."""
    import torch

    digest = hashlib.sha256(f"{seed}:{step}:{micro}:{what}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") & ((1 << 63) - 1))


def epoch_order(seed: int, epoch: int, n: int) -> list[int]:
    """A permutation of range(n) that depends only on (seed, epoch)."""
    import torch

    return torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch)).tolist()


class BatchOrder:
    """The k-th micro-batch of a run (k counts over steps, micro-batches and processes), resumable anywhere.

    Without buckets, epochs are permutations of the training rows read batch_size at a time, across epoch
    boundaries. With aspect-ratio buckets, each epoch's permutation is cut into batches of one bucket, and
    the batches are visited in a second seeded order; every batch then holds images of one size.
    """

    def __init__(self, rows: list[int], batch_size: int, seed: int, layout: Any = None) -> None:
        self.rows, self.batch_size, self.seed, self.layout = rows, batch_size, seed, layout
        self._epoch: tuple[int, list] | None = None

    def _plan(self, epoch: int) -> list:
        if self._epoch is None or self._epoch[0] != epoch:
            order = [self.rows[i] for i in epoch_order(self.seed, epoch, len(self.rows))]
            if self.layout is not None:
                chunks = self.layout.batches(order, self.batch_size)
                order = [chunks[i] for i in epoch_order(self.seed + 7919, epoch, len(chunks))]
            self._epoch = (epoch, order)
        return self._epoch[1]

    def batch(self, k: int) -> list[int]:
        """Row indices of micro-batch k."""
        if self.layout is not None:
            per_epoch = len(self._plan(0))
            epoch, j = divmod(k, per_epoch)
            return list(self._plan(epoch)[j])
        out = []
        for pos in range(k * self.batch_size, (k + 1) * self.batch_size):
            epoch, offset = divmod(pos, len(self.rows))
            out.append(self._plan(epoch)[offset])
        return out


def validation_batches(rows: list[int], batch_size: int, layout: Any = None) -> list[list[int]]:
    """The held-out rows in fixed batches (of one bucket each, with buckets)."""
    if layout is not None:
        return layout.batches(rows, batch_size)
    return [rows[i:i + batch_size] for i in range(0, len(rows), batch_size)]
