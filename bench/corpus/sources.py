"""Caption sources: each streams (id, English caption, native caption or null, image reference) in batches.

`KIND:PATH` names a source on the command line. Every source yields polars frames with the columns of
SOURCE_SCHEMA (plus nothing else), in a deterministic order, so a corpus is cut into the same shards however
many processes build it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from bench.core import paths
from bench.core.errors import BenchError, NotAvailableOffline
from bench.core.hashing import sha256_files
from bench.core.languages import get_language
from bench.core.registry import Registry
from bench.corpus.tables import lazy_table, stream, table_files, table_plan

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


SourceOpener = Callable[..., Source]  # (location, lang[, images=folder]) -> Source
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
    return sha256_files(files)


def _existing(location: str, what: str) -> Path:
    """The path of a local source, or a one-line error when it is missing."""
    if not location:
        raise BenchError(f"{what} source needs a path: {what}:PATH")
    path = Path(location).expanduser()
    if not path.exists():
        raise BenchError(f"source file {location} does not exist")
    return path


def _open_table(kind: str, location: str, lang: str, scan: Callable[[list[Path]], pl.LazyFrame],
                suffixes: tuple[str, ...]) -> Source:
    """A source over tabular files (JSONL, CSV, TSV, parquet)."""
    path = _existing(location, kind)
    files = table_files(path, suffixes)
    lazy = lazy_table(scan(files), location, lang, path.stem, files, scan)
    return Source(kind, location, kind, stream(lazy, location, files, scan), files)


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
    exprs, needs_row, wanted = table_plan(columns, location, lang, Path(name).name)

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



