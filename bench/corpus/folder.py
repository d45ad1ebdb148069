"""A corpus folder on disk: found by name or path, its parquet shards, where fetched images go."""

from __future__ import annotations

from pathlib import Path

from bench.core import paths
from bench.core.errors import BenchError

FETCHED = "fetched.parquet"  # written by `bench fetch-images`: id, url, path, status, error
IMAGES_DIR = "images"  # where `bench fetch-images` puts downloaded shards, inside the corpus folder


def find_corpus(corpus: str | Path) -> Path:
    """A corpus folder from a path (corpora/NAME) or a bare name under corpora_dir()."""
    path = Path(corpus)
    if path.is_dir():
        return path.resolve()
    if path.is_file():
        raise BenchError(f"corpus {corpus} is a file; give a corpus folder (corpora/NAME, with manifest.json and "
                         "its parquet shards) or a corpus name")
    named = paths.corpora_dir() / str(corpus)
    if named.is_dir():
        return named.resolve()
    raise BenchError(f"corpus {corpus} does not exist (bench build-corpus writes corpora/<name>/)")


def shard_files(folder: Path) -> list[Path]:
    """The corpus's parquet shards (anything below it except downloaded images and our own index)."""
    files = sorted(p for p in folder.rglob("*.parquet")
                   if IMAGES_DIR not in p.relative_to(folder).parts[:-1] and p.name != FETCHED)
    if not files:
        raise BenchError(f"corpus {folder} has no parquet shards")
    return files


def read_shard(file: Path, columns: list[str] | None = None):
    """One parquet shard as a polars frame; a truncated or foreign file is a one-line error naming it."""
    import polars as pl

    try:
        return pl.read_parquet(file, columns=columns)
    except (pl.exceptions.PolarsError, OSError) as exc:
        detail = " ".join(str(exc).split())[:160]
        raise BenchError(f"{file}: not a readable parquet shard ({detail}); build the corpus again or "
                         "remove the file") from None
