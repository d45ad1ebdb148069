"""Inputs `bench` used to accept and get wrong, misleading one-liners, and valid input it refused (issue 23,
parts 5-7): one row per case, run through the real entry point (bench.cli.main).

A row is (id, argv, env, setup, expected exit code, expected line, check). A refusal (exit 2) must be exactly
one line on stderr, `error: ...`, matching the expected regex (besides INFO progress lines such as a first-use
zoo build, which a fresh process prints too), with no traceback, and leave every file under
the working folder, BENCH_HOME, the corpora and the reports exactly as it was (paths, bytes and modification
times). An accepted row (exit 0) must print a line matching the regex and pass its check on what it wrote.
The shared zoo of tiny models is a symlink the snapshot does not follow: a deterministic build cache.
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from clirun import main_exit_code

GEN = ["-m", "world-en", "-p", "world-general", "-l", "en", "--samples", "1", "--limit", "2"]
BUILD = ["build-corpus", "--lang", "zh", "--source", "sample", "--translator", "none"]
TRAIN = ["train", "--lang", "zh", "--base", "world", "--encoder", "world", "--steps", "1"]


@dataclass(frozen=True)
class Row:
    id: str
    argv: list[str]
    code: int
    line: str  # regex: the error line of a refusal, or a line of an accepted command's output
    env: dict[str, str] = field(default_factory=dict)
    setup: Callable[[Path], None] | None = None  # prepares files under the working folder
    check: Callable[[Path], None] | None = None  # what an accepted command must have written


def _suite(text: str) -> Callable[[Path], None]:
    def write(cwd: Path) -> None:
        (cwd / "bad.toml").write_text('name = "bad"\nmodels = ["world-en"]\nprompts = ["world-general"]\n'
                                      'langs = ["zh"]\n' + text, encoding="utf-8")
    return write


def _corpus_built(cwd: Path) -> None:
    """A finished corpus sample-zh-none, the one `--name ''` used to rewrite."""
    _main([*BUILD], expect=0)


def _run_folder(cwd: Path) -> None:
    (Path(os.environ["BENCH_HOME"]) / "runs" / "some-run").mkdir(parents=True)


def _two_images(cwd: Path) -> None:
    from PIL import Image

    (cwd / "refs").mkdir()
    for i in range(2):
        Image.new("RGB", (32, 32), (40 * i, 90, 200)).save(cwd / "refs" / f"{i}.png")


def _a_file(cwd: Path) -> None:
    (cwd / "a-file").write_text("not a corpus\n")


def _a_folder(cwd: Path) -> None:
    (cwd / "out-folder").mkdir()


def _corpus_named(name: str) -> Callable[[Path], None]:
    def check(cwd: Path) -> None:
        from bench.core import paths

        folder = paths.corpora_dir() / unicodedata.normalize("NFC", name)
        manifest = paths.read_json(folder / "manifest.json")
        assert manifest["name"] == unicodedata.normalize("NFC", name) and manifest["rows"]["kept"] == 200
    return check


def _images_in_spaced_folder(cwd: Path) -> None:
    from PIL import Image

    from bench.prompts import load_prompt_set

    folder = cwd / "my images"
    folder.mkdir()
    for prompt in load_prompt_set("world-general", "zh").prompts[:3]:
        Image.new("RGB", (32, 32), (200, 30, 30)).save(folder / f"{prompt.id}_0.png")


def _scored_as_my_images(cwd: Path) -> None:
    from bench.core import paths

    runs = [p.name for p in paths.runs_dir().iterdir()]
    assert len(runs) == 1 and runs[0].startswith("external-my-images-world-general-zh-"), runs


def _refstats_written(cwd: Path) -> None:
    from bench.instruments.refstats import list_refstats

    assert {r["name"] for r in list_refstats()} == {"two"} and {r["n"] for r in list_refstats()} == {2}


ROWS = [
    # --- part 5: accepted but wrong ------------------------------------------------------------------------
    Row("prompts-dir-missing", ["prompts", "list"], 2, r"^error: BENCH_PROMPTS_DIR=\S*nonexistent does not exist",
        env={"BENCH_PROMPTS_DIR": "{cwd}/nonexistent"}),
    Row("bench-home-empty", ["generate", *GEN, "--dry-run"], 2, r"^error: BENCH_HOME is set but empty",
        env={"BENCH_HOME": ""}),
    Row("corpus-name-empty", [*BUILD, "--name", ""], 2, r"^error: --name is empty", setup=_corpus_built),
    Row("train-name-empty", [*TRAIN, "--corpus", "x", "--name", ""], 2, r"^error: --name is empty"),
    Row("resume-never-trained", [*TRAIN, "--corpus", "x", "--resume", "--name", "never-trained"], 2,
        r"^error: --resume: no training run 'never-trained' in \S+checkpoints to continue; check --name"),
    Row("size-huge", ["generate", *GEN, "--size", "1000000", "--dry-run"], 2,
        r"^error: --size must be at most 4096, got 1000000$"),
    Row("size-not-multiple-of-8", ["generate", *GEN, "--size", "100", "--dry-run"], 2,
        r"^error: --size must be a positive multiple of 8, got 100$"),
    Row("train-resolution-huge", [*TRAIN, "--corpus", "x", "--resolution", "8192"], 2,
        r"^error: --resolution must be at most 4096"),
    Row("evaluate-run-ignores-model", ["evaluate", "--run", "some-run", "-m", "world-en"], 2,
        r"^error: --run scores an existing run as it was generated: leave out --model", setup=_run_folder),
    Row("evaluate-run-ignores-samples", ["evaluate", "--run", "some-run", "--samples", "3"], 2,
        r"^error: --run scores .*leave out --samples", setup=_run_folder),
    Row("compare-run-with-itself", ["compare", "some-run", "some-run"], 2,
        r"^error: A and B are the same run \(some-run\)", setup=_run_folder),
    Row("compare-device-banana", ["compare", "some-run", "other", "--device", "banana"], 2,
        r"^error: --device 'banana' is not a device name", setup=_run_folder),
    Row("suite-samples-negative", ["run", "bad.toml", "--dry-run"], 2,
        r"^error: \[generate\] of bad.toml: --samples must be at least 1, got -1$",
        setup=_suite("[generate]\nsamples = -1\n")),
    Row("suite-guidance-nan", ["run", "bad.toml", "--dry-run"], 2,
        r"^error: \[generate\] of bad.toml: --guidance must be a finite number, got nan$",
        setup=_suite("[generate]\nguidance = nan\n")),
    Row("suite-unknown-refstats", ["run", "bad.toml", "--dry-run"], 2,
        r"^error: world-en \| world-general \| en: no reference statistics 'nosuch' .*bench refstats build "
        r"--name nosuch", setup=_suite("[generate]\nsamples = 1\nlimit = 2\n[evaluate]\nrefstats = \"nosuch\"\n")),
    Row("suite-publish-yes", ["run", "bad.toml", "--dry-run"], 2,
        r"^error: bad.toml: 'publish' must be true or false, got 'yes'$", setup=_suite('publish = "yes"\n')),
    Row("suite-unknown-refstats-real-run", ["run", "bad.toml"], 2,
        r"^error: world-en \| world-general \| en: no reference statistics 'nosuch'",
        setup=_suite("[generate]\nsamples = 1\nlimit = 2\n[evaluate]\nrefstats = \"nosuch\"\n")),
    Row("leaderboard-tier-huge", ["leaderboard", "--tier", "huge"], 2, r"^error: unknown tier 'huge' \(known: "
        r"real, tiny\)$"),
    Row("leaderboard-prompts-nosuch", ["leaderboard", "--prompts", "nosuch"], 2,
        r"^error: unknown prompt set 'nosuch'"),
    Row("leaderboard-lang-xx", ["leaderboard", "--lang", "xx"], 2, r"^error: unknown language 'xx'"),
    Row("leaderboard-empty-filter", ["leaderboard", "--prompts", ""], 2,
        r"^error: --prompts '' names nothing; give a value or leave --prompts out$"),
    Row("model-not-a-repo-id", ["evaluate", "--model", "../x"], 2,
        r"^error: model '\.\./x' is neither a registered name nor a folder"),
    Row("refstats-from-two-images", ["refstats", "build", "--name", "two", "--images", "refs", "--tiny"], 0,
        r"reference statistics 'two' come from 2 images, fewer than the \d+-d features", setup=_two_images,
        check=_refstats_written),
    Row("invite-url-not-a-url", ["human", "invite", "--study", "s", "--url", "notaurl"], 2,
        r"^error: --url 'notaurl' is not a web address; give http://HOST:PORT"),
    Row("invite-url-bad-port", ["human", "invite", "--study", "s", "--url", "http://localhost:99999"], 2,
        r"^error: --url 'http://localhost:99999' is not a web address"),
    # --- part 6: misleading one-liners ---------------------------------------------------------------------
    Row("min-size-negative", ["build-corpus", "--lang", "zh", "--source", "laion:x", "--min-size", "-10"], 2,
        r"^error: --min-size must be at least 0, got -10$"),
    Row("compare-missing-run", ["compare", "nosuch", "other"], 2,
        r"^error: no run 'nosuch' in \S+runs \(give a run folder or an existing run id"),
    Row("publish-missing-run", ["publish", "nosuch"], 2, r"^error: no run 'nosuch' in \S+runs"),
    Row("evaluate-missing-run-folder", ["evaluate", "--run", "gone/run"], 2,
        r"^error: run folder gone/run does not exist"),
    Row("corpus-is-a-file", [*TRAIN, "--corpus", "a-file"], 2, r"^error: corpus a-file is a file; give a corpus "
        r"folder", setup=_a_file),
    Row("out-is-a-folder", ["leaderboard", "--format", "csv", "--out", "out-folder"], 2,
        r"^error: out-folder is a folder; give the path of a file", setup=_a_folder),
    Row("model-list-empty", ["evaluate", "-m", ",", "-p", "world-general", "-l", "zh"], 2,
        r"^error: --model ',' names nothing"),
    Row("prompts-list-empty", ["evaluate", "-m", "world-en", "-p", " , ", "-l", "zh"], 2,
        r"^error: --prompts ' , ' names nothing"),
    Row("human-unknown-language", ["human", "new-study", "--prompts", "world-general", "--lang", "xx",
                                   "--systems", "a,b"], 2, r"^error: unknown language 'xx'"),
    Row("human-unknown-set", ["human", "new-study", "--prompts", "world-genral", "--lang", "zh", "--systems", "a,b"],
        2, r"^error: unknown prompt set 'world-genral'; did you mean 'world-general'\?"),
    # --- part 7: valid input that was refused, and the characters that stay refused -----------------------
    Row("name-any-script", [*BUILD, "--name", "ü-корпус"], 0, r"ü-корпус: 200 of 200 captions kept",
        check=_corpus_named("ü-корпус")),
    Row("name-nfd-is-stored-nfc", [*BUILD, "--name", unicodedata.normalize("NFD", "café-語")], 0,
        r"café-語: 200 of 200 captions kept", check=_corpus_named("café-語")),
    Row("name-devanagari-marks", [*BUILD, "--name", "हिन्दी"], 0, r"हिन्दी: 200 of 200", check=_corpus_named("हिन्दी")),
    Row("name-separator", [*BUILD, "--name", "a/b"], 2, r"^error: corpus name 'a/b' cannot name a file"),
    Row("name-dotdot", [*BUILD, "--name", ".."], 2, r"^error: corpus name '\.\.' cannot name a file"),
    Row("name-leading-dot", [*BUILD, "--name", ".hidden"], 2, r"^error: corpus name '\.hidden' cannot name a file"),
    Row("name-zero-width", [*BUILD, "--name", "a\u200bb"], 2, r"^error: corpus name 'a\\u200bb' cannot name a file"),
    Row("name-control", [*BUILD, "--name", "a\tb"], 2, r"^error: corpus name 'a\\tb' cannot name a file"),
    Row("score-folder-with-spaces", ["score", "my images", "-p", "world-general", "-l", "zh", "--tier", "tiny",
                                     "--metrics", "world-accuracy"], 0, r"^scores: \S+external-my-images-",
        setup=_images_in_spaced_folder, check=_scored_as_my_images),
    Row("corpora-dir-with-spaces", [*BUILD, "--name", "s"], 0, r"corpora dir/s: 200 of 200",
        env={"BENCH_CORPORA_DIR": "{cwd}/corpora dir"}),
]


def _main(argv: list[str], expect: int | None = None) -> int:
    """bench.cli.main() with its log lines on stderr, as in a process of its own (basicConfig, level INFO)."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        code = main_exit_code(argv)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    assert expect is None or code == expect, f"{argv}: exit {code}"
    return code


def _snapshot(*roots: Path) -> dict[str, tuple[int, int, str]]:
    """path -> (size, mtime_ns, sha256) of every file below the roots (symlinks are not followed), except the
    memo of weight-file hashes (cache/fingerprints), which any look at a model may fill."""
    import hashlib

    out = {}
    for root in roots:
        for folder, _, files in os.walk(root):
            for name in files:
                path = Path(folder) / name
                if path.is_symlink() or path.parent.name == "fingerprints":
                    continue
                st = path.stat()
                out[str(path)] = (st.st_size, st.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
    return out


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_bad_input_row(row: Row, tmp_path, bench_home, monkeypatch, capsys):
    cwd = tmp_path / "work"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    if row.setup:
        row.setup(cwd)
        capsys.readouterr()
    for key, value in row.env.items():
        monkeypatch.setenv(key, value.replace("{cwd}", str(cwd)))
    before = _snapshot(cwd, bench_home.parent)
    code = _main(row.argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err, err
    assert code == row.code, f"exit {code}\n{out}\n{err}"
    if row.code == 2:
        lines = [line for line in err.strip().splitlines() if not line.startswith("INFO ")]
        assert len(lines) == 1, f"not one line:\n{err}"
        assert re.search(row.line, lines[0]), lines[0]
        assert _snapshot(cwd, bench_home.parent) == before, "a refused command wrote or changed files"
    else:
        lines = (out + err).splitlines()
        assert any(re.search(row.line, line) for line in lines), out + err
        if row.check:
            row.check(cwd)


def test_every_part_of_the_issue_has_rows():
    """The table covers parts 5, 6 and 7 and each case once."""
    ids = [r.id for r in ROWS]
    assert len(ids) == len(set(ids)) and len(ids) >= 40
    assert sum(r.code == 2 for r in ROWS) >= 30 and sum(r.code == 0 for r in ROWS) >= 5
