"""`bench train`: PEA knowledge distillation; `bench fetch-images`: download a corpus's URL images."""

from __future__ import annotations

from pathlib import Path

import typer

from bench.commands.options import Group, build, options_from
from bench.training.config import TrainConfig


def register(app: typer.Typer) -> None:
    """Add the train and fetch-images commands."""
    app.command("train")(train)
    app.command("fetch-images")(fetch_images)


@options_from(Group(TrainConfig, "settings", table="train"))
def train(settings: dict) -> None:
    """Train a PEA adapter by distillation from the base model's own English text encoders."""
    import bench

    folder = bench.train(build(TrainConfig, settings))
    from bench.core import paths

    config = paths.read_json(folder / "config.json")
    losses = config.get("losses", {})
    typer.echo(f"checkpoint {folder} (step {config['step']}; train loss {losses.get('train')}, "
               f"val {losses.get('val_initial')} -> {losses.get('val')})")


def fetch_images(
    corpus: str = typer.Option(..., help="Corpus folder (corpora/NAME) or corpus name."),
    processes: int = typer.Option(4, help="img2dataset processes."),
    threads: int = typer.Option(16, help="Threads per process."),
    image_size: int = typer.Option(1024, help="Resize so the shorter side is at most this (keep ratio)."),
    timeout: int = typer.Option(10, help="Seconds per request."),
    retries: int = typer.Option(1, help="Retries per failed download."),
    engine: str = typer.Option("local", "--engine", help="img2dataset's distributor: local (its process pool), "
                               "ray (a Ray cluster) or spark (pyspark); failures are recorded per row either way."),
    ray_address: str = typer.Option(None, "--ray-address", help="ray: 'auto' or HOST:PORT of a running cluster."),
) -> None:
    """Download the URL images of a corpus into local shards with img2dataset; failed rows are recorded."""
    from bench.corpus.fetch import FetchConfig, fetch

    result = fetch(FetchConfig(corpus=corpus, processes=processes, threads=threads, image_size=image_size,
                               timeout=timeout, retries=retries, engine=engine, ray_address=ray_address))
    typer.echo(f"fetched {result['success']} of {result['urls']} URL images into {Path(result['folder'])} "
               f"({result['failed']} failed; see {result['index']})")
