"""Numbers comparable with the field: the real Inception offline, clean-fid's folder rules, reference sizes,
small-set warnings, KID's unit, CMMD's reference formula, weight-keyed caches, ties and judge families."""

from __future__ import annotations

import json
import sys

import numpy as np
import polars as pl
import pytest
import torch
from evalkit import draw, eval_world, make_reference_folder, make_run

from bench.core.errors import BenchError
from bench.evaluation.evaluate import EvalConfig, evaluate_run


@pytest.fixture
def world(bench_home, tmp_path, monkeypatch):
    return eval_world(tmp_path, monkeypatch, n_prompts=4, samples=2, n_refs=10)


def _tricky_folder(root):
    """Hidden files and folders, odd extension case, subfolders, and names whose order '-' and '.' decide."""
    names = ["a.png", "a-1.png", "a.b.png", "a_2.png", ".x.png", "b.Png", "c.PNG", "d.JPG", "e.jpeg",
             "sub/f.png", "sub-x/g.png", "sub.y/h.png", ".hidden/i.png", "deep/er/j.png", "notes.txt"]
    for i, name in enumerate(names):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".txt"):
            path.write_text("not an image")
        else:
            draw(500 + i).save(path, format="JPEG" if name.lower().endswith(("jpg", "jpeg")) else "PNG")
    return root


def _cleanfid_listing(folder, monkeypatch):
    """The files clean-fid's own get_folder_features hands to its feature loop (captured, not re-derived)."""
    import cleanfid.fid as cf

    seen = []
    monkeypatch.setattr(cf, "get_files_features", lambda files, *a, **k: seen.append(list(files)) or np.zeros(1))
    cf.get_folder_features(str(folder), model=None, num_workers=0, device=torch.device("cpu"), verbose=False)
    return seen[0]


def test_folder_listing_is_clean_fids(tmp_path, monkeypatch):
    from bench.instruments.refstats import image_files

    folder = _tricky_folder(tmp_path / "refs")
    listed = [str(p) for p in image_files(folder)]
    assert listed == _cleanfid_listing(folder, monkeypatch)
    rel = [p[len(str(folder)) + 1:] for p in listed]
    assert ".x.png" not in rel and "b.Png" not in rel and ".hidden/i.png" not in rel  # clean-fid skips them
    assert {"c.PNG", "d.JPG", "deep/er/j.png", "sub/f.png"} <= set(rel)
    assert rel.index("a-1.png") < rel.index("a.b.png") < rel.index("a.png") < rel.index("a_2.png")
    assert rel.index("sub-x/g.png") < rel.index("sub.y/h.png") < rel.index("sub/f.png")  # string order


def test_fid_and_kid_on_a_tricky_reference_folder_equal_clean_fid(world, tmp_path):
    from cleanfid.fid import compute_fid, get_folder_features, kernel_distance

    from bench.instruments.features import load_extractor
    from bench.instruments.refstats import RefstatsConfig, build_refstats

    run, _ = world
    refs = _tricky_folder(tmp_path / "tricky")
    build_refstats(RefstatsConfig("tricky", str(refs), extractor="tiny-inception", judge=None))
    summary = evaluate_run(run, EvalConfig(metrics=("fid", "kid"), refstats="tricky"))
    fn = load_extractor("tiny-inception", "clean")
    kw = dict(num_workers=0, device=torch.device("cpu"), verbose=False)
    assert summary["metrics"]["fid"]["value"] == pytest.approx(compute_fid(
        str(run / "images"), str(refs), mode="clean", custom_feat_extractor=fn, use_dataparallel=False, **kw),
        rel=1e-6)  # fewer images than feature dimensions: bench.metrics.fid.singular_set_fid
    f_run = get_folder_features(str(run / "images"), model=fn, batch_size=32, **kw)
    f_ref = get_folder_features(str(refs), model=fn, batch_size=32, **kw)
    np.random.seed(0)
    assert summary["metrics"]["kid"]["value"] == kernel_distance(f_run, f_ref)
    assert summary["metrics"]["kid"]["reference_n"] == 11


def _real_inception_run(tmp_path):
    """3 run images and 3 references through the offline `inception` extractor: (run, refs, summary)."""
    from bench.instruments.refstats import RefstatsConfig, build_refstats

    run = make_run(tmp_path / "runs", run_id="three", n_prompts=3, samples=1)  # 3 + 3 images: ~0.5 s each
    refs = make_reference_folder(tmp_path / "refs3", n=3, seed=7)
    build_refstats(RefstatsConfig("real", str(refs), extractor="inception", judge=None))
    return run, refs, evaluate_run(run, EvalConfig(metrics=("fid", "kid"), refstats="real", extractor="inception"))


def test_real_inception_is_fid_helpers_verified_file_and_gives_clean_fids_features(world, tmp_path):
    """The offline `inception` extractor's features are clean-fid's get_folder_features with that network;
    FID and KID follow from them as clean-fid computes them (FID's n < d route: test_metrics.py)."""
    from cleanfid.fid import get_folder_features, kernel_distance

    from bench.instruments import inception
    from bench.instruments.refstats import find_refstats, load_refstats
    from bench.metrics.fid import singular_set_fid

    if inception.CLEANFID_INCEPTION.is_file():
        pytest.skip("clean-fid's own file is present, so it serves mode clean here")
    run, refs, summary = _real_inception_run(tmp_path)
    fn = inception.load_fid_helper()
    kw = dict(num_workers=0, device=torch.device("cpu"), verbose=False)
    fid = summary["metrics"]["fid"]
    assert fid["settings"]["weights"] == f"sha256:{inception.FID_HELPER_SHA256}"
    f_run = get_folder_features(str(run / "images"), model=fn, batch_size=32, **kw)
    f_ref = get_folder_features(str(refs), model=fn, batch_size=32, **kw)
    assert f_run.shape == (3, 2048)
    ref = load_refstats(find_refstats("real", "clean", "inception", None))
    np.testing.assert_array_equal(ref.feats, f_ref)
    assert fid["value"] == singular_set_fid(f_run, f_ref.mean(axis=0), np.cov(f_ref, rowvar=False)) > 0
    np.random.seed(0)
    assert summary["metrics"]["kid"]["value"] == kernel_distance(f_run, f_ref)
    # the toy-world benchmark's real-Inception columns are these same values
    from bench.world.demo import real_inception_scores

    world_scores = real_inception_scores(run, refstats="real", size=None)
    assert world_scores == {"fid-inception": round(fid["value"], 4),
                            "kid-inception-x1000": round(1000 * summary["metrics"]["kid"]["value"], 4)}
    # 3 and 3 images against 2048-d features: both sides warned about, in the summary and the metric
    assert any("fid: 3 run images, fewer than the 2048-d features" in w for w in summary["warnings"])
    assert "kid: 3 reference images, fewer than the documented minimum 100" in summary["metrics"]["kid"]["warnings"]


@pytest.mark.slow
def test_real_inception_fid_equals_clean_fids_compute_fid(world, tmp_path):
    """End to end through clean-fid's compute_fid(custom_feat_extractor=...) (its 2048-d sqrtm: ~30 s)."""
    from cleanfid.fid import compute_fid

    from bench.instruments import inception

    if inception.CLEANFID_INCEPTION.is_file():
        pytest.skip("clean-fid's own file is present, so it serves mode clean here")
    run, refs, summary = _real_inception_run(tmp_path)
    oracle = compute_fid(str(run / "images"), str(refs), mode="clean", custom_feat_extractor=inception.load_fid_helper(),
                         use_dataparallel=False, num_workers=0, device=torch.device("cpu"), verbose=False)
    assert summary["metrics"]["fid"]["value"] == pytest.approx(oracle, rel=1e-6)


def test_real_inception_file_is_verified_before_loading(tmp_path, monkeypatch):
    from bench.instruments import inception

    fake = tmp_path / "default_1.pt"
    fake.write_bytes(b"not the network")
    monkeypatch.setattr(inception, "fid_helper_path", lambda: fake)
    monkeypatch.setattr(inception, "CLEANFID_INCEPTION", tmp_path / "absent.pt")
    with pytest.raises(BenchError, match="pinned sha256.*refusing to load"):
        inception.load("clean")
    monkeypatch.setattr(inception, "fid_helper_path", lambda: None)
    with pytest.raises(BenchError, match="not available offline: install"):
        inception.available("clean")


def test_legacy_tensorflow_without_clean_fids_file_is_one_line_error(world, monkeypatch, tmp_path, capsys):
    from bench.cli import main
    from bench.instruments import inception

    monkeypatch.setattr(inception, "CLEANFID_INCEPTION", tmp_path / "absent.pt")
    run, refs = world
    monkeypatch.setattr(sys, "argv", ["bench", "refstats", "build", "--name", "tf", "--images", str(refs),
                                      "--mode", "legacy_tensorflow", "--judge", "none"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(err) == 1
    assert err[0].startswith("error: --mode legacy_tensorflow needs clean-fid's own Inception file")
    assert "--mode clean" in err[0]


def test_refstats_of_another_size_are_never_used_silently(world):
    from bench.instruments.refstats import RefstatsConfig, build_refstats

    run, refs = world  # the run is 64 px
    build_refstats(RefstatsConfig("sized", str(refs), extractor="tiny-inception", judge=None, size=32))
    with pytest.raises(BenchError, match=r"exist only at 32 px, the run is 64 px.*--size 64.*--refstats-any-size"):
        evaluate_run(run, EvalConfig(metrics=("fid",), refstats="sized"))
    summary = evaluate_run(run, EvalConfig(metrics=("fid",), refstats="sized", refstats_any_size=True))
    assert any("at 32 resolution, the run is 64 px (--refstats-any-size)" in w for w in summary["warnings"])
    build_refstats(RefstatsConfig("sized", str(refs), extractor="tiny-inception", judge=None, size=64))
    summary = evaluate_run(run, EvalConfig(metrics=("fid",), refstats="sized"))
    assert summary["metrics"]["fid"]["settings"]["refstats"]["resolution"] == 64
    assert not any("resolution" in w for w in summary["warnings"])
    build_refstats(RefstatsConfig("native", str(refs), extractor="tiny-inception", judge=None))
    summary = evaluate_run(run, EvalConfig(metrics=("fid",), refstats="native"))
    assert any("'native' (tiny-inception) are at native resolution, the run is 64 px" in w
               for w in summary["warnings"])


def test_small_sets_are_marked_and_kid_is_shown_times_1000(world, tmp_path):
    from bench.instruments.refstats import RefstatsConfig, build_refstats
    from bench.report.leaderboard import load_results, render
    from bench.report.rows import cell as format_cell

    run, refs = world
    build_refstats(RefstatsConfig("refs", str(refs), extractor="tiny-inception", judge="tiny-clip"))
    summary = evaluate_run(run, EvalConfig(metrics=("fid", "kid", "cmmd", "clip-score"), refstats="refs",
                                           copy_to_reports=True))
    metrics = summary["metrics"]
    dim = 64  # the tiny Inception's feature width, larger than 8 images
    assert metrics["fid"]["warnings"][0].startswith(f"fid: 8 run images, fewer than the {dim}-d features")
    assert metrics["kid"]["warnings"] == ["kid: 8 run images, fewer than the documented minimum 100",
                                          "kid: 10 reference images, fewer than the documented minimum 100"]
    assert metrics["cmmd"]["warnings"][0] == "cmmd: 8 run images, fewer than the documented minimum 100"
    assert not metrics["clip-score"].get("warnings")
    assert set(metrics["kid"]["warnings"]) <= set(summary["warnings"])
    kid = metrics["kid"]
    assert kid["display_scale"] == 1000 and "x1000" in kid["unit"]
    cell = format_cell(kid)
    shown = kid["value"] * 1000
    assert cell.startswith(f"{shown:.{2 if abs(shown) >= 1 else 4}f}") and "\u2020 (n=8)" in cell
    if kid.get("ci"):  # the interval is shown in the same unit
        assert f"\u00b1 {(kid['ci'][1] - kid['ci'][0]) * 1000 / 2:.4f}" in cell
    assert "\u2020" not in format_cell(metrics["clip-score"])
    board = render(load_results())
    assert "KID \u00d710\u00b3" in board and "\u2020: the result's summary carries a warning" in board


def test_cmmd_matches_the_reference_formula_on_fixed_embeddings():
    """google-research/cmmd distance.mmd, written out as it is there (float32, sq-norms from the Gram
    diagonal), on fixed unit-norm embeddings; this implementation computes the same in float64."""
    from bench.metrics.cmmd import cmmd_value

    rng = np.random.default_rng(11)
    x = rng.normal(size=(40, 768)).astype(np.float32)
    y = (rng.normal(size=(30, 768)) + 0.3).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y /= np.linalg.norm(y, axis=1, keepdims=True)

    def reference_mmd(x, y, sigma=10, scale=1000):
        x_sq, y_sq = np.diag(x @ x.T), np.diag(y @ y.T)
        gamma = np.float32(1 / (2 * sigma**2))
        k_xx = np.mean(np.exp(-gamma * (-2 * x @ x.T + x_sq[:, None] + x_sq[None, :])))
        k_xy = np.mean(np.exp(-gamma * (-2 * x @ y.T + x_sq[:, None] + y_sq[None, :])))
        k_yy = np.mean(np.exp(-gamma * (-2 * y @ y.T + y_sq[:, None] + y_sq[None, :])))
        return scale * (k_xx + k_yy - 2 * k_xy)

    expected = float(reference_mmd(x, y))
    assert expected > 0.1
    assert cmmd_value(x, y) == pytest.approx(expected, rel=2e-4)
    assert cmmd_value(x, y) == pytest.approx(float(reference_mmd(x.astype(np.float64), y.astype(np.float64))),
                                             rel=1e-7)


def test_cmmd_preprocessing_is_the_references(tmp_path):
    """Centre square crop, PIL bicubic to the input size, /255, CLIP mean/std; no second resize or crop."""
    from PIL import Image
    from transformers import CLIPImageProcessor

    from bench.metrics.cmmd import reference_pixels

    processor = CLIPImageProcessor(size={"shortest_edge": 24}, crop_size={"height": 24, "width": 24})
    image = draw(3, size=64).crop((0, 0, 64, 40))  # not square: the crop matters
    got = reference_pixels([image], processor)[0].numpy()
    square = image.crop((12, 0, 52, 40)).resize((24, 24), Image.BICUBIC)
    arr = np.asarray(square).astype(np.float32) / 255.0
    expected = ((arr - np.array(processor.image_mean, np.float32)) / np.array(processor.image_std, np.float32))
    np.testing.assert_allclose(got, expected.transpose(2, 0, 1), atol=1e-6)
    from bench.instruments.judges import JUDGES

    spec = JUDGES.get("clip-l-336")
    assert spec.model_id == "openai/clip-vit-large-patch14-336" and spec.preprocess == "cmmd"


def test_feature_cache_is_keyed_by_weights(world, monkeypatch):
    from bench.instruments import features
    from bench.instruments.features import EXTRACTORS, Extractor, RunFeatures

    version = {"v": "one"}
    spec = EXTRACTORS.get("tiny-inception")
    monkeypatch.setitem(EXTRACTORS._entries, "tiny-inception",
                        Extractor(spec.name, spec.tier, spec.load, spec.available, lambda mode: version["v"]))
    run, _ = world
    files = sorted((run / "images").glob("*.png"))
    first = RunFeatures(run, files)
    first.inception("tiny-inception")
    again = RunFeatures(run, files)
    again.inception("tiny-inception")
    assert first.computed == ["tiny-inception-clean"] and again.computed == []
    version["v"] = "two"  # same name, other weights: recomputed, not reused
    changed = RunFeatures(run, files)
    changed.inception("tiny-inception")
    assert changed.computed == ["tiny-inception-clean"]
    assert features.stable_hash  # the key is a content hash of files and weights


def test_bootstrap_over_one_prompt_is_na(world, capsys, monkeypatch):
    from bench.cli import main
    from bench.metrics import bootstrap_ci

    assert bootstrap_ci([1.0, 0.0, 1.0], ["a", "a", "a"]) is None
    assert bootstrap_ci([1.0, 0.0, 1.0], ["a", "a", "b"]) is not None
    run, _ = world
    one = make_run(run.parent, run_id="one-prompt", n_prompts=1, samples=3)
    summary = evaluate_run(one, EvalConfig(metrics=("clip-score",)))
    assert summary["metrics"]["clip-score"]["ci"] is None and summary["metrics"]["clip-score"]["n"] == 3
    monkeypatch.setattr(sys, "argv", ["bench", "evaluate", "--run", str(one), "--metrics", "clip-score"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "n/a" in out


def test_a_tie_never_counts_as_correct():
    from bench.metrics.culture_accuracy import is_correct, top1

    image = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    labels = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])  # labels 0 and 1 are the same text
    picks = top1(image, labels, [[0, 1, 2], [0, 2], [0, 1, 2]])
    assert picks == [(0, 2), (0, 1), (2, 1)]
    assert [is_correct(*p) for p in picks] == [False, True, False]


def test_culture_accuracy_counts_same_label_candidates_as_wrong(world, tmp_path):
    """zh-pipa and ja-biwa share the native label 琵琶; here jiaozi and gyoza get one label, 饺子, and a judge
    that reads every jiaozi image as jiaozi: the old argmax called it right, a tie is wrong."""
    from PIL import Image
    from test_metrics import _ColourJudge

    from bench.instruments.judges import JUDGES, JudgeSpec, register_judge

    if "colour-judge" not in JUDGES:
        register_judge(JudgeSpec("colour-judge", "test:colour", "custom", "tiny", loader=_ColourJudge))
    run, _ = world
    concepts = tmp_path / "prompts" / "culture" / "concepts.jsonl"
    rows = [json.loads(line) for line in concepts.read_text(encoding="utf-8").splitlines()]
    index = {row["id"]: i for i, row in enumerate(rows)}
    for row in rows:
        if row["id"] == "gyoza":
            row["label_native"] = "饺子"
    concepts.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    for line in (run / "metadata.jsonl").read_text(encoding="utf-8").splitlines():
        meta = json.loads(line)
        Image.new("RGB", (64, 64), (20 * index[meta["concept"]], 0, 0)).save(run / meta["file"])
    summary = evaluate_run(run, EvalConfig(metrics=("culture-accuracy",), judge="colour-judge"))
    table = pl.read_parquet(run / "scores" / "culture-accuracy.parquet")
    jiaozi = table.filter(pl.col("concept") == "jiaozi")
    assert jiaozi.height == 2 and jiaozi["correct"].to_list() == [False, False]
    assert jiaozi["tied"].to_list() == [2, 2] and jiaozi["predicted"].to_list() == ["", ""]
    # gyoza's own label now reads as jiaozi's, so no label matches its images: a 4-way tie at zero, wrong
    assert table.filter(pl.col("concept") == "gyoza")["tied"].to_list() == [4, 4]
    assert table.filter(pl.col("concept").is_in(["qipao", "mandu"]))["correct"].to_list() == [True] * 4
    assert summary["metrics"]["culture-accuracy"]["ties"] == 4
    assert summary["metrics"]["culture-accuracy"]["value"] == pytest.approx(4 / 8)


def test_judge_family_warning_and_preference(world):
    from bench.instruments.judges import JUDGES, preferred_judge, shared_with

    run, _ = world
    student = make_run(run.parent, run_id="altclip-student",
                       spec_extra={"model": {"student_encoder": "BAAI/AltCLIP-m18"}})
    summary = evaluate_run(student, EvalConfig(metrics=("clip-score",)))  # judge tiny-altclip: altclip family
    assert any("'tiny-altclip'" in w and "altclip family" in w for w in summary["warnings"])
    strings = ["OFA-Sys/chinese-clip-vit-huge-patch14"]
    assert shared_with(JUDGES.get("chinese-clip-l14"), strings) == "family"
    assert shared_with(JUDGES.get("altclip-m18"), strings) is None
    assert shared_with(JUDGES.get("clip-l"), ["openai/clip-vit-large-patch14"]) == "weights"
    zh = preferred_judge("zh")
    assert zh["student_family"] == "chinese-clip" and zh["judge"] != "chinese-clip-l14"
    assert preferred_judge("en")["judge"] == "clip-l"
    assert "no judge that reads the language is independent" in preferred_judge("ko")["reason"]


def test_judges_read_their_models_own_context():
    from bench.instruments.judges import JUDGES

    contexts = {name: JUDGES.get(name).context for name in ("clip-l", "clip-l-336", "chinese-clip-l14",
                                                             "altclip-m18", "altclip")}
    assert contexts == {"clip-l": 77, "clip-l-336": 77, "chinese-clip-l14": 52, "altclip-m18": 77, "altclip": 77}


def test_refstats_built_with_other_weights_are_an_error(world, monkeypatch):
    from bench.instruments.features import EXTRACTORS, Extractor
    from bench.instruments.refstats import RefstatsConfig, build_refstats

    run, refs = world
    build_refstats(RefstatsConfig("refs", str(refs), extractor="tiny-inception", judge=None))
    spec = EXTRACTORS.get("tiny-inception")
    monkeypatch.setitem(EXTRACTORS._entries, "tiny-inception",
                        Extractor(spec.name, spec.tier, spec.load, spec.available, lambda mode: "sha256:other"))
    with pytest.raises(BenchError, match="built with other weights.*rebuild them"):
        evaluate_run(run, EvalConfig(metrics=("fid",), refstats="refs"))


def test_a_judge_truncates_and_counts_at_its_own_context(world):
    """AltCLIP's position table allows 512 tokens; the judge reads (and counts against) its declared context."""
    from bench.instruments.judges import JUDGES, JudgeSpec, load_judge, register_judge

    if "tiny-altclip-ctx12" not in JUDGES:
        register_judge(JudgeSpec("tiny-altclip-ctx12", "zoo:tiny-altclip-judge", "altclip", "tiny", context=12))
    judge = load_judge("tiny-altclip-ctx12")
    assert judge.context_length == 12
    short, long = "一张饺子的照片", "一张饺子的照片，" * 6
    assert judge.truncated_flags([short, long]) == [False, True]
    run, _ = world
    summary = evaluate_run(run, EvalConfig(metrics=("clip-score",), judge="tiny-altclip-ctx12"))
    result = summary["metrics"]["clip-score"]
    assert result["context_length"] == 12 and result["truncated_prompts"] == 4  # every crafted prompt is longer
