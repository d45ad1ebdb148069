"""The `bench` command line: parses arguments, calls a stage, prints; the only place that exits."""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
import sys

import typer

from bench.errors import BenchError

app = typer.Typer(
    name="bench",
    help="pea-bench: corpora, PEA training, generation and evaluation for non-English text-to-image.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


INCLUDE_HELP = "Plug-in to load first: a .py file or a folder of them, each with register() (repeatable)."


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v",
                                 help="Log debug messages, third-party loading bars and warnings, tracebacks."),
    include: list[str] = typer.Option([], "--include", help=INCLUDE_HELP),
) -> None:
    """pea-bench command line."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    from bench.quiet import quiet_third_party

    quiet_third_party(verbose)
    if include:
        from bench import plugins

        plugins.include_all(include)


def _register_commands() -> None:
    """Import every module in bench.commands; each adds its commands with register(app)."""
    import bench.commands as commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"bench.commands.{info.name}")
        module.register(app)


_register_commands()
from bench.help_examples import attach as _attach_examples  # noqa: E402  (after every command is registered)

_attach_examples(app)


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit code 2."""
    # No hub here by default: fail in seconds, not after 24 s of retries (OFFLINE.md).
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        # Standalone mode lets click print its own usage errors (exit 2); ours are BenchError.
        app()
    except BenchError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo(f"\ninterrupted: {resume_hint(sys.argv[1:])}", err=True)
        sys.exit(130)


def resume_hint(argv: list[str]) -> str:
    """How to pick up where a killed command stopped (every long stage keeps its finished work)."""
    command = " ".join(["bench", *argv])
    if argv[:1] == ["train"]:
        if "--resume" in argv:
            return f"run `{command}` again to continue from the last saved step"
        return f"run `{command} --resume` to continue from the last saved step (checkpoints keep every --save-every)"
    kept = {"generate": "finished images", "evaluate": "finished images and computed features",
            "run": "finished cells and images", "build-corpus": "finished shards", "refstats": "nothing (it restarts)",
            "score": "the copied run and computed features"}.get(argv[0] if argv else "", "finished work")
    return f"run `{command}` again to resume ({kept} are kept)"

if __name__ == "__main__":
    main()
