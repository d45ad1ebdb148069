"""Helpers for the generation and systems tests: a tiny prompt set, an untrained PEA checkpoint, pixel diffs."""

from __future__ import annotations

import json
from pathlib import Path

PROMPTS = [  # (id, zh text, English pivot)
    ("cat", "一只猫坐在红色的垫子上", "a cat sitting on a red mat"),
    ("noodles", "一碗面条和一双筷子", "a bowl of noodles with chopsticks"),
    ("wall", "长城上的日出", "sunrise over the great wall"),
]


def write_prompt_set(root: Path, name: str = "mini", langs=("zh",)) -> Path:
    """prompts/<name>/set.toml + <lang>.jsonl in the prompt-set format, language checks off."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "set.toml").write_text(
        'version = "1"\nlicence = "CC0-1.0"\ndescription = "test prompts"\n'
        f"languages = {json.dumps(list(langs))}\n[checks]\nlangid = false\n", encoding="utf-8")
    for lang in langs:
        rows = [{"id": pid, "text": zh if lang != "en" else en, "text_en": en, "tags": ["test"],
                 "category": "scene", "source": "written for tests", "translation": "human"}
                for pid, zh, en in PROMPTS]
        (folder / f"{lang}.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return folder


def write_untrained_checkpoint(name: str, lang: str = "zh", base: str = "tiny-sdxl", seed: int = 0) -> Path:
    """An untrained (random) PEA adapter saved as a `bench train` checkpoint: enough to exercise the harness."""
    import torch

    from bench.core import paths
    from bench.models.adapter import PEAAdapter
    from bench.models.bases import get_base
    from bench.models.checkpoint import save_adapter_weights
    from bench.models.encoders import get_student_spec

    b = get_base(base)
    student = get_student_spec("tiny")
    torch.manual_seed(seed)
    if b.is_sdxl:
        adapter = PEAAdapter(student.width, 64, b.pooled_dim, b.context_dim)
    else:
        adapter = PEAAdapter(student.width, 64, b.context_dim)
    folder = paths.checkpoints_dir() / name
    folder.mkdir(parents=True, exist_ok=True)
    save_adapter_weights(adapter, folder / "adapter.safetensors")
    paths.write_json(folder / "config.json", {
        "base": base, "base_model": b.model_id, "family": b.family, "encoder": "tiny",
        "encoder_model": student.model_id, "lang": lang, "adapter": adapter.config, "step": 0,
        "note": "untrained: for harness tests only",
    })
    return folder


def max_pixel_diff(a: Path, b: Path) -> int:
    """Largest absolute difference between two images, in 0..255 levels."""
    import numpy as np
    from PIL import Image

    x = np.asarray(Image.open(a).convert("RGB"), dtype=np.int16)
    y = np.asarray(Image.open(b).convert("RGB"), dtype=np.int16)
    assert x.shape == y.shape
    return int(np.abs(x - y).max())


def rows_without_timing(run: Path) -> list[dict]:
    """metadata.jsonl rows minus the per-image seconds (which differ between runs)."""
    rows = [json.loads(line) for line in (run / "metadata.jsonl").read_text(encoding="utf-8").splitlines()]
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
