"""Rebuild public general prompt sets (Crossmodal-3600, COCO-CN) as prompt sets with reference images.

Both sources are read from a local copy in their published layout, or (XM3600) from the hub through
`datasets` when it is reachable. Their images are written under paths.references_dir()/<set>/ and
become the reference images for FID; each row's `image` names its file there.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from bench.core import paths
from bench.core.config import stable_hash
from bench.core.errors import BenchError, NotAvailableOffline
from bench.core.languages import get_language

log = logging.getLogger(__name__)

XM3600_HUB_ID = "floschne/xm3600"


@dataclass(frozen=True)
class XM3600Config:
    """An MG-18-style general set: the same N images in every language, one native caption each."""

    source: str = XM3600_HUB_ID  # hub id, or a local folder holding data/<lang>-*.parquet
    languages: tuple[str, ...] = ("zh", "ko", "ja", "ru", "it")
    n_images: int = 200
    seed: int = 0  # picks which images, by hash of (seed, image_id), never by file order
    name: str = "xm3600-mg"


@dataclass(frozen=True)
class CocoCNConfig:
    """COCO-CN captions (human-written or manually translated) with COCO English captions and images."""

    source: str  # local folder of the COCO-CN release (imageid.*-caption.txt, coco-cn_<split>.txt)
    coco_captions: tuple[str, ...] = ()  # COCO captions_*.json files giving the English pivot
    coco_images: str | None = None  # folder holding train2014/ and val2014/ COCO images
    split: str = "test"
    kind: str = "human-written"  # or "manually-translated"
    n_images: int = 0  # 0 = all images of the split that have a caption
    seed: int = 0
    name: str = "coco-cn"


def _pick(ids: list[str], n: int, seed: int) -> list[str]:
    """The first n ids ordered by a hash of (seed, id): stable whatever order the source lists them in."""
    ranked = sorted(ids, key=lambda i: hashlib.sha256(f"{seed}:{i}".encode()).hexdigest())
    return ranked if n <= 0 else ranked[:n]


def _image_suffix(data: bytes) -> str:
    """File suffix from the image bytes (.jpg, .png, ...), so the stored file is what it says."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = (image.format or "").lower()
    except Exception as exc:  # PIL raises several types for undecodable data
        raise BenchError(f"reference image is not a readable image ({exc})") from None
    return {"jpeg": ".jpg", "png": ".png", "webp": ".webp"}.get(fmt, f".{fmt or 'bin'}")


# ---------------------------------------------------------------- Crossmodal-3600


def read_xm3600(source: str, lang: str) -> list[dict]:
    """Rows (image_id, captions, image bytes) of one language split, from a local folder or the hub."""
    folder = Path(source)
    if folder.is_dir():
        files = sorted(folder.glob(f"data/{lang}-*.parquet")) or sorted(folder.glob(f"**/{lang}-*.parquet"))
        if not files:
            raise BenchError(f"no {lang} split in {folder} (expected data/{lang}-00000-of-0000N.parquet)")
        import pyarrow.parquet as pq

        rows: list[dict] = []
        for file in files:
            rows.extend(pq.read_table(file, columns=["image_id", "captions", "image"]).to_pylist())
        return rows
    try:
        import datasets

        split = datasets.load_dataset(source, split=lang)
    except Exception as exc:  # offline mode, unknown repo or missing split all surface here
        raise NotAvailableOffline(
            f"cannot load {source!r} split {lang!r} ({type(exc).__name__}); pass a local copy with "
            f"--source DIR (the hub layout: DIR/data/{lang}-*.parquet)"
        ) from None
    return [{"image_id": r["image_id"], "captions": r["captions"], "image": r["image"]} for r in split]


def _image_bytes(image, where: str) -> bytes:
    if isinstance(image, dict) and image.get("bytes"):
        return image["bytes"]
    if isinstance(image, (bytes, bytearray)):
        return bytes(image)
    if hasattr(image, "save"):  # a decoded PIL image from datasets
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()
    raise BenchError(f"{where}: row has no image bytes")


def build_xm3600(config: XM3600Config) -> Path:
    """Write prompts/<name>/ (en + languages) and the chosen reference images; returns the set folder."""
    languages = tuple(dict.fromkeys(("en", *config.languages)))
    for lang in languages:
        get_language(lang)
    splits = {lang: {r["image_id"]: r for r in read_xm3600(config.source, lang)} for lang in languages}
    shared = sorted(set.intersection(*(set(s) for s in splits.values())))
    with_captions = [i for i in shared if all(splits[lang][i]["captions"] for lang in languages)]
    if not with_captions:
        raise BenchError(f"{config.source}: no image has captions in every language of {', '.join(languages)}")
    chosen = _pick(with_captions, config.n_images, config.seed)
    if len(chosen) < config.n_images:
        log.warning("only %d images have captions in every language (asked for %d)", len(chosen), config.n_images)
    images = {}
    for image_id in chosen:
        data = _image_bytes(splits["en"][image_id]["image"], f"{config.source} en/{image_id}")
        images[image_id] = (f"{paths.safe_id(image_id, 'image id')}{_image_suffix(data)}", data)

    def row(lang: str, image_id: str) -> dict:
        caption = get_language(lang).normalise(splits[lang][image_id]["captions"][0])
        return {
            "id": f"xm-{image_id}",
            "text": caption,
            "text_en": " ".join(splits["en"][image_id]["captions"][0].split()),
            "tags": ["xm3600"],
            "category": None,
            "source": f"Crossmodal-3600 ({config.source})",
            "translation": "original English caption" if lang == "en" else "native caption written by annotators",
            "image": images[image_id][0],
        }

    rows = {lang: [row(lang, i) for i in chosen] for lang in languages}
    description = (f"MG-18-style general set: {len(chosen)} Crossmodal-3600 images chosen by hash with seed "
                   f"{config.seed}, first native caption per language")
    return _write_set(config.name, rows, images, description, "CC-BY-4.0 (Crossmodal-3600)",
                      source=config.source)


# ---------------------------------------------------------------- COCO-CN


def _read_lines(path: Path) -> list[str]:
    try:
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except FileNotFoundError:
        raise BenchError(f"{path} does not exist (is this the COCO-CN release folder?)") from None


def read_coco_cn_captions(folder: Path, kind: str) -> dict[str, list[str]]:
    """COCO image name -> its COCO-CN sentences, from imageid.<kind>-caption.txt ('<image>#<n>\\t<text>')."""
    if kind not in ("human-written", "manually-translated"):
        raise BenchError(f"unknown COCO-CN caption kind {kind!r} (human-written or manually-translated)")
    path = folder / f"imageid.{kind}-caption.txt"
    captions: dict[str, list[str]] = {}
    for number, line in enumerate(_read_lines(path), start=1):
        key, sep, text = line.partition("\t")
        if not sep or not text.strip():
            raise BenchError(f"{path}:{number}: expected '<image id>#<n><TAB><sentence>'")
        captions.setdefault(key.split("#", 1)[0], []).append(text.strip())
    return captions


def read_coco_english(files: tuple[str, ...]) -> dict[int, str]:
    """COCO numeric image id -> its first English caption (lowest annotation id) from captions_*.json."""
    english: dict[int, tuple[int, str]] = {}
    for name in files:
        data = paths.read_json(Path(name))
        for ann in data.get("annotations", []):
            current = english.get(ann["image_id"])
            if current is None or ann["id"] < current[0]:
                english[ann["image_id"]] = (ann["id"], " ".join(ann["caption"].split()))
    return {k: v[1] for k, v in english.items()}


def _coco_number(image_name: str) -> int:
    """COCO_val2014_000000581929 -> 581929."""
    try:
        return int(image_name.rsplit("_", 1)[1])
    except (IndexError, ValueError):
        raise BenchError(f"not a COCO image name: {image_name!r} (expected COCO_<split>2014_<number>)") from None


def build_coco_cn(config: CocoCNConfig) -> Path:
    """Write prompts/<name>/ (zh + en) from COCO-CN and, when given, the COCO images; returns the folder."""
    folder = Path(config.source)
    if not folder.is_dir():
        raise NotAvailableOffline(f"COCO-CN is distributed on request, not on a hub: pass its folder ({folder} is missing)")
    if not config.coco_captions:
        raise BenchError("COCO-CN needs COCO's English captions for the pivot: pass --coco-captions captions_val2014.json")
    split_ids = _read_lines(folder / f"coco-cn_{config.split}.txt")
    captions = read_coco_cn_captions(folder, config.kind)
    english = read_coco_english(config.coco_captions)
    usable = [i for i in split_ids if i in captions and _coco_number(i) in english]
    if not usable:
        raise BenchError(f"{folder}: no {config.split} image has both a {config.kind} caption and an English caption")
    chosen = _pick(usable, config.n_images, config.seed)
    images: dict[str, tuple[str, bytes]] = {}
    if config.coco_images:
        root = Path(config.coco_images)
        for image_id in chosen:
            subset = image_id.split("_")[1] if image_id.count("_") >= 2 else ""
            candidates = [root / subset / f"{image_id}.jpg", root / f"{image_id}.jpg"]
            found = next((p for p in candidates if p.is_file()), None)
            if found is None:
                raise BenchError(f"COCO image {image_id}.jpg not found under {root} (looked in {subset or '.'}/)")
            images[image_id] = (f"{paths.safe_id(image_id, 'image id')}.jpg", found.read_bytes())
    zh = get_language("zh")

    def row(lang: str, image_id: str) -> dict:
        text_en = english[_coco_number(image_id)]
        return {
            "id": f"coco-{image_id}",
            "text": text_en if lang == "en" else zh.normalise(captions[image_id][0]),
            "text_en": text_en,
            "tags": ["coco-cn"],
            "category": None,
            "source": f"COCO-CN {config.split} ({config.kind}) + COCO captions",
            "translation": "original English caption" if lang == "en" else f"COCO-CN {config.kind} sentence",
            "image": images[image_id][0] if image_id in images else None,
        }

    rows = {lang: [row(lang, i) for i in chosen] for lang in ("en", "zh")}
    description = f"COCO-CN {config.split} split, {config.kind} Chinese captions, {len(chosen)} images"
    return _write_set(config.name, rows, images, description, "COCO-CN research licence; COCO images CC-BY",
                      source=str(folder))


# ---------------------------------------------------------------- shared


def _write_set(name: str, rows: dict[str, list[dict]], images: dict[str, tuple[str, bytes]],
               description: str, licence: str, source: str) -> Path:
    """Write the reference images, each language file and set.toml (last, so a half-built set is not listed)."""
    out = paths.child(paths.repo_dir("prompts"), name, what="prompt set")  # ./prompts, never the installed copy
    refs = paths.child(paths.references_dir(), name, what="prompt set")
    for file_name, data in images.values():
        target = refs / file_name
        if not target.exists():
            paths.write_bytes(target, data)
    for lang, lang_rows in rows.items():
        paths.write_text(out / f"{lang}.jsonl",
                         "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in lang_rows))
    version = f"1.0+{stable_hash(rows, length=8)}"
    toml = "\n".join([
        f"# Built by bench prompts; reference images in {refs}",
        f'version = "{version}"',
        f"licence = {json.dumps(licence, ensure_ascii=False)}",
        f"description = {json.dumps(description, ensure_ascii=False)}",
        f"languages = [{', '.join(json.dumps(lang) for lang in rows)}]",
        f"source = {json.dumps(source, ensure_ascii=False)}",
        "",
        "[checks]",
        "parallel = true",
        # Public captions are what annotators wrote; some are short or mixed and not ours to reword.
        "langid = false",
        "",
    ])
    paths.write_text(out / "set.toml", toml)
    log.info("wrote prompt set %s (%d images) to %s", name, len(images), out)
    return out

