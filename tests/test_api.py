"""The Python API mirrors the CLI: every stage command calls exactly its bench.<stage> function."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

import bench
from bench.cli import app
from bench.corpus.build import CorpusConfig
from bench.evaluation.evaluate import EvalConfig
from bench.generation.config import GenerateConfig
from bench.training.config import TrainConfig


class Called(Exception):
    """Raised by a stand-in API function once it has recorded its call."""


@pytest.fixture
def calls(monkeypatch):
    """Replace every API function with a recorder; returns {name: (args, kwargs)}."""
    seen: dict[str, tuple] = {}
    for name in bench.__all__:
        def record(*args, _name=name, **kwargs):
            seen[_name] = (args, kwargs)
            raise Called(_name)

        monkeypatch.setattr(bench, name, record)
    return seen


def test_build_corpus_command_calls_bench_build_corpus(calls):
    result = CliRunner().invoke(app, ["build-corpus", "--lang", "ko", "--source", "sample", "--translator", "none",
                                      "--name", "api-ko", "--shard-size", "7"])
    assert isinstance(result.exception, Called), result.output
    (config,), kwargs = calls["build_corpus"]
    assert isinstance(config, CorpusConfig) and kwargs == {"progress": True}
    assert (config.lang, config.sources, config.translator, config.name, config.shard_size) == (
        "ko", ("sample",), "none", "api-ko", 7)


def test_train_command_calls_bench_train(calls):
    result = CliRunner().invoke(app, ["train", "--lang", "zh", "--base", "tiny-sd15", "--corpus", "c",
                                      "--encoder", "tiny", "--steps", "9"])
    assert isinstance(result.exception, Called), result.output
    (config,), _ = calls["train"]
    assert isinstance(config, TrainConfig) and (config.lang, config.base, config.steps) == ("zh", "tiny-sd15", 9)


def test_generate_command_calls_bench_generate(calls):
    result = CliRunner().invoke(app, ["generate", "-m", "asis-world", "-p", "world-general", "-l", "zh",
                                      "--steps", "3"])
    assert isinstance(result.exception, Called), result.output
    (config,), _ = calls["generate"]
    assert isinstance(config, GenerateConfig)
    assert (config.model, config.prompts, config.lang, config.steps) == ("asis-world", "world-general", "zh", 3)


def test_evaluate_command_calls_bench_evaluate(calls, tmp_path):
    run = tmp_path / "some-run"
    run.mkdir()
    result = CliRunner().invoke(app, ["evaluate", "--run", str(run), "--metrics", "clip-score"])
    assert isinstance(result.exception, Called), result.output
    (config,), kwargs = calls["evaluate"]
    assert isinstance(config, EvalConfig) and config.metrics == ("clip-score",)
    assert kwargs == {"run": run}


def test_compare_and_leaderboard_commands_call_their_functions(calls):
    result = CliRunner().invoke(app, ["compare", "run-a", "run-b", "--metrics", "clip-score", "--no-consistency"])
    assert isinstance(result.exception, Called), result.output
    assert calls["compare"] == (("run-a", "run-b", ("clip-score",)), {"consistency": False, "device": "cpu"})
    result = CliRunner().invoke(app, ["leaderboard", "--no-grids"])
    assert isinstance(result.exception, Called), result.output
    assert calls["leaderboard"] == ((), {"grids": False, "prefer": ()})


def test_a_config_or_its_fields_but_not_both():
    with pytest.raises(TypeError, match="not both"):
        bench.generate(GenerateConfig(model="m", prompts="p", lang="zh"), steps=3)
    with pytest.raises(TypeError, match="expected a GenerateConfig"):
        bench.generate(EvalConfig())
    with pytest.raises(TypeError, match="run= .* or generation="):
        bench.evaluate()


def test_build_corpus_from_keywords_equals_the_command(tmp_path, monkeypatch):
    """The same corpus, row for row, from bench.build_corpus(**fields) and from `bench build-corpus`."""
    import polars as pl

    from bench.corpus.folder import shard_files

    monkeypatch.setenv("BENCH_CORPORA_DIR", str(tmp_path))
    result = bench.build_corpus(lang="ko", sources=("sample",), translator="none", name="by-api")
    cli = CliRunner().invoke(app, ["build-corpus", "--lang", "ko", "--source", "sample", "--translator", "none",
                                   "--name", "by-cli"])
    assert cli.exit_code == 0, cli.output
    api_rows = pl.read_parquet(shard_files(result.folder))
    cli_rows = pl.read_parquet(shard_files(tmp_path / "by-cli"))
    assert result.manifest["rows"]["kept"] == len(api_rows) > 0
    assert api_rows.equals(cli_rows)


def test_import_bench_and_its_api_names_load_no_torch():
    code = ("import bench, sys; [getattr(bench, n) for n in bench.__all__]; "
            "assert 'torch' not in sys.modules, 'torch loaded'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
