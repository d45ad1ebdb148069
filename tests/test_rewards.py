"""Reward judges (PickScore, ImageReward, HPS v2.1) on their tiny zoo twins: each metric's formula by hand on
the model's own embeddings or logits, the ports against the packages' own code, loading rules."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
import torch
from evalkit import eval_world
from PIL import Image
from reward_references import hpsv2_open_clip, imagereward_reference, imagereward_transform

from bench.core.errors import BenchError, NotAvailableOffline
from bench.evaluation.evaluate import EvalConfig, evaluate_run
from bench.models import zoo


@pytest.fixture
def run(bench_home, tmp_path, monkeypatch):
    """A crafted tiny zh run: 3 prompts x 2 samples, native and English texts."""
    folder, _ = eval_world(tmp_path, monkeypatch, n_prompts=3, samples=2, n_refs=2)
    return folder


def rows_of(run):
    return sorted((json.loads(line) for line in (run / "metadata.jsonl").read_text().splitlines()),
                  key=lambda r: r["file"])


def scores(run, metric):
    return pl.read_parquet(run / "scores" / f"{metric}.parquet").sort("file")


def test_pickscore_is_logit_scale_times_cosine_of_the_clip_embeddings(run):
    """PickScore's model card: exp(logit_scale) * (text_emb / |text_emb|) . (image_emb / |image_emb|)."""
    from transformers import CLIPModel, CLIPProcessor

    summary = evaluate_run(run, EvalConfig(metrics=("pickscore", "pickscore-native")))
    folder = zoo.ensure("tiny-pickscore")
    model, processor = CLIPModel.from_pretrained(folder).eval(), CLIPProcessor.from_pretrained(folder)
    expected = {"pickscore": [], "pickscore-native": []}
    for row in rows_of(run):
        image = processor(images=[Image.open(run / row["file"]).convert("RGB")], return_tensors="pt")
        for metric, field in (("pickscore", "text_en"), ("pickscore-native", "text")):
            text = processor(text=[row[field]], padding=True, truncation=True, max_length=77, return_tensors="pt")
            with torch.no_grad():
                i = model.get_image_features(**image).pooler_output
                t = model.get_text_features(**text).pooler_output
            i, t = i / i.norm(dim=-1, keepdim=True), t / t.norm(dim=-1, keepdim=True)
            expected[metric].append((model.logit_scale.exp() * (t @ i.T))[0, 0].item())
    for metric, values in expected.items():
        np.testing.assert_allclose(scores(run, metric)["value"].to_numpy(), values, rtol=1e-5, atol=1e-5)
        assert summary["metrics"][metric]["value"] == pytest.approx(np.mean(values), abs=1e-5)
    assert np.std(expected["pickscore"]) > 0.01  # pairs differ: the check is not of one repeated number
    native = summary["metrics"]["pickscore-native"]
    assert native["outside_languages"] and native["text"] == "text" and native["reads"] == "en"
    assert any("outside the model's languages" in w for w in summary["warnings"])
    assert "outside_languages" not in summary["metrics"]["pickscore"]
    judge = summary["judges"]["tiny-pickscore"]
    assert judge["model_id"] == "zoo:tiny-pickscore" and judge["weights"].startswith("sha256:")


def test_hpsv2_equals_the_hpsv2_packages_model_and_transform(run):
    """HPS = diag(image_features @ text_features.T) of hpsv2's own open_clip model and validation transform."""
    import open_clip
    from safetensors.torch import load_file

    evaluate_run(run, EvalConfig(metrics=("hpsv2",)))
    folder = zoo.ensure("tiny-hpsv2")
    cfg = json.loads((folder / "open_clip_config.json").read_text())["model_cfg"]
    ref = hpsv2_open_clip("model").CLIP(**cfg, output_dict=True)
    ref.load_state_dict(load_file(str(folder / "open_clip_model.safetensors")))
    transform = hpsv2_open_clip("transform").image_transform(cfg["vision_cfg"]["image_size"], is_train=False,
                                                              resize_longest_max=True)
    rows = rows_of(run)
    images = torch.stack([transform(Image.open(run / r["file"])) for r in rows])
    # hpsv2's wheel ships no BPE vocabulary file, so its tokenize() cannot run; open_clip's is the same BPE
    with torch.no_grad():
        out = ref.eval()(images, open_clip.tokenize([r["text_en"] for r in rows]))
    expected = torch.diagonal(out["image_features"] @ out["text_features"].T).numpy()
    np.testing.assert_allclose(scores(run, "hpsv2")["value"].to_numpy(), expected, atol=1e-5)
    assert np.std(expected) > 1e-3


def test_hps_transform_pads_the_longest_side_like_hpsv2():
    from bench.instruments.rewards.hps import pad_to_square

    transform = hpsv2_open_clip("transform").image_transform(32, is_train=False, resize_longest_max=True)
    mine = pad_to_square(32, open_clip_mean(), open_clip_std())
    for size in ((64, 40), (30, 70), (32, 32)):
        image = Image.fromarray(np.random.default_rng(sum(size)).integers(0, 255, (*size[::-1], 3), dtype=np.uint8))
        torch.testing.assert_close(mine(image), transform(image), atol=1e-6, rtol=0)


def open_clip_mean():
    from open_clip.constants import OPENAI_DATASET_MEAN

    return OPENAI_DATASET_MEAN


def open_clip_std():
    from open_clip.constants import OPENAI_DATASET_STD

    return OPENAI_DATASET_STD


def test_imagereward_port_equals_the_image_reward_packages_code(run):
    """The metric's values equal image-reward's own score_gard (BLIP ViT + BERT from its files, its MLP, its
    mean/std) on the same weights, images and tokens, to 1e-5."""
    from bench.instruments.judges import load_judge

    summary = evaluate_run(run, EvalConfig(metrics=("imagereward",)))
    folder = zoo.ensure("tiny-imagereward")
    ref, _ = imagereward_reference(folder)
    assert (ref.mean, ref.std) == (0.16717362830052426, 1.0333394966054072)  # the published constants
    tokens = load_judge("tiny-imagereward").tokens([r["text_en"] for r in rows_of(run)])
    preprocess = imagereward_transform(json.loads((folder / "config.json").read_text())["vision"]["image_size"])
    expected = []
    for k, row in enumerate(rows_of(run)):
        with torch.no_grad():
            expected.append(ref.score_gard(tokens["input_ids"][k:k + 1], tokens["attention_mask"][k:k + 1],
                                           preprocess(Image.open(run / row["file"])).unsqueeze(0)).item())
    np.testing.assert_allclose(scores(run, "imagereward")["value"].to_numpy(), expected, atol=1e-5, rtol=0)
    assert np.std(expected) > 1e-3
    assert summary["metrics"]["imagereward"]["context_length"] == 35


def test_imagereward_port_masks_padding_like_the_package():
    """Prompts of different lengths in one batch: padding is masked as BLIP's BERT masks it."""
    from bench.instruments.judges import load_judge

    judge = load_judge("tiny-imagereward")
    ref, _ = imagereward_reference(zoo.ensure("tiny-imagereward"))
    images = [Image.fromarray(np.random.default_rng(i).integers(0, 255, (40, 56, 3), dtype=np.uint8))
              for i in range(3)]
    texts = ["a cat", "two dogs on a beach at night, one of them asleep " * 3, "x"]
    tokens = judge.tokens(texts)
    assert tokens["attention_mask"].sum(1).tolist()[0] < 35 == tokens["attention_mask"].sum(1).tolist()[1]
    with torch.no_grad():
        expected = [ref.score_gard(tokens["input_ids"][k:k + 1], tokens["attention_mask"][k:k + 1],
                                   imagereward_transform(32)(images[k]).unsqueeze(0)).item() for k in range(3)]
    np.testing.assert_allclose(judge.score(images, texts), expected, atol=1e-5, rtol=0)


def test_reward_metrics_on_tiny_runs_only_when_named(run):
    summary = evaluate_run(run, EvalConfig())
    for name in ("pickscore", "pickscore-native", "imagereward", "hpsv2"):
        assert name not in summary["metrics"] and "random weights" in summary["skipped"][name]


def test_a_missing_real_reward_model_is_one_line_naming_it():
    from bench.instruments.judges import JUDGES, load_judge, require_available

    for name, weight in (("pickscore", "yuvalkirstain/PickScore_v1"), ("imagereward", "THUDM/ImageReward"),
                         ("hpsv2", "xswu/HPSv2")):
        with pytest.raises(NotAvailableOffline) as info:
            require_available(JUDGES.get(name))
        assert weight in str(info.value) and "\n" not in str(info.value)
        with pytest.raises(NotAvailableOffline):
            load_judge(name)


def test_reward_judges_load_from_local_folders_and_torch_checkpoints(tmp_path):
    """A folder path works as a model id; ImageReward.pt / HPS_v2.1_compressed.pt load with weights_only."""
    import dataclasses
    import shutil

    from safetensors.torch import load_file

    from bench.instruments.judges import JUDGES, load_judge, register_judge

    images = [Image.fromarray(np.full((32, 32, 3), 90 + 40 * i, np.uint8)) for i in range(2)]
    texts = ["a red square", "a blue square"]
    for name, weights, checkpoint in (("tiny-imagereward", "model.safetensors", "ImageReward.pt"),
                                      ("tiny-hpsv2", "open_clip_model.safetensors", None),
                                      ("tiny-pickscore", None, None)):
        folder = tmp_path / name
        shutil.copytree(zoo.ensure(name), folder)
        if checkpoint:  # the released file format: a pickled state dict read with weights_only=True
            torch.save(load_file(str(folder / weights)), folder / checkpoint)
            (folder / weights).unlink()
        spec = dataclasses.replace(JUDGES.get(name), name=f"local-{name}", model_id=str(folder))
        register_judge(spec)
        np.testing.assert_allclose(load_judge(spec.name).score(images, texts),
                                   load_judge(name).score(images, texts), atol=1e-6)
    torch.save({"state_dict": {"x": torch.zeros(1)}, "note": Image.new("RGB", (1, 1))}, tmp_path / "bad.pt")
    from bench.instruments.rewards.base import read_state_dict

    with pytest.raises(BenchError, match="weights_only=True refused"):
        read_state_dict(str(tmp_path / "bad.pt"))


def test_hps_real_checkpoint_layout_builds_vit_h_14_and_loads_a_state_dict(tmp_path):
    """Without open_clip_config.json the architecture is ViT-H-14 (hpsv2's), weights from the .pt file."""
    from bench.instruments.rewards.hps import ARCHITECTURE, model_config

    assert model_config(tmp_path) == __import__("open_clip").get_model_config(ARCHITECTURE)
    assert model_config(tmp_path)["vision_cfg"]["width"] == 1280


def test_judge_check_of_reward_judges_is_matched_against_mismatched_pairs(run, tmp_path, capsys, monkeypatch):
    """Per language: the share of images scoring higher with their own caption than with the next pair's."""
    from bench import cli
    from bench.evaluation.judge_check import JudgeCheckConfig, judge_check
    from bench.evaluation.pair_check import mismatched, pair_accuracy
    from bench.instruments.features import load_images
    from bench.instruments.judges import load_judge

    rows = [r for r in rows_of(run) if r["sample"] == 0]
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({"image": str(run / r["file"]), "text": r["text"], "text_en": r["text_en"]},
                                        ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    images = load_images([run / r["file"] for r in rows])
    for name in ("tiny-pickscore", "tiny-imagereward", "tiny-hpsv2"):
        result = judge_check(JudgeCheckConfig(lang="zh", judge=name, pairs=str(pairs), tier="tiny"))
        judge = load_judge(name)
        for label, field in (("native", "text"), ("english", "text_en")):
            texts = [r[field] for r in rows]
            own = judge.score(images, texts)
            wrong = judge.score(images, [texts[j] for j in mismatched(len(texts))])
            expected = np.mean([1.0 if a > b else 0.5 if a == b else 0.0 for a, b in zip(own, wrong, strict=True)])
            assert result[f"pairs_{label}"] == pytest.approx(expected)
            assert result[f"margin_{label}"] == pytest.approx(float(np.mean(own - wrong)), abs=1e-5)
        assert result["pair_chance"] == 0.5 and not result["reads_lang"]
        assert ("r1_native" in result) == (name != "tiny-imagereward")  # embedding rewards also retrieve
    assert mismatched(3) == [1, 2, 0] and pair_accuracy([2, 1, 1], [1, 1, 3]) == pytest.approx(0.5)
    monkeypatch.setattr("sys.argv", ["bench", "judge-check", "--lang", "zh", "--judge", "tiny-imagereward",
                                     "--pairs", str(pairs), "--tiny"])
    with pytest.raises(SystemExit) as done:
        cli.main()
    assert done.value.code in (0, None)
    out = capsys.readouterr().out
    assert "matched > mismatched zh:" in out and "R@1" not in out and "not trained on zh" in out


def test_leaderboard_shows_reward_tables_and_each_judges_model_id_and_revision(tmp_path, monkeypatch):
    from bench.core import paths
    from bench.report.leaderboard import load_results, render

    monkeypatch.setenv("BENCH_REPORTS_DIR", str(tmp_path / "reports"))
    commit, processor = "a" * 40, "b" * 40
    summary = {
        "run_id": "pea-zh-culture-zh-abc", "system": "pea-zh", "tier": "real", "lang": "zh",
        "prompt_set": {"name": "culture", "version": "1"}, "git": {"commit": "0123456789"}, "refstats": [],
        "metrics": {"pickscore": {"value": 21.5, "ci": [21.0, 22.0], "n": 40, "higher_is_better": True,
                                  "display": "PickScore (en)", "judge": "pickscore"}},
        "judges": {"pickscore": {"name": "pickscore", "model_id": "yuvalkirstain/PickScore_v1",
                                 "weights": f"revision:yuvalkirstain/PickScore_v1@{commit}"
                                            f"+revision:laion/CLIP-ViT-H-14-laion2B-s32B-b79K@{processor}"},
                   "tiny-hpsv2": {"name": "tiny-hpsv2", "model_id": "zoo:tiny-hpsv2", "weights": "sha256:" + "c" * 64}},
    }
    paths.write_json(tmp_path / "reports" / "results" / "r.json", summary)
    text = render(load_results())
    assert "#### PickScore (en) \u2191 (pickscore)" in text and "21.50 ± 0.50 (n=40)" in text
    assert f"pickscore (yuvalkirstain/PickScore_v1@{commit[:12]})" in text
    assert "tiny-hpsv2 (zoo:tiny-hpsv2 sha256:cccccccccccc)" in text


def test_agreement_tables_include_the_reward_metrics(tmp_path):
    """bench human rank's agreement reads every per-image metric: the reward metrics' rows take part."""
    from bench.human.rank import agreement

    values = {"A": {("p0", 0): 2.0, ("p1", 0): 1.0}, "B": {("p0", 0): 1.0, ("p1", 0): 3.0}}
    scores = {s: {"imagereward": {"higher_is_better": True, "display": "ImageReward (en)", "values": v}}
              for s, v in values.items()}
    votes = [{"prompt_id": "p0", "sample": 0, "left_system": "A", "right_system": "B", "answer": "left"},
             {"prompt_id": "p1", "sample": 0, "left_system": "A", "right_system": "B", "answer": "left"}]
    out = agreement(votes, scores, {"A": 1010.0, "B": 990.0}, n_boot=10, seed=0)
    assert out["imagereward"]["agreement"] == 0.5 and out["imagereward"]["n"] == 2


def test_reward_judges_option_takes_a_folder_or_a_name(run, tmp_path):
    import shutil

    folder = tmp_path / "my-imagereward"
    shutil.copytree(zoo.ensure("tiny-imagereward"), folder)
    summary = evaluate_run(run, EvalConfig(metrics=("imagereward",), reward_judges=(f"imagereward={folder}",)))
    judge = summary["judges"][str(folder)]
    assert judge["model_id"] == str(folder) and judge["weights"].startswith("sha256:")
    same = scores(run, "imagereward")["value"].to_numpy()
    evaluate_run(run, EvalConfig(metrics=("imagereward",), reward_judges=("imagereward=tiny-imagereward",)))
    np.testing.assert_allclose(scores(run, "imagereward")["value"].to_numpy(), same, atol=1e-6)
    for bad, message in (("pickscore", "ROLE=JUDGE"), ("clip=tiny-clip", "ROLE=JUDGE"),
                         ("hpsv2=tiny-pickscore", "not a hpsv2 judge"), ("hpsv2=tiny-hps", "did you mean")):
        with pytest.raises(BenchError, match=message):
            evaluate_run(run, EvalConfig(metrics=("hpsv2",), reward_judges=(bad,)))


def test_real_runs_without_the_weights_skip_the_rewards_and_name_the_missing_file(bench_home, tmp_path, monkeypatch):
    from evalkit import make_run, write_prompt_set

    from bench.evaluation.evaluate import EvalContext
    from bench.evaluation.scoring import choose_metrics
    from bench.generation.runs import read_run

    monkeypatch.setenv("BENCH_PROMPTS_DIR", str(write_prompt_set(tmp_path / "prompts")))
    real = make_run(tmp_path / "runs", run_id="real-culture-zh", n_prompts=2, samples=1, tier="real")
    with pytest.raises(BenchError) as info:
        evaluate_run(real, EvalConfig(metrics=("imagereward",)))
    assert "THUDM/ImageReward" in str(info.value) and "not available offline" in str(info.value)
    _, skipped = choose_metrics(EvalContext(read_run(real), EvalConfig()), None)
    assert "yuvalkirstain/PickScore_v1" in skipped["pickscore"] and "xswu/HPSv2" in skipped["hpsv2"]
