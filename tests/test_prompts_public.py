"""Public set builders on small local files in the real Crossmodal-3600 and COCO-CN layouts."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from bench.core.errors import BenchError, NotAvailableOffline
from bench.prompts import load_prompt_set, reference_images_dir
from bench.prompts.public_sets import (
    CocoCNConfig,
    XM3600Config,
    build_coco_cn,
    build_xm3600,
    read_xm3600,
)
from bench.prompts.validate import validate_set

CAPTIONS = {
    "en": ["A dog on a beach.", "Two cups of tea.", "A red car in the snow.", "A market stall.", "A cat asleep."],
    "zh": ["海滩上的一隻狗", "两杯茶", "雪地里的一辆红色汽车", "市场上的摊位", "睡着的猫"],
    "ko": ["해변의 개", "차 두 잔", "눈 속의 빨간 자동차", "시장 노점", "잠자는 고양이"],
}
IDS = ["000411f4b9c1d4a0", "0005e2c4a8b1f7d3", "00a0d9f3a2b4c5e6", "0b1c2d3e4f5a6b7c", "ff0011223344aabb"]


def _jpeg(colour) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def _xm3600(folder: Path, shuffle_seed: int | None = None) -> Path:
    """floschne/xm3600's parquet layout: data/<lang>-00000-of-00001.parquet, one split per language."""
    schema = pa.schema([
        ("image_id", pa.string()), ("image_locale", pa.string()), ("captions", pa.list_(pa.string())),
        ("captions_tokenized", pa.list_(pa.string())), ("captions_tokenized_lowercase", pa.list_(pa.string())),
        ("image", pa.struct([("bytes", pa.binary()), ("path", pa.null())])),
    ])
    (folder / "data").mkdir(parents=True, exist_ok=True)
    for lang, captions in CAPTIONS.items():
        rows = [{"image_id": i, "image_locale": "en", "captions": [c, c + " (2)"], "captions_tokenized": [c],
                 "captions_tokenized_lowercase": [c.lower()], "image": {"bytes": _jpeg((k * 40, 0, 0)), "path": None}}
                for k, (i, c) in enumerate(zip(IDS, captions, strict=True))]
        if lang == "ko":
            rows = rows[:4]  # the last image has no Korean caption
        if shuffle_seed is not None:
            random.Random(shuffle_seed).shuffle(rows)
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), folder / "data" / f"{lang}-00000-of-00001.parquet")
    return folder



def test_xm3600_builds_a_parallel_set_with_reference_images(tmp_path, prompts_root, bench_home):
    source = _xm3600(tmp_path / "xm3600")
    build_xm3600(XM3600Config(source=str(source), languages=("zh", "ko"), n_images=10, name="xm-test"))
    en, zh, ko = (load_prompt_set("xm-test", lang) for lang in ("en", "zh", "ko"))
    assert len(en) == 4 and [p.id for p in zh.prompts] == [p.id for p in en.prompts] == [p.id for p in ko.prompts]
    assert "xm-ff0011223344aabb" not in {p.id for p in en.prompts}  # no Korean caption, so never chosen
    by_id = {p.id: p for p in zh.prompts}
    assert by_id["xm-000411f4b9c1d4a0"].text == "海滩上的一只狗"  # traditional 隻 normalised
    for p in ko.prompts:
        image = reference_images_dir("xm-test") / p.image
        assert image.suffix == ".jpg" and Image.open(image).size == (8, 8)
        assert p.text_en == CAPTIONS["en"][IDS.index(p.id.removeprefix("xm-"))]
    assert validate_set("xm-test").problems == []


def test_xm3600_choice_does_not_depend_on_row_order(tmp_path, prompts_root, bench_home):
    a = _xm3600(tmp_path / "a")
    b = _xm3600(tmp_path / "b", shuffle_seed=7)
    build_xm3600(XM3600Config(source=str(a), languages=("zh",), n_images=2, name="xm-a"))
    build_xm3600(XM3600Config(source=str(b), languages=("zh",), n_images=2, name="xm-b"))
    ids_a = [p.id for p in load_prompt_set("xm-a", "zh").prompts]
    assert ids_a == [p.id for p in load_prompt_set("xm-b", "zh").prompts]
    build_xm3600(XM3600Config(source=str(a), languages=("zh",), n_images=2, seed=1, name="xm-c"))
    assert len(load_prompt_set("xm-c", "zh")) == 2


def test_xm3600_missing_split_and_offline_hub(tmp_path):
    source = _xm3600(tmp_path / "xm3600")
    with pytest.raises(BenchError, match=r"no ja split .*data/ja-00000-of-0000N\.parquet"):
        read_xm3600(str(source), "ja")
    with pytest.raises(NotAvailableOffline, match="pass a local copy"):
        read_xm3600("floschne/xm3600", "zh")


def _coco_cn(folder: Path) -> tuple[Path, Path, Path]:
    """The COCO-CN release files plus COCO's captions json and val2014 images."""
    folder.mkdir(parents=True)
    names = ["COCO_val2014_000000000042", "COCO_val2014_000000000073", "COCO_train2014_000000000009"]
    (folder / "coco-cn_test.txt").write_text("\n".join(names[:2]) + "\n", encoding="utf-8")
    (folder / "coco-cn_train.txt").write_text(names[2] + "\n", encoding="utf-8")
    (folder / "imageid.human-written-caption.txt").write_text(
        f"{names[0]}#0\t一个男人骑着摩托車\n{names[1]}#0\t桌子上有两碗面条\n{names[1]}#1\t两碗面\n{names[2]}#0\t一只猫\n",
        encoding="utf-8")
    captions = folder.parent / "captions_val2014.json"
    captions.write_text(json.dumps({"images": [], "annotations": [
        {"id": 900, "image_id": 42, "caption": "A man riding a motorcycle."},
        {"id": 12, "image_id": 42, "caption": "A  person on a motorbike."},
        {"id": 5, "image_id": 73, "caption": "Two bowls of noodles on a table."},
    ]}), encoding="utf-8")
    images = folder.parent / "coco"
    (images / "val2014").mkdir(parents=True)
    for name in names[:2]:
        (images / "val2014" / f"{name}.jpg").write_bytes(_jpeg((0, 90, 0)))
    return folder, captions, images


def test_coco_cn_builds_zh_en_set(tmp_path, prompts_root, bench_home):
    folder, captions, images = _coco_cn(tmp_path / "coco-cn")
    build_coco_cn(CocoCNConfig(source=str(folder), coco_captions=(str(captions),), coco_images=str(images)))
    zh = {p.id: p for p in load_prompt_set("coco-cn", "zh").prompts}
    assert set(zh) == {"coco-COCO_val2014_000000000042", "coco-COCO_val2014_000000000073"}
    man = zh["coco-COCO_val2014_000000000042"]
    assert man.text == "一个男人骑着摩托车"
    assert man.text_en == "A person on a motorbike."  # the lowest annotation id, whitespace collapsed
    assert zh["coco-COCO_val2014_000000000073"].text == "桌子上有两碗面条"
    assert (reference_images_dir("coco-cn") / man.image).read_bytes()[:2] == b"\xff\xd8"
    assert validate_set("coco-cn").problems == []


def test_coco_cn_bad_inputs_are_one_line(tmp_path, prompts_root, bench_home):
    folder, captions, _ = _coco_cn(tmp_path / "coco-cn")
    with pytest.raises(NotAvailableOffline, match="distributed on request"):
        build_coco_cn(CocoCNConfig(source=str(tmp_path / "missing"), coco_captions=(str(captions),)))
    with pytest.raises(BenchError, match="English captions"):
        build_coco_cn(CocoCNConfig(source=str(folder)))
    with open(folder / "imageid.human-written-caption.txt", "a", encoding="utf-8") as handle:
        handle.write("COCO_val2014_000000000099 no tab here\n")
    with pytest.raises(BenchError, match=r"imageid\.human-written-caption\.txt:5: expected"):
        build_coco_cn(CocoCNConfig(source=str(folder), coco_captions=(str(captions),)))


def test_cli_build_xm3600_then_show(tmp_path, prompts_root, bench_home):
    from typer.testing import CliRunner

    from bench.cli import app

    source = _xm3600(tmp_path / "xm3600")
    runner = CliRunner()
    built = runner.invoke(app, ["prompts", "build-xm3600", "--source", str(source), "--lang", "ko", "--n", "2",
                                "--name", "xm-cli"])
    assert built.exit_code == 0, built.output
    shown = runner.invoke(app, ["prompts", "show", "xm-cli", "--lang", "ko", "--json"])
    rows = [json.loads(line) for line in shown.output.splitlines()]
    assert len(rows) == 2 and all(r["image"].endswith(".jpg") for r in rows)
