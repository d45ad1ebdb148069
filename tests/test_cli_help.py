"""--help: every option of every command has help text, every command shows examples that parse, and the
commands that name a model, prompts and language share their short flags."""

from __future__ import annotations

import re
import shlex

import pytest
import typer

from bench.cli import app


def _commands():
    root = typer.main.get_command(app)

    def walk(cmd, path):
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                yield from walk(sub, [*path, name])
        else:
            yield path, cmd

    return list(walk(root, []))


COMMANDS = _commands()


def test_there_are_commands_to_check():
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"evaluate", "generate", "train", "run", "score", "fid", "publish", "prompts show"} <= names


@pytest.mark.parametrize("path,cmd", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_option_has_help_and_the_command_shows_examples_that_parse(path, cmd):
    missing = [p.name for p in cmd.params if not (getattr(p, "help", None) or "").strip()]
    assert not missing, f"bench {' '.join(path)}: options without help: {missing}"
    text = "\n".join(filter(None, (cmd.help, cmd.epilog)))
    examples = re.findall(r"^\s*(bench .+)$", text.split("Examples:", 1)[-1], re.M) if "Examples:" in text else []
    assert 1 <= len(examples) <= 3, f"bench {' '.join(path)}: needs one or two examples in its help"
    for example in examples:
        words = shlex.split(example.split("&&")[0])
        assert words[1:1 + len(path)] == path, example
        cmd.make_context(" ".join(path), words[1 + len(path):], resilient_parsing=False)  # unknown flags raise


def test_generate_and_evaluate_share_short_flags():
    by_name = {" ".join(p): c for p, c in COMMANDS}

    def shorts(cmd):
        return {opt: p.name for p in cmd.params for opt in getattr(p, "opts", []) if re.fullmatch(r"-\w", opt)}

    gen, ev = shorts(by_name["generate"]), shorts(by_name["evaluate"])
    assert {"-m", "-p", "-l"} <= set(gen) and {k: gen[k] for k in ("-m", "-p", "-l")} == {
        k: ev[k] for k in ("-m", "-p", "-l")}


def test_train_base_help_lists_every_base():
    from bench.models.bases import BASES

    by_name = {" ".join(p): c for p, c in COMMANDS}
    base = next(p for p in by_name["train"].params if p.name == "base")
    assert all(name in base.help for name in BASES._entries)  # built-ins; plug-ins: `bench models`
    assert "world" in base.help and "bench models lists all" in base.help
