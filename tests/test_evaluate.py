"""bench evaluate: summaries, caching and determinism, warnings, and one-line errors for bad input."""

from __future__ import annotations

import json
import sys

import polars as pl
import pytest
from evalkit import eval_world, make_run, write_prompt_set

from bench.core import paths
from bench.core.errors import BenchError, NotAvailableOffline
from bench.evaluation.evaluate import EvalConfig, evaluate_run
from bench.instruments.refstats import RefstatsConfig, build_refstats


@pytest.fixture
def world(bench_home, tmp_path, monkeypatch):
    run, refs = eval_world(tmp_path, monkeypatch, n_prompts=3, samples=2, n_refs=8, long_text=True)
    build_refstats(RefstatsConfig("toy", str(refs), extractor="tiny-inception", judge="tiny-clip"))
    return run


def _without_timings(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k != "timings"}


def test_evaluate_writes_scores_summary_and_result_copy(world):
    summary = evaluate_run(world, EvalConfig(refstats="toy", copy_to_reports=True))
    assert set(summary["metrics"]) == {"clip-score", "clip-score-en", "fid", "kid", "cmmd", "culture-accuracy",
                                       "culture-accuracy-en"}
    for name, result in summary["metrics"].items():
        table = pl.read_parquet(world / "scores" / f"{name}.parquet")
        assert table.height == 6 == result["n"]  # one row per image
        assert {"prompt_id", "sample", "file"} <= set(table.columns)
    clip = summary["metrics"]["clip-score"]
    table = pl.read_parquet(world / "scores" / "clip-score.parquet")
    assert clip["value"] == pytest.approx(table["value"].mean())
    assert clip["ci"][0] <= clip["value"] <= clip["ci"][1]
    assert summary["tier"] == "tiny" and summary["lang"] == "zh" and summary["spec"]["model_name"] == "tiny-sys"
    assert set(summary["judges"]) == {"tiny-altclip", "tiny-clip"}
    assert {r["name"] for r in summary["refstats"]} == {"toy"}
    assert {"torch", "transformers", "clean-fid"} <= set(summary["versions"]) and "commit" in summary["git"]
    copy = paths.read_json(paths.results_dir() / f"{world.name}.json")
    assert copy == paths.read_json(world / "summary.json") == json.loads(json.dumps(summary))


def test_long_prompts_are_truncated_and_counted(world):
    summary = evaluate_run(world, EvalConfig(metrics=("clip-score",)))
    result = summary["metrics"]["clip-score"]
    assert result["truncated_prompts"] == 1 and result["prompts"] == 3 and result["context_length"] == 64
    assert any("truncated" in w for w in summary["warnings"])
    table = pl.read_parquet(world / "scores" / "clip-score.parquet")
    assert table.filter(pl.col("truncated"))["prompt_id"].unique().to_list() == ["p000"]


def test_same_run_twice_gives_identical_summary_and_reuses_everything(world):
    first = evaluate_run(world, EvalConfig(refstats="toy"))
    second = evaluate_run(world, EvalConfig(refstats="toy"))
    assert _without_timings(first) == _without_timings(second)
    assert sorted(first["timings"]["features_computed"]) == ["judge-tiny-altclip", "judge-tiny-clip",
                                                             "tiny-inception-clean"]
    assert second["timings"]["features_computed"] == []
    assert all(t["cached"] for t in second["timings"]["metrics"].values())
    # scores deleted: metrics recompute from the cached features, and the numbers are the same
    for path in (world / "scores").iterdir():
        path.unlink()
    third = evaluate_run(world, EvalConfig(refstats="toy"))
    assert third["timings"]["features_computed"] == []
    assert _without_timings(third) == _without_timings(first)


def test_rewritten_image_invalidates_cache(world):
    from evalkit import draw

    first = evaluate_run(world, EvalConfig(metrics=("clip-score-en",)))
    draw(12345).save(world / "images" / "p001_1.png")
    second = evaluate_run(world, EvalConfig(metrics=("clip-score-en",)))
    assert second["timings"]["features_computed"] == ["judge-tiny-clip"]
    assert second["metrics"]["clip-score-en"]["value"] != first["metrics"]["clip-score-en"]["value"]


def test_warns_when_judge_shares_weights_with_system(bench_home, tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_PROMPTS_DIR", str(write_prompt_set(tmp_path / "prompts")))
    monkeypatch.setenv("BENCH_REPORTS_DIR", str(tmp_path / "reports"))
    run = make_run(tmp_path / "runs", spec_extra={"model": {"student_encoder": "zoo:tiny-altclip-judge"}})
    summary = evaluate_run(run, EvalConfig(metrics=("clip-score",)))
    assert any("tiny-altclip" in w and "shares weights" in w for w in summary["warnings"])
    plain = make_run(tmp_path / "runs", run_id="other-run")
    assert not any("shares weights" in w for w in evaluate_run(plain, EvalConfig(metrics=("clip-score",)))["warnings"])


def test_missing_image_is_named(world):
    (world / "images" / "p001_0.png").unlink()
    with pytest.raises(BenchError, match="p001_0.png.*missing"):
        evaluate_run(world, EvalConfig(metrics=("clip-score",)))


def test_corrupt_image_is_named_for_judges_and_fid(world):
    (world / "images" / "p002_1.png").write_bytes(b"not a png")
    with pytest.raises(BenchError, match="p002_1.png is corrupt"):
        evaluate_run(world, EvalConfig(metrics=("clip-score",)))
    with pytest.raises(BenchError, match="p002_1.png is corrupt"):
        evaluate_run(world, EvalConfig(metrics=("fid",), refstats="toy"))


def test_unknown_metric_suggests(world):
    with pytest.raises(BenchError, match="unknown metric 'clip-scor'; did you mean 'clip-score'"):
        evaluate_run(world, EvalConfig(metrics=("clip-scor",)))


def test_missing_refstats_says_how_to_build(world):
    with pytest.raises(BenchError, match="no reference statistics 'coco'.*known: toy.*bench refstats build"):
        evaluate_run(world, EvalConfig(metrics=("fid",), refstats="coco"))
    with pytest.raises(BenchError, match="need reference statistics: pass --refstats"):
        evaluate_run(world, EvalConfig(metrics=("kid",)))


def test_judge_not_available_offline_fails_before_any_work(world):
    with pytest.raises(NotAvailableOffline, match="BAAI/AltCLIP-m18.*not available offline"):
        evaluate_run(world, EvalConfig(metrics=("clip-score",), judge="altclip-m18"))
    assert not (world / "scores").exists() and not (world / "features").exists()


def test_metric_that_does_not_apply_is_an_error_when_asked_and_skipped_by_default(bench_home, tmp_path,
                                                                                    monkeypatch):
    monkeypatch.setenv("BENCH_PROMPTS_DIR", str(write_prompt_set(tmp_path / "prompts")))
    monkeypatch.setenv("BENCH_REPORTS_DIR", str(tmp_path / "reports"))
    run = make_run(tmp_path / "runs")
    lines = [json.loads(line) for line in (run / "metadata.jsonl").read_text().splitlines()]
    (run / "metadata.jsonl").write_text("".join(json.dumps({**r, "concept": None}) + "\n" for r in lines))
    with pytest.raises(BenchError, match="culture-accuracy.*name no concepts"):
        evaluate_run(run, EvalConfig(metrics=("culture-accuracy",)))
    summary = evaluate_run(run, EvalConfig())
    assert "culture-accuracy" in summary["skipped"] and "fid" in summary["skipped"]
    assert set(summary["metrics"]) == {"clip-score", "clip-score-en"}


def test_cli_bad_input_is_one_line_exit_2(world, monkeypatch, capsys):
    from bench import cli

    for argv, expected in [
        (["evaluate", "--run", str(world), "--metrics", "fdi"], "did you mean 'fid'"),
        (["evaluate", "--run", str(world), "--metrics", "fid", "--refstats", "nope"], "no reference statistics"),
        (["refstats", "build", "--name", "x", "--images", str(world / "nowhere"), "--tiny"], "does not exist"),
    ]:
        monkeypatch.setattr(sys, "argv", ["bench", *argv])
        with pytest.raises(SystemExit) as exc:
            cli.main()
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and expected in err and "\n" not in err


def test_judge_check_retrieval(world, tmp_path):
    from bench.evaluation.judge_check import JudgeCheckConfig, judge_check, retrieval_accuracy

    pairs = tmp_path / "pairs.jsonl"
    rows = [json.loads(line) for line in (world / "metadata.jsonl").read_text().splitlines() if '"sample": 0' in line]
    pairs.write_text("".join(json.dumps({"image": str(world / r["file"]), "text": r["text"], "text_en": r["text_en"]},
                                        ensure_ascii=False) + "\n" for r in rows))
    result = judge_check(JudgeCheckConfig(lang="zh", pairs=str(pairs), tier="tiny"))
    assert result["judge"] == "tiny-altclip" and result["n"] == 3 and result["chance_r1"] == pytest.approx(1 / 3)
    assert 0.0 <= result["r1_native"] <= result["r5_native"] == 1.0
    import numpy as np

    eye = np.eye(3)
    assert retrieval_accuracy(eye, eye) == 1.0 and retrieval_accuracy(eye, eye[[1, 2, 0]]) == 0.0


def test_refstats_from_a_dataset_match_the_folder_and_names_carry_parameters(world, tmp_path):
    import numpy as np

    from bench.instruments.refstats import find_refstats, list_refstats, load_refstats

    refs = tmp_path / "refs"
    build_refstats(RefstatsConfig("viahf", f"hf:{refs}", extractor="tiny-inception", judge=None))
    build_refstats(RefstatsConfig("small", str(refs), extractor="tiny-inception", judge=None, size=32))
    names = {m["file"] for m in list_refstats()}
    assert {"toy_clean_tiny-inception_native.npz", "toy_judge_judge-tiny-clip_native.npz",
            "viahf_clean_tiny-inception_native.npz", "small_clean_tiny-inception_32.npz"} <= names
    folder = load_refstats(find_refstats("toy", "clean", "tiny-inception"))
    dataset = load_refstats(find_refstats("viahf", "clean", "tiny-inception"))
    assert dataset.meta["n"] == folder.meta["n"] == 8
    np.testing.assert_allclose(dataset.mu, folder.mu, rtol=1e-5)
    with pytest.raises(NotAvailableOffline, match="not available offline"):
        build_refstats(RefstatsConfig("hub", "hf:nobody/no-such-set", extractor="tiny-inception", judge=None))


def test_prompt_set_defaults_pick_judges_unless_the_config_names_them(world, monkeypatch):
    from bench.evaluation import evaluate

    monkeypatch.setattr(evaluate, "EVAL_DEFAULTS", {})
    evaluate.register_eval_defaults("culture", judge="tiny-clip", judge_en="tiny-altclip")
    summary = evaluate_run(world, EvalConfig(metrics=("clip-score", "clip-score-en")))
    assert summary["metrics"]["clip-score"]["judge"] == "tiny-clip"
    assert summary["metrics"]["clip-score-en"]["judge"] == "tiny-altclip"
    summary = evaluate_run(world, EvalConfig(metrics=("clip-score",), judge="tiny-altclip"))
    assert summary["metrics"]["clip-score"]["judge"] == "tiny-altclip"
    with pytest.raises(ValueError):
        evaluate.register_eval_defaults("culture", jduge="x")


def test_set_toml_names_the_judges_a_set_is_scored_with(world, monkeypatch):
    from bench.evaluation import evaluate

    monkeypatch.setattr(evaluate, "EVAL_DEFAULTS", {})
    toml = paths.prompts_dir() / "culture" / "set.toml"
    toml.write_text(toml.read_text() + '[evaluate]\njudge = "tiny-clip"\njudge_en = "tiny-altclip"\n')
    summary = evaluate_run(world, EvalConfig(metrics=("clip-score", "clip-score-en"), copy_to_reports=False))
    assert summary["metrics"]["clip-score"]["judge"] == "tiny-clip"  # the tier default would be tiny-altclip
    assert summary["metrics"]["clip-score-en"]["judge"] == "tiny-altclip"
    toml.write_text(toml.read_text().replace("judge_en", "jduge_en"))
    with pytest.raises(BenchError, match="'evaluate.jduge_en' must be one of judge, judge_en, extractor"):
        evaluate_run(world, EvalConfig(metrics=("clip-score",), copy_to_reports=False))


def test_toy_world_sets_are_scored_by_the_world_clip(monkeypatch):
    from bench.evaluation.evaluate import set_eval_defaults

    monkeypatch.delenv("BENCH_PROMPTS_DIR", raising=False)
    for name in ("world-general", "world-culture"):
        assert set_eval_defaults(name) == {"judge": "world-clip", "judge_en": "world-clip", "extractor": "world-clip",
                                           "vqa_judge": "world-vqa"}
    assert set_eval_defaults("general") == {}
    assert set_eval_defaults("no-such-set") == {}


@pytest.mark.slow
def test_evaluate_generates_what_is_missing_then_scores(bench_home, tmp_path, monkeypatch):
    """End to end with the generation harness: a tiny system on two culture prompts, then a cached rerun."""
    from bench.evaluation.evaluate import evaluate
    from bench.generation import GenerateConfig

    monkeypatch.setenv("BENCH_REPORTS_DIR", str(tmp_path / "reports"))
    gen = GenerateConfig(model="asis-tiny-sd15", prompts="culture", lang="zh", samples=2, steps=2, limit=2)
    first = evaluate(gen, EvalConfig())
    assert first["n_images"] == 4 and first["tier"] == "tiny" and "culture-accuracy" in first["metrics"]
    second = evaluate(gen, EvalConfig())
    assert _without_timings(first) == _without_timings(second)
    assert all(t["cached"] for t in second["timings"]["metrics"].values())
