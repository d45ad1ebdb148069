"""Corpus builds in one fresh process, for the engine benchmarks: prints, per build, its wall and CPU seconds
(every process of the build summed) and each process's peak RSS during it, as one JSON line.

usage: python engine_run.py ENGINE CPUS JOBS
ENGINE local or ray; CPUS the local Ray cluster's CPUs (so its worker processes); JOBS a JSON list of
{"source", "translator", "actors", "shard_size", "name"} and optional "filters" (FilterSettings fields).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path


def peak_rss_mib(pid: int | str) -> float | None:
    """A live process's peak resident set since its last reset (VmHWM), MiB; None when it has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def reset_peak(pid: int | str) -> bool:
    """Start a process's VmHWM again from its current RSS (Linux: writing 5 to clear_refs)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def descendants():
    import psutil

    return psutil.Process().children(recursive=True)


def _title(command: list[str]) -> str:
    """'ray::IDLE', 'raylet', 'gcs_server', or a Python daemon's script name."""
    name = command[0].split()[0] if command[0].startswith("ray::") else Path(command[0]).name
    if name.startswith("python") and len(command) > 1:
        script = next((c for c in command[1:] if not c.startswith("-")), command[1])
        name = Path(script).name
    return name[:40]


def cluster_processes() -> dict[str, list[dict]]:
    """The driver's descendants (the local cluster: raylet, GCS, workers), split into Ray workers (process
    titles 'ray::...') and the rest, each with its peak RSS and CPU seconds so far."""
    import psutil

    found: dict[str, list[dict]] = {"workers": [], "system": []}
    for proc in descendants():
        try:
            command, cpu = proc.cmdline() or [proc.name()], proc.cpu_times()
        except psutil.Error:
            continue
        peak = peak_rss_mib(proc.pid)
        if peak is None:
            continue
        kind = "workers" if command[0].startswith("ray::") else "system"
        found[kind].append({"pid": proc.pid, "title": _title(command), "peak_rss_mib": round(peak, 1),
                            "cpu_seconds": cpu.user + cpu.system})
    return found


class Sampler:
    """Polls the driver's descendants during a build, so processes that exit before it ends (a finished actor
    pool's actors) keep their CPU seconds and peak RSS as last seen."""

    def __init__(self, every: float = 0.2) -> None:
        import threading

        self.seen: dict[int, dict] = {}
        self.every, self.stop = every, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(self.every)

    def sample(self) -> None:
        for kind, procs in cluster_processes().items():
            for p in procs:
                self.seen[p["pid"]] = {**p, "kind": kind}

    def __enter__(self) -> Sampler:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        self.sample()


def build(engine: str, job: dict) -> dict:
    """One build, timed, with the CPU seconds and peaks of every process during it."""
    from bench.corpus.build import CorpusConfig
    from bench.corpus.engines import build_corpus
    from bench.corpus.filters import FilterSettings

    config = CorpusConfig(lang="it", sources=(f"parquet:{job['source']}",), translator=job["translator"],
                          name=job["name"], shard_size=job["shard_size"], batch_size=32, engine=engine,
                          filters=FilterSettings(language_id=False, **job.get("filters", {})),
                          workers=job["actors"] if engine == "ray" else None)
    before = cluster_processes()
    reset = all([reset_peak("self"), *(reset_peak(p["pid"]) for kind in before.values() for p in kind)])
    # Ray's processes outlive a build; the CPU time they had used before it is not the build's.
    spent = {p["pid"]: p["cpu_seconds"] for kind in before.values() for p in kind}
    start, cpu = time.perf_counter(), time.process_time()
    with Sampler() as sampler:
        result = build_corpus(config)
        seconds, driver_cpu = time.perf_counter() - start, time.process_time() - cpu
    after: dict[str, list[dict]] = {"workers": [], "system": []}
    alive = {q.pid for q in descendants()}
    for pid, p in sampler.seen.items():
        after[p.pop("kind")].append({**p, "cpu_seconds": round(p["cpu_seconds"] - spent.get(pid, 0.0), 2),
                                     "exited": pid not in alive})
    return {**job, "engine": engine, "seconds": seconds, "peaks_reset": reset,
            "cpu_seconds": driver_cpu + sum(p["cpu_seconds"] for kind in after.values() for p in kind),
            "rows": result.manifest["rows"], "content_hash": result.manifest["content_hash"],
            "driver_peak_rss_mib": peak_rss_mib("self"), **after}


def main(engine: str, cpus: int, jobs: list[dict]) -> dict:
    init_seconds = 0.0
    if engine == "ray":
        import ray

        tick = time.perf_counter()
        ray.init(num_cpus=cpus, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
        init_seconds = time.perf_counter() - tick
    return {"engine": engine, "cpus": cpus, "init_seconds": init_seconds, "builds": [build(engine, j) for j in jobs]}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]))))
