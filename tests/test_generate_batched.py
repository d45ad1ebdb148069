"""--batching batched: its own run id per batch size, a bit-identical resume, and per-image pixels within the
documented rounding (tiny models on the CPU)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from generate_helpers import max_pixel_diff, rows_without_timing, write_prompt_set

from bench.generation import GenerateConfig, generate, run_dir_for
from bench.generation.config import BATCHED_ROUNDING_LEVELS

FAST = dict(samples=2, steps=2, size=16, limit=3)


def cfg(**kw) -> GenerateConfig:
    return GenerateConfig(**{"model": "asis-tiny-sd15", "prompts": "mini", "lang": "zh", **FAST, **kw})


@pytest.fixture
def prompts_dir(tmp_path, monkeypatch):
    root = tmp_path / "prompts"
    write_prompt_set(root)
    monkeypatch.setenv("BENCH_PROMPTS_DIR", str(root))
    return root


def _home(tmp_path, zoo_home, monkeypatch, name: str) -> None:
    home = tmp_path / name
    home.mkdir()
    (zoo_home / "zoo").mkdir(exist_ok=True)
    (home / "zoo").symlink_to(zoo_home / "zoo")
    monkeypatch.setenv("BENCH_HOME", str(home))


def _pngs(run: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((run / "images").glob("*.png"))}


def test_batched_runs_have_their_own_identity(bench_home, prompts_dir):
    per_image = run_dir_for(cfg())
    assert per_image == run_dir_for(cfg(batch_size=1)) == run_dir_for(cfg(batch_size=3))
    batched = {n: run_dir_for(cfg(batching="batched", batch_size=n)) for n in (1, 2, 4)}
    assert len({per_image, *batched.values()}) == 4
    assert batched[4] == run_dir_for(cfg(batching="batched", batch_size=4))
    with pytest.raises(Exception, match="--batching must be one of per-image, batched"):
        cfg(batching="all")


def test_batched_resume_is_bit_identical_and_within_rounding_of_per_image(tmp_path, zoo_home, monkeypatch,
                                                                           prompts_dir):
    from bench.generation import harness

    calls = []
    real = harness.pipeline_images

    def recorded(pipe, inputs, seeds, *args):
        calls.append((len(inputs), args[-1]))
        return real(pipe, inputs, seeds, *args)

    monkeypatch.setattr(harness, "pipeline_images", recorded)
    _home(tmp_path, zoo_home, monkeypatch, "whole")
    whole = generate(cfg(batching="batched", batch_size=4), progress=False)  # groups of 4 and 2 images
    assert calls == [(4, True), (2, True)]
    spec = json.loads((whole / "spec.json").read_text())
    assert spec["batching"] == {"mode": "batched", "batch_size": 4}

    _home(tmp_path, zoo_home, monkeypatch, "resumed")
    resumed = generate(cfg(batching="batched", batch_size=4), progress=False)
    for name in ("cat_1.png", "wall_0.png"):  # one image of each group lost, as a kill leaves a run
        (resumed / "images" / name).unlink()
        (resumed / ".items" / name.replace(".png", ".json")).unlink()
    kept = {p.name: p.stat().st_mtime_ns for p in (resumed / "images").glob("*.png")}
    calls.clear()
    generate(cfg(batching="batched", batch_size=4), progress=False)
    assert calls == [(4, True), (2, True)]
    assert _pngs(resumed) == _pngs(whole)  # every group made again whole: the same bits
    assert all((resumed / "images" / n).stat().st_mtime_ns == t for n, t in kept.items())  # only the lost rewritten
    timings = json.loads((resumed / "timings.json").read_text())
    assert timings[-1]["images"] == 2 and timings[-1]["batching"] == "batched"

    _home(tmp_path, zoo_home, monkeypatch, "per-image")
    single = generate(cfg(), progress=False)
    assert rows_without_timing(single) == rows_without_timing(whole)  # same seeds, inputs and files
    diffs = [max_pixel_diff(single / "images" / n, whole / "images" / n) for n in _pngs(whole)]
    assert max(diffs) <= BATCHED_ROUNDING_LEVELS
    _home(tmp_path, zoo_home, monkeypatch, "pairs")
    pairs = generate(cfg(batching="batched", batch_size=2), progress=False)
    assert pairs.name != whole.name and _pngs(pairs).keys() == _pngs(whole).keys()
    assert max(max_pixel_diff(pairs / "images" / n, whole / "images" / n) for n in _pngs(whole)) <= (
        BATCHED_ROUNDING_LEVELS)


def test_cli_shows_batching(bench_home, prompts_dir):
    from typer.testing import CliRunner

    from bench.cli import app

    for command in ("generate", "evaluate"):
        out = CliRunner().invoke(app, [command, "--help"], terminal_width=200).output
        assert "--batching" in out and "per-image" in out, command


def test_a_batched_call_draws_each_image_from_its_own_seed():
    from bench.generation.harness import pipeline_images

    calls = []

    class Pipe:
        def __call__(self, prompt, generator, **kw):
            calls.append((list(prompt), [g.initial_seed() for g in generator], kw["height"]))
            return type("Out", (), {"images": [f"img-{p}" for p in prompt]})()

    assert pipeline_images(Pipe(), ["a", "b", "c"], [5, 6, 7], 2, 7.5, 16, batched=True) == ["img-a", "img-b", "img-c"]
    assert calls == [(["a", "b", "c"], [5, 6, 7], 16)]
    calls.clear()
    pipeline_images(Pipe(), ["a", "b"], [5, 6], 2, 7.5, 16)
    assert calls == [(["a"], [5], 16), (["b"], [6], 16)]
