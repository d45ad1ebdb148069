"""A tiny corpus in build-corpus's layout (parquet shard + manifest + PNG images) for training tests."""

from __future__ import annotations

import json
from pathlib import Path

COLOURS = [("red", "红色"), ("blue", "蓝色"), ("green", "绿色"), ("yellow", "黄色")]
THINGS = [("cat", "猫"), ("dog", "狗"), ("house", "房子"), ("boat", "船"), ("tree", "树"), ("car", "汽车")]


def make_corpus(folder: Path, rows: int = 24, native: int = 0, broken: int = 0, lang: str = "zh",
                size: tuple[int, int] = (40, 32)) -> Path:
    """Write `rows` parallel rows (+ `native` rows without English, + `broken` rows with unreadable images)."""
    import numpy as np
    import polars as pl
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "img").mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    records = []
    for i in range(rows + native + broken):
        (en_c, zh_c), (en_t, zh_t) = COLOURS[i % len(COLOURS)], THINGS[(i // len(COLOURS)) % len(THINGS)]
        name = f"img/{i:04d}.png"
        if i < rows + native:
            pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
            pixels[..., i % 3] = 220  # a dominant colour per row
            Image.fromarray(pixels).save(folder / name)
        else:
            (folder / name).write_bytes(b"not a png")
        records.append({
            "id": f"r{i:04d}", "lang": lang, "text_en": None if rows <= i < rows + native else f"a {en_c} {en_t}",
            "text": f"一只{zh_c}的{zh_t} {i}", "source": "test", "image": name,
        })
    records.append({"id": "en0", "lang": "en", "text_en": "a cat", "text": "a cat", "source": "test",
                    "image": "img/0000.png"})
    pl.DataFrame(records).write_parquet(folder / "shard-00000.parquet")
    (folder / "manifest.json").write_text(json.dumps({"rows": len(records), "sources": ["test"]}))
    return folder
