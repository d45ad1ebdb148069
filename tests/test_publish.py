"""Re-evaluation merges metrics; publishing to reports/results is explicit and keeps out non-comparable runs."""

from __future__ import annotations

import json
import sys

import pytest
from evalkit import eval_world, make_run

from bench.core import paths
from bench.core.errors import BenchError
from bench.evaluation.evaluate import EvalConfig, evaluate_run
from bench.evaluation.publish import publish_run
from bench.instruments.refstats import RefstatsConfig, build_refstats


@pytest.fixture
def world(bench_home, tmp_path, monkeypatch):
    run, refs = eval_world(tmp_path, monkeypatch, n_prompts=3, samples=2, n_refs=8)
    build_refstats(RefstatsConfig("toy", str(refs), extractor="tiny-inception", judge="tiny-clip"))
    return run


def test_reevaluating_a_subset_keeps_the_other_metrics_in_summary_and_published_copy(world):
    full = evaluate_run(world, EvalConfig(refstats="toy", copy_to_reports=True))
    assert {"kid", "cmmd", "culture-accuracy", "fid", "clip-score"} <= set(full["metrics"])
    published = paths.results_dir() / f"{world.name}.json"
    # docs/evaluation.md's re-evaluation: two metrics, and a different judge for CLIP score.
    again = evaluate_run(world, EvalConfig(metrics=("clip-score", "fid"), refstats="toy", judge="tiny-clip"))
    assert set(again["metrics"]) == set(full["metrics"])
    for name in ("kid", "cmmd", "culture-accuracy", "culture-accuracy-en", "clip-score-en"):
        assert again["metrics"][name] == full["metrics"][name]  # stored values stay
        assert again["timings"]["metrics"][name]["kept"] is True
    assert again["metrics"]["clip-score"]["judge"] == "tiny-clip" != full["metrics"]["clip-score"]["judge"]
    assert again["metrics"]["clip-score"]["value"] != full["metrics"]["clip-score"]["value"]  # recomputed
    assert again["metrics"]["fid"] == full["metrics"]["fid"]
    assert paths.read_json(world / "summary.json") == json.loads(json.dumps(again))
    assert paths.read_json(published) == json.loads(json.dumps(again))  # the published copy follows
    assert not again["skipped"]


def test_other_images_drop_the_stored_metrics(world):
    evaluate_run(world, EvalConfig(refstats="toy"))
    rows = (world / "metadata.jsonl").read_text(encoding="utf-8").splitlines()
    (world / "metadata.jsonl").write_text("\n".join(rows[:-1]) + "\n", encoding="utf-8")  # one image fewer
    again = evaluate_run(world, EvalConfig(metrics=("clip-score",)))
    assert set(again["metrics"]) == {"clip-score"} and again["n_images"] == 5


def test_evaluation_is_not_published_unless_asked(world):
    evaluate_run(world, EvalConfig(metrics=("clip-score",)))
    assert not (paths.results_dir() / f"{world.name}.json").exists()
    path, problems = publish_run(world)
    assert problems == [] and path.is_file() and paths.read_json(path)["run_id"] == world.name


def test_a_run_with_other_settings_is_kept_out_with_reasons(world, tmp_path):
    evaluate_run(world, EvalConfig(metrics=("clip-score",), copy_to_reports=True))
    scratch = make_run(tmp_path / "runs", run_id="tiny-sys-culture-zh-limit", n_prompts=2, samples=1,
                       spec_extra={"prompts": {"name": "culture", "version": "1", "limit": 2}, "steps": 2})
    evaluate_run(scratch, EvalConfig(metrics=("clip-score",), copy_to_reports=True))
    assert not (paths.results_dir() / f"{scratch.name}.json").exists()
    path, problems = publish_run(scratch)
    assert not path.exists()
    assert any(p.startswith("--limit 2 where the 1 published culture results use None") for p in problems)
    assert any(p.startswith("--samples 1 ") for p in problems) and any(p.startswith("--steps 2 ") for p in problems)


def test_cli_publish_and_evaluate_messages(world, monkeypatch, capsys):
    import sys

    from bench import cli

    def bench(*args):
        monkeypatch.setattr(sys, "argv", ["bench", *args])
        with pytest.raises(SystemExit) as exit_:
            cli.main()
        return exit_.value.code, capsys.readouterr()

    code, out = bench("evaluate", "--run", str(world), "--metrics", "clip-score")
    assert code == 0 and f"bench publish {world.name}" in out.out
    code, out = bench("publish", str(world))
    assert code == 0 and "published" in out.out
    code, out = bench("publish", str(world.parent / "nope"))
    assert code == 2 and out.err.startswith("error: ") and "does not exist" in out.err
    with pytest.raises(BenchError):
        publish_run(world.parent / "nope")


def test_leaderboard_filters_and_exports_csv_and_json(world, tmp_path, monkeypatch, capsys):
    import csv
    import io

    from bench.report.export import export, filtered_entries

    zh = evaluate_run(world, EvalConfig(metrics=("clip-score",), copy_to_reports=True))
    ko_run = make_run(tmp_path / "runs", run_id="tiny-sys-culture-ko-abc", n_prompts=3, samples=2, lang="ko")
    ko = evaluate_run(ko_run, EvalConfig(metrics=("clip-score",), copy_to_reports=True))
    assert {e.lang for e in filtered_entries()} == {"zh", "ko"}
    only_ko = filtered_entries(langs=("ko",), prompts=("culture",), tiers=("tiny",))
    assert [e.summary["run_id"] for e in only_ko] == [ko["run_id"]]
    assert filtered_entries(tiers=("real",)) == []
    table = list(csv.DictReader(io.StringIO(export(only_ko, "csv"))))
    assert len(table) == 1 and table[0]["metric"] == "clip-score" and table[0]["lang"] == "ko"
    assert float(table[0]["value"]) == pytest.approx(ko["metrics"]["clip-score"]["value"])
    data = json.loads(export(filtered_entries(langs=("zh",)), "json"))
    assert data[0]["value"] == zh["metrics"]["clip-score"]["value"] and data[0]["run_id"] == zh["run_id"]

    from bench import cli

    monkeypatch.setattr(sys, "argv", ["bench", "leaderboard", "--lang", "ko", "--format", "csv"])
    with pytest.raises(SystemExit):
        cli.main()
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("tier,prompt_set,system,lang,metric,value") and len(out.splitlines()) == 2
