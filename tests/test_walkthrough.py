"""The walk-through's frictions (issue 20, part 6), each as the case a newcomer met, through bench.cli.main."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from clirun import command_paths, main_exit_code

WORLD_GEN = ["--samples", "1", "--limit", "2", "--steps", "2", "--scheduler", "ddim", "--dtype", "float32"]


def _bench(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main_exit_code(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _runs(home: Path) -> list[str]:
    folder = home / "runs"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_shipped_suite_runs_from_any_folder_and_names_the_world_refstats_command(tmp_path, bench_home,
                                                                                 monkeypatch, capsys):
    from bench.core import paths

    monkeypatch.chdir(tmp_path)  # no suites/ here
    assert paths.find_suite("suites/world.toml") == paths.shipped_dir("suites") / "world.toml"
    assert paths.find_suite("world.toml") == paths.shipped_dir("suites") / "world.toml"
    code, out, err = _bench(["run", "suites/world.toml", "--dry-run"], capsys)
    # Found (not "does not exist"), then refused before any generation: the world's statistics are not built
    # here, and the hint names the command that builds them.
    assert code == 2 and "no reference statistics 'world'" in err, err
    assert "build them with `python -m bench.world.refstats`" in err
    assert _runs(bench_home) == []


def test_a_missing_suite_says_where_suites_are_looked_up(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, _, err = _bench(["run", "suites/nosuch.toml"], capsys)
    assert code == 2
    assert re.search(rf"suite file suites/nosuch.toml does not exist \(looked in {re.escape(str(tmp_path))} and in "
                     r"the shipped suites, .+suites: paper-zh.toml, world.toml\)", err), err


def test_dry_run_and_real_run_check_judges_before_generating(bench_home, capsys):
    base = ["evaluate", "-m", "world-en", "-p", "world-general", "-l", "en", *WORLD_GEN, "--judge-en", "clip-l"]
    code, out, err = _bench([*base, "--dry-run"], capsys)
    assert code == 2 and "judge 'clip-l' weights 'openai/clip-vit-large-patch14' are not available offline" in err
    code, out, err = _bench(base, capsys)
    assert code == 2 and "are not available offline" in err
    assert _runs(bench_home) == []  # nothing was generated


def test_a_local_model_folder_has_its_judges_checked_before_generating(bench_home, capsys):
    from bench.models import zoo

    folder = zoo.ensure("world-teacher")  # a diffusers pipeline folder on disk, named by its path
    code, _, err = _bench(["evaluate", "-m", str(folder), "-p", "world-general", "-l", "en", *WORLD_GEN,
                           "--judge", "clip-l", "--judge-en", "clip-l"], capsys)
    assert code == 2 and "judge 'clip-l'" in err and "not available offline" in err, err
    assert _runs(bench_home) == []


def test_dry_run_lists_every_cell_with_its_metrics_and_generates_nothing(tmp_path, bench_home, capsys):
    suite = tmp_path / "s.toml"
    suite.write_text('name = "s"\nmodels = ["world-en", "asis-world"]\nprompts = ["world-general"]\n'
                     'langs = ["zh"]\n[generate]\nsamples = 1\nlimit = 2\nsteps = 2\nscheduler = "ddim"\n'
                     '[evaluate]\nmetrics = ["world-accuracy"]\njudge = "world-clip"\njudge_en = "world-clip"\n')
    code, out, err = _bench(["run", str(suite), "--dry-run"], capsys)
    assert code == 0, err
    assert "run  world-en | world-general | en: 2 images, metrics world-accuracy" in out
    assert "run  asis-world | world-general | zh: 2 images, metrics world-accuracy" in out
    assert "dry run: 2 cells checked, nothing generated" in out
    assert _runs(bench_home) == []


def test_world_corpus_images_live_in_the_corpus_so_it_can_move(tmp_path):
    import polars as pl

    import bench
    from bench.corpus.filters import FilterSettings
    from bench.corpus.folder import shard_files
    from bench.training.data import load_pairs

    result = bench.build_corpus(lang="zh", sources=("world:24",), translator="none", name="w",
                                filters=FilterSettings(language_id=False))
    images = pl.concat([pl.read_parquet(f) for f in shard_files(result.folder)])["image"].to_list()
    assert images and all(i.startswith("images/world/") for i in images)
    moved = tmp_path / "elsewhere" / "w"
    shutil.move(str(result.folder), moved)
    pairs = load_pairs(moved, "zh")
    assert len(pairs.sources) == len(images) and pairs.skipped["no_image"] == 0


def test_a_build_that_keeps_no_row_is_an_error_with_the_filter_counts(capsys):
    code, _, err = _bench(["build-corpus", "--lang", "zh", "--source", "sample", "--translator", "none",
                           "--name", "none-kept", "--max-chars", "1"], capsys)
    assert code == 2
    assert "error: corpus none-kept: 0 of 200 captions kept (dropped by filter: too_long 200); loosen" in err, err


def test_a_list_evaluation_says_what_it_published(bench_home, capsys):
    from bench.commands.run import report_suite_publication
    from bench.core import paths

    paths.write_json(paths.result_path("a-run"), {"run_id": "a-run"})
    report_suite_publication({"rows": [{"run_id": "a-run"}, {"run_id": "b-run"}]}, asked=True)
    out, err = capsys.readouterr()
    assert out.splitlines() == ["published: reports/results/a-run.json"]
    assert "not published: 1 of 2 cells" in err




@pytest.mark.parametrize("path,cmd", command_paths(), ids=[" ".join(p) for p, _ in command_paths()])
def test_help_at_80_columns_keeps_every_option_name_and_help_whole(path, cmd, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("TERMINAL_WIDTH", raising=False)
    code, out, _ = _bench([*path, "--help"], capsys)
    assert code == 0 and "…" not in out
    assert max(len(line) for line in out.splitlines()) <= 80
    flat = re.sub(r"[\s│]", "", out)
    for param in cmd.params:
        for opt in [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]:
            if opt.startswith("--"):
                assert re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", out), f"{opt} cut in:\n{out}"
        text = (getattr(param, "help", "") or "").replace("\\[", "[")
        assert re.sub(r"\s", "", text) in flat, f"help of {param.name} not whole:\n{out}"


def test_train_help_is_grouped_and_run_help_shows_the_suite_keys(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "80")
    _, out, _ = _bench(["train", "--help"], capsys)
    panels = re.findall(r"╭─ (.+?) ─", out)
    assert panels == ["Options", "What to train", "Optimiser and schedule", "Adapter and losses",
                      "Running, checkpoints and logs"], panels
    _, out, _ = _bench(["run", "--help"], capsys)
    flat = " ".join(re.sub(r"[│]", " ", out).split())
    assert "keys name, models, prompts, langs, publish, and the tables [generate] and [evaluate]" in flat


def test_printed_paths_are_never_hard_wrapped(tmp_path, monkeypatch, capsys):
    from bench.commands.evaluate import print_summary

    monkeypatch.setenv("COLUMNS", "40")
    folder = tmp_path / ("a-long-folder-name-" * 4) / "run-with-[brackets]-<lang>"
    summary = {"system": "s", "prompt_set": {"name": "p"}, "lang": "zh", "tier": "tiny", "metrics": {},
               "skipped": {"fid": "no --refstats given [see docs]"}, "warnings": ["uses <lang> names"],
               "timings": {"total_seconds": 1.0, "metrics": {}}}
    print_summary(summary, folder)
    out = capsys.readouterr().out
    assert f"scores: {folder / 'scores'}  summary: {folder / 'summary.json'}" in out
    assert "skipped fid: no --refstats given [see docs]" in out and "warning: uses <lang> names" in out


def test_train_lang_ko_offline_names_a_path_that_works(capsys):
    code, _, err = _bench(["train", "--lang", "ko"], capsys)
    assert code == 2
    build = re.search(r"`(bench build-corpus --lang ko --source world:2000 [^`]+)`", err)
    train = re.search(r"`(bench train --lang ko --base world --encoder world --corpus world-ko)`", err)
    assert build and train, err
    pytest.importorskip("polars")
    # The named build runs as printed, offline (2000 drawn scenes, a few seconds).
    code, out, err = _bench(build.group(1).split()[1:], capsys)
    assert code == 0 and "world-ko: " in out, err


@pytest.mark.slow
def test_train_lang_ko_offline_path_trains(capsys):
    code, _, err = _bench(["train", "--lang", "ko"], capsys)
    commands = re.findall(r"`(bench [^`]+)`", err)[1:]
    assert _bench(commands[0].split()[1:], capsys)[0] == 0
    code, out, err = _bench([*commands[1].split()[1:], "--steps", "2"], capsys)
    assert code == 0 and "(step 2;" in out, err


def test_names_of_any_script_and_folders_with_spaces(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BENCH_CORPORA_DIR", str(tmp_path / "my corpora"))
    code, out, err = _bench(["build-corpus", "--lang", "ko", "--source", "sample", "--translator", "none",
                             "--name", "ü-корпус"], capsys)
    assert code == 0, err
    assert (tmp_path / "my corpora" / "ü-корпус" / "manifest.json").is_file()
    assert os.listdir(tmp_path / "my corpora") == ["ü-корпус"]
