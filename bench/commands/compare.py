"""`bench compare RUN_A RUN_B`: the paired table of two evaluated runs."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the compare command."""
    app.command("compare")(compare)


def compare(
    run_a: str = typer.Argument(..., help="Run folder or run id (A)."),
    run_b: str = typer.Argument(..., help="Run folder or run id (B); the table shows A - B."),
    metrics: str = typer.Option(None, "--metrics", help="Comma-separated metrics; default: every shared one."),
    out: Path = typer.Option(None, "--out", help="JSON output (default: BENCH_HOME/compare/<A>--<B>.json); missing folders are created, a symlink or device is written through."),
    no_consistency: bool = typer.Option(False, "--no-consistency", help="Skip the image cosine between runs."),
    device: str = typer.Option("cpu", "--device", help="Where the judge runs for the consistency (cpu, cuda)."),
) -> None:
    """Paired differences A - B per metric: 95% prompt-bootstrap CI, sign-flip p-value, Holm-adjusted."""
    import bench
    from bench.core import paths
    from bench.stats.compare import default_output, format_table

    names = tuple(m for m in (metrics or "").replace(",", " ").split() if m) or None
    result = bench.compare(run_a, run_b, names, consistency=not no_consistency, device=device)
    target = out or default_output(result)
    paths.write_json(target, result)
    typer.echo(format_table(result))
    typer.echo(f"written: {target}")
