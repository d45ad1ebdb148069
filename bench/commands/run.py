"""`bench run SUITE.toml`: a whole comparison (systems x prompt sets x languages) in one command."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the run command."""
    app.command("run")(run)


def run(
    suite: Path = typer.Argument(..., help="Suite file (a path, or a shipped suite such as suites/world.toml): "
                                 "keys name, models, prompts, langs, publish, and the tables \\[generate] and "
                                 "\\[evaluate] (bench.evaluation.suite documents them)."),
    publish: bool = typer.Option(None, "--publish/--no-publish",
                                 help="Publish comparable results to reports/results (default: the file's "
                                      "'publish', else no)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check every cell as the run would (settings, systems, "
                                 "judges, extractor, reference statistics), list the cells and exit."),
) -> None:
    """Generate and evaluate every applicable cell of a suite, list the others with reasons, print one table.

    A killed suite resumes where it stopped: rerun the same command.

    Examples:

      bench run suites/world.toml

      bench run my-suite.toml --dry-run
    """
    import dataclasses

    from bench.core import paths
    from bench.evaluation.suite import Suite, run_suite

    spec = Suite.from_toml(paths.find_suite(suite))
    if publish is not None:
        spec = dataclasses.replace(spec, publish=publish)
    if dry_run:
        dry_run_suite(spec)
        return
    table = run_suite(spec, echo=typer.echo)
    print_table(table)
    report_suite_publication(table, spec.publish)


def dry_run_suite(spec) -> None:
    """Check every cell as the real run does, then list what would run (with its metrics) and what cannot."""
    from bench.evaluation.suite import check_cells, plan_cells

    cells, skipped = plan_cells(spec)
    checked = check_cells(spec, cells)
    for cell in cells:
        found = checked[cell.key]
        typer.echo(f"run  {cell.model} | {cell.prompts} | {cell.lang}: {found.images} images, "
                   f"metrics {', '.join(found.metrics) or 'none'}")
    for cell, why in skipped:
        typer.echo(f"skip {cell.model} | {cell.prompts} | {cell.lang}: {why}")
    typer.echo(f"dry run: {len(cells)} cells checked, nothing generated")


def report_suite_publication(table: dict, asked: bool) -> None:
    """After a suite or a list evaluation: which cells' results are on the leaderboard's input."""
    from bench.evaluation.publish import is_published

    published = [row["run_id"] for row in table["rows"] if is_published(row["run_id"])]
    for run_id in published:
        typer.echo(f"published: reports/results/{run_id}.json")
    if asked and len(published) < len(table["rows"]):
        typer.echo(f"not published: {len(table['rows']) - len(published)} of {len(table['rows'])} cells "
                   "(the warnings above say why)", err=True)
    elif not published:
        typer.echo("not published (scratch results); add them to the leaderboard with --publish")


def print_table(table: dict) -> None:
    """Echo a finished suite's final table (bench run, and bench evaluate with lists)."""
    from bench.evaluation.suite import table_lines

    typer.echo(f"suite {table['name']}: {len(table['rows'])} cells")
    typer.echo("\n".join(table_lines(table)))
