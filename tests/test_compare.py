"""Per-image scores in summaries, set-metric spreads, consistency with the English oracle, bench compare."""

from __future__ import annotations

import json
import sys

import numpy as np
import polars as pl
import pytest
from evalkit import make_reference_folder, make_run, write_prompt_set

from bench.core import paths
from bench.core.errors import BenchError
from bench.evaluation.evaluate import EvalConfig, evaluate_run
from bench.instruments.refstats import RefstatsConfig, build_refstats
from bench.stats.compare import compare_runs

ORACLE = {"model_name": "tiny-en", "model": {"name": "tiny-en", "system": {"kind": "english", "base": "tiny"}}}
SYSTEM = {"model": {"name": "tiny-sys", "system": {"kind": "pea", "base": "tiny"}}}
METRICS = ("clip-score-en", "culture-accuracy", "fid", "kid", "cmmd", "consistency")


@pytest.fixture
def pair(bench_home, tmp_path, monkeypatch):
    """An English oracle run and a system run of the same prompts and seeds (different pictures), evaluated."""
    monkeypatch.setenv("BENCH_PROMPTS_DIR", str(write_prompt_set(tmp_path / "prompts")))
    monkeypatch.setenv("BENCH_REPORTS_DIR", str(tmp_path / "reports"))
    refs = make_reference_folder(tmp_path / "refs", n=8)
    build_refstats(RefstatsConfig("toy", str(refs), extractor="tiny-inception", judge="tiny-clip"))
    oracle = make_run(paths.runs_dir(), "tiny-en-culture-en-aaa", n_prompts=4, samples=2, lang="en",
                      spec_extra=ORACLE)
    system = make_run(paths.runs_dir(), "tiny-sys-culture-zh-bbb", n_prompts=4, samples=2, seed=1,
                      spec_extra=SYSTEM | {"seed": 0})
    cfg = EvalConfig(metrics=METRICS[:-1], refstats="toy")
    evaluate_run(oracle, cfg)
    return oracle, system, evaluate_run(system, EvalConfig(metrics=METRICS, refstats="toy"))


def test_summary_keeps_per_image_scores_categories_and_set_metric_spreads(pair):
    oracle, system, summary = pair
    images = summary["images"]
    assert images["prompt_id"][:3] == ["p000", "p000", "p001"] and images["sample"][:2] == [0, 1]
    assert images["seed"][:3] == [0, 1, 10] and set(images["category"]) == {"food", "clothing"}
    table = pl.read_parquet(system / "scores" / "clip-score-en.parquet")
    assert summary["scores"]["clip-score-en"] == pytest.approx(table["value"].to_list(), abs=1e-6)
    assert "fid" not in summary["scores"]  # set-level: no per-image score to pair
    per_cat = summary["metrics"]["clip-score-en"]["per_category"]
    food = table.filter(pl.col("prompt_id") != "p001")["value"].mean()  # evalkit: p001 is clothing, the rest food
    assert set(per_cat) == {"food", "clothing"} and per_cat["food"]["value"] == pytest.approx(food)
    assert per_cat["food"]["n"] == 6 and per_cat["food"]["prompts"] == 3
    for name in ("fid", "kid", "cmmd"):
        result = summary["metrics"][name]
        lo, hi = result["ci"]
        assert lo < hi and (lo + hi) / 2 == pytest.approx(result["value"]), name
        assert result["ci_kind"].startswith("spread")


def test_consistency_is_the_image_cosine_to_the_oracle(pair):
    from bench.instruments.features import RunFeatures

    oracle, system, summary = pair
    result = summary["metrics"]["consistency"]
    assert result["oracle"] == oracle.name and result["n"] == 8 and result["unpaired"] == 0
    files = lambda run: sorted(run.glob("images/*.png"))  # noqa: E731 - run rows are sorted by file
    a = RunFeatures(system, files(system)).judge_images("tiny-clip")
    b = RunFeatures(oracle, files(oracle)).judge_images("tiny-clip")
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    assert result["value"] == pytest.approx(float(np.mean(np.sum(a * b, axis=1))), rel=1e-6)
    assert result["value"] < 0.999  # different pictures
    # a second oracle run holding only two prompts: the one that pairs with more images is chosen
    from bench.evaluation.evaluate import read_run
    from bench.metrics.pairing import find_oracle

    make_run(paths.runs_dir(), "a-tiny-en-culture-en-small", n_prompts=2, samples=2, lang="en", spec_extra=ORACLE)
    spec = paths.read_json(system / "spec.json")
    assert find_oracle(spec, rows=read_run(system).rows) == oracle
    assert find_oracle(spec).name == "a-tiny-en-culture-en-small"  # without rows: the first by name
    # the oracle against itself: the metric does not apply
    again = evaluate_run(oracle, EvalConfig(refstats="toy"))
    assert "consistency" in again["skipped"] and "oracle itself" in again["skipped"]["consistency"]


def test_compare_pairs_by_prompt_and_sample(pair):
    oracle, system, summary = pair
    result = compare_runs(system, oracle, consistency=True)
    rows = {r["metric"]: r for r in result["rows"]}
    assert set(rows) == {"clip-score-en", "culture-accuracy", "fid", "kid", "cmmd"}  # what both runs have
    a = pl.read_parquet(system / "scores" / "clip-score-en.parquet")["value"].to_numpy()
    b = pl.read_parquet(oracle / "scores" / "clip-score-en.parquet")["value"].to_numpy()
    r = rows["clip-score-en"]
    assert r["diff"] == pytest.approx(float(np.mean(a - b)), abs=1e-5)
    assert (r["n_prompts"], r["n_samples"], r["n_images"]) == (4, 2, 8)
    assert r["ci"][0] <= r["diff"] <= r["ci"][1] and 0 < r["p"] <= 1 and r["p_holm"] >= r["p"]
    assert result["consistency"]["value"] == pytest.approx(summary["metrics"]["consistency"]["value"], rel=1e-6)


def test_compare_cli_prints_writes_and_names_mismatches(pair, tmp_path, monkeypatch, capsys):
    from bench import cli

    oracle, system, _ = pair
    out = tmp_path / "cmp.json"
    monkeypatch.setattr(sys, "argv", ["bench", "compare", str(system), oracle.name, "--metrics", "clip-score-en",
                                      "--out", str(out)])
    with pytest.raises(SystemExit) as done:
        cli.main()
    assert done.value.code == 0
    printed = capsys.readouterr().out
    assert "clip-score-en" in printed and "4 prompts x 2 samples" in printed and "consistency" in printed
    assert json.loads(out.read_text())["rows"][0]["metric"] == "clip-score-en"

    short = make_run(paths.runs_dir(), "tiny-sys-culture-zh-ccc", n_prompts=3, samples=2, spec_extra=SYSTEM)
    evaluate_run(short, EvalConfig(metrics=("clip-score-en",)))
    monkeypatch.setattr(sys, "argv", ["bench", "compare", str(system), str(short)])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1
    assert err.startswith("error: prompt ids/samples differ: 2 image(s) only in A (p003/0, p003/1)")

    reseeded = make_run(paths.runs_dir(), "tiny-sys-culture-zh-ddd", n_prompts=4, samples=2, spec_extra=SYSTEM)
    meta = reseeded / "metadata.jsonl"
    rows = [json.loads(line) for line in meta.read_text().splitlines()]
    rows[0]["seed"] = 12345
    meta.write_text("".join(json.dumps(r) + "\n" for r in rows))
    evaluate_run(reseeded, EvalConfig(metrics=("clip-score-en",)))
    with pytest.raises(BenchError, match=r"seeds differ for 1 of 8 image\(s\) \(first p000/0: 0 vs 12345\)"):
        compare_runs(oracle, reseeded)
    with pytest.raises(BenchError, match="metric 'consistency' is not scored in both runs"):
        compare_runs(system, oracle, metrics=("consistency",))


def test_compare_set_metrics_by_prompt_resampling_and_swaps(pair):
    from bench.instruments.refstats import load_refstats
    from bench.metrics.cmmd import cmmd_value

    oracle, system, summary = pair
    result = compare_runs(system, oracle, metrics=("cmmd", "fid"), consistency=False)
    rows = {r["metric"]: r for r in result["rows"]}
    oracle_summary = paths.read_json(oracle / "summary.json")
    for name in ("cmmd", "fid"):
        r = rows[name]
        assert r["diff"] == pytest.approx(summary["metrics"][name]["value"] - oracle_summary["metrics"][name]["value"])
        assert r["ci"][0] < r["diff"] < r["ci"][1] and 0 < r["p"] <= 1 and r["n_images"] == 8
    # the CMMD difference recomputed by hand from the cached embeddings and the reference file
    ref = load_refstats(paths.cache_dir("refstats") / summary["metrics"]["cmmd"]["settings"]["refstats"]["file"])
    emb = lambda run: np.load(run / "features" / "judge-tiny-clip.npz")["feats"]  # noqa: E731
    direct = cmmd_value(emb(system), ref.feats) - cmmd_value(emb(oracle), ref.feats)
    assert rows["cmmd"]["diff"] == pytest.approx(direct, rel=1e-6)
