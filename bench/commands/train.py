"""`bench train`: PEA knowledge distillation; `bench fetch-images`: download a corpus's URL images."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the train and fetch-images commands."""
    app.command("train")(train)
    app.command("fetch-images")(fetch_images)


def _bases() -> str:
    """Every registered base, for --base's help (the registry module is light: no torch)."""
    from bench.models.bases import BASES

    return ", ".join(BASES.names())


def train(
    lang: str = typer.Option(..., help="Language of the native captions (ISO 639-1)."),
    base: str = typer.Option("sdxl", help=f"Base model: {_bases()}, zoo:<name>, a hub id or a local diffusers "
                                          "pipeline folder (its family read from model_index.json)."),
    encoder: str = typer.Option(None, help="Student encoder: chinese-clip, altclip-m18, mt5-xl, tiny, world, "
                                           "zoo:<name>, a hub id or a transformers folder (default: the "
                                           "language's)."),
    corpus: str = typer.Option(None, help="Corpus folder (corpora/NAME) or corpus name (default cc3m-<lang>, "
                                          "what bench build-corpus --lang writes)."),
    name: str = typer.Option(None, help="Checkpoint name (default pea-<lang>-<base>-<encoder>-<hash>)."),
    steps: int = typer.Option(1000, help="Optimizer steps."),
    batch_size: int = typer.Option(4, help="Micro-batch size per process."),
    grad_accum: int = typer.Option(1, help="Micro-batches per optimizer step."),
    lr: float = typer.Option(1e-5, help="Peak learning rate (AdamW)."),
    weight_decay: float = typer.Option(0.1),
    warmup_steps: int = typer.Option(100),
    hidden_dim: int = typer.Option(None, help="Adapter hidden width (default: the paper's)."),
    kd: str = typer.Option("both", help="Distillation: both (output + features), output, features, text "
                                        "(adapter vs teacher embeddings only), all."),
    feature_weight: float = typer.Option(0.1),
    hybrid: bool = typer.Option(True, help="Denoising loss for native-only rows (else skip them)."),
    cfg_dropout: float = typer.Option(0.1),
    noise_offset: float = typer.Option(0.5),
    resolution: int = typer.Option(None, help="Training image side (default: the base's)."),
    seed: int = typer.Option(0),
    mixed_precision: str = typer.Option("fp16", help="no, fp16 or bf16 (GPU only)."),
    gradient_checkpointing: bool = typer.Option(False),
    cache: bool = typer.Option(True, help="Cache frozen text embeddings and latents."),
    val_rows: int = typer.Option(8),
    val_every: int = typer.Option(100),
    save_every: int = typer.Option(500),
    init_adapter: str = typer.Option(None, help="Start from a checkpoint folder or released pytorch_model.bin."),
    stop_after: int = typer.Option(None, help="Stop (with a checkpoint) after this many steps."),
    resume: bool = typer.Option(False, help="Continue the run in the checkpoint folder exactly."),
) -> None:
    """Train a PEA adapter by distillation from the base model's own English text encoders."""
    from bench.defaults import train_corpus
    from bench.errors import BenchError
    from bench.languages import get_language
    from bench.train.distill import TrainConfig
    from bench.train.distill import train as run

    kd_modes = {"both": (True, True, 0.0), "output": (True, False, 0.0), "features": (False, True, 0.0),
                "text": (False, False, 1.0), "all": (True, True, 1.0)}
    if kd not in kd_modes:
        raise BenchError(f"--kd must be one of {', '.join(kd_modes)}, got {kd!r}")
    kd_output, kd_features, kd_text_weight = kd_modes[kd]
    cfg = TrainConfig(
        lang=get_language(lang).code, base=base, encoder=encoder or get_language(lang).student_encoder,
        corpus=train_corpus(get_language(lang).code, corpus), name=name, steps=steps, batch_size=batch_size, grad_accum=grad_accum, lr=lr,
        weight_decay=weight_decay, warmup_steps=warmup_steps, hidden_dim=hidden_dim, kd_output=kd_output,
        kd_features=kd_features, kd_text_weight=kd_text_weight,
        feature_weight=feature_weight, hybrid=hybrid, cfg_dropout=cfg_dropout,
        noise_offset=noise_offset, resolution=resolution, seed=seed, mixed_precision=mixed_precision,
        gradient_checkpointing=gradient_checkpointing, cache=cache, val_rows=val_rows, val_every=val_every,
        save_every=save_every, init_adapter=init_adapter, stop_after=stop_after, resume=resume,
    )
    folder = run(cfg)
    from bench import paths

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
    retries: int = typer.Option(1),
) -> None:
    """Download the URL images of a corpus into local shards with img2dataset; failed rows are recorded."""
    from bench.fetch import FetchConfig, fetch

    result = fetch(FetchConfig(corpus=corpus, processes=processes, threads=threads, image_size=image_size,
                               timeout=timeout, retries=retries))
    typer.echo(f"fetched {result['success']} of {result['urls']} URL images into {Path(result['folder'])} "
               f"({result['failed']} failed; see {result['index']})")
