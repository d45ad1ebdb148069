"""docs/plugins.md ("Plug-ins: add your own"): the outside plug-in in tests/fixtures/plugin_example (a system
for a local diffusers folder, a metric, a prompt set in its own folder) runs through `bench evaluate` onto the
leaderboard."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

EXAMPLE = Path(__file__).resolve().parent / "fixtures" / "plugin_example"


@pytest.fixture
def my_model(tmp_path, monkeypatch):
    """The tiny zoo SD 1.5 pipeline saved to a folder of its own stands in for the user's fine-tuned model."""
    from bench.models import zoo

    folder = tmp_path / "my-finetuned-sd15"
    shutil.copytree(zoo.ensure("tiny-sd15"), folder)
    monkeypatch.setenv("MY_SYSTEM_FOLDER", str(folder))
    monkeypatch.setenv("MY_SYSTEM_TIER", "tiny")
    return folder


def bench(*args: str) -> str:
    from bench.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_docs_show_the_example_files_as_they_are():
    page = (EXAMPLE.parents[2] / "docs" / "plugins.md").read_text(encoding="utf-8")
    for name in ("my_plugin.py", "my_metrics.py"):
        assert (EXAMPLE / name).read_text(encoding="utf-8").strip() in page, name


def test_listings_show_the_plugins_entries_only_when_included(my_model):
    assert "my-system" not in bench("models", "--tier", "tiny")
    assert "colourfulness" not in bench("evaluate", "--list-metrics")
    assert "my-set" not in bench("prompts", "list")
    assert "my-system" in bench("models", "--tier", "tiny", "--include", str(EXAMPLE))
    assert "colourfulness" in bench("evaluate", "--list-metrics", "--include", str(EXAMPLE))
    assert "my-set" in bench("--include", str(EXAMPLE), "prompts", "list")


def test_evaluate_the_plugin_system_and_see_it_on_the_leaderboard(my_model):
    import numpy as np
    from PIL import Image

    from bench.core import paths

    bench("evaluate", "--include", str(EXAMPLE), "--model", "my-system", "--prompts", "my-set", "--lang", "ko",
          "--samples", "1", "--steps", "4", "--publish")
    [result] = paths.results_dir().glob("*.json")
    summary = json.loads(result.read_text(encoding="utf-8"))
    assert summary["system"] == "my-system" and summary["n_images"] == 3
    run = paths.run_dir(summary["run_id"])
    # The metric's value is its definition applied to the run's images (computed here independently).
    values = []
    for png in sorted((run / "images").glob("*.png")):
        rgb = np.asarray(Image.open(png).convert("RGB"), np.float64)
        rg, yb = rgb[..., 0] - rgb[..., 1], 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
        values.append(np.sqrt(rg.std() ** 2 + yb.std() ** 2) + 0.3 * np.sqrt(rg.mean() ** 2 + yb.mean() ** 2))
    assert summary["metrics"]["colourfulness"]["value"] == pytest.approx(np.mean(values), rel=1e-9)
    bench("--include", str(EXAMPLE), "leaderboard")
    board = (paths.reports_dir() / "leaderboard.md").read_text(encoding="utf-8")
    assert "my-set" in board and "my-system" in board and "colourfulness" in board
