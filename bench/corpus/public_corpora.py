"""Corpus readers for the published layouts of Crossmodal-3600 and COCO-CN.

- XM3600, floschne/xm3600 (the hub's parquet layout: data/<lang>-NNNNN-of-NNNNN.parquet with image_id,
  captions and image {bytes, path}): the images themselves go into the corpus (images/xm3600/<id>.<ext>).
- XM3600, Google's captions.jsonl ({"image/key", "<lang>": {"caption": [...]}} per line): the images are
  distributed separately; --images DIR points at them (<key>.jpg), they are copied into the corpus, and rows
  without an image are dropped and counted (source counts in the manifest), never kept silently.
- COCO-CN (the release folder): only the manually written captions, imageid.human-written-caption.txt and
  imageid.manually-translated-caption.txt ('<image id>#<n><TAB><caption>'); not their .bosonseg
  word-segmented copies, not the machine translations. The official split files coco-cn_<split>.txt decide
  which images a corpus may use (default train), so test images never enter a training corpus; each row's
  `source` says its origin (coco-cn:human-written or coco-cn:manual-translation).

XM3600's captions are written independently per language, so a row pairs an image's i-th native caption
with its i-th English caption (cycling): image-parallel, not a translation.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import polars as pl

from bench.core import paths
from bench.core.errors import BenchError

XM3600_IMAGES = "images/xm3600"  # inside the corpus folder
COCO_CN_FILES = {  # the manually written captions and their origin label; nothing else is read
    "imageid.human-written-caption.txt": "coco-cn:human-written",
    "imageid.manually-translated-caption.txt": "coco-cn:manual-translation",
}
COCO_CN_SPLITS = ("train", "val", "test")
_FRAME_SCHEMA = {"id": pl.String, "text_en": pl.String, "text": pl.String, "image": pl.String,
                 "source": pl.String}


def _suffix(data: bytes) -> str:
    """.jpg/.png/... from the bytes, so a stored file is what its name says."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = (image.format or "").lower()
    except (UnidentifiedImageError, OSError):
        return ""
    return {"jpeg": ".jpg", "png": ".png", "webp": ".webp", "gif": ".gif", "bmp": ".bmp"}.get(fmt, "")


def _captions_frame(by_image: dict[str, tuple[list[str], list[str], str | None]], source: str) -> pl.DataFrame:
    ids, texts_en, texts, images = [], [], [], []
    for key, (english, native, image) in by_image.items():
        for i, caption in enumerate(native):
            ids.append(f"xm3600-{key}-{i}")
            texts.append(caption)
            texts_en.append(english[i % len(english)] if english else "")
            images.append(image)
    return pl.DataFrame({"id": ids, "text_en": texts_en, "text": texts, "image": images,
                         "source": [source] * len(ids)}, schema=_FRAME_SCHEMA)


def xm3600_parquet(folder: Path, lang: str) -> tuple[pl.DataFrame, Callable[[Path], int], dict]:
    """Rows of the floschne/xm3600 layout, a writer of their images into a corpus folder, and counts."""
    from bench.prompts.public_sets import read_xm3600

    where = str(folder) if Path(folder).is_dir() else str(folder).replace("\\", "/")  # a hub id stays as given
    native = read_xm3600(where, lang)
    english = {r["image_id"]: r for r in read_xm3600(where, "en")} if lang != "en" else {}
    blobs: dict[str, bytes] = {}
    by_image: dict[str, tuple[list[str], list[str], str | None]] = {}
    missing = 0
    for row in native:
        key = paths.safe_id(str(row["image_id"]), what="XM3600 image id")
        image = row.get("image")
        data = image.get("bytes") if isinstance(image, dict) else image if isinstance(image, bytes) else None
        suffix = _suffix(data) if data else ""
        if not suffix:
            missing += 1
            continue
        blobs[f"{key}{suffix}"] = data
        captions = list(row["captions"] or [])
        en = list((english.get(row["image_id"]) or {}).get("captions") or [])
        by_image[key] = (en, captions, f"{XM3600_IMAGES}/{key}{suffix}")

    def write(corpus: Path) -> int:
        for name, data in blobs.items():
            target = corpus / XM3600_IMAGES / name
            if not target.is_file():
                paths.write_bytes(target, data)
        return len(blobs)

    return _captions_frame(by_image, "xm3600"), write, {"images": len(blobs), "rows_without_image": missing}


def xm3600_google(path: Path, lang: str, images: str | None) -> tuple[pl.DataFrame, Callable[[Path], int] | None,
                                                                       dict]:
    """Rows of Google's captions.jsonl; with `images` (a folder of <key>.jpg) a writer copying them into the
    corpus, rows whose image is missing dropped and counted; without it, rows carry no image (counted)."""
    folder = Path(images).expanduser() if images else None
    if folder is not None and not folder.is_dir():
        raise BenchError(f"--images {images} is not a folder (it should hold XM3600's <image key>.jpg files)")
    by_image: dict[str, tuple[list[str], list[str], str | None]] = {}
    found: dict[str, Path] = {}
    without = 0
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                key = str(row["image/key"])
            except (json.JSONDecodeError, KeyError, TypeError):
                raise BenchError(f"{path}:{number}: not a Crossmodal-3600 captions line (expected 'image/key' "
                                 "and per-language captions)") from None
            native = (row.get(lang) or {}).get("caption", [])
            if not native:
                continue
            english = (row.get("en") or {}).get("caption", [])
            key = paths.safe_id(key, what="XM3600 image key")
            image = None
            if folder is not None:
                file = folder / f"{key}.jpg"
                if not file.is_file():
                    without += len(native)
                    continue
                found[key] = file
                image = f"{XM3600_IMAGES}/{key}.jpg"
            else:
                without += len(native)
            by_image[key] = (english, native, image)
    if not by_image and not without:
        raise BenchError(f"{path} has no '{lang}' captions")

    def write(corpus: Path) -> int:
        for key, file in found.items():
            target = corpus / XM3600_IMAGES / f"{key}.jpg"
            if not target.is_file():
                paths.write_bytes(target, file.read_bytes())
        return len(found)

    counts = {"images": len(found), "rows_without_image": without}
    return _captions_frame(by_image, "xm3600"), (write if folder is not None else None), counts


def coco_cn(folder: Path, split: str) -> tuple[pl.DataFrame, list[Path], dict]:
    """Rows of the manually written COCO-CN captions of the images in the official `split` (train, val,
    test, or several joined with '+'), with their origin; the files read; and counts."""
    if not folder.is_dir():
        raise BenchError(f"coco-cn: {folder} is not the COCO-CN release folder")
    wanted = split.split("+")
    bad = [s for s in wanted if s not in COCO_CN_SPLITS]
    if bad:
        raise BenchError(f"coco-cn: unknown split '{bad[0]}' (use train, val, test or e.g. train+val)")
    allowed: set[str] = set()
    split_files = []
    for name in wanted:
        file = folder / f"coco-cn_{name}.txt"
        if not file.is_file():
            raise BenchError(f"coco-cn: {file.name} is missing in {folder}: the official split decides which "
                             "images a corpus may use (test images must not enter training)")
        split_files.append(file)
        allowed |= {line.strip() for line in file.read_text(encoding="utf-8").splitlines() if line.strip()}
    caption_files = [folder / name for name in COCO_CN_FILES if (folder / name).is_file()]
    if not caption_files:
        raise BenchError(f"coco-cn: {folder} holds neither {' nor '.join(COCO_CN_FILES)}")
    ids, texts, images, origins = [], [], [], []
    other_split = 0
    for file in caption_files:
        origin = COCO_CN_FILES[file.name]
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            key, sep, caption = line.partition("\t")
            if not sep:
                key, sep, caption = line.partition(" ")
            if not sep or "#" not in key:
                raise BenchError(f"{file}:{number}: not a COCO-CN caption line ('<image id>#<n><TAB><caption>')")
            image_id = key.split("#", 1)[0].strip()
            if image_id not in allowed:
                other_split += 1
                continue
            ids.append(f"{origin.replace(':', '-')}-{key.strip().replace('#', '-')}")
            texts.append(caption.strip())
            images.append(f"{image_id}.jpg")
            origins.append(origin)
    frame = pl.DataFrame({"id": ids, "text_en": [""] * len(ids), "text": texts, "image": images, "source": origins},
                         schema=_FRAME_SCHEMA)
    counts = {"split": split, "rows_other_split": other_split,
              **{origin: origins.count(origin) for origin in COCO_CN_FILES.values()}}
    return frame, caption_files + split_files, counts
