"""Bad input and a bad environment give one line `error: ...` and exit code 2, never a traceback."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from generate_helpers import write_prompt_set, write_untrained_checkpoint

GEN = ["generate", "--model", "asis-tiny-sd15", "--prompts", "mini", "--lang", "zh", "--limit", "1", "--samples", "1",
       "--steps", "1", "--size", "16"]


def _pickled_checkpoint(name: str) -> Path:
    import torch

    folder = write_untrained_checkpoint(name, base="tiny-sd15")
    torch.save({"mlp.0.weight": torch.zeros(2)}, folder / "adapter.safetensors")  # a pickle under the name
    return folder


def _wrong_shape_checkpoint(name: str) -> Path:
    import torch
    from safetensors.torch import load_file, save_file

    folder = write_untrained_checkpoint(name, base="tiny-sd15")
    state = load_file(folder / "adapter.safetensors")
    state["mlp.0.weight"] = torch.zeros(3, 3)
    save_file(state, str(folder / "adapter.safetensors"))
    return folder


class _Payload:
    """Unpickling this runs code: the weights-only loader must refuse it before it can."""

    marker = ""

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def _evil_bin(tmp_path: Path) -> Path:
    import torch

    _Payload.marker = str(tmp_path / "payload-ran")
    path = tmp_path / "pytorch_model.bin"
    torch.save({"proj.fc.weight": _Payload()}, path)
    return path


def _corpus(tmp_path: Path) -> Path:
    from train_corpus import make_corpus

    return make_corpus(tmp_path / "corpus", rows=4)


def _bad_jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "captions.jsonl"
    path.write_text('{"caption": "a cat", "zh": "猫"}\n{"caption": "a dog", "zh": "狗"\n', encoding="utf-8")
    return path


def _parquet_folder(tmp_path: Path) -> Path:
    import polars as pl

    folder = tmp_path / "meta"
    folder.mkdir()
    pl.DataFrame({"caption": ["a cat"], "zh": ["猫"]}).write_parquet(folder / "part-0.parquet")
    (folder / "part-1.parquet").write_bytes(b"not parquet at all")
    return folder


TRAIN = ["train", "--lang", "zh", "--base", "tiny-sd15", "--encoder", "tiny", "--steps", "1", "--resolution", "16",
         "--batch-size", "2", "--name", "t"]
CORPUS = ["build-corpus", "--lang", "zh", "--translator", "none", "--no-language-id", "--name", "c"]


def _cases():
    """(id, setup(tmp_path) -> (argv, env), expected text in the one line)."""
    return [
        ("bench-home-is-a-file", lambda t: (GEN + ["--dry-run"], {"BENCH_HOME": str(_file(t))}),
         "is a file, not a folder; point BENCH_HOME at a folder"),
        ("bench-home-unwritable", lambda t: (GEN + ["--dry-run"], {"BENCH_HOME": str(_file(t) / "home")}),
         "Not a directory"),
        ("corpora-dir-is-a-file", lambda t: (CORPUS + ["--source", "sample"], {"BENCH_CORPORA_DIR": str(_file(t))}),
         "BENCH_CORPORA_DIR="),
        ("pea-checkpoint-is-a-pickle", lambda t: (GEN[:2] + ["pea:pickled"] + GEN[3:], {"_ckpt": _pickled_checkpoint}),
         "adapter.safetensors: not a safetensors file"),
        ("init-adapter-is-a-pickle",
         lambda t: (TRAIN + ["--corpus", str(_corpus(t)), "--init-adapter", str(_pickled_checkpoint("pickled"))], {}),
         "adapter.safetensors: not a safetensors file"),
        ("init-adapter-runs-code",
         lambda t: (TRAIN + ["--corpus", str(_corpus(t)), "--init-adapter", str(_evil_bin(t))], {}),
         "refused: the file holds pickled Python objects"),
        ("wrong-tensor-shapes", lambda t: (GEN[:2] + ["pea:wrong"] + GEN[3:], {"_ckpt": _wrong_shape_checkpoint}),
         "weights do not fit the adapter in config.json"),
        ("device-cuda-without-gpu", lambda t: (["evaluate", "--run", "x", "--device", "cuda"], {}),
         "--device cuda: no CUDA GPU is visible here"),
        ("device-name", lambda t: (CORPUS + ["--source", "sample", "--device", "gpu"], {}),
         "--device 'gpu' is not a device name"),
        ("integer-option", lambda t: (GEN[:8] + ["x"], {}), "Invalid value for '--limit'"),
        ("unknown-option", lambda t: (GEN + ["--colour", "red"], {}), "No such option: --colour"),
        ("run-path-missing", lambda t: (["evaluate", "--run", str(t / "no-such-run")], {}), "does not exist"),
        ("run-id-missing", lambda t: (["evaluate", "--run", "no-such-run"], {}), "no run 'no-such-run' in"),
        ("malformed-jsonl", lambda t: (CORPUS + ["--source", f"jsonl:{_bad_jsonl(t)}"], {}),
         "captions.jsonl:2: not valid JSON"),
        ("folder-source-names-the-file", lambda t: (CORPUS + ["--source", f"parquet:{_parquet_folder(t)}"], {}),
         "part-1.parquet: parquet"),
    ]


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("not a folder")
    return path


@pytest.mark.parametrize("case", _cases(), ids=[c[0] for c in _cases()])
def test_bad_input_is_one_line_and_exit_2(case, tmp_path, bench_home, monkeypatch, capsys):
    import torch

    from bench import cli

    name, setup, expected = case
    if name == "device-cuda-without-gpu" and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    prompts = tmp_path / "prompts"
    write_prompt_set(prompts)
    monkeypatch.setenv("BENCH_PROMPTS_DIR", str(prompts))
    monkeypatch.setenv("BENCH_CORPORA_DIR", str(tmp_path / "corpora"))
    argv, env = setup(tmp_path)
    if "_ckpt" in env:
        env.pop("_ckpt")(argv[2].split(":", 1)[1])
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(sys, "argv", ["bench", *argv])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    err = capsys.readouterr().err
    errors = [x for x in err.strip().splitlines() if x.startswith("error: ")]  # logs and load bars may precede
    assert exit_info.value.code == 2, err
    assert "Traceback" not in err and len(errors) == 1 and err.strip().endswith(errors[0]), err
    assert expected in errors[0], errors[0]
    assert not (tmp_path / "payload-ran").exists()


def test_verbose_shows_the_traceback(bench_home, monkeypatch, capsys):
    from bench import cli

    monkeypatch.setattr(sys, "argv", ["bench", "--verbose", "evaluate", "--run", "no-such-run"])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" in err and err.strip().splitlines()[-1].startswith("error: ")
    assert os.environ.get("HF_HUB_OFFLINE") == "1"


def test_ctrl_c_inside_a_command_says_how_to_resume(monkeypatch, capsys):
    from bench import cli
    from bench.core.languages import LANGUAGES

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(LANGUAGES, "items", interrupted)  # typer turns this into exit code 130, not our except
    monkeypatch.setattr(sys, "argv", ["bench", "languages"])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 130
    assert "interrupted: run `bench languages` again to resume" in capsys.readouterr().err
