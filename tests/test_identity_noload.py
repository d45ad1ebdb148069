"""A translate system's identity comes from its spec and weight files: dry runs and re-evaluation load no model."""

from __future__ import annotations

import pytest


def _refuse(what: str):
    def load(*args, **kwargs):
        raise AssertionError(f"{what} was loaded")

    return load


def _refuse_every_model(monkeypatch) -> None:
    """Every model loader the toolkit has raises: pipelines, translators, judges, feature networks."""
    from bench.instruments import features, judges
    from bench.models import loading, translators

    monkeypatch.setattr(loading, "load_system", _refuse("a text-to-image pipeline"))
    monkeypatch.setattr(translators.Seq2SeqTranslator, "__init__", _refuse("a translator"))
    monkeypatch.setattr(judges, "load_judge", _refuse("a judge"))
    monkeypatch.setattr(features, "load_extractor", _refuse("a feature network"))


@pytest.mark.parametrize("name", ["tiny", "none"])
def test_translator_identity_equals_the_loaded_translators_description(name, monkeypatch):
    from bench.models.translators import load_translator, translator_identity

    src = "zh" if name == "tiny" else "en"
    loaded = load_translator(name, src, "en", device="cpu").describe()
    _refuse_every_model(monkeypatch)
    assert translator_identity(name, src, "en", device="cpu") == loaded
    assert loaded["revision"] and loaded["settings"] == ({} if name == "none" else loaded["settings"])


_AGAIN = """
import json, sys
sys.path.insert(0, {tests!r})
from test_identity_noload import _refuse_every_model
import pytest
from bench.evaluation.evaluate import EvalConfig, evaluate
from bench.generation import GenerateConfig, run_dir_for

patch = pytest.MonkeyPatch()
_refuse_every_model(patch)
gen = GenerateConfig(**json.loads(sys.argv[1]))
run = run_dir_for(gen)  # what `bench generate --dry-run` prints
summary = evaluate(gen, EvalConfig(metrics=("clip-score",), copy_to_reports=False))
print(json.dumps({{"run": run.name, "run_id": summary["run_id"], "clip": summary["metrics"]["clip-score"]}}))
"""


def test_dry_run_and_reevaluating_a_finished_translate_run_load_no_model(bench_home):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from bench.evaluation.evaluate import EvalConfig, evaluate
    from bench.generation import GenerateConfig, run_dir_for

    settings = {"model": "translate-tiny-sd15", "prompts": "culture", "lang": "zh", "samples": 1, "steps": 2,
                "limit": 2}
    gen = GenerateConfig(**settings)
    first = evaluate(gen, EvalConfig(metrics=("clip-score",), copy_to_reports=False))
    run = run_dir_for(gen)
    assert first["n_images"] == 2 and first["run_id"] == run.name
    # A fresh process (nothing cached in memory) whose every model loader raises.
    tests = Path(__file__).resolve().parent
    out = subprocess.run([sys.executable, "-c", _AGAIN.format(tests=str(tests)), json.dumps(settings)],
                         capture_output=True, text=True, cwd=tests.parent,
                         env={**os.environ, "PYTHONPATH": str(tests.parent)})
    assert out.returncode == 0, out.stderr[-2000:]
    again = json.loads(out.stdout.strip().splitlines()[-1])
    assert again == {"run": run.name, "run_id": run.name, "clip": json.loads(json.dumps(first["metrics"]["clip-score"]))}
