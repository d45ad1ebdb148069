"""`bench build-corpus`: parallel caption corpora from COCO, LAION, datasets, xm3600, COCO-CN, files or the sample."""

from __future__ import annotations

import typer

from bench.core.errors import BenchError

SOURCE_HELP = (
    "KIND:PATH, repeatable. Kinds: sample (shipped hand translations; PATH optional), sample-en (its English "
    "side), coco (captions_*.json), laion (metadata parquet file/folder), parquet, jsonl, csv, tsv, "
    "hf (datasets id or folder, optionally ID@SPLIT), "
    "xm3600 (captions.jsonl or the floschne/xm3600 layout), coco-cn (folder of caption .txt files)."
)


def register(app: typer.Typer) -> None:
    """Add the build-corpus command."""
    app.command("build-corpus")(build_corpus)


def build_corpus(
    lang: str = typer.Option(..., "--lang", help="Target language (ISO code; bench languages lists them)."),
    source: list[str] = typer.Option(None, "--source", help=SOURCE_HELP + " Default: Conceptual Captions "
                                     "(hf:google-research-datasets/conceptual_captions), named cc3m-<lang>."),
    translator: str = typer.Option("nllb", "--translator", help="nllb, m2m100, opus-mt, tiny (offline) or none."),
    translator_model: str = typer.Option(None, "--translator-model",
                                         help="Hub id or local folder replacing the translator's default model."),
    limit: int = typer.Option(None, "--limit", help="Read at most N source captions."),
    name: str = typer.Option(None, "--name", help="Corpus folder name (default <kinds>-<lang>-<translator>)."),
    shard_size: int = typer.Option(50_000, "--shard-size", help="Source captions per parquet shard."),
    batch_size: int = typer.Option(32, "--batch-size", help="Translation batch size."),
    device: str = typer.Option(None, "--device", help="cpu, cuda or cuda:N (default: this process's GPU if any)."),
    max_chars: int = typer.Option(400, "--max-chars", help="Drop source captions longer than this."),
    no_language_id: bool = typer.Option(False, "--no-language-id", help="Skip the language-identification filter."),
    min_size: int = typer.Option(None, "--min-size", help="LAION: drop images narrower or shorter than this."),
    min_similarity: float = typer.Option(None, "--min-similarity", help="LAION: minimum CLIP similarity."),
    min_aesthetic: float = typer.Option(None, "--min-aesthetic", help="LAION: minimum aesthetic score."),
    images: str = typer.Option(None, "--images", help="XM3600 captions.jsonl: the folder of its <key>.jpg images "
                                                      "(copied into the corpus; rows without one are counted)."),
    engine: str = typer.Option("local", "--engine", help="local (this process, or torchrun ranks) or ray "
                               "(a Ray cluster; needs the 'ray' extra). The corpus is the same."),
    ray_address: str = typer.Option(None, "--ray-address", help="Ray: 'auto' (the running cluster) or "
                                    "HOST:PORT; default: start a local cluster."),
    workers: int = typer.Option(None, "--workers", help="Ray: translator actors (default one per GPU, else one)."),
) -> None:
    """Build a parallel caption corpus in corpora/<name>/ (resumable; shards split across torchrun ranks)."""
    import bench
    from bench.core.languages import get_language
    from bench.corpus.build import CorpusConfig
    from bench.corpus.filters import FilterSettings

    if not source:  # `bench build-corpus --lang ko`: the documented default source and name
        from bench.corpus.defaults import (
            DEFAULT_SOURCE,
            default_corpus_name,
            require_default_source,
        )

        require_default_source(get_language(lang).code)
        source = [DEFAULT_SOURCE]
        name = name if name is not None else default_corpus_name(get_language(lang).code)
    for flag, value in (("--min-size", min_size), ("--limit", limit)):
        if value is not None and value < 0:  # named as the user typed it (it sets min_width and min_height)
            raise BenchError(f"{flag} must be at least 0, got {value}")
    if device:
        from bench.core.runtime import check_device

        check_device(device)  # even when the translator would never use it
    if engine == "ray":
        from bench.corpus.ray_engine import require_ray

        require_ray()
    filters = FilterSettings(max_chars=max_chars, language_id=not no_language_id, min_width=min_size,
                             min_height=min_size, min_similarity=min_similarity, min_aesthetic=min_aesthetic)
    config = CorpusConfig(lang=get_language(lang).code, sources=tuple(source), translator=translator,
                          translator_model=translator_model, name=name, limit=limit, shard_size=shard_size,
                          batch_size=batch_size, device=device, filters=filters, images=images,
                          engine=engine, ray_address=ray_address, workers=workers)
    result = bench.build_corpus(config, progress=True)
    if not result.finalized:
        typer.echo(f"built {result.shards_built} shards of {result.folder}; the last rank to finish writes the "
                   "manifest (or rerun the same command)")
        return
    rows = result.manifest["rows"]
    typer.echo(f"{result.folder}: {rows['kept']} of {rows['read']} captions kept in {result.shards_total} shards "
               f"({result.shards_built} built, {result.shards_skipped} already done)")
    for entry in result.manifest["filters"]:
        if entry["dropped"]:
            typer.echo(f"  {entry['name']}: {entry['dropped']} dropped")
    typer.echo(f"  manifest: {result.folder / 'manifest.json'}  sample: {result.folder / 'sample.md'}")
