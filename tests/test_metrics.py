"""Metrics against their oracles: clean-fid for FID/KID, a plain CLIP forward for CLIP score, a loop for CMMD,
and a crafted judge with a known answer for culture accuracy."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import torch
from evalkit import CONCEPTS, eval_world
from PIL import Image

from bench.evaluation.evaluate import EvalConfig, evaluate_run
from bench.metrics import bootstrap_ci, get_metric, load_metrics


@pytest.fixture
def world(bench_home, tmp_path, monkeypatch):
    """A prompt set with concepts, a crafted tiny run and a reference folder, with results kept in tmp."""
    return eval_world(tmp_path, monkeypatch, n_prompts=4, samples=2, n_refs=10)


def test_every_metric_declares_name_direction_and_needs():
    from bench.metrics import NEEDS

    metrics = load_metrics()
    assert {"clip-score", "clip-score-en", "fid", "kid", "cmmd", "culture-accuracy", "culture-accuracy-en"} <= set(
        metrics.names())
    for name, m in metrics.items():
        assert m.name == name and isinstance(m.higher_is_better, bool) and set(m.needs) <= set(NEEDS)
    assert get_metric("fid").higher_is_better is False and get_metric("clip-score").higher_is_better is True


def test_clip_score_equals_plain_clip_forward(world):
    """CLIP score = 100 * max(cos, 0) with cos from CLIPModel's own forward (image_embeds . text_embeds)."""
    from transformers import CLIPModel, CLIPProcessor

    from bench.models import zoo

    run, _ = world
    evaluate_run(run, EvalConfig(metrics=("clip-score-en",)))
    scores = pl.read_parquet(run / "scores" / "clip-score-en.parquet").sort("file")
    folder = zoo.ensure("tiny-clip-judge")
    model, processor = CLIPModel.from_pretrained(folder).eval(), CLIPProcessor.from_pretrained(folder)
    import json

    rows = sorted((json.loads(line) for line in (run / "metadata.jsonl").read_text().splitlines()),
                  key=lambda r: r["file"])
    expected = []
    for row in rows:
        inputs = processor(text=[row["text_en"]], images=[Image.open(run / row["file"]).convert("RGB")],
                           return_tensors="pt", padding=True)
        with torch.no_grad():
            out = model(**inputs)
        cos = torch.nn.functional.cosine_similarity(out.image_embeds, out.text_embeds).item()
        expected.append(100 * max(cos, 0.0))
    np.testing.assert_allclose(scores["value"].to_numpy(), expected, atol=1e-4)
    assert any(v > 0 for v in expected)  # the comparison is not all clamped zeros


def test_clip_score_clamps_negative_cosine():
    from bench.metrics.clip_score import clip_scores

    img = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    txt = np.array([[1.0, 0.0], [0.0, -1.0], [0.8, 0.6]])
    scores, cos = clip_scores(img, txt)
    np.testing.assert_allclose(cos, [1.0, -1.0, 0.96])
    np.testing.assert_allclose(scores, [100.0, 0.0, 96.0])


def _tiny_fn():
    from bench.instruments.features import load_extractor

    return load_extractor("tiny-inception", "clean")


@pytest.mark.parametrize("mode", ["clean", "legacy_pytorch"])
def test_fid_equals_clean_fid_compute_fid(world, mode):
    from cleanfid.fid import compute_fid

    from bench.instruments.refstats import RefstatsConfig, build_refstats

    run, refs = world
    build_refstats(RefstatsConfig("refs", str(refs), extractor="tiny-inception", mode=mode, judge=None))
    summary = evaluate_run(run, EvalConfig(metrics=("fid",), refstats="refs", mode=mode))
    oracle = compute_fid(str(run / "images"), str(refs), mode=mode, custom_feat_extractor=_tiny_fn(),
                         device=torch.device("cpu"), num_workers=0, use_dataparallel=False, verbose=False)
    # fewer images than the 64 feature dimensions: the n x n route, equal to clean-fid's sqrtm up to its rounding
    assert summary["metrics"]["fid"]["value"] == pytest.approx(oracle, rel=1e-6)
    assert summary["metrics"]["fid"]["value"] > 0


@pytest.mark.parametrize("n", [3, 10, 63])
def test_singular_set_fid_equals_clean_fids_frechet_distance(n):
    """Below d images the n x n eigenproblem gives clean-fid's value; at d or more, clean-fid's own code runs."""
    from cleanfid.fid import frechet_distance

    from bench.metrics.fid import fid_value, singular_set_fid

    rng = np.random.default_rng(n)
    d = 64
    feats = np.abs(rng.normal(1.0, 0.5, (n, d))).astype(np.float32)
    refs = np.abs(rng.normal(1.1, 0.6, (200, d))).astype(np.float32)
    mu, sigma = refs.mean(axis=0), np.cov(refs, rowvar=False)
    oracle = float(frechet_distance(feats.mean(axis=0), np.cov(feats, rowvar=False), mu, sigma))
    assert singular_set_fid(feats, mu, sigma) == pytest.approx(oracle, rel=1e-7)
    assert fid_value(feats, mu, sigma) == singular_set_fid(feats, mu, sigma)
    full = np.abs(rng.normal(1.0, 0.5, (d + 5, d))).astype(np.float32)
    assert fid_value(full, mu, sigma) == float(frechet_distance(full.mean(axis=0), np.cov(full, rowvar=False),
                                                                mu, sigma))


def test_kid_equals_clean_fid_kernel_distance_with_seeded_rng(world):
    from cleanfid.fid import get_folder_features, kernel_distance

    from bench.instruments.refstats import RefstatsConfig, build_refstats

    run, refs = world
    build_refstats(RefstatsConfig("refs", str(refs), extractor="tiny-inception", judge=None))
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    summary = evaluate_run(run, EvalConfig(metrics=("kid",), refstats="refs"))
    assert (np.random.get_state()[1] == before).all()  # the caller's global RNG is left alone
    kw = dict(model=_tiny_fn(), num_workers=0, batch_size=32, device=torch.device("cpu"), mode="clean",
              verbose=False)
    f_run, f_ref = get_folder_features(str(run / "images"), **kw), get_folder_features(str(refs), **kw)
    np.random.seed(0)
    assert summary["metrics"]["kid"]["value"] == kernel_distance(f_run, f_ref)


def test_cmmd_equals_plain_loop():
    from bench.metrics.cmmd import cmmd_value

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(5, 4)), rng.normal(size=(7, 4)) + 0.5

    def k(a, b):
        return np.exp(-np.sum((a - b) ** 2) / (2 * 10.0**2))

    def mean_k(a, b):
        return np.mean([[k(p, q) for q in b] for p in a])

    expected = 1000 * (mean_k(x, x) + mean_k(y, y) - 2 * mean_k(x, y))
    assert cmmd_value(x, y) == pytest.approx(expected, rel=1e-10)
    assert cmmd_value(x, x) == pytest.approx(0.0, abs=1e-12)


def test_cmmd_uses_judge_reference_embeddings(world):
    from bench.instruments.features import judge_image_features
    from bench.instruments.refstats import RefstatsConfig, build_refstats, image_files
    from bench.metrics.cmmd import cmmd_value

    run, refs = world
    build_refstats(RefstatsConfig("refs", str(refs), extractor=None, judge="tiny-clip"))
    summary = evaluate_run(run, EvalConfig(metrics=("cmmd",), refstats="refs"))
    files = sorted((run / "images").glob("*.png"))
    expected = cmmd_value(judge_image_features(files, "tiny-clip"), judge_image_features(image_files(refs), "tiny-clip"))
    assert summary["metrics"]["cmmd"]["value"] == pytest.approx(expected, rel=1e-9)


class _ColourJudge:
    """A judge with a known answer: an image's red level 20*k means concept k; a label means its concept."""

    context_length = 77

    def __init__(self, spec):
        self.spec = spec
        self.labels = {c[3]: i for i, c in enumerate(CONCEPTS)} | {c[4]: i for i, c in enumerate(CONCEPTS)}

    def _onehot(self, index):
        v = np.zeros(len(CONCEPTS) + 1, np.float32)
        v[index] = 1.0
        return v

    def encode_images(self, images):
        return np.stack([self._onehot(int(round(np.asarray(img)[0, 0, 0] / 20))) for img in images])

    def encode_texts(self, texts):
        return np.stack([self._onehot(self.labels.get(t, len(CONCEPTS))) for t in texts]), 0

    def truncated_flags(self, texts):
        return [False] * len(texts)


def test_culture_accuracy_on_crafted_case_with_known_answer(world):
    from bench.instruments.judges import JUDGES, JudgeSpec, register_judge

    run, _ = world
    if "colour-judge" not in JUDGES:
        register_judge(JudgeSpec("colour-judge", "test:colour", "custom", "tiny", loader=_ColourJudge))
    import json

    rows = [json.loads(line) for line in (run / "metadata.jsonl").read_text().splitlines()]
    index = {c[0]: i for i, c in enumerate(CONCEPTS)}
    # p000 jiaozi (food): sample 1 drawn as a confuser; p001 qipao (clothing) and p002 gyoza (food) right;
    # p003 mandu (food): both drawn as its first confuser.
    wrong = {("p000", 1), ("p003", 0), ("p003", 1)}
    for row in rows:
        k = index[row["concept"]]
        if (row["prompt_id"], row["sample"]) in wrong:
            k = index[row["confusers"][0]]
        Image.new("RGB", (64, 64), (20 * k, 0, 0)).save(run / row["file"])
    summary = evaluate_run(run, EvalConfig(metrics=("culture-accuracy", "culture-accuracy-en"),
                                           judge="colour-judge", judge_en="colour-judge"))
    for name in ("culture-accuracy", "culture-accuracy-en"):
        result = summary["metrics"][name]
        assert result["value"] == pytest.approx(5 / 8) and result["n"] == 8
        assert result["per_category"]["food"]["value"] == pytest.approx(3 / 6)
        assert result["per_category"]["clothing"]["value"] == pytest.approx(2 / 2)
        assert result["chance"] == pytest.approx(1 / 4)
        lo, hi = result["ci"]
        assert 0.0 <= lo <= 5 / 8 <= hi <= 1.0
    table = pl.read_parquet(run / "scores" / "culture-accuracy.parquet")
    assert table.filter(pl.col("prompt_id") == "p003")["correct"].to_list() == [False, False]
    assert set(table.filter(pl.col("prompt_id") == "p003")["predicted"].to_list()) == {"jiaozi"}


def test_bootstrap_ci_resamples_prompts():
    values = [1.0, 1.0, 0.0, 0.0, 1.0, 0.0]
    groups = ["a", "a", "b", "b", "c", "c"]
    lo, hi = bootstrap_ci(values, groups)
    assert bootstrap_ci(values, groups) == (lo, hi)  # seeded
    # per-prompt means are 1, 0, 0.5: resampled means lie in [0, 1] and the CI brackets 0.5
    assert 0.0 <= lo < 0.5 < hi <= 1.0
    assert bootstrap_ci([3.0, 3.0], ["a", "b"]) == (3.0, 3.0)
    assert bootstrap_ci([1.0], ["a"]) is None


def _tiny_chinese_clip(folder, texts):
    """A ChineseCLIPModel folder (BERT word-piece tokenizer over the characters of `texts`)."""
    from transformers import (
        BertTokenizer,
        ChineseCLIPConfig,
        ChineseCLIPImageProcessor,
        ChineseCLIPModel,
        ChineseCLIPProcessor,
    )

    chars = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted(set("".join(texts)) - {" "})
    tokenizer = BertTokenizer(vocab={c: i for i, c in enumerate(chars)}, model_max_length=52)
    torch.manual_seed(0)
    config = ChineseCLIPConfig(
        text_config=dict(vocab_size=len(chars), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, max_position_embeddings=64),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                           image_size=32, patch_size=8, projection_dim=32),
        projection_dim=32)
    ChineseCLIPModel(config).save_pretrained(folder)
    processor = ChineseCLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    ChineseCLIPProcessor(image_processor=processor, tokenizer=tokenizer).save_pretrained(folder)
    return folder


@pytest.mark.parametrize("family", ["altclip", "chinese-clip"])
def test_multilingual_clip_score_equals_plain_forward(world, tmp_path, family):
    """The native-prompt CLIP score through AltCLIPModel and ChineseCLIPModel equals their own forward pass."""
    import json

    import transformers

    from bench.instruments.judges import JUDGES, JudgeSpec, register_judge
    from bench.models import zoo

    run, _ = world
    rows = sorted((json.loads(line) for line in (run / "metadata.jsonl").read_text().splitlines()),
                  key=lambda r: r["file"])
    if family == "altclip":
        judge, folder, model_cls = "tiny-altclip", zoo.ensure("tiny-altclip-judge"), transformers.AltCLIPModel
        processor_cls = transformers.AltCLIPProcessor
    else:
        judge, model_cls, processor_cls = "test-chinese-clip", transformers.ChineseCLIPModel, transformers.ChineseCLIPProcessor
        folder = _tiny_chinese_clip(tmp_path / "cclip", [r["text"] for r in rows])
        if judge in JUDGES:
            JUDGES._entries.pop(judge)
        register_judge(JudgeSpec(judge, str(folder), "chinese-clip", "tiny", ("zh",)))
    summary = evaluate_run(run, EvalConfig(metrics=("clip-score",), judge=judge))
    table = pl.read_parquet(run / "scores" / "clip-score.parquet").sort("file")
    model, processor = model_cls.from_pretrained(folder).eval(), processor_cls.from_pretrained(folder)
    expected = []
    for row in rows:
        inputs = processor(text=[row["text"]], images=[Image.open(run / row["file"]).convert("RGB")],
                           return_tensors="pt", padding=True)
        with torch.no_grad():
            out = model(**inputs)
        expected.append(torch.nn.functional.cosine_similarity(out.image_embeds, out.text_embeds).item())
    np.testing.assert_allclose(table["cos"].to_numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(table["value"].to_numpy(), 100 * np.maximum(expected, 0), atol=1e-3)
    assert summary["judges"][judge]["kind"] == family
