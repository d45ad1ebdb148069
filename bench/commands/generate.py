"""`bench generate`: prompts x samples -> a run folder of images and metadata."""

from __future__ import annotations

import typer

from bench.commands.options import Group, build, options_from
from bench.generation.config import GenerateConfig


def register(app: typer.Typer) -> None:
    """Add the generate command."""
    app.command("generate")(generate)


@options_from(Group(GenerateConfig, "settings", table="generate"))
def generate(
    dry_run: bool = typer.Option(False, "--dry-run", help="Check everything and print the run folder only."),
    settings: dict | None = None,
) -> None:
    """Generate every missing image of a run; safe to rerun, resume, or launch under torchrun/accelerate."""
    import bench
    from bench.generation import plan

    cfg = build(GenerateConfig, settings or {})
    if dry_run:
        p = plan(cfg)
        typer.echo(f"{p.run}  ({len(p.keys)} images, {p.spec['size']} px, {p.dtype} on {p.device})")
        return
    run = bench.generate(cfg)
    import os

    if int(os.environ.get("RANK", "0")) == 0:
        typer.echo(str(run))
