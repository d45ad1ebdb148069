"""The documentation: README.md and the site in docs/ (mkdocs.yml). Every fenced `sh` command in them runs
offline, in order (the README, then the pages in the order of the site's nav), in one scratch folder: or is
listed in SKIP with the reason it cannot run here. Long commands run with smaller sizes (FAST, below); each
still exercises the same names, files and code path, which is what goes stale when the CLI changes. The site
builds with `mkdocs build --strict` (broken links, pages left out of the nav and a failing command reference
are errors)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from bench.core.paths import REPO_ROOT

README = REPO_ROOT / "README.md"
MKDOCS = REPO_ROOT / "mkdocs.yml"

# (pattern, why it cannot run in a test here); every pattern must match at least one documented command.
SKIP = [
    (r"^bench build-corpus --lang ko --source sample-en --translator tiny$",
     "keeps 0 rows by design (the random-weight translator's output is all dropped), so it exits 2 with the "
     "filter counts; tests/test_corpus_build.py::test_tiny_translator_build checks that line"),
    (r"^make (demo|test)$", "the demo and the test suite themselves (CI runs both)"),
    (r"^python -m bench\.world\.demo$", "the whole toy-world benchmark (minutes); make demo runs it"),
    (r"HF_HUB_OFFLINE=0|^huggingface-cli |^export HF_HUB_OFFLINE", "needs the Hugging Face hub"),
    (r"^(torchrun|accelerate launch) ", "several processes; test_train_ddp and the generate tests cover them"),
    (r"(^| )\.\.\.( |$)|\bDIR\b|corpora/NAME|RUN_A", "a pattern with placeholders, not a command"),
    (r"--source (coco|coco-cn|laion|xm3600|hf|jsonl|parquet|csv|tsv):", "needs the named data set on disk"),
    (r"coco-512", "needs COCO reference images"),
    (r"--base sdxl|^bench train --lang ko$", "trains on full-size SDXL (GPU, real corpus)"),
    (r"--model pea-zh|^bench judge-check --lang ko$", "real weights (docs/gpu.md)"),
    (r"^bench run suites/paper-zh\.toml$", "the paper's comparison on SDXL (GPU)"),
    (r"^bench run suites/world\.toml$", "the full toy-world comparison (minutes); tests/test_suite.py runs a small one"),
    (r"--include tests/fixtures/plugin_example", "needs MY_SYSTEM_FOLDER; tests/test_plugin_example.py runs these"),
    (r"^bench serve$", "a server that runs until stopped; tests/test_serve_load.py and test_serve_browser.py start it"),
]

# Smaller sizes, same commands: (pattern, replacement) applied in order.
FAST = [
    (r"^(bench train .*--steps )\d+", r"\g<1>2"),
    (r"^(bench build-corpus .*--translator tiny)$", r"\1 --limit 12"),
]
RUN_ID = re.compile(r"runs/([A-Za-z0-9][A-Za-z0-9._-]+)")


def _strip_comment(line: str) -> str:
    quote = None
    for i, c in enumerate(line):
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def sh_commands(text: str) -> list[tuple[int, str]]:
    """(line number, command) for every command in ```sh blocks, continuation lines joined, comments dropped."""
    out = []
    for block in re.finditer(r"^```sh[^\n]*\n(.*?)^```", text, re.S | re.M):
        first_line = text[:block.start()].count("\n") + 2
        pending, start = "", None
        for i, raw in enumerate(block.group(1).splitlines()):
            code = _strip_comment(raw).rstrip()
            if not code.strip():
                continue
            start = first_line + i if start is None else start
            if code.endswith("\\"):
                pending += code[:-1].strip() + " "
                continue
            out.append((start, (pending + code.strip()).strip()))
            pending, start = "", None
    return out


def nav_pages(nav) -> list[str]:
    """The Markdown files of a mkdocs nav, in reading order."""
    items = nav if isinstance(nav, list) else list(nav.values()) if isinstance(nav, dict) else [nav]
    out: list[str] = []
    for item in items:
        if isinstance(item, str):
            out += [item] if item.endswith(".md") else []
        else:
            out += nav_pages(item)
    return out


def documents() -> list[Path]:
    """README.md, then every page of the site in nav order (pages outside the nav last, sorted)."""
    import yaml

    config = yaml.safe_load(MKDOCS.read_text(encoding="utf-8"))
    docs = REPO_ROOT / config.get("docs_dir", "docs")
    pages = [docs / name for name in nav_pages(config["nav"])]
    pages += sorted(p for p in docs.glob("*.md") if p not in pages)
    return [README] + [p for p in pages if p.exists()]  # commands.md is generated at build time


def documented_commands() -> list[tuple[str, str]]:
    """(file:line, command) for every ```sh command of every document, in the order they run."""
    return [(f"{doc.relative_to(REPO_ROOT)}:{line}", command)
            for doc in documents() for line, command in sh_commands(doc.read_text(encoding="utf-8"))]


def _skip_reason(command: str) -> str | None:
    return next((why for pattern, why in SKIP if re.search(pattern, command)), None)


def _fast(command: str) -> str:
    for pattern, repl in FAST:
        command = re.sub(pattern, repl, command)
    words = shlex.split(command)
    if words[:2] in (["bench", "generate"], ["bench", "evaluate"]) and "--run" not in words and "--limit" not in words:
        command += " --limit 2"
    return command


def test_readme_is_short_and_opens_with_the_two_commands():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    first = [c for line, c in sh_commands(text) if line <= 40]
    assert first[:2] == ["make demo", "make test"], first


def test_readme_links_resolve():
    """mkdocs --strict checks the site's links; the README's are checked here (pages, pictures, anchors aside)."""
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", README.read_text(encoding="utf-8"))
    assert len(links) > 10
    assert [link for link in links if "://" not in link and not (REPO_ROOT / link).exists()] == []


def test_documented_commands_are_parsed_and_every_skip_is_used():
    commands = [c for _, c in documented_commands()]
    assert len(commands) > 40 and "bench models" in commands
    for pattern, why in SKIP:
        assert any(re.search(pattern, c) for c in commands), f"stale SKIP entry {pattern!r} ({why})"
    runnable = [c for c in commands if _skip_reason(c) is None]
    assert len(runnable) >= 25, runnable


def _world_refstats_small() -> None:
    """`python -m bench.world.refstats` on 80 of the 1,908 drawn scenes (same name, extractor, judge, size)."""
    from bench.instruments.refstats import RefstatsConfig, build_refstats
    from bench.world import draw
    from bench.world.plugins import JUDGE

    folder = Path("world-refs")
    folder.mkdir(exist_ok=True)
    for n, scene in enumerate(draw.all_scenes()[::24]):
        draw.draw_pil(scene).save(folder / f"world_{n:04d}.png")
    build_refstats(RefstatsConfig(name="world", images=str(folder), extractor=JUDGE, mode="clean", judge=JUDGE,
                                  size=32))


def test_every_offline_documented_command_runs(tmp_path, zoo_home, monkeypatch):
    from typer.testing import CliRunner

    from bench.cli import app

    monkeypatch.chdir(tmp_path)
    (tmp_path / ".bench").mkdir()
    (zoo_home / "zoo").mkdir(exist_ok=True)
    (tmp_path / ".bench" / "zoo").symlink_to(zoo_home / "zoo")
    (tmp_path / "suites").symlink_to(REPO_ROOT / "suites")
    monkeypatch.delenv("BENCH_HOME")  # the documented paths: .bench/ in the working directory
    monkeypatch.setenv("BENCH_CORPORA_DIR", str(tmp_path / "corpora"))
    monkeypatch.setenv("BENCH_REPORTS_DIR", str(tmp_path / "reports"))
    runner = CliRunner()
    run_id, ran, failures = None, [], []
    for where, command in documented_commands():
        if _skip_reason(command):
            continue
        command = _fast(command)
        if "<run-id>" in command:
            assert run_id, f"{where}: no run made before `{command}`"
            command = command.replace("<run-id>", run_id)
        words = shlex.split(command)
        if words == ["python", "-m", "bench.world.refstats"]:
            _world_refstats_small()
            ran.append(command)
            continue
        if words[0] == "python":
            result = subprocess.run([sys.executable, *words[1:]], capture_output=True, text=True, timeout=300)
            output, code = result.stdout + result.stderr, result.returncode
        else:
            assert words[0] == "bench", f"{where}: `{command}` is neither bench nor python; add it to SKIP"
            result = runner.invoke(app, words[1:])
            output, code = result.output, result.exit_code
            if result.exception and not isinstance(result.exception, SystemExit):
                output += f"\n{type(result.exception).__name__}: {result.exception}"
                code = code or 1
        if code != 0:
            failures.append(f"{where}: `{command}` exited {code}:\n{output[-1500:]}")
        if words[:2] == ["bench", "generate"]:  # it prints its run folder on one line (rich tables wrap)
            run_id = (RUN_ID.findall(output) or [run_id])[-1]
        ran.append(command)
    assert not failures, "\n\n".join(failures)
    assert len(ran) >= 25
    assert any(p.name.startswith("world-pea-zh-world-general-zh-") for p in (tmp_path / ".bench" / "runs").iterdir())
    # The GPU page's export ran on what is here: no general/culture results, so the header alone.
    assert (tmp_path / "reports" / "paper-zh.csv").read_text().splitlines() == [
        "tier,prompt_set,system,lang,metric,value,ci_low,ci_high,n,higher_is_better,run_id"]


def test_site_builds_strict_with_the_command_reference_of_every_command(tmp_path):
    """`mkdocs build --strict`: the hook writes the command reference from the Typer app at build time."""
    import importlib.util

    import typer.main

    from bench.cli import app

    if importlib.util.find_spec("material") is None:
        pytest.fail("mkdocs-material is not installed: run make install (it installs the [docs] extra)")
    site = tmp_path / "site"
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(MKDOCS),
                             "--site-dir", str(site)], capture_output=True, text=True, timeout=300,
                            env=os.environ | {"NO_MKDOCS_2_WARNING": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    page = (site / "commands" / "index.html").read_text(encoding="utf-8")

    def names(group, prefix):
        for name, command in group.commands.items():
            yield f"{prefix} {name}"
            if hasattr(command, "commands"):
                yield from names(command, f"{prefix} {name}")

    expected = list(names(typer.main.get_command(app), "bench"))
    assert len(expected) > 20 and "bench human new-study" in expected
    assert [name for name in expected if f"<code>{name}</code>" not in page] == []
    assert (site / "reports" / "gaps.png").read_bytes() == (REPO_ROOT / "reports" / "gaps.png").read_bytes()
