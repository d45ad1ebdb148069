"""Nothing from a third-party library reaches the terminal in a `bench` command unless --verbose: no loading or
shard bars, no dtype or truncation notices, no Python warnings; our own log lines and warnings stay."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

# What transformers, diffusers, huggingface_hub, tqdm and Python's warnings print when left alone.
THIRD_PARTY = [
    "Loading weights", "Loading pipeline components", "Writing model shards", "Fetching", "it/s]", "s/it]",
    "was truncated because CLIP can only handle", "Token indices sequence length is longer",
    "FutureWarning", "UserWarning", "DeprecationWarning", "torch_dtype", "should be kept in float32",
]
TQDM = re.compile(r"\d+%\|")  # a tqdm bar's "40%|████"

# Prompts longer than every tiny tokenizer's context, so the pipelines and judges truncate them.
LONG = [("p0", "一只红色的猫坐在绿色的草地上，旁边有一棵大树和一座蓝色的房子" * 3,
         "a red cat sitting on green grass next to a big tree and a blue house, " * 4),
        ("p1", "一条小船在河上，后面是群山和多云的天空" * 3, "a small boat on a river, mountains behind it at dusk, " * 4)]


def third_party_lines(text: str) -> list[str]:
    """Lines of a command's output that came from a library, not from bench."""
    return [line for line in re.split(r"[\r\n]", text)
            if any(s in line for s in THIRD_PARTY) or TQDM.search(line)]


def _prompts(root: Path) -> Path:
    folder = root / "long"
    folder.mkdir(parents=True)
    (folder / "set.toml").write_text('version = "1"\nlicence = "CC0-1.0"\ndescription = "long prompts"\n'
                                     'languages = ["zh"]\n[checks]\nlangid = false\n', encoding="utf-8")
    rows = [{"id": i, "text": zh, "text_en": en, "tags": ["test"], "category": "scene", "source": "written for tests",
             "translation": "human"} for i, zh, en in LONG]
    (folder / "zh.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return root


def _bench(root: Path, *argv: str) -> str:
    """`bench argv` in a child process with its own folders; its stdout and stderr together."""
    env = {**{k: v for k, v in os.environ.items() if not k.endswith("_VERBOSITY") and k != "PYTHONWARNINGS"
              and "PROGRESS_BARS" not in k},
           "BENCH_HOME": str(root / "home"), "BENCH_CORPORA_DIR": str(root / "corpora"),
           "BENCH_REPORTS_DIR": str(root / "reports"), "BENCH_PROMPTS_DIR": str(root / "prompts"),
           "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "default"}  # warnings shown unless bench turns them off
    done = subprocess.run([sys.executable, "-m", "bench.cli", *argv], env=env, capture_output=True, text=True,
                          timeout=600, cwd=root)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return done.stdout + done.stderr


GENERATE = ["generate", "--model", "asis-tiny-sd15", "--prompts", "long", "--lang", "zh", "--samples", "1",
            "--steps", "1", "--size", "16"]


@pytest.mark.slow  # four child processes that load tiny pipelines: ~1 min on 2 cores
def test_generate_evaluate_and_train_print_nothing_from_libraries_unless_verbose(tmp_path, zoo_home):
    from train_corpus import make_corpus

    root = tmp_path / "quiet"
    _prompts(root / "prompts")
    make_corpus(root / "corpus", rows=6)
    # A fresh BENCH_HOME: the tiny models are built (saved by transformers and diffusers) inside these commands.
    out = _bench(root, *GENERATE)
    run = next((root / "home" / "runs").iterdir())
    out += _bench(root, "evaluate", "--run", str(run), "--metrics", "clip-score,clip-score-en", "--judge",
                  "tiny-clip", "--judge-en", "tiny-clip")
    out += _bench(root, "train", "--lang", "zh", "--base", "tiny-sd15", "--encoder", "tiny", "--resolution", "16",
                  "--batch-size", "2", "--val-rows", "0", "--steps", "2", "--corpus", str(root / "corpus"),
                  "--name", "q")
    assert third_party_lines(out) == []
    assert "building tiny component tiny-sd15" in out  # the zoo was built here: its save_pretrained ran
    assert "generating 2/2 img" in out  # our own progress lines and warnings stay
    assert re.search(r"judge tiny-clip: 2 of 2 texts longer than \d+ tokens were truncated", out)

    # The same generation with --verbose shows what was kept off (the test would see it if quieting broke).
    verbose = tmp_path / "verbose"
    _prompts(verbose / "prompts")
    (verbose / "home").mkdir()
    (verbose / "home" / "zoo").symlink_to(root / "home" / "zoo")
    shown = "\n".join(third_party_lines(_bench(verbose, "--verbose", *GENERATE)))
    for expected in ("Loading pipeline components", "was truncated because CLIP can only handle",
                     "Token indices sequence length is longer"):
        assert expected in shown, shown[-2000:]


def test_third_party_lines_are_recognised():
    assert third_party_lines("Loading weights: 100%|██| 36/36 [00:00<00:00, 3539.66it/s]\rINFO bench.x: y") == [
        "Loading weights: 100%|██| 36/36 [00:00<00:00, 3539.66it/s]"]
    assert third_party_lines("WARNING bench.instruments.judges: judge j: 1 of 2 texts were truncated") == []
