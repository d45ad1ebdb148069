"""Independent jobs with dependencies on a few spawned worker processes, one torch thread each.

Why processes and not threads: the toy models' kernels are tiny, so a second torch thread in one process buys
1.26x on a training step (0.121 s against 0.153 s, batch 16, measured on 2 cores) while a second process with
its own thread buys close to 2x. Why one thread: a kernel's float rounding can depend on how many threads
split it, so a fixed count makes every job's bytes the same on any machine and for any number of workers
(in this process too). A worker logs (and anything a library writes to stderr goes) into
BENCH_HOME/logs/worker-<n>.log, so the terminal keeps one progress bar over the jobs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """One unit of work: fn(*args) in a worker, started once every job named in `needs` has finished."""

    name: str
    fn: Callable[..., Any]  # a module-level function, so a spawned worker can import it
    args: tuple = ()
    needs: tuple[str, ...] = ()


def check_order(jobs: Sequence[Job]) -> None:
    """Every job's needs name jobs listed before it (so running in list order respects them)."""
    seen: set[str] = set()
    for job in jobs:
        missing = [n for n in job.needs if n not in seen]
        if missing or job.name in seen:
            raise ValueError(f"job {job.name!r}: " + (f"needs {missing} listed after it or missing" if missing
                                                       else "listed twice"))
        seen.add(job.name)


THREADS = 1  # torch threads per job, wherever it runs (see above)
BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _init_worker(number_queue, threads: int, log_dir: str) -> None:
    """Runs first in every worker: one log file for its logging and stderr, its thread count, the plug-ins."""
    import sys

    number = number_queue.get()
    os.makedirs(log_dir, exist_ok=True)
    stream = open(os.path.join(log_dir, f"worker-{number}.log"), "a", buffering=1)  # noqa: SIM115 (process-long)
    sys.stderr = stream
    os.dup2(stream.fileno(), 2)  # C-level writes (oneDNN, tokenizers) too
    logging.basicConfig(level=logging.INFO, stream=stream, format="%(asctime)s %(name)s: %(message)s", force=True)
    import torch

    torch.set_num_threads(threads)
    from bench.core import plugins

    plugins.load()


def run_jobs(jobs: Sequence[Job], workers: int, label: str = "jobs", progress: bool = True) -> dict[str, Any]:
    """Run `jobs` ({name: result}); in list order in this process when workers <= 1, else on `workers`
    spawned processes, each job as soon as its needs are done (list order breaks ties: put long jobs first).

    A job that raises stops the rest: jobs not yet started are dropped, running ones finish, the error is raised.
    """
    check_order(jobs)
    from bench.core.progress import rate_bar

    results: dict[str, Any] = {}
    with rate_bar("jobs", enabled=progress, precision=2) as bar:
        task = bar.add_task(label, total=len(jobs))
        if workers <= 1:
            from bench.core.runtime import torch_threads

            with torch_threads(THREADS):
                for job in jobs:
                    results[job.name] = job.fn(*job.args)
                    bar.advance(task)
            return results
        _run_parallel(jobs, workers, results, lambda: bar.advance(task))
    return results


def _run_parallel(jobs: Sequence[Job], workers: int, results: dict[str, Any], advance: Callable[[], None]) -> None:
    import multiprocessing as mp

    context = mp.get_context("spawn")  # fork would copy torch's thread pools and locks mid-state
    # numpy's BLAS reads its thread count from the environment when a worker imports it (FID's matrix products)
    saved = {name: os.environ.get(name) for name in BLAS_THREAD_VARIABLES}
    os.environ.update({name: str(THREADS) for name in BLAS_THREAD_VARIABLES})
    try:
        _run_pool(context, jobs, workers, results, advance)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run_pool(context, jobs: Sequence[Job], workers: int, results: dict[str, Any], advance: Callable[[], None]) -> None:
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from bench.core import paths

    numbers = context.Queue()
    for n in range(workers):
        numbers.put(n)
    pending = list(jobs)
    running: dict[Any, Job] = {}
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker,
                             initargs=(numbers, THREADS, str(paths.worker_logs_dir()))) as pool:
        while pending or running:
            for job in [j for j in pending if all(n in results for n in j.needs)]:
                if len(running) >= workers:
                    break
                pending.remove(job)
                running[pool.submit(job.fn, *job.args)] = job
            if not running:
                raise ValueError(f"jobs {[j.name for j in pending]} wait on jobs that never ran")
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                job = running.pop(future)
                error = future.exception()
                if error is not None:
                    for other in running:
                        other.cancel()
                    log.error("job %s failed; its worker's log is in %s", job.name, paths.worker_logs_dir())
                    raise error
                results[job.name] = future.result()
                advance()
