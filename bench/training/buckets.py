"""SDXL aspect-ratio buckets: each image's bucket, resize and crop, its time ids, and batches of one bucket.

The public SDXL training loader assigns every image the bucket of closest aspect ratio (448x896 .. 896x448),
resizes it to cover the bucket and crops it at a random corner, and passes the true original size, crop corner
and bucket size as SDXL's time ids. Here the crop corner is drawn once per row from (seed, row id), so the
cached latents and a resumed run see the same crop. Sizes scale with the training resolution (1024 = as
published) and are rounded to what the VAE and UNet can halve.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from bench.training.recipes import SDXL_BUCKETS

REFERENCE = 1024  # the resolution the published bucket sizes belong to (SDXL's)


def bucket_sizes(resolution: int, multiple: int) -> list[tuple[int, int]]:
    """The (width, height) buckets at this resolution, each side a multiple of `multiple`, duplicates dropped."""
    out: list[tuple[int, int]] = []
    for w, h in SDXL_BUCKETS:
        size = tuple(max(multiple, round(x * resolution / REFERENCE / multiple) * multiple) for x in (w, h))
        if size not in out:
            out.append(size)  # type: ignore[arg-type]
    return out


def closest(size: tuple[int, int], buckets: list[tuple[int, int]]) -> int:
    """Index of the bucket whose aspect ratio (w/h) is closest to the image's."""
    aspect = size[0] / size[1]
    return min(range(len(buckets)), key=lambda i: abs(buckets[i][0] / buckets[i][1] - aspect))


def cover(size: tuple[int, int], bucket: tuple[int, int]) -> tuple[int, int]:
    """The size an image is resized to so that it covers the bucket, keeping its aspect ratio."""
    (w, h), (bw, bh) = size, bucket
    if w * bh / h >= bw:
        return max(bw, int(w * bh / h)), bh
    return bw, max(bh, int(h * bw / w))


def crop_corner(row_id: str, seed: int, resized: tuple[int, int], bucket: tuple[int, int]) -> tuple[int, int]:
    """(top, left) of the crop, drawn uniformly from a hash of (seed, row id)."""
    digest = hashlib.sha256(f"{seed}:{row_id}:crop".encode()).digest()
    top = int.from_bytes(digest[:8], "little") % (resized[1] - bucket[1] + 1)
    left = int.from_bytes(digest[8:16], "little") % (resized[0] - bucket[0] + 1)
    return top, left


@dataclass(frozen=True)
class Layout:
    """Per row: bucket index, original (w, h), resized (w, h) and crop (top, left); the bucket sizes."""

    buckets: list[tuple[int, int]]
    bucket: list[int]
    original: list[tuple[int, int]]
    resized: list[tuple[int, int]]
    crop: list[tuple[int, int]]

    @classmethod
    def build(cls, ids: list[str], sizes: list[tuple[int, int]], resolution: int, multiple: int,
              seed: int) -> Layout:
        buckets = bucket_sizes(resolution, multiple)
        bucket = [closest(size, buckets) for size in sizes]
        resized = [cover(size, buckets[b]) for size, b in zip(sizes, bucket, strict=True)]
        crop = [crop_corner(i, seed, r, buckets[b]) for i, r, b in zip(ids, resized, bucket, strict=True)]
        return cls(buckets, bucket, list(sizes), resized, crop)

    @classmethod
    def for_models(cls, pairs: Any, vae: Any, unet: Any, resolution: int, seed: int) -> Layout:
        """The layout of a corpus's images for this VAE and UNet (bucket sides survive all their halvings)."""
        multiple = 2 ** (len(vae.config.block_out_channels) - 1 + len(unet.config.down_block_types) - 1)
        return cls.build(pairs.ids, pairs.sizes, resolution, multiple, seed)

    def time_ids(self, idx: list[int]) -> Any:
        """SDXL's time ids per row: (original h, w, crop top, left, target h, w), as diffusers orders them."""
        import torch

        rows = []
        for i in idx:
            (w, h), (top, left), (bw, bh) = self.original[i], self.crop[i], self.buckets[self.bucket[i]]
            rows.append([h, w, top, left, bh, bw])
        return torch.tensor(rows, dtype=torch.float32)

    def pixels(self, images: list[Any], idx: list[int]) -> Any:
        """Rows idx (one bucket) resized to cover it and cropped: B x 3 x h x w in [-1, 1]."""
        import numpy as np
        import torch
        from PIL import Image

        if len({self.bucket[i] for i in idx}) > 1:
            raise ValueError("a batch mixes aspect-ratio buckets")
        out = []
        for img, i in zip(images, idx, strict=True):
            (bw, bh), (top, left) = self.buckets[self.bucket[i]], self.crop[i]
            img = img.resize(self.resized[i], Image.Resampling.BILINEAR).crop((left, top, left + bw, top + bh))
            out.append(torch.from_numpy(np.asarray(img, dtype=np.float32).copy()).permute(2, 0, 1))
        return torch.stack(out) / 127.5 - 1.0

    def groups(self, rows: list[int]) -> dict[int, list[int]]:
        """rows by bucket, each in the given order."""
        out: dict[int, list[int]] = {}
        for r in rows:
            out.setdefault(self.bucket[r], []).append(r)
        return out

    def batches(self, rows: list[int], batch_size: int) -> list[list[int]]:
        """rows (in the order given) cut into batches of one bucket each."""
        chunks = []
        for group in self.groups(rows).values():
            chunks += [group[i:i + batch_size] for i in range(0, len(group), batch_size)]
        return chunks
