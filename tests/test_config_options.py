"""One default per setting: CLI options derived from the config dataclasses, --config files, range checks."""

from __future__ import annotations

import dataclasses
import math

import pytest
import typer
from typer.testing import CliRunner

from bench.cli import app
from bench.core.config import flag_name, setting_meta
from bench.core.errors import BenchError
from bench.corpus.build import CorpusConfig
from bench.corpus.fetch import FetchConfig
from bench.corpus.filters import FilterSettings
from bench.evaluation.evaluate import EvalConfig
from bench.evaluation.judge_check import JudgeCheckConfig
from bench.generation.config import GenerateConfig
from bench.instruments.refstats import RefstatsConfig
from bench.training.config import TrainConfig

GEN_OWN = ("model", "prompts", "lang")


def _options(command: str) -> dict[str, object]:
    """flag -> click option of one command."""
    cmd = typer.main.get_command(app).commands[command]
    return {opt: p for p in cmd.params for opt in p.opts}


def _expected_default(f: dataclasses.Field):
    if f.default is dataclasses.MISSING:
        return None
    return ",".join(f.default) if isinstance(f.default, tuple) else f.default


@pytest.mark.parametrize(("command", "cls", "exclude"), [
    ("train", TrainConfig, ()),
    ("generate", GenerateConfig, ()),
    ("evaluate", GenerateConfig, GEN_OWN),
    ("evaluate", EvalConfig, ()),
])
def test_every_setting_is_an_option_with_the_dataclass_default(command, cls, exclude):
    options = _options(command)
    fields = [f for f in dataclasses.fields(cls) if f.name not in exclude and setting_meta(f).get("cli", True)]
    assert fields
    for f in fields:
        option = options.get(flag_name(f))
        assert option is not None, f"{command}: no option for {cls.__name__}.{f.name}"
        assert option.default == _expected_default(f), (command, f.name)
        assert setting_meta(f)["help"] and setting_meta(f)["help"] in option.help


def test_generate_and_evaluate_share_one_set_of_generation_options():
    generate, evaluate = _options("generate"), _options("evaluate")
    for f in dataclasses.fields(GenerateConfig):
        if f.name in GEN_OWN:
            continue
        flag = flag_name(f)
        assert generate[flag].default == evaluate[flag].default
        assert generate[flag].help.endswith(evaluate[flag].help.removeprefix("Generation: "))
    assert "--compile" in evaluate


@pytest.fixture
def captured_train(monkeypatch, tmp_path):
    """bench train with the training replaced by a recorder of the config it was given."""
    from bench.training import distill

    monkeypatch.setenv("BENCH_CORPORA_DIR", str(tmp_path / "corpora"))
    (tmp_path / "corpora" / "c").mkdir(parents=True)
    seen = {}

    def record(cfg):
        seen["cfg"] = cfg
        raise SystemExit(0)

    monkeypatch.setattr(distill, "train", record)
    return seen


def test_a_config_file_sets_any_setting_and_flags_win(captured_train, tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('lang = "zh"\nbase = "tiny-sd15"\ncorpus = "c"\nsteps = 7\nlr = 0.02\n'
                    '[train]\nbatch_size = 3\nrecipe = "paper"\nkd = "features"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["train", "--config", str(path), "--steps", "9", "--encoder", "tiny"])
    assert result.exit_code == 0, result.output
    cfg = captured_train["cfg"]
    assert (cfg.steps, cfg.lr, cfg.batch_size, cfg.recipe) == (9, 0.02, 3, "paper")  # --steps beat the file
    assert (cfg.kd_output, cfg.kd_features, cfg.kd_text_weight) == (False, True, 0.0)  # --kd is a field
    assert cfg.weight_decay == 0.1 and cfg.lr_decay_steps == 9  # the paper recipe, over this run's length
    assert (cfg.warmup_steps, cfg.seed) == (100, 0)  # untouched: the dataclass defaults


def test_a_flag_equal_to_its_default_still_beats_the_file(captured_train, tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('lang = "zh"\nbase = "tiny-sd15"\ncorpus = "c"\nsteps = 7\n', encoding="utf-8")
    CliRunner().invoke(app, ["train", "--config", str(path), "--steps", "1000"])
    assert captured_train["cfg"].steps == 1000


@pytest.mark.parametrize(("text", "message"), [
    ('lang = "zh"\nstesp = 3\n', "unknown key in .*'stesp'; did you mean 'steps'"),
    ('lang = "zh"\nsteps = "ten"\n', "--steps must be a whole number, got 'ten'"),
    ('lang = "zh"\n[trian]\nsteps = 3\n', "unknown table in .*'trian'; did you mean 'train'"),
    ('lang = "zh"\nsteps = \n', "not valid TOML"),
])
def test_bad_config_files_are_one_line_errors(captured_train, tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["train", "--config", str(path), "--base", "tiny-sd15", "--corpus", "c"])
    assert isinstance(result.exception, BenchError), result.output
    assert "cfg" not in captured_train
    import re

    assert re.search(message, str(result.exception)), str(result.exception)


def test_generate_reads_its_table_and_its_flags(monkeypatch, tmp_path):
    import bench.generation

    seen = {}

    def fake_plan(cfg):
        seen["cfg"] = cfg
        raise SystemExit(0)

    monkeypatch.setattr(bench.generation, "plan", fake_plan)
    path = tmp_path / "gen.toml"
    path.write_text('[generate]\nsamples = 2\nguidance = 3\nscheduler = "ddim"\n', encoding="utf-8")
    CliRunner().invoke(app, ["generate", "-m", "asis-world", "-p", "world-general", "-l", "zh", "--config",
                             str(path), "--guidance", "5.5", "--dry-run"])
    cfg = seen["cfg"]
    assert (cfg.samples, cfg.guidance, cfg.scheduler, cfg.steps) == (2, 5.5, "ddim", 30)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_guidance_is_refused_before_anything_runs(value, monkeypatch):
    import bench.generation

    monkeypatch.setattr(bench.generation, "plan", lambda cfg: pytest.fail("planned a run with guidance " + value))
    result = CliRunner().invoke(app, ["generate", "-m", "asis-world", "-p", "world-general", "-l", "zh",
                                      "--guidance", value, "--dry-run"])
    assert isinstance(result.exception, BenchError)
    assert "--guidance must be a finite number" in str(result.exception)
    with pytest.raises(BenchError, match="finite"):
        GenerateConfig(model="m", prompts="p", lang="zh", guidance=float(value))


@pytest.mark.parametrize(("overrides", "message"), [
    ({"warmup_steps": -1}, "--warmup-steps must be at least 0, got -1"),
    ({"save_every": 0}, "--save-every must be at least 1, got 0"),
    ({"steps": 0}, "--steps must be at least 1, got 0"),
    ({"lr": float("nan")}, "--lr must be a finite number"),
    ({"lr": 0.0}, "--lr must be greater than 0"),
    ({"cfg_dropout": 1.0}, "--cfg-dropout must be less than 1"),
    ({"noise_offset": -0.1}, "--noise-offset must be at least 0"),
    ({"resolution": 20}, "--resolution must be a positive multiple of 8, got 20"),
    ({"feature_weight": math.inf}, "--feature-weight must be a finite number"),
    ({"mixed_precision": "fp8"}, "--mixed-precision must be one of no, fp16, bf16"),
    ({"kd": "neither"}, "--kd must be one of both, output, features, text, all"),
    ({"recipe": "blog"}, "--recipe must be one of official, paper"),
    ({"lr_end": 1e-3, "lr": 1e-4}, "--lr-end .* must be below --lr"),
])
def test_training_settings_are_checked_in_the_config(overrides, message):
    base = dict(lang="zh", base="tiny-sd15", encoder="tiny", corpus="c")
    with pytest.raises(BenchError, match=message):
        TrainConfig(**{**base, **overrides})


def test_a_bad_training_value_fails_before_any_model_loads(monkeypatch, tmp_path):
    from bench.training import distill

    monkeypatch.setattr(distill.Trainer, "__init__", lambda *a, **k: pytest.fail("the trainer was built"))
    for args, message in ((["--save-every", "0"], "--save-every must be at least 1"),
                          (["--warmup-steps", "-5"], "--warmup-steps must be at least 0")):
        result = CliRunner().invoke(app, ["train", "--lang", "zh", "--base", "tiny-sd15", "--corpus",
                                          str(tmp_path), *args])
        assert isinstance(result.exception, BenchError) and message in str(result.exception)


def test_evaluation_settings_come_from_the_dataclass(monkeypatch):
    import bench.evaluation.evaluate

    seen = {}

    def record(folder, cfg):
        seen["cfg"] = cfg
        raise SystemExit(0)

    monkeypatch.setattr(bench.evaluation.evaluate, "evaluate_run", record)

    result = CliRunner().invoke(app, ["evaluate", "--run", ".", "--metrics", "clip-score,fid", "--mode", "clean",
                                      "--publish"])
    cfg = seen.get("cfg")
    assert cfg is not None, result.output
    assert cfg.metrics == ("clip-score", "fid") and cfg.copy_to_reports is True and cfg.device == "auto"
    with pytest.raises(BenchError, match="--mode must be one of"):
        EvalConfig(mode="tensorflow")


def test_tier_defaults_live_in_one_table():
    from bench.instruments.judges import TIER_DEFAULTS, default_english_judge, default_judge
    from bench.instruments.refstats import RefstatsConfig

    assert default_english_judge("tiny") == TIER_DEFAULTS["tiny"]["judge_en"]
    assert default_english_judge("real") == TIER_DEFAULTS["real"]["judge_en"]
    assert default_judge("tiny", "zh") == TIER_DEFAULTS["tiny"]["judge"]
    config = RefstatsConfig(name="x", images="y")
    assert (config.extractor, config.judge) == (TIER_DEFAULTS["real"]["extractor"], TIER_DEFAULTS["real"]["cmmd_judge"])


@pytest.mark.parametrize(("cls", "kwargs", "message"), [
    (CorpusConfig, dict(lang="ko", sources=("sample",), shard_size=0), "--shard-size must be at least 1, got 0"),
    (FilterSettings, dict(ratio_max=float("nan")), "--ratio-max must be a finite number"),
    (FilterSettings, dict(ratio_min=5.0), "min < max"),
    (FetchConfig, dict(corpus="c", threads=0), "--threads must be at least 1, got 0"),
    (JudgeCheckConfig, dict(lang="zh", limit=1), "--limit must be at least 2, got 1"),
    (RefstatsConfig, dict(name="n", images="i", size=-1), "--size must be at least 8, got -1"),
])
def test_every_stage_config_checks_its_numbers(cls, kwargs, message):
    with pytest.raises(BenchError, match=message):
        cls(**kwargs)
