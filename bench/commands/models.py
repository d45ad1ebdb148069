"""`bench models`: every registered text-to-image system and whether it can run here."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the models command."""
    app.command("models")(models)


def models(
    tier: str | None = typer.Option(None, help="Only 'real' or 'tiny' systems."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    include: list[str] = typer.Option([], "--include", help="Plug-in .py file or folder to load first (repeatable)."),
) -> None:
    """List systems with their kind, base, languages, weights and offline availability."""
    import json

    from bench.core import plugins

    plugins.include_all(include)

    from rich.console import Console
    from rich.table import Table

    from bench.core.errors import BenchError
    from bench.models.pipelines import SYSTEMS, checkpoint_systems

    if tier not in (None, "real", "tiny"):
        raise BenchError(f"--tier must be 'real' or 'tiny', got '{tier}'")
    specs = [spec for _, spec in SYSTEMS.items()] + checkpoint_systems()  # + `pea:<checkpoint>` per checkpoint
    rows = [(spec.name, spec) for spec in specs if tier in (None, spec.tier)]
    if as_json:
        out = [{**spec.describe(), "weights": spec.weights(), "available_offline": spec.available_offline()}
               for _, spec in rows]
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    table = Table(title="text-to-image systems")
    for column in ("name", "kind", "tier", "base", "languages", "weights", "offline"):
        table.add_column(column)
    for name, spec in rows:
        weights = "\n".join(f"{role}: {value}" for role, value in spec.weights().items())
        langs = ", ".join(spec.languages) if spec.languages else ("all but en" if spec.kind == "translate" else "all")
        table.add_row(name, spec.kind, spec.tier, spec.base or "-", langs, weights,
                      "yes" if spec.available_offline() else "no")
    Console(width=200).print(table)
