"""Caption sources: each streams (id, English caption, native caption or null, image reference) in batches.

`KIND:PATH` names a source on the command line. Every source yields polars frames with the columns of
SOURCE_SCHEMA (plus nothing else), in a deterministic order, so a corpus is cut into the same shards however
many processes build it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from bench import paths
from bench.errors import BenchError, NotAvailableOffline
from bench.languages import get_language
from bench.registry import Registry

SOURCE_SCHEMA = {
    "id": pl.String,
    "text_en": pl.String,
    "text": pl.String,  # native caption for native-parallel sources, null when it must be translated
    "image": pl.String,  # URL, path or null
    "source": pl.String,
    "width": pl.Float64,
    "height": pl.Float64,
    "similarity": pl.Float64,
    "aesthetic": pl.Float64,
    "source_lang": pl.String,  # language the source says a native caption is in (LAION multi), else null
}

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


@dataclass
class Source:
    """One opened source: a label for the `source` column, a description for the manifest, a batch reader."""

    kind: str
    location: str
    label: str
    read: Callable[[int], Iterator[pl.DataFrame]] = field(repr=False)
    files: list[Path] = field(default_factory=list)
    # writes files the rows refer to (images) into the corpus folder; returns how many
    assets: Callable[[Path], int] | None = field(default=None, repr=False)
    counts: dict = field(default_factory=dict)  # what the reader dropped or found, for the manifest

    def batches(self, batch_rows: int = 65536) -> Iterator[pl.DataFrame]:
        """Frames with exactly the SOURCE_SCHEMA columns, in source order."""
        for frame in self.read(batch_rows):
            if frame.height:
                yield conform(frame, self.label)

    def describe(self) -> dict:
        """kind, location and a content hash of the files read (for the manifest)."""
        out = {"kind": self.kind, "location": self.location, "label": self.label,
               "sha256": files_sha256(self.files) if self.files else None}
        return out | ({"counts": self.counts} if self.counts else {})


SourceOpener = Callable[[str, str], Source]
SOURCES: Registry[SourceOpener] = Registry("source kind", hint="use KIND:PATH with a kind listed by bench build-corpus --help",
                                          key="sources")


def parse_spec(spec: str) -> tuple[str, str]:
    """Split 'KIND:PATH' (PATH may itself contain ':'); 'sample' alone means the shipped sample."""
    kind, sep, location = spec.partition(":")
    if not sep and kind not in {"sample", "sample-en"}:
        raise BenchError(f"source {spec!r} is not KIND:PATH (e.g. coco:annotations/captions_train2014.json)")
    SOURCES.get(kind)
    return kind, location


IMAGE_FOLDER_KINDS = ("xm3600",)  # sources whose images are distributed separately (--images DIR)


def open_source(spec: str, lang: str, images: str | None = None) -> Source:
    """Open a 'KIND:PATH' source for target language `lang`, checking its format up front."""
    kind, location = parse_spec(spec)
    opener = SOURCES.get(kind)
    if images is not None:
        if kind not in IMAGE_FOLDER_KINDS:
            raise BenchError(f"--images applies to {', '.join(IMAGE_FOLDER_KINDS)} sources, not {kind}")
        return opener(location, get_language(lang).code, images=images)
    return opener(location, get_language(lang).code)


def conform(frame: pl.DataFrame, label: str) -> pl.DataFrame:
    """Add missing standard columns as nulls, cast, order them; the source label fills `source` if absent."""
    exprs = []
    for name, dtype in SOURCE_SCHEMA.items():
        if name in frame.columns:
            exprs.append(pl.col(name).cast(dtype, strict=False))
        elif name == "source":
            exprs.append(pl.lit(label, dtype=pl.String).alias(name))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    return frame.select(exprs)


def files_sha256(files: list[Path]) -> str:
    """SHA-256 over the bytes of `files` in order (names included, so renames show)."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0")
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def _existing(location: str, what: str) -> Path:
    """The path of a local source, or a one-line error when it is missing."""
    if not location:
        raise BenchError(f"{what} source needs a path: {what}:PATH")
    path = Path(location).expanduser()
    if not path.exists():
        raise BenchError(f"source file {location} does not exist")
    return path


def _pick(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    """The first candidate present in `columns` (exact, then case-insensitive)."""
    for name in candidates:
        if name in columns:
            return name
    lowered = {c.lower(): c for c in columns}
    for name in candidates:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def _table_plan(columns: list[str], location: str, lang: str, stem: str
                ) -> tuple[list[pl.Expr], bool, list[str]]:
    """Expressions mapping a table's columns onto the standard ones, whether ids need a row index, columns used."""
    caption = _pick(columns, CAPTION_COLUMNS)
    native = _pick(columns, (lang, f"text_{lang}", f"caption_{lang}"))
    translated_en = _pick(columns, TRANSLATED_EN_COLUMNS)
    language = _pick(columns, LANGUAGE_COLUMNS) if translated_en else None
    if translated_en and native is None:
        native, caption = _pick(columns, ("TEXT", "text", "caption")), translated_en
    if caption is None and native is None:
        raise BenchError(
            f"{location} has no caption column (looked for {', '.join(CAPTION_COLUMNS)}); "
            f"its columns are: {', '.join(columns[:20])}"
        )
    exprs = [pl.col(caption).alias("text_en") if caption else pl.lit("").alias("text_en")]
    if native and native != caption:
        exprs.append(pl.col(native).alias("text"))
    image = _pick(columns, IMAGE_COLUMNS)
    if image:
        exprs.append(pl.col(image).cast(pl.String, strict=False).alias("image"))
    for name, candidates in SCORE_COLUMNS.items():
        found = _pick(columns, candidates)
        if found:
            exprs.append(pl.col(found).alias(name))
    if "source" in columns:
        exprs.append(pl.col("source"))
    if language:
        exprs.append(pl.col(language).cast(pl.String).alias("source_lang"))
    ident = _pick(columns, ID_COLUMNS)
    if ident and ident != image:
        exprs.append(pl.col(ident).cast(pl.String).alias("id"))
    else:
        ident = None
        exprs.append((pl.lit(f"{stem}-") + pl.col("_row").cast(pl.String)).alias("id"))
    used = [c for c in columns if c in {caption, native, image, ident, "source", language,
                                        *(_pick(columns, v) for v in SCORE_COLUMNS.values())}]
    return exprs, ident is None, used


def _culprit(files: list[Path] | None, scan: Callable[[list[Path]], pl.LazyFrame] | None) -> str | None:
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


def _read_error(location: str, exc: Exception, files: list[Path] | None,
                scan: Callable[[list[Path]], pl.LazyFrame] | None) -> BenchError:
    """One line naming the file (and line) that could not be read."""
    found = _culprit(files, scan)
    if found:
        return BenchError(f"{location}: cannot read {found}")
    return BenchError(f"{location}: cannot read ({str(exc).splitlines()[0][:200]})")


def _lazy_table(lazy: pl.LazyFrame, location: str, lang: str, stem: str, files: list[Path] | None = None,
                scan: Callable[[list[Path]], pl.LazyFrame] | None = None) -> pl.LazyFrame:
    """Select and rename a lazily scanned table's columns into the standard ones."""
    try:
        columns = lazy.collect_schema().names()
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise _read_error(location, exc, files, scan) from None
    exprs, needs_row, _ = _table_plan(columns, location, lang, stem)
    if needs_row:
        lazy = lazy.with_row_index("_row")
    return lazy.select(exprs)


def _stream(lazy: pl.LazyFrame, location: str, files: list[Path] | None = None,
            scan: Callable[[list[Path]], pl.LazyFrame] | None = None) -> Callable[[int], Iterator[pl.DataFrame]]:
    """Read a lazy frame in batches of at most n rows, turning parse errors into one line naming the file."""

    def read(n: int) -> Iterator[pl.DataFrame]:
        try:
            yield from lazy.collect_batches(chunk_size=n)
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise _read_error(location, exc, files, scan) from None

    return read


def _table_files(path: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """One file, or every file with one of `suffixes` in a folder (sorted, so the order is stable)."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(suffixes))
        if not files:
            raise BenchError(f"{path} holds no {'/'.join(suffixes)} files")
        return files
    return [path]


def _open_table(kind: str, location: str, lang: str, scan: Callable[[list[Path]], pl.LazyFrame],
                suffixes: tuple[str, ...]) -> Source:
    """A source over tabular files (JSONL, CSV, TSV, parquet)."""
    path = _existing(location, kind)
    files = _table_files(path, suffixes)
    lazy = _lazy_table(scan(files), location, lang, path.stem, files, scan)
    return Source(kind, location, kind, _stream(lazy, location, files, scan), files)


@SOURCES.register("jsonl")
def open_jsonl(location: str, lang: str) -> Source:
    """JSON lines with a caption column (and optionally image, id and a native `<lang>` column)."""
    return _open_table("jsonl", location, lang, lambda f: pl.scan_ndjson(f, infer_schema_length=1000),
                       (".jsonl", ".json"))


@SOURCES.register("csv")
def open_csv(location: str, lang: str) -> Source:
    """CSV with a header row and a caption column."""
    return _open_table("csv", location, lang, lambda f: pl.scan_csv(f, infer_schema_length=0), (".csv",))


@SOURCES.register("tsv")
def open_tsv(location: str, lang: str) -> Source:
    """Tab-separated values with a header row and a caption column."""
    return _open_table("tsv", location, lang,
                       lambda f: pl.scan_csv(f, separator="\t", quote_char=None, infer_schema_length=0),
                       (".tsv",))


@SOURCES.register("laion")
def open_laion(location: str, lang: str) -> Source:
    """LAION-style metadata parquet (a file or a folder of them): url + caption, optional size and scores."""
    return _open_table("laion", location, lang, lambda f: pl.scan_parquet(f), (".parquet",))


@SOURCES.register("parquet")
def open_parquet(location: str, lang: str) -> Source:
    """Any parquet file or folder with a caption column."""
    return _open_table("parquet", location, lang, lambda f: pl.scan_parquet(f), (".parquet",))


@SOURCES.register("sample")
def open_sample(location: str, lang: str, english_only: bool = False) -> Source:
    """The shipped hand-written captions with hand translations (corpora/sample/captions.jsonl)."""
    path = _existing(location, "sample") if location else paths.shipped_sample_captions()
    if path.is_dir():
        path = path / "captions.jsonl"
    rows = paths.read_jsonl(path)
    if lang != "en" and not english_only and not any(lang in row for row in rows):
        have = sorted({k for row in rows for k in row} - {"id", "en", "source", "image"})
        raise BenchError(f"the sample has no '{lang}' translations (it has: {', '.join(have)})")
    frame = pl.DataFrame(
        {
            "id": [row["id"] for row in rows],
            "text_en": [row["en"] for row in rows],
            "text": [None if english_only else row.get(lang) if lang != "en" else row["en"] for row in rows],
            "source": [row.get("source", "hand") for row in rows],
        },
        schema={"id": pl.String, "text_en": pl.String, "text": pl.String, "source": pl.String},
    )
    kind = "sample-en" if english_only else "sample"
    return Source(kind, str(path), "hand", lambda n: iter(frame.iter_slices(n)), [path])


@SOURCES.register("sample-en")
def open_sample_english(location: str, lang: str) -> Source:
    """The shipped sample's English captions alone, for a translator to translate."""
    return open_sample(location, lang, english_only=True)


@SOURCES.register("coco")
def open_coco(location: str, lang: str) -> Source:
    """COCO caption annotations (captions_*.json): one row per caption, image = coco_url or file name."""
    path = _existing(location, "coco")
    data = paths.read_json(path)
    annotations = data.get("annotations") if isinstance(data, dict) else None
    if not isinstance(annotations, list) or (
        annotations and not {"image_id", "caption"} <= set(annotations[0])
    ):
        raise BenchError(
            f"{location} is not a COCO captions file (expected 'annotations' entries with 'image_id' and 'caption')"
        )
    images = {img["id"]: img.get("coco_url") or img.get("file_name") for img in data.get("images", [])}
    frame = pl.DataFrame(
        {
            "id": [f"coco-{a.get('id', i)}" for i, a in enumerate(annotations)],
            "text_en": [a["caption"] for a in annotations],
            "image": [images.get(a["image_id"]) for a in annotations],
        },
        schema={"id": pl.String, "text_en": pl.String, "image": pl.String},
    )
    return Source("coco", location, "coco", lambda n: iter(frame.iter_slices(n)), [path])


@SOURCES.register("hf")
def open_hf(location: str, lang: str) -> Source:
    """A `datasets` hub id or local dataset folder (ID[@SPLIT], default split train), streamed."""
    name, _, split = location.partition("@")
    dataset = _load_dataset(name, split or "train")
    columns = list(dataset.column_names or next(iter(dataset), {}).keys())
    exprs, needs_row, wanted = _table_plan(columns, location, lang, Path(name).name)

    def read(n: int) -> Iterator[pl.DataFrame]:
        offset = 0
        for batch in dataset.select_columns(wanted).iter(batch_size=n):
            frame = pl.DataFrame({k: batch[k] for k in wanted}, strict=False)
            if needs_row:
                frame = frame.with_row_index("_row", offset=offset)
            offset += frame.height
            yield frame.select(exprs)

    files = sorted(p for p in Path(name).rglob("*") if p.is_file()) if Path(name).is_dir() else []
    return Source("hf", location, "hf", read, files if len(files) < 1000 else [])


def _load_dataset(name: str, split: str):
    """A streaming `datasets` split from a hub id or a local folder, failing fast when offline."""
    import datasets

    try:
        if Path(name).is_dir() and any((Path(name) / f).exists() for f in ("dataset_info.json",
                                                                            "dataset_dict.json")):
            saved = datasets.load_from_disk(name)  # a save_to_disk folder
            if isinstance(saved, datasets.DatasetDict):
                if split not in saved:
                    raise BenchError(f"{name} has no split '{split}' (it has: {', '.join(saved)})")
                saved = saved[split]
            return saved.to_iterable_dataset()
        return datasets.load_dataset(name, split=split, streaming=True)
    except (ConnectionError, OSError) as exc:
        if not Path(name).exists():
            raise NotAvailableOffline(
                f"dataset {name} not cached: connect once or pass a local folder ({type(exc).__name__})"
            ) from None
        raise BenchError(f"cannot load dataset {name}: {str(exc).splitlines()[0][:200]}") from None
    except ValueError as exc:
        raise BenchError(f"cannot load dataset {name} split {split}: {str(exc).splitlines()[0][:200]}") from None


@SOURCES.register("xm3600")
def open_xm3600(location: str, lang: str, images: str | None = None) -> Source:
    """Crossmodal-3600: the floschne/xm3600 parquet folder (images included), or Google's captions.jsonl with
    `images` a folder of the separately distributed <key>.jpg (bench.corpus.public_corpora)."""
    from bench.corpus import public_corpora

    path = Path(location).expanduser()
    if path.is_file() or path.suffix == ".jsonl":
        path = _existing(location, "xm3600")
        frame, assets, counts = public_corpora.xm3600_google(path, lang, images)
        files = [path]
    else:  # the floschne/xm3600 parquet layout: a local copy, or the hub id when it is reachable
        if images is not None:
            raise BenchError("--images is for Google's captions.jsonl; the floschne/xm3600 parquet holds its images")
        frame, assets, counts = public_corpora.xm3600_parquet(path if path.is_dir() else Path(location), lang)
        files = sorted(path.glob("**/*.parquet")) if path.is_dir() else []
    return Source("xm3600", location, "xm3600", lambda n: iter(frame.iter_slices(n)), files, assets, counts)


@SOURCES.register("coco-cn")
def open_coco_cn(location: str, lang: str) -> Source:
    """COCO-CN's manually written captions of one official split: coco-cn:DIR (train) or coco-cn:DIR@SPLIT."""
    from bench.corpus import public_corpora

    if lang != "zh":
        raise BenchError(f"coco-cn holds Chinese captions only; use --lang zh (not {lang})")
    folder, _, split = location.partition("@")
    frame, files, counts = public_corpora.coco_cn(_existing(folder, "coco-cn"), split or "train")
    return Source("coco-cn", location, "coco-cn", lambda n: iter(frame.iter_slices(n)), files, counts=counts)



