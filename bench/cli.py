"""The `bench` command line: parses arguments, calls a stage, prints; the only place that exits."""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
import sys

import typer

from bench.core.errors import BenchError

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
    from bench.core.quiet import quiet_third_party

    quiet_third_party(verbose)
    if include:
        from bench.core import plugins

        plugins.include_all(include)


def _register_commands() -> None:
    """Import every command module in bench.commands; each adds its commands with register(app).

    The package's helpers (options, help_examples) define no register() and are not commands."""
    import bench.commands as commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"bench.commands.{info.name}")
        if hasattr(module, "register"):
            module.register(app)


_register_commands()
from bench.commands.help_examples import attach as _attach_examples  # noqa: E402  (after every command is registered)

_attach_examples(app)
from bench.commands.help_format import install as _full_width_help  # noqa: E402

_full_width_help()


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit code 2 (--verbose: traceback)."""
    try:
        from typer._click import exceptions as click  # typer >= 0.2x carries its own copy of click
    except ImportError:  # older typer: click itself
        from click import exceptions as click  # type: ignore[no-redef]

    # No hub here by default: fail in seconds, not after the ~24 s of retries huggingface_hub spends on an
    # unreachable hub (measured on this project's offline machines).
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    verbose = any(arg in ("--verbose", "-v") for arg in sys.argv[1:])
    try:
        # Not standalone: click's usage errors come here and are printed as one line like ours.
        code = app(standalone_mode=False)
    except click.NoArgsIsHelpError as exc:
        typer.echo(exc.ctx.get_help() if exc.ctx else str(exc), err=True)
        sys.exit(2)
    except click.UsageError as exc:
        hint = f" (see {exc.ctx.command_path} --help)" if exc.ctx else ""
        _fail(" ".join(exc.format_message().split()) + hint, exc, verbose)
    except click.ClickException as exc:
        _fail(" ".join(exc.format_message().split()), exc, verbose)
    except BenchError as exc:
        _fail(str(exc), exc, verbose)
    except OSError as exc:
        # A folder that cannot be written or read (BENCH_HOME on a file, a read-only disk, a full disk):
        # the user's environment, named by the file the system call failed on.
        if exc.filename is None:
            raise
        _fail(f"{exc.strerror or exc}: {exc.filename} (check BENCH_HOME, BENCH_*_DIR and the paths given)",
              exc, verbose)
    except (KeyboardInterrupt, typer.Abort):
        code = 130
    if code == 130:  # typer turns Ctrl-C inside a command into exit code 130
        typer.echo(f"\ninterrupted: {resume_hint(sys.argv[1:])}", err=True)
    sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, exc: BaseException, verbose: bool) -> None:
    """Print `error: message` (after the traceback with --verbose) and exit 2."""
    if verbose:
        import traceback

        traceback.print_exception(exc)
    typer.echo(f"error: {message}", err=True)
    sys.exit(2)


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
