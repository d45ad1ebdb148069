"""Caption tables (JSONL, CSV, TSV, parquet, a `datasets` split): which column holds what, read in batches."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl

from bench.core.errors import BenchError

# Column names tried, in order, when a file does not say which column holds what.
CAPTION_COLUMNS = ("caption", "TEXT", "text", "caption_en", "text_en", "en", "sentence", "prompt")
IMAGE_COLUMNS = ("url", "URL", "image_url", "image", "image_path", "file_name", "filepath", "path")
ID_COLUMNS = ("id", "key", "SAMPLE_ID", "image_id", "uid")
# LAION multilingual with English translations (laion2B-multi-joined-translated-to-en): native TEXT, English
# ENG TEXT, and the language of each row in LANGUAGE.
TRANSLATED_EN_COLUMNS = ("ENG TEXT", "ENG_TEXT", "TEXT_EN", "caption_en_translated")
LANGUAGE_COLUMNS = ("LANGUAGE", "language", "lang")
SCORE_COLUMNS = {
    "width": ("width", "WIDTH", "original_width"),
    "height": ("height", "HEIGHT", "original_height"),
    "similarity": ("similarity", "SIMILARITY", "clip_similarity"),
    "aesthetic": ("aesthetic", "AESTHETIC_SCORE", "aesthetic_score"),
}



def pick(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    """The first candidate present in `columns` (exact, then case-insensitive)."""
    for name in candidates:
        if name in columns:
            return name
    lowered = {c.lower(): c for c in columns}
    for name in candidates:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def table_plan(columns: list[str], location: str, lang: str, stem: str
                ) -> tuple[list[pl.Expr], bool, list[str]]:
    """Expressions mapping a table's columns onto the standard ones, whether ids need a row index, columns used."""
    caption = pick(columns, CAPTION_COLUMNS)
    native = pick(columns, (lang, f"text_{lang}", f"caption_{lang}"))
    translated_en = pick(columns, TRANSLATED_EN_COLUMNS)
    language = pick(columns, LANGUAGE_COLUMNS) if translated_en else None
    if translated_en and native is None:
        native, caption = pick(columns, ("TEXT", "text", "caption")), translated_en
    if caption is None and native is None:
        raise BenchError(
            f"{location} has no caption column (looked for {', '.join(CAPTION_COLUMNS)}); "
            f"its columns are: {', '.join(columns[:20])}"
        )
    exprs = [pl.col(caption).alias("text_en") if caption else pl.lit("").alias("text_en")]
    if native and native != caption:
        exprs.append(pl.col(native).alias("text"))
    image = pick(columns, IMAGE_COLUMNS)
    if image:
        exprs.append(pl.col(image).cast(pl.String, strict=False).alias("image"))
    for name, candidates in SCORE_COLUMNS.items():
        found = pick(columns, candidates)
        if found:
            exprs.append(pl.col(found).alias(name))
    if "source" in columns:
        exprs.append(pl.col("source"))
    if language:
        exprs.append(pl.col(language).cast(pl.String).alias("source_lang"))
    ident = pick(columns, ID_COLUMNS)
    if ident and ident != image:
        exprs.append(pl.col(ident).cast(pl.String).alias("id"))
    else:
        ident = None
        exprs.append((pl.lit(f"{stem}-") + pl.col("_row").cast(pl.String)).alias("id"))
    used = [c for c in columns if c in {caption, native, image, ident, "source", language,
                                        *(pick(columns, v) for v in SCORE_COLUMNS.values())}]
    return exprs, ident is None, used


def culprit(files: list[Path] | None, scan: Callable[[list[Path]], pl.LazyFrame] | None) -> str | None:
    """The file (and for JSON lines the line) a read of several files failed on, found file by file."""
    for file in files or []:
        if file.suffix in (".jsonl", ".json"):
            with open(file, encoding="utf-8", errors="replace") as handle:
                for line_no, line in enumerate(handle, 1):
                    if line.strip():
                        try:
                            json.loads(line)
                        except json.JSONDecodeError as exc:
                            return f"{file}:{line_no}: not valid JSON ({exc.msg})"
        if scan is not None:
            try:
                scan([file]).collect()
            except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
                return f"{file}: {str(exc).splitlines()[0][:200]}"
    return None


def read_error(location: str, exc: Exception, files: list[Path] | None,
                scan: Callable[[list[Path]], pl.LazyFrame] | None) -> BenchError:
    """One line naming the file (and line) that could not be read."""
    found = culprit(files, scan)
    if found:
        return BenchError(f"{location}: cannot read {found}")
    return BenchError(f"{location}: cannot read ({str(exc).splitlines()[0][:200]})")


def lazy_table(lazy: pl.LazyFrame, location: str, lang: str, stem: str, files: list[Path] | None = None,
                scan: Callable[[list[Path]], pl.LazyFrame] | None = None) -> pl.LazyFrame:
    """Select and rename a lazily scanned table's columns into the standard ones."""
    try:
        columns = lazy.collect_schema().names()
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise read_error(location, exc, files, scan) from None
    exprs, needs_row, _ = table_plan(columns, location, lang, stem)
    if needs_row:
        lazy = lazy.with_row_index("_row")
    return lazy.select(exprs)


def stream(lazy: pl.LazyFrame, location: str, files: list[Path] | None = None,
            scan: Callable[[list[Path]], pl.LazyFrame] | None = None) -> Callable[[int], Iterator[pl.DataFrame]]:
    """Read a lazy frame in batches of at most n rows, turning parse errors into one line naming the file."""

    def read(n: int) -> Iterator[pl.DataFrame]:
        try:
            yield from lazy.collect_batches(chunk_size=n)
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise read_error(location, exc, files, scan) from None

    return read


def table_files(path: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """One file, or every file with one of `suffixes` in a folder (sorted, so the order is stable)."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(suffixes))
        if not files:
            raise BenchError(f"{path} holds no {'/'.join(suffixes)} files")
        return files
    return [path]
