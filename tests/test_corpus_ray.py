"""build-corpus --engine ray on a local Ray cluster (2 CPUs, one session for this module): the local engine's
corpus exactly, and a killed driver resumed to the same corpus."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from bench.core import paths
from bench.corpus import global_dedup
from bench.corpus.build import CorpusConfig, read_corpus
from bench.corpus.engines import build_corpus
from bench.corpus.filters import Dedup, FilterSettings, pre_filter
from bench.corpus.sources import conform

ray = pytest.importorskip("ray", reason="the Ray engine's tests need ray[data]: pip install 'pea-bench[ray]'")

REPO = Path(__file__).resolve().parent.parent
N, SHARD, KILL_SHARD = 20_000, 2_500, 1_000


@pytest.fixture(scope="module")
def cluster():
    """One local Ray cluster for the module; nothing leaves the machine."""
    import logging

    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def _captions(path: Path, n: int = N) -> Path:
    """n Korean-English pairs from the shipped sample with a number each: repeats across shards, captions that
    differ only in punctuation (normalised duplicates), and every 100th caption English only (translated)."""
    sample = [json.loads(line) for line in paths.shipped_sample_captions().read_text().splitlines()]
    rng = random.Random(0)
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            pair, number = sample[rng.randrange(len(sample))], rng.randrange(1000)
            ko = f"{pair['ko']} {number}" + (" !" if i % 17 == 5 else "")
            row = {"id": f"c{i:05d}", "caption": f"{pair['en']} {number}", "ko": None if i % 100 == 0 else ko,
                   "url": f"http://img/{i}.jpg"}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory, zoo_home):
    """The caption file and its corpus built by the local engine, in folders shared by the module's tests."""
    root = tmp_path_factory.mktemp("ray_world")
    source = _captions(root / "captions.jsonl")
    (root / "home").mkdir()
    (zoo_home / "zoo").mkdir(exist_ok=True)
    (root / "home" / "zoo").symlink_to(zoo_home / "zoo")  # the session's tiny models
    env = {"BENCH_CORPORA_DIR": str(root / "corpora"), "BENCH_HOME": str(root / "home")}
    with pytest.MonkeyPatch.context() as patch:
        for k, v in env.items():
            patch.setenv(k, v)
        local = build_corpus(_config(source, "local"))
        native = build_corpus(_config(source, "native", translator="none", shard_size=KILL_SHARD))
    return {"source": source, "env": env, "local": local.manifest, "frame": read_corpus_at(root / "corpora", "local"),
            "native": native.manifest, "native_frame": read_corpus_at(root / "corpora", "native")}


def read_corpus_at(folder: Path, name: str) -> pl.DataFrame:
    manifest = json.loads((folder / name / "manifest.json").read_text())
    return pl.concat([pl.read_parquet(folder / name / s["file"]) for s in manifest["shards"]])


def _config(source: Path, name: str, engine: str = "local", translator: str = "tiny", shard_size: int = SHARD
            ) -> CorpusConfig:
    return CorpusConfig(lang="ko", sources=(f"jsonl:{source}",), translator=translator, name=name,
                        shard_size=shard_size, batch_size=16, engine=engine)


@pytest.fixture
def shared(world, monkeypatch):
    """This test's corpora and BENCH_HOME are the module's (the tiny translator is built once)."""
    for k, v in world["env"].items():
        monkeypatch.setenv(k, v)
    return world


def test_partitioned_dedup_decides_as_the_streaming_filter():
    """Without Ray: hash partitions (3 of them) drop exactly the rows the streaming Dedup drops, per chunk."""
    rng = random.Random(1)
    words = ["a", "b", "c", "A", "B.", "c!", " d"]
    rows = [{"id": f"r{i}", "text_en": " ".join(rng.choice(words) for _ in range(2)),
             "text": None if i % 3 else " ".join(rng.choice(words) for _ in range(3))} for i in range(3000)]
    frame, size, parts = conform(pl.DataFrame(rows), "x"), 400, 3
    pieces = [frame.slice(i, size) for i in range(0, frame.height, size)]
    settings, dedup = FilterSettings(language_id=False), Dedup.empty()
    streaming = [pre_filter(c, settings, dedup, "ko") for c in pieces]
    prepared = [global_dedup.prepare(c, settings, "ko") for c in pieces]
    split = [global_dedup.partition(keys, i, size, parts) for i, (_, _, keys) in enumerate(prepared)]
    decided = [global_dedup.decide([s[p] for s in split], size, len(pieces)) for p in range(parts)]
    for i, (prep, counts, _) in enumerate(prepared):
        kept, got = global_dedup.apply_drops(prep, counts, [d[i] for d in decided])
        assert kept.equals(streaming[i][0]) and got == streaming[i][1]
    assert sum(s[1]["exact_duplicate"] for s in streaming) > 2000  # most rows repeat an earlier one
    assert sum(s[1]["normalised_duplicate"] for s in streaming) > 0
    assert all(len(p["pos"]) < 3000 for s in split for p in s)  # no partition holds every key


def test_ray_engine_builds_the_local_corpus(cluster, shared):
    local, frame = shared["local"], shared["frame"]
    result = build_corpus(_config(shared["source"], "on-ray", engine="ray"))
    manifest = result.manifest
    assert result.finalized and result.shards_total == N // SHARD
    assert [s["sha256"] for s in manifest["shards"]] == [s["sha256"] for s in local["shards"]]
    assert manifest["content_hash"] == local["content_hash"] and manifest["config_hash"] == local["config_hash"]
    assert manifest["filters"] == local["filters"] and manifest["rows"] == local["rows"]
    assert read_corpus("on-ray").equals(frame)
    counts = {f["name"]: f["dropped"] for f in manifest["filters"]}
    assert counts["exact_duplicate"] > 500 and counts["normalised_duplicate"] > 50
    assert counts["repeated_ngram"] > 0  # the tiny translator's random output, translated and filtered
    assert manifest["engine"]["name"] == "ray" and local["engine"] == {"name": "local", "processes": 1}
    assert manifest["engine"]["translator_actors"] == 1 and manifest["engine"]["dedup_partitions"] == 2
    assert manifest["translator"] == local["translator"]


def test_killed_driver_resumes_to_the_same_corpus(cluster, shared):
    """The driver is killed once a shard is finished (native captions: no translator, many small shards)."""
    source, env, total = shared["source"], shared["env"], N // KILL_SHARD
    args = [sys.executable, "-m", "bench.cli", "build-corpus", "--lang", "ko", "--source", f"jsonl:{source}",
            "--translator", "none", "--name", "killed", "--shard-size", str(KILL_SHARD), "--batch-size", "16",
            "--engine", "ray", "--ray-address", cluster]
    stats = Path(env["BENCH_CORPORA_DIR"]) / "killed" / ".progress"  # a shard's stats file marks it finished
    driver = subprocess.Popen(args, env={**os.environ, **env, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    while not (stats.exists() and list(stats.glob("part-*.json"))):
        assert driver.poll() is None, driver.communicate()
        assert time.monotonic() < deadline, "no shard finished in 120 s"
        time.sleep(0.01)
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait()
    done = len(list(stats.glob("part-*.json")))
    assert 1 <= done < total and not (stats.parent / "manifest.json").exists(), "not killed mid-run"
    resumed = build_corpus(_config(source, "killed", engine="ray", translator="none", shard_size=KILL_SHARD))
    assert resumed.shards_skipped >= done and resumed.shards_built == total - resumed.shards_skipped
    assert resumed.manifest["content_hash"] == shared["native"]["content_hash"]
    assert resumed.manifest["filters"] == shared["native"]["filters"]
    assert read_corpus("killed").equals(shared["native_frame"])
    data = sorted(f.name for f in (stats.parent / "data").iterdir())  # no half-written file left behind
    assert data == [f"part-{i:05d}.parquet" for i in range(total)]
