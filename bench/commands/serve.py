"""`bench serve`: the results browser and the annotators' voting pages."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add `bench serve`."""
    app.command("serve")(serve)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (keep 127.0.0.1 unless behind a proxy)."),
    port: int = typer.Option(8765, "--port", help="Port."),
) -> None:
    """Serve the results browser and pairwise voting; the admin token comes from BENCH_ADMIN_TOKEN or is printed."""
    from bench.serve.server import run

    run(typer.echo, host=host, port=port)
