"""`build-corpus --engine ray`: the same corpus as the local engine, built by a Ray cluster.

The driver streams the sources into shard-sized chunks (the same cut as the local engine) and hands each to a
task that runs the row filters and hashes the live keys into P parts by the normalised key. P reducer tasks
each take one part of every chunk and decide its duplicates (bench.corpus.global_dedup): no process holds
every key, and the first occurrence in source order is kept, as the streaming filter does. Each unfinished
shard's kept rows then become one block of a Ray Dataset: the translator runs as an actor pool over whole
blocks (map_batches with batch_size=None, concurrency=N, num_gpus=1 per actor on CUDA), in the same
length-sorted windows the local engine uses, and a task per block runs the output filters and writes the
shard and its stats file. Finished shards (stats file present) are not redone; the duplicate decisions are
re-derived from the source on every run, as the local engine does. The corpora folder and BENCH_HOME must be
visible to every node (a shared file system), and pea-bench installed on each.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import polars as pl

from bench.core import paths
from bench.core.errors import BenchError
from bench.core.languages import get_language
from bench.core.progress import rate_bar
from bench.corpus import global_dedup
from bench.corpus.build import (
    BuildResult,
    CorpusConfig,
    _check_native,
    _check_or_record_config,
    _shard_frame,
    _translate,
    _write_shard,
    chunks,
    explain_translator_error,
    finalize,
    open_sources,
)
from bench.corpus.filters import post_filter

log = logging.getLogger(__name__)

# Settings a worker needs to find what the driver sees (made absolute: a worker's working folder differs).
_ENV = ("HF_HOME", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TOKENIZERS_PARALLELISM", "BENCH_PROMPTS_DIR")


@dataclass
class Described:
    """A translator known by its description only (the actors load the model; the driver never does)."""

    name: str
    record: dict

    def describe(self) -> dict:
        return self.record


def worker_env() -> dict[str, str]:
    """The environment the tasks run under: the driver's bench folders, absolute, and its hub settings."""
    env = {k: os.environ[k] for k in _ENV if k in os.environ}
    env["BENCH_HOME"] = str(paths.bench_home().resolve())
    env["BENCH_CORPORA_DIR"] = str(paths.corpora_dir().resolve())
    return env


def _enter(env: dict[str, str]) -> None:
    """Adopt the driver's settings in this worker (workers are reused across drivers and tests)."""
    os.environ.update(env)


def _prepare_task(chunk: pl.DataFrame, config: CorpusConfig, index: int, parts: int, env: dict):
    """Row filters and key hashes of one chunk: the prepared frame, its counts, then one key part per reducer."""
    _enter(env)
    frame, counts, keys = global_dedup.prepare(chunk, config.filters, config.lang)
    return (frame, counts, *global_dedup.partition(keys, index, config.shard_size, parts))


def _decide_task(shard_size: int, n_chunks: int, *parts):
    """One partition's duplicates, split by chunk."""
    decided = global_dedup.decide(list(parts), shard_size, n_chunks)
    return decided[0] if n_chunks == 1 else tuple(decided)


def _select_task(frame: pl.DataFrame, counts: dict, index: int, *decided):
    """A chunk less its duplicates, as an arrow block tagged with its shard index; the pre-filter counts."""
    kept, counts = global_dedup.apply_drops(frame, counts, list(decided))
    block = kept.with_columns(pl.lit(index, dtype=pl.Int64).alias("_shard"))
    return block.to_arrow(compat_level=pl.CompatLevel.oldest()), counts, kept.height


class TranslateActor:
    """One translator, loaded once per actor; translates whole shards in the local engine's windows."""

    def __init__(self, config: CorpusConfig, device: str, env: dict) -> None:
        _enter(env)
        from bench.core.quiet import quiet_third_party
        from bench.models.translators import load_translator

        quiet_third_party(False)
        self.batch_size = config.batch_size
        self.translator = load_translator(config.translator, "en", config.lang, device=device,
                                          model=config.translator_model)

    def __call__(self, block):
        frame = pl.from_arrow(block)
        out = _translate(frame, self.translator, self.batch_size, lambda n: None)
        return out.to_arrow(compat_level=pl.CompatLevel.oldest())


def _write_block(block, config: CorpusConfig, name: str, expected: dict, env: dict):
    """Output filters over one shard's rows, then the shard and its stats file; returns (index, rows_in)."""
    import pyarrow as pa

    _enter(env)
    frame = pl.from_arrow(block)
    shards = frame["_shard"].unique().to_list() if frame.height else []
    if len(shards) != 1 or frame.height != expected[shards[0]]["kept"]:
        raise RuntimeError(f"a block holds rows of shards {shards[:4]}, not one whole shard")
    index = shards[0]
    _finish_shard(frame.drop("_shard"), config, name, index, expected[index])
    return pa.table({"index": [index], "rows_in": [expected[index]["rows_in"]]})


def _finish_shard(frame: pl.DataFrame, config: CorpusConfig, name: str, index: int, expected: dict) -> None:
    lang = get_language(config.lang)
    final, post_counts = post_filter(frame, lang, config.filters)
    _write_shard(name, index, _shard_frame(final, lang.code),
                 {"index": index, "rows_in": expected["rows_in"], "pre": expected["pre"], "post": post_counts})


def _write_empty_task(block, config: CorpusConfig, name: str, index: int, expected: dict, env: dict) -> int:
    """A shard whose every row was dropped before translation (no block reaches the dataset)."""
    _enter(env)
    _finish_shard(pl.from_arrow(block).drop("_shard"), config, name, index, expected)
    return index


def connect(address: str | None, verbose: bool) -> None:
    """Join the cluster at `address` ('auto': the running one), or start a local one; reuse a live session."""
    import ray

    if ray.is_initialized():
        return
    if not verbose:  # the core worker's C++ warnings (actor restarts) go to stderr unless told otherwise
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    try:
        ray.init(address=address, logging_level=logging.DEBUG if verbose else logging.ERROR,
                 log_to_driver=verbose, include_dashboard=False if address is None else None)
    except ConnectionError as exc:
        raise BenchError(f"no Ray cluster at {address}: start one with `ray start --head` or omit "
                         f"--ray-address to start a local one ({exc})") from None


def _quiet_data(verbose: bool) -> None:
    import ray.data

    if not verbose:
        for logger in ("ray", "ray.data"):
            logging.getLogger(logger).setLevel(logging.ERROR)
    ray.data.DataContext.get_current().enable_progress_bars = verbose


def plan(config: CorpusConfig) -> tuple[int, str, int, float]:
    """(reducers, translator device, translator actors, GPUs per actor) for the cluster this driver joined."""
    import ray

    resources = ray.cluster_resources()
    cpus, gpus = int(resources.get("CPU", 1)), int(resources.get("GPU", 0))
    device = config.device or ("cuda" if gpus else "cpu")
    on_gpu = device.startswith("cuda")
    if on_gpu and not gpus:
        raise BenchError(f"--device {device}: the Ray cluster has no GPU (ray status lists its resources)")
    actors = config.workers or (gpus if on_gpu else 1)
    return max(1, cpus), device, actors, 1.0 if on_gpu else 0.0


def _identity(config: CorpusConfig, device: str, num_gpus: float, env: dict) -> dict:
    """The translator's description, computed where GPU actors run (the driver may have no GPU)."""
    import ray

    from bench.models.translators import translator_identity

    def describe(env):
        _enter(env)
        return translator_identity(config.translator, "en", config.lang, device=device,
                                   model=config.translator_model)

    if not num_gpus:  # CPU actors: the driver can describe the translator as well as they can
        return describe(env)
    try:
        return ray.get(ray.remote(describe).options(num_gpus=num_gpus, num_cpus=0 if num_gpus else 1).remote(env))
    except ray.exceptions.RayTaskError as exc:
        raise exc.cause from None


def build_with_ray(config: CorpusConfig, progress: bool = False) -> BuildResult:
    """Build (or resume) the whole corpus on a Ray cluster and finalize it."""
    require_ray()
    lang = get_language(config.lang)
    if lang.code == "en":
        raise BenchError("the target language is English; pick the language to build captions in (e.g. --lang ko)")
    name = config.corpus_name()
    paths.corpus_dir(name)
    sources = open_sources(config)
    verbose = logging.getLogger().isEnabledFor(logging.DEBUG)
    connect(config.ray_address, verbose)
    _quiet_data(verbose)
    parts, device, actors, num_gpus = plan(config)
    env = worker_env()
    try:
        translator = Described(config.translator, _identity(config, device, num_gpus, env))
    except BenchError as exc:
        raise explain_translator_error(exc, config, sources, lang.code) from None

    with rate_bar("captions", enabled=progress) as bar:
        task = bar.add_task(f"{name} (ray)", total=config.limit)
        prepared, n_chunks = _prepare_all(config, sources, translator, name, parts, env)
        if n_chunks == 0:
            raise BenchError(f"the sources gave no captions: {', '.join(config.sources)}")
        built, skipped = _build_shards(config, name, prepared, n_chunks, parts, device, actors, num_gpus, env,
                                       lambda n: bar.advance(task, n))
    manifest = finalize(name, config, sources, translator, n_chunks, engine=engine_record(actors, device, parts))
    return BuildResult(name, paths.corpus_dir(name), built, skipped, n_chunks, True, manifest)


def engine_record(actors: int, device: str, parts: int) -> dict[str, Any]:
    """What the manifest says about the engine (not part of the corpus's identity)."""
    import ray

    resources = ray.cluster_resources()
    return {"name": "ray", "ray": ray.__version__, "translator_actors": actors, "translator_device": device,
            "dedup_partitions": parts, "cluster_cpus": resources.get("CPU", 0), "cluster_gpus": resources.get("GPU", 0)}


def _prepare_all(config, sources, translator, name, parts, env) -> tuple[list, int]:
    """Stream the chunks to prepare tasks; per chunk the refs (frame, counts, key parts) and its row count."""
    import ray

    remote = ray.remote(_prepare_task).options(num_returns=parts + 2)
    prepared = []
    for index, chunk in enumerate(chunks(sources, config.shard_size, config.limit)):
        if index == 0:  # checks that need data pass before anything is written
            _check_native(chunk, config)
            _check_or_record_config(name, config, translator)
            for source in sources:
                if source.assets is not None:
                    source.assets(paths.corpus_dir(name))
        refs = remote.remote(chunk, config, index, parts, env)
        prepared.append((refs[0], refs[1], refs[2:], chunk.height))
    return prepared, len(prepared)


def _build_shards(config, name, prepared, n_chunks, parts, device, actors, num_gpus, env, advance) -> tuple[int, int]:
    """Decide duplicates, then translate and write every unfinished shard; (built, skipped)."""
    import ray
    import ray.data

    decide = ray.remote(_decide_task).options(num_returns=n_chunks)
    decided = [decide.remote(config.shard_size, n_chunks, *[keys[p] for _, _, keys, _ in prepared])
               for p in range(parts)]
    if n_chunks == 1:
        decided = [[d] for d in decided]
    select = ray.remote(_select_task).options(num_returns=3)
    todo, skipped = {}, 0
    for index, (frame, counts, _, rows_in) in enumerate(prepared):
        for stale in paths.corpus_shard_temps(name, index):  # a killed writer's half-written file
            stale.unlink(missing_ok=True)
        if paths.corpus_shard_stats_path(name, index).exists():
            skipped += 1
            advance(rows_in)
            continue
        todo[index] = (*select.remote(frame, counts, index, *[d[index] for d in decided]), rows_in)
    del prepared, decided  # the object store frees what no task needs any more
    counts = ray.get([t[1] for t in todo.values()])
    kept = ray.get([t[2] for t in todo.values()])
    expected = {i: {"pre": c, "kept": k, "rows_in": t[3]}
                for (i, t), c, k in zip(todo.items(), counts, kept, strict=True)}
    blocks = {i: t[0] for i, t in todo.items() if expected[i]["kept"]}
    empty = [ray.remote(_write_empty_task).remote(todo[i][0], config, name, i, expected[i], env)
             for i in todo if not expected[i]["kept"]]
    if blocks:
        dataset = ray.data.from_arrow_refs(list(blocks.values()))
        if config.translator != "none":
            dataset = dataset.map_batches(
                TranslateActor, fn_constructor_kwargs={"config": config, "device": device, "env": env},
                batch_size=None, batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=actors),
                num_gpus=num_gpus, num_cpus=0 if num_gpus else 1)  # actors restart and retry (Ray Data's default)
        written = dataset.map_batches(_write_block, fn_kwargs={"config": config, "name": name,
                                                               "expected": expected, "env": env},
                                      batch_size=None, batch_format="pyarrow")
        for batch in written.iter_batches(batch_size=None, batch_format="pyarrow"):
            for rows_in in batch.column("rows_in").to_pylist():
                advance(rows_in)
    for index in ray.get(empty):
        advance(expected[index]["rows_in"])
    return len(todo), skipped


def require_ray() -> None:
    """A one-line error when Ray Data is not installed."""
    import importlib.util

    if importlib.util.find_spec("ray") is None or importlib.util.find_spec("ray.data") is None:
        raise BenchError("--engine ray needs Ray Data: pip install 'pea-bench[ray]' (or 'ray[data]')")
