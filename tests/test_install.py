"""Outputs go to the working directory, shipped data is found as package data when installed without -e."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from checkout import copy_checkout

from bench.core import paths

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """A user's own project folder as the working directory, no BENCH_*_DIR set."""
    for name in ("PROMPTS", "CORPORA", "REPORTS"):
        monkeypatch.delenv(f"BENCH_{name}_DIR", raising=False)
    work = tmp_path / "my-project"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def test_outputs_go_to_the_working_directory(elsewhere):
    assert paths.corpora_dir() == elsewhere / "corpora"
    assert paths.reports_dir() == elsewhere / "reports"
    assert paths.results_dir() == elsewhere / "reports" / "results"


def test_shipped_data_is_found_from_any_folder(elsewhere):
    from bench.prompts import list_prompt_sets, load_prompt_set

    assert paths.prompts_dir() == paths.shipped_dir("prompts")  # no ./prompts here
    assert {"general", "culture", "world-general"} <= set(list_prompt_sets())
    assert len(load_prompt_set("general", "ko")) == 210
    assert paths.shipped_sample_captions().is_file()
    assert not paths.shipped_sample_captions().is_relative_to(elsewhere)


def test_a_local_prompts_folder_comes_first_and_the_shipped_sets_stay(elsewhere):
    from generate_helpers import write_prompt_set

    from bench.prompts import list_prompt_sets, load_set_info
    from bench.prompts.load import set_folder

    write_prompt_set(elsewhere / "prompts", name="mine")
    write_prompt_set(elsewhere / "prompts", name="general")  # a local set of the same name wins
    assert paths.prompts_dir() == elsewhere / "prompts"
    assert {"mine", "general", "culture"} <= set(list_prompt_sets())
    assert set_folder("general") == elsewhere / "prompts" / "general"
    assert load_set_info("general").description == "test prompts"
    assert set_folder("culture") == paths.shipped_dir("prompts") / "culture"


def test_packaged_copy_is_preferred_over_the_checkout(tmp_path, monkeypatch):
    packaged = tmp_path / "_shipped"
    (packaged / "prompts").mkdir(parents=True)
    monkeypatch.setattr(paths, "_PACKAGED", packaged)
    assert paths.shipped_dir("prompts") == packaged / "prompts"
    assert paths.shipped_dir("corpora/sample") == paths.REPO_ROOT / "corpora" / "sample"  # not packaged: checkout


@pytest.mark.slow
def test_installed_wheel_reads_package_data_and_writes_to_the_working_directory(tmp_path):
    """A real non-editable install (no dependencies: the running environment's are borrowed through a .pth)."""
    source = copy_checkout(tmp_path / "src")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(tmp_path / "dist"), str(source)], check=True, timeout=600)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    wheel = next((tmp_path / "dist").glob("pea_bench-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, timeout=600)
    (site / "zz_borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # torch etc. from here
    shutil.rmtree(source)  # the installed package must not need the checkout it was built from
    work = tmp_path / "my-project"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_") and k != "PYTHONPATH"}
    env |= {"BENCH_HOME": str(work / ".bench"), "HF_HUB_OFFLINE": "1"}

    def bench(*args: str) -> str:
        code = "import sys; from bench.cli import main; sys.argv = ['bench', *sys.argv[1:]]; main()"
        done = subprocess.run([str(venv / "bin" / "python"), "-c", code, *args], cwd=work, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import bench.core.paths as p; print(p.shipped_dir('prompts'))"],
                           cwd=work, env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert where.startswith(str(site)) and where.endswith("bench/_shipped/prompts")
    assert "world-general" in bench("prompts", "list")
    bench("build-corpus", "--lang", "ko", "--source", "sample", "--translator", "none")
    assert (work / "corpora" / "sample-ko-none" / "manifest.json").is_file()
    bench("generate", "--model", "world-en", "--prompts", "world-general", "--lang", "en", "--limit", "1",
          "--samples", "1", "--steps", "1", "--dry-run")  # the toy world's weights come from the wheel
    assert sorted(p.name for p in work.iterdir()) == [".bench", "corpora"]
    assert not (site / "bench" / "_shipped" / "corpora" / "sample-ko-none").exists()
