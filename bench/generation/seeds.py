"""Per-image seeds from (run seed, prompt id, sample index) only, so rank, batch and order never matter."""

from __future__ import annotations

import hashlib

SEED_RULE = "int(sha256(f'{run_seed}/{prompt_id}/{sample}')[:8 bytes], big-endian) & (2**63 - 1); noise drawn by torch.Generator('cpu')"


def image_seed(run_seed: int, prompt_id: str, sample: int) -> int:
    """The seed of one image (63-bit, so it fits JSON integers and torch.Generator.manual_seed)."""
    digest = hashlib.sha256(f"{int(run_seed)}/{prompt_id}/{int(sample)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & (2**63 - 1)


def generators(seeds: list[int]):
    """One CPU generator per image: the initial noise is the same on every device and in every batch."""
    import torch

    return [torch.Generator("cpu").manual_seed(s) for s in seeds]
