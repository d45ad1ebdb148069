"""`bench generate`: prompts x samples -> a run folder of images and metadata."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the generate command."""
    app.command("generate")(generate)


def generate(
    model: str = typer.Option(..., "--model", "-m", help="System to run (bench models lists them)."),
    prompts: str = typer.Option(..., "--prompts", "-p", help="Prompt set name (bench prompts list)."),
    lang: str = typer.Option(..., "--lang", "-l", help="Prompt language (ISO 639-1)."),
    samples: int = typer.Option(4, help="Images per prompt."),
    steps: int = typer.Option(30, help="Denoising steps."),
    guidance: float = typer.Option(7.5, help="Classifier-free guidance scale."),
    size: int | None = typer.Option(None, help="Square image side in pixels (default: the system's)."),
    scheduler: str = typer.Option("dpmpp", help="Sampler: dpmpp, ddim, euler, euler-a, unipc, pndm, default."),
    batch_size: int = typer.Option(8, "--batch-size", help="Images per pipeline call (does not change images)."),
    seed: int = typer.Option(0, help="Run seed; each image's seed derives from it, the prompt id and the sample."),
    dtype: str = typer.Option("auto", help="auto (fp16 on GPU, fp32 on CPU), float32, float16, bfloat16."),
    compile: bool = typer.Option(False, "--compile", help="torch.compile the UNet."),
    limit: int | None = typer.Option(None, help="Only the first N prompts of the set."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check everything and print the run folder only."),
) -> None:
    """Generate every missing image of a run; safe to rerun, resume, or launch under torchrun/accelerate."""
    from bench.generate import GenerateConfig, plan
    from bench.generate import generate as run_generate

    cfg = GenerateConfig(model=model, prompts=prompts, lang=lang, samples=samples, steps=steps, guidance=guidance,
                         size=size, scheduler=scheduler, batch_size=batch_size, seed=seed, dtype=dtype,
                         compile=compile, limit=limit)
    if dry_run:
        p = plan(cfg)
        typer.echo(f"{p.run}  ({len(p.keys)} images, {p.spec['size']} px, {p.dtype} on {p.device})")
        return
    run = run_generate(cfg)
    import os

    if int(os.environ.get("RANK", "0")) == 0:
        typer.echo(str(run))
