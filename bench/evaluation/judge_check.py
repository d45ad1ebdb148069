"""`bench judge-check`: does a judge read a language? Text-to-image retrieval on images with parallel captions
(VQA judges: matched against mismatched captions, bench.evaluation.vqa_check)."""

from __future__ import annotations

from dataclasses import dataclass

from bench.core.config import check_settings, setting
from bench.core.errors import BenchError, NotAvailableOffline
from bench.instruments.judges import (
    JUDGES,
    default_judge,
    load_judge,
    preferred_judge,
    require_available,
)


@dataclass(frozen=True)
class JudgeCheckConfig:
    """Does a judge read a language? Text-to-image retrieval on images with parallel captions."""

    lang: str
    judge: str | None = None  # None: the language's default judge
    pairs: str = "corpus:sample"  # corpus:<name>, set:<prompt set>, or a .jsonl of {image, text, text_en}
    limit: int | None = setting(200, "At most this many image-caption pairs.", min=2)
    tier: str = setting("real", "Tier of the default judge.", choices=("real", "tiny"))

    def __post_init__(self) -> None:
        check_settings(self)


def read_pairs(source: str, lang: str, limit: int | None) -> list[tuple[object, str, str]]:
    """(image path or bytes, native caption, English caption) triples from a corpus, prompt set or jsonl."""
    from pathlib import Path

    from bench.core import paths

    out: list[tuple[object, str, str]] = []
    if source.startswith("corpus:"):
        import polars as pl

        folder = paths.corpus_dir(source[len("corpus:"):])
        shards = sorted((folder / "data").glob("*.parquet"))
        if not shards:
            raise BenchError(f"corpus {folder} has no parquet shards; build one with images, e.g. offline: "
                             f"bench build-corpus --lang {lang} --source world:200 --translator none "
                             f"--no-language-id --name world-{lang}, then --pairs corpus:world-{lang}")
        for shard in shards:
            frame = pl.read_parquet(shard)
            for row in frame.filter(pl.col("lang") == lang).iter_rows(named=True):
                image = row.get("image")
                if isinstance(image, str) and "://" not in image:
                    image = paths.inside(folder, image, what=f"corpus {folder.name} image",
                                         also=(paths.bench_home(),))
                if isinstance(image, bytes) or (image is not None and Path(str(image)).is_file()):
                    out.append((image, row["text"], row["text_en"]))
    elif source.startswith("set:"):
        from bench.prompts import load_prompt_set, reference_images_dir

        name = source[len("set:"):]
        folder = reference_images_dir(name)
        for p in load_prompt_set(name, lang).prompts:
            image = paths.inside(folder, p.image, what=f"prompt {p.id} image") if p.image else None
            if image is not None and image.is_file():
                out.append((image, p.text, p.text_en))
    else:
        path = Path(source)
        if not path.is_file():
            raise BenchError(f"pairs file {path} does not exist (or use corpus:<name> / set:<prompt set>)")
        for line_no, row in paths.iter_jsonl(path):
            try:
                image = paths.inside(path.parent, row["image"], what=f"{path}:{line_no}: image")
                out.append((image, row["text"], row["text_en"]))
            except (KeyError, TypeError) as exc:
                raise BenchError(f"{path}:{line_no}: needs image, text and text_en ({exc})") from None
    if len(out) < 2:
        raise BenchError(f"judge-check needs at least 2 local images with {lang} captions in {source}, found "
                         f"{len(out)}; pass --pairs corpus:<name> (images fetched), set:<prompt set with reference "
                         "images> or a pairs.jsonl of {image, text, text_en}")
    return out[:limit] if limit else out


def retrieval_accuracy(text_emb, image_emb, k: int = 1) -> float:
    """Share of captions whose own image (same index) is among the k most similar images."""
    import numpy as np

    sims = np.asarray(text_emb, np.float64) @ np.asarray(image_emb, np.float64).T
    own = np.diag(sims)
    rank = (sims > own[:, None]).sum(axis=1)  # images strictly more similar than the right one
    return float(np.mean(rank < k))


def judge_check(cfg: JudgeCheckConfig) -> dict:
    """Text-to-image retrieval accuracy (R@1, R@5) of the judge with native and English captions, and chance."""
    import io

    from PIL import Image

    from bench.core.languages import get_language

    get_language(cfg.lang)
    from bench.instruments.vqa import resolve_vqa_judge

    name = cfg.judge or default_judge(cfg.tier, cfg.lang)
    if name not in JUDGES and ("/" in name or name.startswith(".")):  # a Qwen2-VL / Qwen2.5-VL hub id or folder
        name = resolve_vqa_judge(name)
    spec = JUDGES.get(name)
    try:
        require_available(spec)
    except NotAvailableOffline as exc:
        raise NotAvailableOffline(f"{exc}; offline, check the toy world's judge instead: --judge world-clip "
                                  f"--pairs corpus:world-{cfg.lang} (bench judge-check --list shows judges)") from None
    pairs = read_pairs(cfg.pairs, cfg.lang, cfg.limit)
    images = [Image.open(io.BytesIO(img) if isinstance(img, bytes) else img).convert("RGB") for img, _, _ in pairs]
    from bench.instruments.vqa import is_vqa

    if is_vqa(spec):  # a VQA judge answers questions: matched against mismatched captions
        from bench.evaluation.vqa_check import vqa_check

        return vqa_check(name, cfg.lang, images, [t for _, t, _ in pairs], [t for _, _, t in pairs]) | {
            "pairs": cfg.pairs}
    judge = load_judge(name)
    texts_native, texts_english = [t for _, t, _ in pairs], [t for _, _, t in pairs]
    n = len(pairs)
    result = {
        "judge": name, "model_id": spec.model_id, "lang": cfg.lang, "n": n, "pairs": cfg.pairs,
        "reads_lang": spec.reads(cfg.lang), "truncated": sum(judge.truncated_flags(texts_native)),
        "context_length": judge.context_length,
        "prefer": preferred_judge(cfg.lang, cfg.tier),
    }
    if hasattr(judge, "score"):  # a reward judge: its own score of matched against mismatched pairs
        from bench.evaluation.pair_check import pair_check

        result.update(pair_check(judge, images, texts_native, texts_english))
    if getattr(judge, "embeds", True):
        image_emb = judge.encode_images(images)
        native, _ = judge.encode_texts(texts_native)
        english, _ = judge.encode_texts(texts_english)
        result.update({
            "r1_native": retrieval_accuracy(native, image_emb, 1), "r5_native": retrieval_accuracy(native, image_emb, 5),
            "r1_english": retrieval_accuracy(english, image_emb, 1),
            "r5_english": retrieval_accuracy(english, image_emb, 5),
            "chance_r1": 1.0 / n, "chance_r5": min(5, n) / n,
        })
    return result
