"""The short commands as typed: `bench evaluate --model pea-zh`, `bench build-corpus --lang ko`, `bench train --lang ko`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench.cli import app

REPO = Path(__file__).resolve().parents[1]


def _bench(args, home, corpora, **env):
    """Run the real console entry point (its one-line error handling) in a fresh, offline process."""
    environ = {**os.environ, "BENCH_HOME": str(home), "BENCH_CORPORA_DIR": str(corpora), "HF_HUB_OFFLINE": "1",
               "HF_DATASETS_OFFLINE": "1", "PYTHONPATH": str(REPO), **env}
    return subprocess.run([sys.executable, "-c", "from bench.cli import main; main()", *args], env=environ,
                          capture_output=True, text=True, timeout=300)


def test_the_three_commands_fail_offline_in_one_line_naming_what_to_do(tmp_path):
    home, corpora = tmp_path / "home", tmp_path / "corpora"
    ev = _bench(["evaluate", "--model", "pea-zh"], home, corpora)
    assert ev.returncode == 2 and ev.stdout == "" and len(ev.stderr.strip().splitlines()) == 1, ev.stderr
    line = ev.stderr.strip()
    assert line.startswith("error: model 'pea-zh' cannot run here")
    for needed in ("OPPOer/PEA-Diffusion", "stabilityai/stable-diffusion-xl-base-1.0",
                   "OFA-Sys/chinese-clip-vit-huge-patch14", "bench train --lang zh --name pea-zh",
                   "huggingface-cli download"):
        assert needed in line, needed
    assert not (home / "runs").exists()  # it failed before doing anything else

    corpus = _bench(["build-corpus", "--lang", "ko"], home, corpora)
    assert corpus.returncode == 2 and len(corpus.stderr.strip().splitlines()) == 1, corpus.stderr
    assert "conceptual_captions" in corpus.stderr and "--source sample" in corpus.stderr
    assert "jsonl:FILE" in corpus.stderr and not corpora.exists()

    train = _bench(["train", "--lang", "ko"], home, corpora)
    assert train.returncode == 2 and len(train.stderr.strip().splitlines()) == 1, train.stderr
    assert "corpus cc3m-ko (the default for --lang ko)" in train.stderr
    assert "bench build-corpus --lang ko" in train.stderr


def test_evaluate_takes_the_language_and_every_matching_prompt_set_from_the_system(monkeypatch, bench_home):
    from bench.evaluation import defaults, suite
    assert defaults.prompt_sets_for("tiny-taiyi-zh", "zh") == ("culture", "general")
    assert defaults.prompt_sets_for("asis-world", "zh") == ("world-culture", "world-general")
    assert defaults.system_languages("pea-ko") == ("ko",)
    with pytest.raises(Exception, match="say which with --lang"):
        defaults.system_languages("translate-sdxl")

    seen = {}

    def fake_run_suite(s, echo=None):
        seen["suite"] = s
        return {"name": s.name, "rows": [], "skipped": []}  # what run_suite returns: the table

    monkeypatch.setattr(suite, "run_suite", fake_run_suite)
    import bench.commands.run as run_command

    monkeypatch.setattr(run_command, "print_table", lambda rows: None)
    result = CliRunner().invoke(app, ["evaluate", "--model", "tiny-taiyi-zh", "--samples", "1"])
    assert result.exit_code == 0, result.output
    s = seen["suite"]
    assert s.models == ("tiny-taiyi-zh",) and s.langs == ("zh",) and set(s.prompts) == {"general", "culture"}


def test_build_corpus_default_source_name_and_translator(monkeypatch, tmp_path):
    """With the default source reachable (here a local `datasets` folder stands in), the defaults apply."""
    import datasets

    from bench.corpus import defaults

    folder = tmp_path / "cc"
    datasets.Dataset.from_dict({"caption": ["a red cat on a sofa", "two dogs on a beach", "a boat"],
                                "image_url": ["http://x/1.jpg", "http://x/2.jpg", "http://x/3.jpg"]}
                               ).save_to_disk(str(folder))
    monkeypatch.setattr(defaults, "DEFAULT_SOURCE", f"hf:{folder}@train")
    monkeypatch.setenv("BENCH_CORPORA_DIR", str(tmp_path / "corpora"))
    calls = {}

    import bench.corpus.build as build

    def fake_build(config, progress=False):
        calls["config"] = config
        raise SystemExit(0)

    monkeypatch.setattr(build, "build_corpus", fake_build)
    CliRunner().invoke(app, ["build-corpus", "--lang", "ko"])
    cfg = calls["config"]
    assert cfg.sources == (f"hf:{folder}@train",) and cfg.corpus_name() == "cc3m-ko" and cfg.translator == "nllb"


def test_train_defaults_base_encoder_and_corpus(monkeypatch, tmp_path):
    from bench.training import distill

    monkeypatch.setenv("BENCH_CORPORA_DIR", str(tmp_path / "corpora"))
    (tmp_path / "corpora" / "cc3m-ko").mkdir(parents=True)
    calls = {}

    def fake_train(cfg):
        calls["cfg"] = cfg
        raise SystemExit(0)

    monkeypatch.setattr(distill, "train", fake_train)
    CliRunner().invoke(app, ["train", "--lang", "ko"])
    cfg = calls["cfg"]
    assert (cfg.base, cfg.encoder, cfg.corpus) == ("sdxl", "altclip-m18", "cc3m-ko")
