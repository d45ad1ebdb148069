"""Training pairs from a corpus folder: rows, readable images, held-out split and pixels."""

from __future__ import annotations

import hashlib
import io
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.core import paths
from bench.core.errors import BenchError
from bench.core.hashing import sha256_files
from bench.corpus.folder import FETCHED, shard_files

log = logging.getLogger(__name__)

def _file_hash(files: list[Path], root: Path) -> str:
    return sha256_files(files, label=lambda f: str(f.relative_to(root)).encode())[:16]


def fingerprint(folder: Path) -> dict:
    """What identifies a corpus: its path, the manifest's hash and a hash of every shard's bytes."""
    manifest = folder / "manifest.json"
    extra = [folder / FETCHED] if (folder / FETCHED).exists() else []
    return {
        "path": paths.portable(folder),
        "manifest_hash": hashlib.sha256(manifest.read_bytes()).hexdigest()[:16] if manifest.exists() else None,
        "content_hash": _file_hash(shard_files(folder) + extra, folder),
    }


@dataclass
class Pairs:
    """Usable rows of one language: native text, English text (None for native-only rows), images."""

    ids: list[str]
    text: list[str]
    text_en: list[str | None]
    sources: list[Any]  # a file path or image bytes per row, checked readable; decoded when needed
    skipped: dict[str, int] = field(default_factory=dict)
    sizes: list[tuple[int, int]] = field(default_factory=list)  # each image's (width, height)

    def __len__(self) -> int:
        return len(self.ids)

    def image(self, i: int):
        """Row i's image as RGB (decoded on demand, so a large corpus is not held in memory)."""
        from PIL import Image

        source = self.sources[i]
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as img:
            return img.convert("RGB")

    @property
    def parallel(self) -> list[bool]:
        """True where the row has an English caption (distillation), False for native-only rows (denoising)."""
        return [t is not None for t in self.text_en]


def read_rows(folder: Path, lang: str) -> list[dict]:
    """Rows of `lang` from every shard, in a stable order; a language missing from the corpus is an error."""
    import polars as pl

    from bench.corpus.folder import read_shard

    frames = [read_shard(f) for f in shard_files(folder)]
    need = {"id", "lang", "text", "text_en", "image"}
    for f, frame in zip(shard_files(folder), frames, strict=True):
        missing = need - set(frame.columns)
        if missing:
            raise BenchError(f"{f}: corpus shard lacks column(s) {', '.join(sorted(missing))}")
    frame = pl.concat([fr.select(sorted(need)) for fr in frames], how="diagonal_relaxed")
    langs = sorted(set(frame["lang"].drop_nulls().to_list()))
    rows = frame.filter(pl.col("lang") == lang).to_dicts()
    if not rows:
        raise BenchError(f"corpus {folder} has no '{lang}' rows (it has: {', '.join(langs) or 'none'}); "
                         f"build one with bench build-corpus --lang {lang}")
    return rows


def load_pairs(folder: Path, lang: str, hybrid: bool = True, normalise: Callable[[str], str] | None = None,
               limit: int | None = None) -> Pairs:
    """Rows of `lang` whose image can be read; unreadable or missing images are skipped and counted."""
    rows = read_rows(folder, lang)
    fetched = _fetched_index(folder)
    pairs = Pairs([], [], [], [], skipped={"no_image": 0, "not_fetched": 0, "native_only": 0, "empty_text": 0})
    candidates = []
    for row in rows:
        if not row["text_en"] and not hybrid:
            pairs.skipped["native_only"] += 1
        elif not row["text"]:
            pairs.skipped["empty_text"] += 1
        else:
            candidates.append(row)
    # Checking an image means decoding it; threads overlap that (PIL releases the GIL), order is kept.
    from concurrent.futures import ThreadPoolExecutor

    def check(row):
        return _image_source(row["image"], folder, fetched.get(str(row["id"])))

    with ThreadPoolExecutor(max_workers=min(16, os.cpu_count() or 1)) as pool:
        for start in range(0, len(candidates), 4096):
            chunk = candidates[start:start + 4096]
            for row, (source, why, size) in zip(chunk, pool.map(check, chunk), strict=True):
                if source is None:
                    pairs.skipped[why] += 1
                    continue
                pairs.sizes.append(size)
                pairs.ids.append(str(row["id"]))
                pairs.text.append(normalise(row["text"]) if normalise else row["text"])
                pairs.text_en.append(row["text_en"] or None)
                pairs.sources.append(source)
                if limit and len(pairs) >= limit:
                    break
            if limit and len(pairs) >= limit:
                break
    skipped = {k: v for k, v in pairs.skipped.items() if v}
    if skipped:
        log.info("corpus %s: using %d '%s' rows, skipped %s", folder.name, len(pairs), lang, skipped)
    if pairs.skipped["not_fetched"]:
        log.warning("%d rows point at URLs that were not downloaded; run bench fetch-images first",
                    pairs.skipped["not_fetched"])
    if not len(pairs):
        raise BenchError(f"corpus {folder}: no '{lang}' row has a readable image ({skipped})")
    return pairs


def _fetched_index(folder: Path) -> dict[str, str]:
    """id -> local file of images downloaded by `bench fetch-images` (successful ones only)."""
    index = folder / FETCHED
    if not index.exists():
        return {}
    import polars as pl

    frame = pl.read_parquet(index).filter(pl.col("status") == "success")
    return dict(zip(frame["id"].cast(pl.Utf8).to_list(), frame["path"].to_list(), strict=True))


def _image_source(ref: Any, folder: Path, fetched: str | None) -> tuple[Any, str | None, tuple[int, int] | None]:
    """(path or bytes, None, (w, h)) when the image decodes, else (None, reason, None): paths, URLs, bytes."""
    from PIL import Image

    if isinstance(ref, dict):  # the datasets Image feature
        ref = ref.get("bytes") or ref.get("path")
    if isinstance(ref, (bytes, bytearray)):
        source: Any = bytes(ref)
    elif isinstance(ref, str) and ref.startswith(("http://", "https://")):
        if fetched is None:
            return None, "not_fetched", None
        source = paths.inside(folder, fetched, what=f"{FETCHED} path")
    elif isinstance(ref, str) and ref:
        # Read from the corpus: confined to its folder (or BENCH_HOME, where built-in sources put images).
        source = paths.inside(folder, ref, what=f"corpus {folder.name} image", also=(paths.bench_home(),))
    else:
        return None, "no_image", None
    try:
        # A full decode, not just the header: truncated files fail here rather than mid-training.
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as img:
            img.load()
            size = img.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return None, "no_image", None
    return source, None, size


def to_pixels(images: list[Any], resolution: int):
    """Resize the shorter side, centre-crop to a square, scale to [-1, 1]: B x 3 x R x R float32."""
    import numpy as np
    import torch
    from PIL import Image

    out = []
    for img in images:
        w, h = img.size
        scale = resolution / min(w, h)
        img = img.resize((max(resolution, round(w * scale)), max(resolution, round(h * scale))),
                         Image.Resampling.BICUBIC)
        left, top = (img.width - resolution) // 2, (img.height - resolution) // 2
        img = img.crop((left, top, left + resolution, top + resolution))
        out.append(torch.from_numpy(np.asarray(img, dtype=np.float32).copy()).permute(2, 0, 1))
    return torch.stack(out) / 127.5 - 1.0


def split_ids(ids: list[str], parallel: list[bool], val_rows: int, seed: int) -> tuple[list[int], list[int]]:
    """(train indices, held-out indices): the held-out rows are parallel ones chosen by a hash of their id."""
    def rank(i: int) -> str:
        return hashlib.sha256(f"{seed}:{ids[i]}".encode()).hexdigest()

    candidates = sorted((i for i in range(len(ids)) if parallel[i]), key=rank)
    held = set(candidates[:val_rows]) if len(candidates) > val_rows else set()
    if val_rows and not held:
        log.warning("too few parallel rows (%d) to hold %d out for validation", len(candidates), val_rows)
    return [i for i in range(len(ids)) if i not in held], sorted(held)
