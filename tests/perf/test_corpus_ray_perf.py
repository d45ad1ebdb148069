"""The local engine against `--engine ray` on one machine: 1M synthetic native captions (filters, dedup,
write) with 1 and 2 Ray worker processes, and the tiny translator with 1 and 2 actors; captions/s, CPU
seconds of every process, and each process's peak RSS (driver, Ray workers, Ray's own daemons).

Each engine runs in a fresh process of its own (tests/perf/engine_run.py), so peaks are its alone; the local
engine is the plain baseline the Ray figures are divided by. Run with `make perf`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import write_synthetic  # noqa: E402

pytest.importorskip("ray", reason="the Ray engine's benchmark needs ray[data]: pip install 'pea-bench[ray]'")
pytestmark = pytest.mark.perf

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
# (native captions, native shard size, captions to translate, translation shard size)
# The tiny translator's random words repeat and vary in length: output filters loose enough to keep them.
LOOSE = {"ngram_repeats": 1000, "ratio_min": 0.0, "ratio_max": 1e9}
FULL, SMOKE = (1_000_000, 100_000, 8_000, 2_000), (4_000, 1_000, 0, 0)


def _start(engine: str, cpus: int, jobs: list[dict], env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(HERE / "engine_run.py"), engine, str(cpus), json.dumps(jobs)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=1800)
    assert process.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def _describe(build: dict, n: int, baseline: dict | None) -> str:
    rate = n / build["seconds"]
    workers = build["workers"]
    line = (f"{build['label']:<22} {build['seconds']:7.2f} s {rate:>10,.0f} captions/s  {build['cpu_seconds']:7.2f} CPU-s"
            f"  driver peak {build['driver_peak_rss_mib']:6.0f} MiB")
    if workers:
        peaks = [w["peak_rss_mib"] for w in workers]
        system = {p["title"]: p["peak_rss_mib"] for p in build["system"]}
        exited = sum(w["exited"] for w in workers)
        line += (f"; {len(workers)} Ray workers ({exited} exited during the build), peak {max(peaks):.0f} MiB "
                 f"each at most, {sum(peaks):.0f} MiB summed; "
                 f"Ray daemons {', '.join(f'{k} {v:.0f}' for k, v in sorted(system.items()))} MiB")
    if baseline is not None:
        line += (f"; x{baseline['seconds'] / build['seconds']:.2f} the local engine's captions/s, "
                 f"x{build['cpu_seconds'] / baseline['cpu_seconds']:.2f} its CPU seconds")
    return line


def test_local_engine_against_ray_with_1_and_2_workers(tmp_path, bench_home, smoke):
    n_native, native_shard, n_translate, translate_shard = SMOKE if smoke else FULL
    native = write_synthetic(tmp_path / "native.parquet", n_native)
    english = tmp_path / "english.parquet"
    env = {**os.environ, "PYTHONPATH": str(REPO), "BENCH_CORPORA_DIR": str(tmp_path / "corpora")}
    if not smoke:
        from bench.models.translators import load_translator

        write_synthetic(english, n_translate, seed=1, native=False)
        load_translator("tiny", "en", "it")  # built into the zoo once, before any engine times itself

    def jobs(tag: str, actors: list[int]) -> list[dict]:
        out = [{"label": f"{tag} native", "source": str(native), "translator": "none", "actors": 1,
                "shard_size": native_shard, "name": f"{tag}-native"}]
        return out + [{"label": f"{tag} tiny x{a}", "source": str(english), "translator": "tiny", "actors": a,
                       "shard_size": translate_shard, "name": f"{tag}-tiny-{a}", "filters": LOOSE} for a in actors]

    if smoke:
        # Seconds, not figures: both engines at once, without the translator (loading it costs 5 CPU-s in a
        # fresh process; the tiny translator's smoke test and tests/test_corpus_ray.py's actor pool cover it).
        local, ray = _start("local", 0, jobs("local", [])[:1], env), _start("ray", 2, jobs("ray-2cpu", []), env)
        runs = [_finish(local), _finish(ray)]
    else:  # one after another, so no engine's figures include another's load
        runs = [_finish(_start(*args, env)) for args in (("local", 0, jobs("local", [1])),
                                                        ("ray", 1, jobs("ray-1cpu", [1])),
                                                        ("ray", 2, jobs("ray-2cpu", [1, 2])))]
    builds = [b for run in runs for b in run["builds"]]
    assert len(builds) == (2 if smoke else 7)
    local = {("native" if b["translator"] == "none" else "tiny"): b for b in builds if b["engine"] == "local"}
    translated = (f"; {n_translate:,} English captions through the tiny translator in shards of {translate_shard:,}"
                  if n_translate else "")
    print(f"\nlocal engine vs Ray on {os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f}); {n_native:,} "
          f"native captions in shards of {native_shard:,}{translated}{' [smoke]' if smoke else ''}")
    for run in runs[1:]:
        print(f"  Ray cluster with {run['cpus']} CPU(s): ray.init {run['init_seconds']:.1f} s (not counted below)")
    for build in builds:
        kind = "native" if build["translator"] == "none" else "tiny"
        n = n_native if kind == "native" else n_translate
        print("  " + _describe(build, n, None if build is local[kind] else local[kind]))
        # The same corpus whatever engine and however many workers or actors built it.
        assert build["content_hash"] == local[kind]["content_hash"], build["label"]
        assert build["rows"] == local[kind]["rows"] and build["rows"]["read"] == n
        assert 0 < build["driver_peak_rss_mib"] < 64 * 1024 and build["seconds"] > 0
        if build["engine"] == "ray":
            assert build["workers"] and all(w["peak_rss_mib"] > 0 for w in build["workers"])
    assert local["native"]["rows"]["kept"] < n_native - n_native // 40  # the repeats were dropped
    if not smoke:
        assert local["native"]["driver_peak_rss_mib"] < 2048
