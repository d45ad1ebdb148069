"""Lists and suite files: every applicable cell runs, the others are listed with reasons, a killed suite resumes."""

from __future__ import annotations

import sys

import pytest

from bench.core import paths
from bench.core.errors import BenchError
from bench.evaluation.suite import Suite, plan_cells, run_suite, table_lines

SUITE = """
name = "world-smoke"
models = ["world-en", "asis-world", "world-pea-zh"]
prompts = ["world-general"]
langs = ["zh", "ko"]
[generate]
samples = 1
steps = 2
scheduler = "ddim"
limit = 2
dtype = "float32"
[evaluate]
metrics = ["world-accuracy", "clip-score"]
judge = "world-clip"
judge_en = "world-clip"
"""


@pytest.fixture
def suite_file(bench_home, tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_REPORTS_DIR", str(tmp_path / "reports"))
    path = tmp_path / "suite.toml"
    path.write_text(SUITE, encoding="utf-8")
    return path


def test_cells_apply_or_say_why(suite_file):
    cells, skipped = plan_cells(Suite.from_toml(suite_file))
    assert [(c.model, c.lang) for c in cells] == [("world-en", "en"), ("asis-world", "zh"), ("asis-world", "ko")]
    reasons = {(c.model, c.lang): why for c, why in skipped}
    assert "needs a PEA checkpoint" in reasons[("world-pea-zh", "zh")]  # nothing trained in this home
    assert "does not take 'ko' prompts" in reasons[("world-pea-zh", "ko")]


def test_bad_suite_files_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(SUITE.replace("models", "modles"), encoding="utf-8")
    with pytest.raises(BenchError, match="did you mean 'models'"):
        Suite.from_toml(bad)
    bad.write_text(SUITE.replace('"world-en"', '"world-eng"'), encoding="utf-8")
    with pytest.raises(BenchError, match="world-en"):
        plan_cells(Suite.from_toml(bad))
    with pytest.raises(BenchError, match="does not exist"):
        Suite.from_toml(tmp_path / "missing.toml")


def test_killed_suite_resumes_and_ends_with_one_table(suite_file):
    from bench.evaluation.evaluate import evaluate_run
    from bench.generation import GenerateConfig, generate

    suite = Suite.from_toml(suite_file)
    calls = []

    def evaluate_cell(cell, kill_at=None):
        calls.append(cell.key)
        if len(calls) == kill_at:
            raise KeyboardInterrupt
        folder = generate(GenerateConfig(model=cell.model, prompts=cell.prompts, lang=cell.lang, **suite.generate),
                          progress=False)
        return evaluate_run(folder, suite.eval_config())

    lines = []
    with pytest.raises(KeyboardInterrupt):
        run_suite(suite, echo=lines.append, evaluate_cell=lambda c: evaluate_cell(c, kill_at=2))
    assert any(line.startswith("interrupted: 1 of 3 cells finished; run the same command again") for line in lines)
    calls.clear()
    table = run_suite(suite, echo=lines.append, evaluate_cell=evaluate_cell)
    assert calls == ["asis-world|world-general|zh", "asis-world|world-general|ko"]  # the first cell was kept
    assert [(r["model"], r["lang"], r["n_images"]) for r in table["rows"]] == [
        ("world-en", "en", 2), ("asis-world", "zh", 2), ("asis-world", "ko", 2)]
    for row in table["rows"]:
        summary = paths.read_json(paths.runs_dir() / row["run_id"] / "summary.json")
        assert row["metrics"] == {k: v["value"] for k, v in summary["metrics"].items()}
        assert set(row["metrics"]) == {"world-accuracy", "clip-score"}
    oracle = table["rows"][0]["metrics"]["world-accuracy"]
    assert oracle > max(r["metrics"]["world-accuracy"] for r in table["rows"][1:])  # English reads back best
    text = table_lines(table)
    assert text[0] == "| model | prompts | lang | n | clip-score | world-accuracy |"
    assert sum(line.startswith("not run: world-pea-zh") for line in text) == 2
    assert not paths.results_dir().exists()  # nothing published unless asked


def test_cli_lists_run_the_same_cells(suite_file, monkeypatch, capsys):
    from bench import cli

    args = ["bench", "evaluate", "-m", "world-en,asis-world", "-p", "world-general", "-l", "zh",
            "--samples", "1", "--steps", "2", "--scheduler", "ddim", "--limit", "2", "--dtype", "float32",
            "--metrics", "world-accuracy", "--judge", "world-clip", "--judge-en", "world-clip"]
    monkeypatch.setattr(sys, "argv", args)
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    out = capsys.readouterr().out
    assert exit_.value.code in (0, None)
    assert "| world-en | world-general | en | 2 |" in out and "| asis-world | world-general | zh | 2 |" in out
    monkeypatch.setattr(sys, "argv", ["bench", "run", str(suite_file), "--dry-run"])
    with pytest.raises(SystemExit):
        cli.main()
    out = capsys.readouterr().out
    assert "run  asis-world | world-general | ko" in out and "skip world-pea-zh | world-general | ko" in out
