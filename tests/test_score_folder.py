"""bench score FOLDER: outside images map to prompts by name or metadata.jsonl; bench fid A B / --refstats."""

from __future__ import annotations

import hashlib
import json
import sys

import pytest
import torch
from evalkit import draw, make_reference_folder

from bench.core import paths
from bench.core.errors import BenchError
from bench.evaluation.evaluate import EvalConfig
from bench.evaluation.score_folder import FolderConfig, map_images, score_folder
from bench.prompts import load_prompt_set

METRICS = ("clip-score", "culture-accuracy")


@pytest.fixture
def ko(bench_home, tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_REPORTS_DIR", str(tmp_path / "reports"))
    return [p.id for p in load_prompt_set("culture", "ko").prompts[:3]]


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_file_names_and_metadata_give_the_same_scores(ko, tmp_path):
    by_name, by_meta = tmp_path / "by-name", tmp_path / "by-meta"
    by_name.mkdir(), by_meta.mkdir()
    rows = []
    for i, pid in enumerate(ko):
        for s in range(2):
            image = draw(i * 10 + s, size=64)
            image.save(by_name / f"{pid}_{s}.png")
            image.save(by_meta / f"img{i * 2 + s:04d}.png")
            rows.append({"file": f"img{i * 2 + s:04d}.png", "prompt_id": pid, "sample": s})
    (by_meta / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    a = score_folder(FolderConfig(by_name, "culture", "ko", name="other-tool", tier="tiny"), EvalConfig(metrics=METRICS))
    b = score_folder(FolderConfig(by_meta, "culture", "ko", name="other-tool", tier="tiny"), EvalConfig(metrics=METRICS))
    assert a["run_id"] == b["run_id"]  # named by content: the same images are the same run
    assert a["n_images"] == 6 and a["n_prompts"] == 3 and a["system"] == "other-tool"
    assert set(a["metrics"]) == set(METRICS) and a["metrics"] == b["metrics"]
    run = paths.runs_dir() / a["run_id"]
    prompts = load_prompt_set("culture", "ko").by_id()
    for row in map(json.loads, (run / "metadata.jsonl").read_text(encoding="utf-8").splitlines()):
        assert row["text"] == prompts[row["prompt_id"]].text and row["concept"] == prompts[row["prompt_id"]].concept
        assert _sha(run / row["file"]) == _sha(by_name / f"{row['prompt_id']}_{row['sample']}.png")
    assert not paths.results_dir().exists()


def test_prompt_subfolders_and_bad_names(ko, tmp_path):
    folder = tmp_path / "sub"
    (folder / ko[0]).mkdir(parents=True)
    draw(1).save(folder / ko[0] / "b.png")
    draw(2).save(folder / ko[0] / "a.png")
    _, images = map_images(FolderConfig(folder, "culture", "ko"))
    assert [(f.name, p.id, s) for f, p, s in images] == [("a.png", ko[0], 0), ("b.png", ko[0], 1)]
    draw(3).save(folder / "holiday.png")
    with pytest.raises(BenchError, match=r"1 image\(s\) in .* name no prompt of culture/ko \(holiday.png\); name them"):
        map_images(FolderConfig(folder, "culture", "ko"))
    with pytest.raises(BenchError, match="does not exist"):
        map_images(FolderConfig(tmp_path / "nope", "culture", "ko"))


def test_fid_between_folders_equals_clean_fid_and_refstats(bench_home, tmp_path):
    from cleanfid.fid import compute_fid

    from bench.evaluation.fid_folders import folder_fid
    from bench.instruments.features import load_extractor
    from bench.instruments.refstats import RefstatsConfig, build_refstats

    a = make_reference_folder(tmp_path / "a", n=6, seed=1)
    b = make_reference_folder(tmp_path / "b", n=8, seed=2)
    result = folder_fid(a, b, extractor="tiny-inception", device="cpu")
    oracle = compute_fid(str(a), str(b), mode="clean", custom_feat_extractor=load_extractor("tiny-inception", "clean"),
                         device=torch.device("cpu"), num_workers=0, use_dataparallel=False, verbose=False)
    assert result["fid"] == pytest.approx(oracle, rel=1e-6) and result["fid"] > 0  # 6 < 64 dims: singular_set_fid
    assert (result["n_a"], result["n_b"]) == (6, 8)
    build_refstats(RefstatsConfig("b-refs", str(b), extractor="tiny-inception", judge=None))
    against_refs = folder_fid(a, refstats="b-refs", extractor="tiny-inception", device="cpu")
    assert against_refs["fid"] == pytest.approx(result["fid"], rel=1e-6)
    assert against_refs["kid"] == pytest.approx(result["kid"], rel=1e-6)
    with pytest.raises(BenchError, match="not both"):
        folder_fid(a, b, refstats="b-refs", extractor="tiny-inception")


def test_cli_score_and_fid(ko, tmp_path, monkeypatch, capsys):
    from bench import cli

    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, pid in enumerate(ko):
        draw(i).save(folder / f"{pid}.png")

    def bench(*args):
        monkeypatch.setattr(sys, "argv", ["bench", *args])
        with pytest.raises(SystemExit) as exit_:
            cli.main()
        return exit_.value.code, capsys.readouterr()

    code, out = bench("score", str(folder), "--prompts", "culture", "--lang", "ko", "--tier", "tiny",
                      "--metrics", "clip-score")
    assert code in (0, None) and "clip-score" in out.out and "bench publish external-imgs-culture-ko-" in out.out
    code, out = bench("fid", str(folder), str(make_reference_folder(tmp_path / "r", n=4)),
                      "--extractor", "tiny-inception", "--device", "cpu")
    assert code in (0, None) and out.out.startswith("FID ") and "(3 vs 4 images; tiny-inception, mode clean)" in out.out
    code, out = bench("score", str(tmp_path / "nope"), "-p", "culture", "-l", "ko")
    assert code == 2 and out.err.startswith("error: image folder")
