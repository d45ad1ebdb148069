"""`build-corpus` as a function: stream sources in fixed-size chunks, filter, translate, write one shard per chunk.

Shard i holds what survives of source rows [i * shard_size, (i + 1) * shard_size). The shard key is that
chunk index: under torchrun/accelerate rank r builds the shards with i % world_size == r. Every process still
runs the cheap source-side filters over every chunk, so duplicate decisions (which depend on all earlier rows)
are the same whatever the number of processes, and a resumed build re-derives them from the source. A shard
is finished when its stats file exists (written after the parquet); finished shards are skipped.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from bench.core import paths, provenance, runtime
from bench.core.config import check_settings, config_hash, setting, to_jsonable
from bench.core.errors import BenchError
from bench.core.hashing import sha256_file
from bench.core.languages import get_language
from bench.core.progress import rate_bar
from bench.corpus.filters import (
    POST_FILTERS,
    PRE_FILTERS,
    Dedup,
    FilterSettings,
    post_filter,
    pre_filter,
)
from bench.corpus.sources import Source, open_source
from bench.models.translators import Translator, load_translator

log = logging.getLogger(__name__)

CORPUS_COLUMNS = ("id", "lang", "text_en", "text", "source", "image", "lang_score", "len_ratio",
                  "similarity", "aesthetic", "width", "height")
# Snappy: every parquet reader has it, and it writes ~1.5x faster than zstd here (the build's largest cost).
PARQUET_COMPRESSION = "snappy"
ENGINES = ("local", "ray")
ENGINE_FIELDS = ("engine", "ray_address", "workers")
PACKAGES = ("pea-bench", "torch", "transformers", "polars", "pyarrow", "lingua-language-detector",
            "sentencepiece", "opencc-python-reimplemented", "datasets")


@dataclass(frozen=True)
class CorpusConfig:
    """Everything that decides a corpus (batch_size, device and name do not change its rows)."""

    lang: str
    sources: tuple[str, ...]
    translator: str = "nllb"
    translator_model: str | None = None  # hub id or local folder replacing the translator's default
    name: str | None = None
    limit: int | None = setting(None, "Read at most this many source rows.", min=0)
    shard_size: int = setting(50_000, "Source rows per shard.", min=1)
    batch_size: int = setting(32, "Captions per translator call.", min=1)
    device: str | None = None
    filters: FilterSettings = field(default_factory=FilterSettings)
    sample_pairs: int = setting(20, "Pairs written to sample.md.", min=0)
    seed: int = setting(0, "Seed of the sample.md draw.", min=0)
    images: str | None = None  # folder of separately distributed images (XM3600's captions.jsonl)
    # How the corpus is built, not what it holds (left out of the hash, recorded in the manifest).
    engine: str = setting("local", "local (this process, or torchrun ranks) or ray (a Ray cluster).",
                          choices=ENGINES)
    ray_address: str | None = None  # None: a local Ray cluster; 'auto' or host:port: a running one
    workers: int | None = setting(None, "Ray: translator actors (default one per GPU, else one).", min=1)

    def __post_init__(self) -> None:
        check_settings(self)

    def corpus_name(self) -> str:
        """The given name, or <source kinds>-<lang>-<translator>."""
        if self.name is not None:
            if not self.name.strip():
                raise BenchError("--name is empty: give the corpus a name, or leave --name out for the default")
            return paths.safe_id(self.name, what="corpus name")
        kinds = "-".join(dict.fromkeys(spec.partition(":")[0] for spec in self.sources))
        return f"{kinds}-{self.lang}-{self.translator}"

    def hash(self) -> str:
        """Hash of the fields that decide the rows."""
        unset = ("images",) if self.images is None else ()  # corpora built before --images keep their hash
        return config_hash(self, exclude=("batch_size", "device", "name", "sample_pairs", *ENGINE_FIELDS, *unset))


class Describes(Protocol):
    """What the manifest needs of a translator: its description (the Ray driver never loads the model)."""

    name: str

    def describe(self) -> dict: ...


@dataclass
class BuildResult:
    """What a build (or one rank of it) did."""

    name: str
    folder: Path
    shards_built: int
    shards_skipped: int
    shards_total: int
    finalized: bool
    manifest: dict | None = None


def chunks(sources: Iterable[Source], size: int, limit: int | None = None) -> Iterator[pl.DataFrame]:
    """Cut the concatenated sources into frames of exactly `size` rows (the last may be shorter)."""
    buffer: list[pl.DataFrame] = []
    have = total = 0
    for source in sources:
        for frame in source.batches(min(size, 65536)):
            if limit is not None:
                frame = frame.head(limit - total)
            total += frame.height
            buffer.append(frame)
            have += frame.height
            while have >= size:
                joined = pl.concat(buffer, rechunk=False)
                yield joined.head(size)
                rest = joined.slice(size)
                buffer, have = [rest], rest.height
            if limit is not None and total >= limit:
                break
        if limit is not None and total >= limit:
            break
    if have:
        yield pl.concat(buffer)


def _translate(frame: pl.DataFrame, translator: Translator, batch_size: int, on_progress) -> pl.DataFrame:
    """Fill the null `text` cells by translating `text_en`; native captions are kept as they are."""
    if translator.name == "none":
        return frame
    todo = frame["text"].is_null().arg_true()
    if not len(todo):
        return frame
    sources = frame["text_en"].gather(todo).to_list()
    # Windows of many batches: length sorting inside a window, progress updates between windows.
    window = batch_size * 16
    outputs: list[str] = []
    for start in range(0, len(sources), window):
        outputs.extend(translator.translate(sources[start:start + window], batch_size=batch_size))
        on_progress(min(window, len(sources) - start))
    return frame.with_columns(frame["text"].clone().scatter(todo, pl.Series(outputs, dtype=pl.String)))


def _shard_frame(frame: pl.DataFrame, lang: str) -> pl.DataFrame:
    """The kept rows in the corpus column order."""
    return frame.with_columns(pl.lit(lang).alias("lang")).select(CORPUS_COLUMNS)


def _write_shard(name: str, index: int, frame: pl.DataFrame, stats: dict) -> None:
    """Write the parquet shard, then its stats file (the 'finished' mark), both atomically."""
    shard = paths.corpus_shard_path(name, index)
    paths.atomic_write(shard, lambda tmp: frame.write_parquet(tmp, compression=PARQUET_COMPRESSION))
    stats = {**stats, "file": shard.relative_to(paths.corpus_dir(name)).as_posix(), "rows": frame.height,
             "sha256": sha256_file(shard)}
    paths.write_json(paths.corpus_shard_stats_path(name, index), stats)


def _check_or_record_config(name: str, config: CorpusConfig, translator: Describes) -> None:
    """A corpus folder is resumed only by the config (and translator) that started it."""
    record = {"config_hash": config.hash(), "config": to_jsonable(config), "translator": translator.describe()}
    path = paths.corpus_build_config_path(name)
    if path.exists():
        old = paths.read_json(path)
        if old.get("config_hash") != record["config_hash"] or old.get("translator") != record["translator"]:
            raise BenchError(
                f"corpus '{name}' was started with different settings ({paths.corpus_dir(name)}); "
                "pass another --name or delete that folder"
            )
        return
    paths.write_json(path, record)


def open_sources(config: CorpusConfig) -> list[Source]:
    """Open and check every source before anything is written."""
    if not config.sources:
        raise BenchError("no source given: pass --source KIND:PATH (e.g. --source sample)")
    from bench.corpus.sources import IMAGE_FOLDER_KINDS

    takes_images = [spec.partition(":")[0] in IMAGE_FOLDER_KINDS for spec in config.sources]
    if config.images is not None and not any(takes_images):
        raise BenchError(f"--images applies to {', '.join(IMAGE_FOLDER_KINDS)} sources only")
    return [open_source(spec, config.lang, images=config.images if takes else None)
            for spec, takes in zip(config.sources, takes_images, strict=True)]


def _check_native(chunk: pl.DataFrame, config: CorpusConfig) -> None:
    """Translator 'none' needs native captions: say so at once (first chunk) rather than drop every row."""
    if config.translator == "none" and chunk["text"].is_null().all():
        sources = ", ".join(config.sources)
        raise BenchError(f"{sources} has no '{config.lang}' captions; translator 'none' needs native captions "
                         "(pick nllb, m2m100, opus-mt or tiny)")


def _parallel_sources(sources) -> list[str]:
    """Sources whose first rows already carry native captions (a translator is then not needed)."""
    found = []
    for source in sources:
        try:
            first = next(iter(source.batches(64)), None)
        except (BenchError, OSError, StopIteration):
            continue
        if first is not None and "text" in first.columns and first["text"].is_not_null().any():
            found.append(f"{source.kind}:{source.location}" if source.location else source.kind)
    return found


def explain_translator_error(exc: BenchError, config: CorpusConfig, sources: list[Source], lang: str) -> BenchError:
    """A translator that cannot load: say so, and point at --translator none when the sources are parallel."""
    parallel = _parallel_sources(sources)
    if config.translator == "none" or not parallel:
        return exc
    return type(exc)(f"{exc}; {', '.join(parallel)} already has {lang} captions: pass --translator none "
                     "to use them as they are")


def build_corpus(config: CorpusConfig, progress: bool = False) -> BuildResult:
    """Build (or resume) this process's shards of a corpus, and finalize it when every shard is done."""
    if config.engine == "ray":  # the Ray engine reuses this module's steps: bench.corpus.engines picks it
        raise BenchError("build_corpus of bench.corpus.build runs the local engine; use bench.build_corpus or "
                         "bench.corpus.engines.build_corpus for engine 'ray'")
    lang = get_language(config.lang)
    if lang.code == "en":
        raise BenchError("the target language is English; pick the language to build captions in (e.g. --lang ko)")
    name = config.corpus_name()
    folder = paths.corpus_dir(name)  # validates the name before any work
    for part in (folder, folder / ".progress", folder / "data"):  # a killed writer's temporary files
        paths.clean_temps(part)
    rank, world = runtime.process_layout()
    sources = open_sources(config)
    try:
        translator = load_translator(config.translator, "en", lang.code, device=config.device,
                                     model=config.translator_model)
    except BenchError as exc:
        raise explain_translator_error(exc, config, sources, lang.code) from None

    dedup = Dedup.empty()
    built = skipped = total = 0
    with rate_bar("captions", enabled=progress) as bar:
        task = bar.add_task(f"{name} (rank {rank}/{world})" if world > 1 else name, total=config.limit)
        for index, chunk in enumerate(chunks(sources, config.shard_size, config.limit)):
            total = index + 1
            if index == 0:  # checks that need data pass before anything is written
                _check_native(chunk, config)
                _check_or_record_config(name, config, translator)
                for source in sources:  # images a source carries go into the corpus (rows refer to them)
                    if source.assets is not None:
                        source.assets(paths.corpus_dir(name))
            kept, pre_counts = pre_filter(chunk, config.filters, dedup, lang.code)
            if index % world != rank:
                bar.advance(task, chunk.height)
                continue
            for stale in paths.corpus_shard_temps(name, index):  # a killed writer's half-written file
                stale.unlink(missing_ok=True)
            if paths.corpus_shard_stats_path(name, index).exists():
                skipped += 1
                bar.advance(task, chunk.height)
                continue
            done = [0]

            def advance(n: int, done=done) -> None:
                done[0] += n
                bar.advance(task, n)

            translated = _translate(kept, translator, config.batch_size, advance)
            final, post_counts = post_filter(translated, lang, config.filters)
            _write_shard(name, index, _shard_frame(final, lang.code),
                         {"index": index, "rows_in": chunk.height, "pre": pre_counts, "post": post_counts})
            built += 1
            bar.advance(task, chunk.height - done[0])
    if total == 0:
        raise BenchError(f"the sources gave no captions: {', '.join(config.sources)}")
    finished = all(paths.corpus_shard_stats_path(name, i).exists() for i in range(total))
    manifest = None
    if finished:
        manifest = finalize(name, config, sources, translator, total, world)
        _require_rows(name, manifest)
    else:
        log.info("rank %d done; the corpus is finalized by the last rank to finish (or rerun the command)", rank)
    return BuildResult(name, paths.corpus_dir(name), built, skipped, total, finished, manifest)


def _require_rows(name: str, manifest: dict) -> None:
    """A corpus that kept no row is an error naming what the filters dropped (training could not use it)."""
    rows = manifest["rows"]
    if rows["kept"]:
        return
    dropped = ", ".join(f"{f['name']} {f['dropped']}" for f in manifest["filters"] if f["dropped"]) or "none"
    raise BenchError(f"corpus {name}: 0 of {rows['read']} captions kept (dropped by filter: {dropped}); "
                     "loosen the filters (--max-chars, --no-language-id, --min-size, ...) or check the sources")


def _describe_source(source: Source) -> dict:
    """A source for the manifest; files over 2 GiB in total are listed by size instead of hashed."""
    if sum(f.stat().st_size for f in source.files) > 2 << 30:
        return {"kind": source.kind, "location": source.location, "label": source.label, "sha256": None,
                "bytes": sum(f.stat().st_size for f in source.files)}
    return source.describe()


def finalize(name: str, config: CorpusConfig, sources: list[Source], translator: Describes,
             n_shards: int, world: int = 1, engine: dict | None = None) -> dict:
    """Write manifest.json and sample.md from the finished shards (idempotent, safe to race)."""
    stats = [paths.read_json(paths.corpus_shard_stats_path(name, i)) for i in range(n_shards)]
    pre = {k: sum(s["pre"].get(k, 0) for s in stats) for k in PRE_FILTERS}
    post = {k: sum(s["post"].get(k, 0) for s in stats) for k in POST_FILTERS}
    read = sum(s["rows_in"] for s in stats)
    kept = sum(s["rows"] for s in stats)
    shard_list = [{"file": s["file"], "rows": s["rows"], "sha256": s["sha256"]} for s in stats]
    content = hashlib.sha256("".join(s["sha256"] for s in stats).encode()).hexdigest()
    manifest = {
        "name": name,
        "lang": config.lang,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "config": to_jsonable(config),
        "config_hash": config.hash(),
        "sources": [_describe_source(s) for s in sources],
        "translator": translator.describe(),
        "filters": [{"name": k, "stage": "source", "dropped": v} for k, v in pre.items()]
        + [{"name": k, "stage": "output", "dropped": v} for k, v in post.items()],
        "filter_settings": to_jsonable(config.filters),
        "script_normalised": sum(s["post"].get("script_normalised", 0) for s in stats),
        "rows": {"read": read, "kept": kept, "dropped": read - kept},
        "shards": shard_list,
        "content_hash": content,
        "columns": list(CORPUS_COLUMNS),
        "processes": world,
        "engine": engine or {"name": "local", "processes": world},
        "provenance": provenance.record(PACKAGES),
        "command": " ".join(sys.argv),
    }
    paths.write_json(paths.corpus_manifest_path(name), manifest)
    paths.write_text(paths.corpus_sample_path(name), _sample_markdown(name, config, manifest))
    log.info("corpus %s: %d of %d rows kept, %d shards", name, kept, read, n_shards)
    return manifest


def read_corpus(name: str, columns: list[str] | None = None) -> pl.DataFrame:
    """All rows of a finished corpus, shard by shard in order."""
    manifest = paths.read_json(paths.corpus_manifest_path(name))
    folder = paths.corpus_dir(name)
    frames = [pl.read_parquet(folder / s["file"], columns=columns) for s in manifest["shards"]]
    return pl.concat(frames) if frames else pl.DataFrame()


def _sample_markdown(name: str, config: CorpusConfig, manifest: dict) -> str:
    """sample.md: `sample_pairs` random pairs (seeded) for a person to eyeball."""
    import numpy as np

    total = manifest["rows"]["kept"]
    rng = np.random.default_rng(config.seed)
    picks: Any = np.sort(rng.choice(total, size=min(config.sample_pairs, total), replace=False)) if total else []
    rows, offset, folder = [], 0, paths.corpus_dir(name)
    for shard in manifest["shards"]:
        local = [int(p - offset) for p in picks if offset <= p < offset + shard["rows"]]
        if local:
            frame = pl.read_parquet(folder / shard["file"], columns=["id", "text_en", "text", "lang_score"])
            rows.extend(frame[local].iter_rows(named=True))
        offset += shard["rows"]
    translator = manifest["translator"]
    lines = [
        f"# {name}: {len(rows)} random pairs",
        "",
        f"{manifest['rows']['kept']} of {manifest['rows']['read']} source rows kept; language {config.lang}; "
        f"translator {translator['name']} ({translator['model_id']}).",
        "",
        "| id | English | " + config.lang + " | lang score |",
        "|---|---|---|---|",
    ]
    for row in rows:
        score = "-" if row["lang_score"] is None else f"{row['lang_score']:.2f}"
        cells = [str(row["id"]), row["text_en"] or "", row["text"] or ""]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + f" | {score} |")
    return "\n".join(lines) + "\n"
