"""Paths read from data files (run ids in results, prompt images, corpus images, judge pairs) stay in their folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.core import paths
from bench.core.errors import BenchError


@pytest.mark.parametrize("bad", ["../secret.png", "a/../../secret.png", "/etc/passwd", "", "a\x00b"])
def test_inside_refuses_paths_that_leave_the_folder(tmp_path, bad):
    with pytest.raises(BenchError):
        paths.inside(tmp_path / "corpus", bad, what="image")


def test_inside_accepts_paths_in_the_folder_and_allowed_roots(tmp_path):
    folder = tmp_path / "corpus"
    assert paths.inside(folder, "img/a.png") == folder / "img" / "a.png"
    assert paths.inside(folder, "img/../b.png") == folder / "b.png"
    assert paths.inside(folder, str(folder / "c.png")) == folder / "c.png"
    assert paths.inside(folder, str(tmp_path / "home" / "d.png"), also=(tmp_path / "home",)) == tmp_path / "home" / "d.png"


def _secret(tmp_path: Path) -> Path:
    from PIL import Image

    secret = tmp_path / "outside" / "secret.png"  # a readable image: only the path check can stop it
    secret.parent.mkdir()
    Image.new("RGB", (8, 8), "red").save(secret)
    return secret


def test_corpus_image_column_cannot_reach_outside_the_corpus(tmp_path):
    import polars as pl
    from train_corpus import make_corpus

    from bench.training.data import load_pairs

    secret = _secret(tmp_path)
    folder = make_corpus(tmp_path / "corpus", rows=4)
    assert len(load_pairs(folder, "zh")) == 4
    for bad in ("../outside/secret.png", str(secret)):
        frame = pl.read_parquet(folder / "shard-00000.parquet")
        frame.with_columns(pl.when(pl.col("id") == "r0002").then(pl.lit(bad)).otherwise(pl.col("image"))
                           .alias("image")).write_parquet(folder / "shard-00000.parquet")
        with pytest.raises(BenchError, match="corpus corpus image .* (leaves|is outside)"):
            load_pairs(folder, "zh")


def test_judge_pairs_file_images_stay_beside_it(tmp_path):
    from bench.evaluation.judge_check import read_pairs

    _secret(tmp_path)
    pairs = tmp_path / "pairs" / "pairs.jsonl"
    pairs.parent.mkdir()
    rows = [{"image": "../outside/secret.png", "text": "猫", "text_en": "a cat"}] * 2
    pairs.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(BenchError, match=r"pairs.jsonl:1: image '../outside/secret.png' leaves"):
        read_pairs(str(pairs), "zh", None)


def test_prompt_image_stays_in_the_reference_folder(tmp_path, prompts_root, bench_home):
    from generate_helpers import write_prompt_set

    from bench.evaluation.judge_check import read_pairs

    _secret(tmp_path)
    folder = write_prompt_set(prompts_root, name="pub")
    rows = [json.loads(line) for line in (folder / "zh.jsonl").read_text(encoding="utf-8").splitlines()]
    rows[0]["image"] = "../../../outside/secret.png"
    (folder / "zh.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(BenchError, match="prompt cat image '../../../outside/secret.png' leaves"):
        read_pairs("set:pub", "zh", None)


def test_a_results_run_id_cannot_name_a_folder_outside_the_runs(tmp_path, monkeypatch, bench_home):
    from bench.report.leaderboard import load_results, write_grids

    monkeypatch.setenv("BENCH_REPORTS_DIR", str(tmp_path / "reports"))
    summary = {"run_id": "../../outside", "system": "x", "tier": "tiny", "lang": "zh",
               "prompt_set": {"name": "culture", "version": "1"}, "metrics": {}}
    paths.write_json(tmp_path / "reports" / "results" / "x.json", summary)
    with pytest.raises(BenchError, match="run id '../../outside' cannot name a file"):
        write_grids(load_results())
