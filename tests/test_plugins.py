"""The plug-in mechanism: entry points, --include files and folders, BENCH_PLUGINS, lazy entries, undo."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bench.core import plugins
from bench.core.errors import BenchError
from bench.core.registry import Registry

REPO = Path(__file__).resolve().parent.parent


def _plugin(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


JUDGE_PLUGIN = """
    from bench.instruments.judges import JudgeSpec, register_judge

    def register():
        register_judge(JudgeSpec("{name}", "zoo:tiny-clip-judge", "clip", "tiny", ("en",)))
"""


def test_the_toy_world_comes_in_through_the_entry_point():
    from importlib.metadata import entry_points

    assert "bench.world.plugins" in {ep.value for ep in entry_points(group=plugins.GROUP)}
    assert "bench.world.plugins" in plugins.loaded()


def test_lazy_entry_is_listed_without_import_and_imported_on_get(tmp_path, monkeypatch):
    module = _plugin(tmp_path, "lazy_target_mod", "VALUE = {'answer': 42}\n")
    monkeypatch.syspath_prepend(str(module.parent))
    registry: Registry[dict] = Registry("thing")
    registry.register_lazy("answer", "lazy_target_mod:VALUE")
    assert "answer" in registry and registry.names() == ["answer"]
    assert "lazy_target_mod" not in sys.modules
    assert registry.get("answer") == {"answer": 42}
    with pytest.raises(ValueError, match="module:object"):
        registry.register_lazy("bad", "no-colon")
    registry.register_lazy("missing", "lazy_target_mod:NOPE")
    with pytest.raises(BenchError, match="cannot load registered entry lazy_target_mod:NOPE"):
        registry.get("missing")
    sys.modules.pop("lazy_target_mod", None)


def test_include_file_and_folder_register_and_are_undone_after_the_test(tmp_path):
    from bench.instruments.judges import JUDGES

    single = _plugin(tmp_path / "one", "judge_a", JUDGE_PLUGIN.format(name="plugged-a"))
    _plugin(tmp_path / "many", "judge_b", JUDGE_PLUGIN.format(name="plugged-b"))
    _plugin(tmp_path / "many", "helper_mod", "raise RuntimeError('a file without register() is not imported')\n")
    assert "plugged-a" not in JUDGES
    plugins.include(single)
    plugins.include(tmp_path / "many")
    plugins.include(single)  # a second include of the same file is a no-op, not a double registration
    assert JUDGES.get("plugged-a").model_id == JUDGES.get("plugged-b").model_id == "zoo:tiny-clip-judge"


def test_registrations_of_the_previous_test_are_gone():
    from bench.instruments.judges import JUDGES

    assert "plugged-a" not in JUDGES and "plugged-b" not in JUDGES
    assert "judge_a" not in plugins.loaded()


def test_bench_plugins_environment_variable(tmp_path, monkeypatch):
    from bench.instruments.judges import JUDGES

    first = _plugin(tmp_path / "x", "env_a", JUDGE_PLUGIN.format(name="env-a"))
    second = _plugin(tmp_path / "y", "env_b", JUDGE_PLUGIN.format(name="env-b"))
    monkeypatch.setenv(plugins.ENV, os.pathsep.join([str(first), str(second.parent)]))
    saved = plugins.state()
    plugins.reset(({"loaded": False, "loading": False}, saved[1]))  # installed ones stay loaded
    assert {"env-a", "env-b", "world-clip"} <= set(JUDGES.names())
    assert plugins.loaded()[-2:] == ["env_a", "env_b"]


@pytest.mark.parametrize("body, message", [
    ("X = 1\n", "holds no .py file with a register"),
    ("def register():\n    raise KeyError('boom')\n", "plug-in .* failed: KeyError"),
])
def test_broken_included_plugin_is_one_clear_error(tmp_path, body, message):
    path = _plugin(tmp_path, f"broken_{len(body)}", body)
    with pytest.raises(BenchError, match=message):
        plugins.include(path.parent)


def test_include_of_a_missing_path_is_a_cli_error(tmp_path):
    result = subprocess.run([sys.executable, "-m", "bench.cli", "--include", str(tmp_path / "nope.py"), "models"],
                            capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: --include {tmp_path / 'nope.py'}: not a .py file or a "
                                                  "folder of them"]


def test_listing_names_imports_no_heavy_library():
    code = ("from bench.models.pipelines import SYSTEMS; SYSTEMS.names()\n"
            "from bench.metrics import load_metrics; load_metrics().names()\n"
            "from bench.instruments.judges import JUDGES; JUDGES.names()\n"
            "from bench.instruments.features import EXTRACTORS; EXTRACTORS.names()\n"
            "from bench.prompts.load import list_prompt_sets; list_prompt_sets()\n"
            "import sys; print(sorted(m for m in ('torch', 'numpy', 'polars', 'diffusers', 'transformers')"
            " if m in sys.modules))\n"
            "from bench.core import plugins; print(plugins.loaded())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)}).stdout.splitlines()
    assert out == ["[]", "['bench.world.plugins']"]
