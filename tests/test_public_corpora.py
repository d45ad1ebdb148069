"""Corpus readers for the published layouts: floschne/xm3600's parquet (images into the corpus), Google's
XM3600 captions.jsonl with --images, and the COCO-CN release folder (manual captions, official split)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from bench.core.errors import BenchError
from bench.corpus.build import CorpusConfig, build_corpus, read_corpus
from bench.corpus.filters import FilterSettings
from bench.corpus.sources import open_source

KEYS = ["000411001ff7dd4f", "0005014f8ed1a7e1", "00054f4e8e04b3a2"]
EN = [["a dog on a beach", "a brown dog by the sea"], ["two bowls of noodles"], ["a red bus in the street"]]
KO = [["해변에 있는 개", "바닷가의 갈색 개"], ["국수 두 그릇"], ["거리의 빨간 버스"]]


def _jpeg(colour) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 12), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture
def corpora(tmp_path, monkeypatch, bench_home):
    monkeypatch.setenv("BENCH_CORPORA_DIR", str(tmp_path / "corpora"))
    return tmp_path / "corpora"


def _floschne(folder: Path) -> Path:
    """floschne/xm3600 on the hub: data/<lang>-00000-of-00001.parquet per language split, columns image_id,
    image_locale, captions, captions_tokenized, captions_tokenized_lowercase, image {bytes, path}."""
    schema = pa.schema([
        ("image_id", pa.string()), ("image_locale", pa.string()), ("captions", pa.list_(pa.string())),
        ("captions_tokenized", pa.list_(pa.string())), ("captions_tokenized_lowercase", pa.list_(pa.string())),
        ("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
    ])
    (folder / "data").mkdir(parents=True)
    for lang, captions in (("en", EN), ("ko", KO)):
        rows = [{"image_id": key, "image_locale": "en", "captions": caps, "captions_tokenized": caps,
                 "captions_tokenized_lowercase": [c.lower() for c in caps],
                 "image": {"bytes": _jpeg((40 * k, 90, 0)), "path": None}}
                for k, (key, caps) in enumerate(zip(KEYS, captions, strict=True))]
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), folder / "data" / f"{lang}-00000-of-00001.parquet")
    return folder


def _google(folder: Path, with_images: tuple[int, ...]) -> tuple[Path, Path]:
    """Google's release: captions.jsonl (one line per image: image/key, image/locale, per language
    caption / caption/tokenized / caption/tokenized/lowercase) and the images as images/<key>.jpg."""
    folder.mkdir(parents=True)
    lines = []
    for key, en, ko in zip(KEYS, EN, KO, strict=True):
        row = {"image/key": key, "image/locale": "en"}
        for lang, caps in (("en", en), ("ko", ko)):
            row[lang] = {"caption": caps, "caption/tokenized": caps, "caption/tokenized/lowercase": caps}
        lines.append(json.dumps(row, ensure_ascii=False))
    (folder / "captions.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "images").mkdir()
    for k in with_images:
        (folder / "images" / f"{KEYS[k]}.jpg").write_bytes(_jpeg((0, 0, 50 * k)))
    return folder / "captions.jsonl", folder / "images"


def _build(spec: str, name: str, images: str | None = None):
    return build_corpus(CorpusConfig(lang="ko", sources=(spec,), translator="none", name=name, images=images,
                                     filters=FilterSettings(language_id=False)))


def test_xm3600_parquet_corpus_holds_the_images(tmp_path, corpora):
    from bench.training.data import load_pairs

    result = _build(f"xm3600:{_floschne(tmp_path / 'xm3600')}", "xm-ko")
    rows = read_corpus("xm-ko").sort("id")
    assert rows["id"].to_list() == ["xm3600-000411001ff7dd4f-0", "xm3600-000411001ff7dd4f-1",
                                    "xm3600-0005014f8ed1a7e1-0", "xm3600-00054f4e8e04b3a2-0"]
    assert rows["text_en"].to_list()[:2] == EN[0]  # the image's i-th English caption, not a translation
    for image in rows["image"].to_list():
        assert image.startswith("images/xm3600/") and image.endswith(".jpg")
        with Image.open(result.folder / image) as im:
            assert im.size == (16, 12)
    pairs = load_pairs(result.folder, "ko")  # what training reads: every row has a readable image now
    assert len(pairs) == 4 and not any(pairs.skipped.values())
    source = result.manifest["sources"][0]
    assert source["counts"] == {"images": 3, "rows_without_image": 0}


def test_xm3600_captions_jsonl_with_images_counts_rows_without_one(tmp_path, corpora):
    captions, images = _google(tmp_path / "google", with_images=(0, 2))
    result = _build(f"xm3600:{captions}", "xm-google", images=str(images))
    rows = read_corpus("xm-google").sort("id")
    assert rows["id"].to_list() == ["xm3600-000411001ff7dd4f-0", "xm3600-000411001ff7dd4f-1",
                                    "xm3600-00054f4e8e04b3a2-0"]
    assert all((result.folder / i).is_file() for i in rows["image"].to_list())
    assert result.manifest["sources"][0]["counts"] == {"images": 2, "rows_without_image": 1}
    frame = pl.concat(list(open_source(f"xm3600:{captions}", "ko").batches()))  # no --images: no image, counted
    assert frame["image"].null_count() == frame.height == 4
    with pytest.raises(BenchError, match="--images .* is not a folder"):
        open_source(f"xm3600:{captions}", "ko", images=str(tmp_path / "nowhere"))
    with pytest.raises(BenchError, match="--images applies to xm3600"):
        open_source(f"coco:{captions}", "ko", images=str(images))


def _coco_cn(folder: Path) -> Path:
    """The COCO-CN release folder: split lists, manual captions (and their .bosonseg copies), Baidu machine
    translations, one '<image id>#<n><TAB><caption>' per line."""
    folder.mkdir(parents=True)
    train, val, test = "COCO_train2014_000000000009", "COCO_val2014_000000000042", "COCO_val2014_000000000073"
    for split, ids in (("train", [train]), ("val", [val]), ("test", [test])):
        (folder / f"coco-cn_{split}.txt").write_text("\n".join(ids) + "\n", encoding="utf-8")
    files = {
        "imageid.human-written-caption.txt": f"{train}#0\t一只猫坐在沙发上\n{val}#0\t一个男人骑着摩托车\n"
                                             f"{test}#0\t桌子上有两碗面条\n",
        "imageid.human-written-caption.bosonseg.txt": f"{train}#0\t一 只 猫 坐 在 沙发 上\n",
        "imageid.manually-translated-caption.txt": f"{train}#0\t一只猫在沙发上\n{test}#1\t两碗面\n",
        "imageid.manually-translated-caption.bosonseg.txt": f"{test}#1\t两 碗 面\n",
        "imageid.machine-translated-caption.txt": f"{train}#0\t一只猫在一张沙发上面\n{test}#0\t机器翻译\n",
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_coco_cn_reads_manual_captions_of_the_official_split_with_their_origin(tmp_path):
    folder = _coco_cn(tmp_path / "coco-cn")
    frame = pl.concat(list(open_source(f"coco-cn:{folder}", "zh").batches()))  # default: train only
    assert frame.select("id", "text", "source", "image").rows() == [
        ("coco-cn-human-written-COCO_train2014_000000000009-0", "一只猫坐在沙发上", "coco-cn:human-written",
         "COCO_train2014_000000000009.jpg"),
        ("coco-cn-manual-translation-COCO_train2014_000000000009-0", "一只猫在沙发上", "coco-cn:manual-translation",
         "COCO_train2014_000000000009.jpg")]
    test = pl.concat(list(open_source(f"coco-cn:{folder}@test", "zh").batches()))
    assert sorted(test["text"].to_list()) == ["两碗面", "桌子上有两碗面条"]  # no bosonseg, no machine translation
    both = open_source(f"coco-cn:{folder}@train+val", "zh")
    assert both.counts == {"split": "train+val", "rows_other_split": 2, "coco-cn:human-written": 2,
                           "coco-cn:manual-translation": 1}
    assert all("bosonseg" not in f.name and "machine" not in f.name for f in both.files)
    (folder / "coco-cn_train.txt").unlink()
    with pytest.raises(BenchError, match="coco-cn_train.txt is missing.*test images must not enter training"):
        open_source(f"coco-cn:{folder}", "zh")
    with pytest.raises(BenchError, match="unknown split 'dev'"):
        open_source(f"coco-cn:{folder}@dev", "zh")
