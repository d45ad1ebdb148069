"""`bench publish RUN`: put an evaluated run on the leaderboard (reports/results/<run-id>.json)."""

from __future__ import annotations

import typer

from bench.core.errors import BenchError


def register(app: typer.Typer) -> None:
    """Add the publish command."""
    app.command("publish")(publish)


def publish(
    runs: list[str] = typer.Argument(..., help="Evaluated run folder(s) or run id(s)."),
) -> None:
    """Copy evaluated runs' summaries to reports/results, the leaderboard's input, when they are comparable.

    A run is kept out (with the reasons) when its generation settings (a --limit, other steps, guidance,
    samples, scheduler or seed) differ from the results already published for its prompt set and tier.

    Examples:

      bench publish .bench/runs/world-pea-zh-world-general-zh-be9d3af15b48

      bench publish RUN_ID && bench leaderboard
    """
    from bench.evaluation.publish import not_published_message, publish_run

    kept_out = 0
    for run in runs:
        path, problems = publish_run(run)
        if problems:
            kept_out += 1
            typer.echo(not_published_message(path.stem, problems), err=True)
        else:
            typer.echo(f"published {path}")
    if kept_out:
        raise BenchError(f"{kept_out} of {len(runs)} runs not published (reasons above)")


def report_publication(summary: dict, asked: bool) -> None:
    """After `bench evaluate`: say whether the result is on the leaderboard's input, and how to put it there."""
    from bench.evaluation.publish import (
        comparability_problems,
        is_published,
        not_published_message,
        read_published,
    )

    run_id = summary["run_id"]
    if is_published(run_id):
        typer.echo(f"published: reports/results/{run_id}.json (bench leaderboard renders it)")
        return
    if asked:
        problems = comparability_problems(summary, read_published(exclude=run_id))
        typer.echo(not_published_message(run_id, problems), err=True)
        return
    typer.echo(f"not published (scratch result); add it to the leaderboard with --publish or "
               f"`bench publish {run_id}`")
