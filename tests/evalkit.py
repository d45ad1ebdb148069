"""Crafted run folders and prompt sets for the evaluation tests (no generation needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

CONCEPTS = [
    # id, culture, category, label_en, label_native
    ("jiaozi", "zh", "food", "jiaozi", "饺子"),
    ("gyoza", "ja", "food", "gyoza", "餃子"),
    ("mandu", "ko", "food", "mandu", "만두"),
    ("pelmeni", "ru", "food", "pelmeni", "пельмени"),
    ("qipao", "zh", "clothing", "qipao", "旗袍"),
    ("hanbok", "ko", "clothing", "hanbok", "한복"),
    ("kimono", "ja", "clothing", "kimono", "着物"),
    ("sarafan", "ru", "clothing", "sarafan", "сарафан"),
]


def draw(seed: int, size: int = 64) -> Image.Image:
    """A deterministic picture: a coloured rectangle on a noisy background."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8) // 4 + 96
    x0, y0 = rng.integers(0, size // 2, 2)
    pixels[y0:y0 + size // 3, x0:x0 + size // 3] = rng.integers(0, 256, 3, dtype=np.uint8)
    return Image.fromarray(pixels)


def write_prompt_set(root: Path, name: str = "culture") -> Path:
    """A minimal prompt-set folder with a concept table, so load_concepts works."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "set.toml").write_text(
        'version = "1"\nlicence = "CC0"\ndescription = "test"\nlanguages = ["zh"]\n', encoding="utf-8")
    rows = [dict(id=c[0], culture=c[1], category=c[2], label_en=c[3], label_native=c[4],
                 description_en=f"a picture of {c[3]}") for c in CONCEPTS]
    (folder / "concepts.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                           encoding="utf-8")
    return root


def make_run(root: Path, run_id: str = "tiny-sys-culture-zh-abc", n_prompts: int = 4, samples: int = 2,
             seed: int = 0, tier: str = "tiny", model: str = "tiny-sys", lang: str = "zh",
             spec_extra: dict | None = None, long_text: bool = False) -> Path:
    """A run folder in the generation stage's format, with drawn images."""
    run = root / run_id
    (run / "images").mkdir(parents=True)
    spec = {"model_name": model, "model": {"name": model}, "tier": tier, "lang": lang, "samples": samples,
            "prompts": {"name": "culture", "version": "1", "content_hash": "x"}, "size": 64, "seed": seed}
    spec.update(spec_extra or {})
    (run / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
    concepts = [c for c in CONCEPTS if c[1] == "zh"] + [c for c in CONCEPTS if c[1] != "zh"]
    rows = []
    for p in range(n_prompts):
        concept = concepts[p % len(concepts)]
        confusers = [c[0] for c in CONCEPTS if c[2] == concept[2] and c[0] != concept[0]]
        text = f"一张{concept[4]}的照片，编号{p}"
        if long_text and p == 0:
            text = text * 20
        for s in range(samples):
            file = f"images/p{p:03d}_{s}.png"
            draw(seed * 1000 + p * 10 + s).save(run / file)
            rows.append({"prompt_id": f"p{p:03d}", "sample": s, "seed": p * 10 + s, "file": file,
                         "text": text, "text_en": f"a photo of {concept[3]}, number {p}",
                         "concept": concept[0], "category": concept[2], "confusers": confusers,
                         "tags": [], "seconds": 0.1})
    (run / "metadata.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                        encoding="utf-8")
    return run


def make_reference_folder(root: Path, n: int = 12, seed: int = 99) -> Path:
    """A folder of reference images for reference statistics."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        draw(seed * 1000 + i).save(root / f"ref{i:03d}.png")
    return root


def eval_world(tmp_path, monkeypatch, n_prompts: int, samples: int, n_refs: int, **run_options):
    """A prompt set, a crafted run and a reference folder under tmp_path, with prompts and results read there."""
    monkeypatch.setenv("BENCH_PROMPTS_DIR", str(write_prompt_set(tmp_path / "prompts")))
    monkeypatch.setenv("BENCH_REPORTS_DIR", str(tmp_path / "reports"))
    run = make_run(tmp_path / "runs", n_prompts=n_prompts, samples=samples, **run_options)
    return run, make_reference_folder(tmp_path / "refs", n=n_refs)
