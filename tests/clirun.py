"""The bench CLI inside the test process: every command's path, and bench.cli.main()'s exit code."""

from __future__ import annotations

import sys


def command_paths() -> list[tuple[list[str], object]]:
    """(['human', 'list'], click command) for every leaf command of the app."""
    import typer

    from bench.cli import app

    def walk(cmd, path):
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                yield from walk(sub, [*path, name])
        else:
            yield path, cmd

    return list(walk(typer.main.get_command(app), []))


def main_exit_code(argv: list[str]) -> int:
    """Run `bench ARGV` through bench.cli.main() (as the console script does) and return its exit code."""
    from bench import cli

    saved, sys.argv = sys.argv, ["bench", *argv]
    try:
        cli.main()
        return 0
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    finally:
        sys.argv = saved
