"""bench.core.workers: jobs on spawned processes give what the same jobs give in order in this process, start
only after what they need, keep a worker's stderr in its log file, and stop on the first error."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from bench.core.errors import BenchError
from bench.core.workers import Job, check_order, run_jobs


def square_into(folder: str, name: str, n: int) -> int:
    """A job: write n*n into folder/name and return it."""
    Path(folder, name).write_text(str(n * n))
    return n * n


def sum_of(folder: str, names: tuple[str, ...]) -> dict:
    """A job that needs others: the sum of the files they wrote, and facts about the process it ran in."""
    import torch

    print("a line a library writes to stderr", file=sys.stderr)
    return {"sum": sum(int(Path(folder, n).read_text()) for n in names), "pid": os.getpid(),
            "threads": torch.get_num_threads(), "blas": os.environ.get("OPENBLAS_NUM_THREADS")}


def fail(message: str) -> None:
    raise BenchError(message)


def _jobs(folder: Path) -> list[Job]:
    return [Job("a", square_into, (str(folder), "a", 3)), Job("b", square_into, (str(folder), "b", 4)),
            Job("total", sum_of, (str(folder), ("a", "b")), needs=("a", "b"))]


def test_jobs_on_two_workers_equal_jobs_in_order(tmp_path, bench_home, capfd):
    (tmp_path / "seq").mkdir()
    (tmp_path / "par").mkdir()
    in_order = run_jobs(_jobs(tmp_path / "seq"), workers=1, progress=False)
    parallel = run_jobs(_jobs(tmp_path / "par"), workers=2, progress=False)
    assert in_order["total"]["sum"] == parallel["total"]["sum"] == 25
    assert in_order["a"] == parallel["a"] == 9
    assert in_order["total"]["pid"] == os.getpid() != parallel["total"]["pid"]
    assert parallel["total"]["threads"] == in_order["total"]["threads"] == 1
    assert parallel["total"]["blas"] == "1"  # numpy's BLAS in a worker: one thread too
    err = capfd.readouterr().err
    assert err.count("a line a library writes to stderr") == 1  # the in-order run's; the worker's went to its log
    logs = "".join(p.read_text() for p in (bench_home / "logs").glob("worker-*.log"))
    assert "a line a library writes to stderr" in logs


def test_first_error_stops_the_rest(tmp_path, bench_home):
    jobs = [Job("bad", fail, ("corpus 'x' is empty",)), Job("after", square_into, (str(tmp_path), "after", 2),
                                                          needs=("bad",))]
    with pytest.raises(BenchError, match="corpus 'x' is empty"):
        run_jobs(jobs, workers=2, progress=False)
    assert not (tmp_path / "after").exists()


def test_needs_must_come_first():
    with pytest.raises(ValueError, match="needs"):
        check_order([Job("late", fail, ("x",), needs=("early",)), Job("early", fail, ("y",))])
    with pytest.raises(ValueError, match="twice"):
        check_order([Job("a", fail, ("x",)), Job("a", fail, ("y",))])
