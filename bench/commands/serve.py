"""`bench serve`: the results browser and the annotators' voting pages."""

from __future__ import annotations

import typer

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8765  # also the default of `bench human invite --url`


def register(app: typer.Typer) -> None:
    """Add `bench serve`."""
    app.command("serve")(serve)


def serve(
    host: str = typer.Option(DEFAULT_HOST, "--host", help="Address to bind (keep 127.0.0.1 unless behind a proxy)."),
    port: int = typer.Option(DEFAULT_PORT, "--port", help="Port (pass the same address to `bench human invite "
                             "--url` when it is not the default)."),
) -> None:
    """Serve the results browser and pairwise voting; the admin token comes from BENCH_ADMIN_TOKEN or is printed."""
    from bench.serve.server import run

    run(typer.echo, host=host, port=port)
