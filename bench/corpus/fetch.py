"""`bench fetch-images`: download a corpus's URL images with img2dataset and record which rows failed."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.core import paths
from bench.core.config import check_settings, setting
from bench.core.errors import BenchError
from bench.corpus.folder import FETCHED, IMAGES_DIR, find_corpus, shard_files

log = logging.getLogger(__name__)

# Where img2dataset lives when it is not importable here (it pins packages the main environment may not want).
RUNNER_ENV = "BENCH_IMG2DATASET"
# --engine -> img2dataset's distributor: its process pool, a Ray cluster (ray in img2dataset's environment;
# RAY_ADDRESS picks the cluster), or Spark (pyspark there; a local session unless run under spark-submit).
DISTRIBUTORS = {"local": "multiprocessing", "ray": "ray", "spark": "pyspark"}


@dataclass(frozen=True)
class FetchConfig:
    """How to download a corpus's images (img2dataset's own names in brackets)."""

    corpus: str
    processes: int = setting(4, "img2dataset processes (processes_count).", min=1)
    threads: int = setting(16, "Threads per process (thread_count).", min=1)
    image_size: int = setting(1024, "Shorter side at most this, ratio kept, never upscaled.", min=8)
    timeout: int = setting(10, "Seconds per request.", min=1)
    retries: int = setting(1, "Retries per URL.", min=0)
    shard_rows: int = setting(10000, "Images per shard (number_sample_per_shard).", min=1)
    engine: str = setting("local", "Who runs the downloads (distributor): local processes, ray or spark.",
                          choices=tuple(DISTRIBUTORS))
    ray_address: str | None = None  # ray: 'auto' or host:port of a running cluster (default: a local one)

    def __post_init__(self) -> None:
        check_settings(self)


def url_rows(folder: Path) -> list[dict]:
    """(id, url) of every row whose image is an http(s) URL, each id once."""
    import polars as pl

    seen: dict[str, str] = {}
    for shard in shard_files(folder):
        frame = pl.read_parquet(shard, columns=["id", "image"])
        if frame.schema["image"] != pl.Utf8:
            continue
        for row_id, image in frame.iter_rows():
            if isinstance(image, str) and image.startswith(("http://", "https://")):
                seen.setdefault(paths.safe_id(str(row_id), what="corpus row id"), image)
    return [{"id": k, "url": v} for k, v in seen.items()]


def find_runner() -> list[str] | None:
    """The img2dataset command: $BENCH_IMG2DATASET, this interpreter's module, or one on PATH."""
    if os.environ.get(RUNNER_ENV):
        return [os.environ[RUNNER_ENV]]
    import importlib.util
    import sys

    if importlib.util.find_spec("img2dataset") is not None:
        return [sys.executable, "-m", "img2dataset"]
    found = shutil.which("img2dataset")
    return [found] if found else None


def fetch(cfg: FetchConfig) -> dict:
    """Download every URL image of the corpus into <corpus>/images/ and write <corpus>/fetched.parquet."""
    import polars as pl

    folder = find_corpus(cfg.corpus)
    rows = url_rows(folder)
    if not rows:
        raise BenchError(f"corpus {folder} has no URL images to fetch (its images are paths or bytes)")
    runner = find_runner()
    if runner is None:
        raise BenchError("img2dataset is not installed: pip install 'pea-bench[fetch]' "
                         f"(or point {RUNNER_ENV} at an img2dataset executable in its own environment)")
    out = folder / IMAGES_DIR
    out.mkdir(parents=True, exist_ok=True)
    url_list = out / "urls.parquet"
    paths.atomic_write(url_list, lambda tmp: pl.DataFrame(rows).write_parquet(tmp))
    args = {
        "url_list": str(url_list), "input_format": "parquet", "url_col": "url",
        "save_additional_columns": json.dumps(["id"]), "output_folder": str(out / "shards"),
        "output_format": "files", "processes_count": cfg.processes, "thread_count": cfg.threads,
        "image_size": cfg.image_size, "resize_mode": "keep_ratio", "resize_only_if_bigger": True,
        "timeout": cfg.timeout, "retries": cfg.retries, "number_sample_per_shard": cfg.shard_rows,
        "incremental_mode": "incremental", "enable_wandb": False, "encode_format": "png",
        "encode_quality": 9,  # png: zlib level, lossless
        "distributor": DISTRIBUTORS[cfg.engine],
    }
    command = [*runner, *(f"--{k}={v}" for k, v in args.items())]
    log.info("running %s", " ".join(command))
    env = {**os.environ, "WANDB_MODE": "disabled", "NO_ALBUMENTATIONS_UPDATE": "1"}
    if cfg.engine == "ray" and cfg.ray_address:
        env["RAY_ADDRESS"] = cfg.ray_address  # the img2dataset process's ray.init() joins this cluster
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        first = next((line for line in lines if "Error:" in line), lines[-1])  # the cause, not the fallout
        raise BenchError(f"img2dataset failed (exit {done.returncode}): {first.strip()[:200]}")
    index = _index(folder, out / "shards", rows)
    paths.atomic_write(folder / FETCHED, lambda tmp: index.write_parquet(tmp))
    ok = int((index["status"] == "success").sum())
    log.info("fetched %d of %d images; %d failed", ok, len(rows), len(rows) - ok)
    return {"folder": str(out), "index": str(folder / FETCHED), "urls": len(rows), "success": ok,
            "failed": len(rows) - ok}


def _index(folder: Path, shards: Path, rows: list[dict]):
    """One row per URL row: id, url, local path (relative to the corpus), status, error."""
    import polars as pl

    found: dict[str, dict] = {}
    for table in sorted(shards.glob("*.parquet")):
        frame = pl.read_parquet(table)
        shard = table.stem
        for rec in frame.iter_rows(named=True):
            path = None
            if rec.get("status") == "success":
                image = next((f for f in sorted((shards / shard).glob(f"{rec['key']}.*"))
                              if f.suffix not in (".json", ".txt")), None)
                path = str(image.relative_to(folder)) if image else None
            found[str(rec["id"])] = {"status": rec.get("status") if path or rec.get("status") != "success"
                                     else "missing_file", "error": rec.get("error_message"), "path": path}
    records = [{"id": r["id"], "url": r["url"],
                **found.get(r["id"], {"status": "not_attempted", "error": None, "path": None})} for r in rows]
    return pl.DataFrame(records, schema={"id": pl.Utf8, "url": pl.Utf8, "status": pl.Utf8, "error": pl.Utf8,
                                         "path": pl.Utf8})
