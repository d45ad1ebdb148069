"""`bench run SUITE.toml`: a whole comparison (systems x prompt sets x languages) in one command."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the run command."""
    app.command("run")(run)


def run(
    suite: Path = typer.Argument(..., help="Suite file: models, prompts, langs lists, [generate], [evaluate]."),
    publish: bool = typer.Option(None, "--publish/--no-publish",
                                 help="Publish comparable results to reports/results (default: the file's "
                                      "'publish', else no)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the cells that would run and those that cannot."),
) -> None:
    """Generate and evaluate every applicable cell of a suite, list the others with reasons, print one table.

    A killed suite resumes where it stopped: rerun the same command.

    Examples:

      bench run suites/world.toml

      bench run my-suite.toml --dry-run
    """
    import dataclasses

    from bench.evaluation.suite import Suite, plan_cells, print_table, run_suite

    spec = Suite.from_toml(suite)
    if publish is not None:
        spec = dataclasses.replace(spec, publish=publish)
    if dry_run:
        cells, skipped = plan_cells(spec)
        for cell in cells:
            typer.echo(f"run  {cell.model} | {cell.prompts} | {cell.lang}")
        for cell, why in skipped:
            typer.echo(f"skip {cell.model} | {cell.prompts} | {cell.lang}: {why}")
        return
    print_table(run_suite(spec, echo=typer.echo))
