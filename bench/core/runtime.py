"""Where and how this process runs: device, dtype, rank and world size, and whether the hub is offline.

The one place that reads the launcher's environment (torchrun / accelerate set RANK, WORLD_SIZE, LOCAL_RANK)
and HF_HUB_OFFLINE; torch is imported only inside the functions that need it.
"""

from __future__ import annotations

import contextlib
import os

from bench.core.errors import BenchError

DTYPES = ("float32", "float16", "bfloat16")
_TRUE = {"1", "true", "yes", "on"}


def hub_offline() -> bool:
    """True when the hub is switched off for this process (the CLI and tests switch it off)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def process_layout() -> tuple[int, int]:
    """(rank, world size) from torchrun / accelerate environment variables; (0, 1) when alone."""
    rank = int(os.environ.get("RANK", os.environ.get("ACCELERATE_PROCESS_INDEX", "0")) or 0)
    world = int(os.environ.get("WORLD_SIZE", os.environ.get("ACCELERATE_NUM_PROCESSES", "1")) or 1)
    if world < 1 or not 0 <= rank < world:
        raise BenchError(f"bad process layout RANK={rank} WORLD_SIZE={world}")
    return rank, world


def local_rank(default: int = 0) -> int:
    """This process's GPU index on its machine (LOCAL_RANK), `default` when unset."""
    return int(os.environ.get("LOCAL_RANK", str(default)))


def default_device() -> str:
    """cuda:<LOCAL_RANK> when a GPU is here, else cpu."""
    import torch

    if torch.cuda.is_available():
        return f"cuda:{local_rank()}"
    return "cpu"


def pick_device(device: str | None = None) -> str:
    """The given device (checked), else this process's GPU, else the CPU."""
    return check_device(device) if device else default_device()


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when a GPU is visible, else 'cpu'; another name must exist here (one-line error)."""
    return check_device(device)


def check_device(device: str) -> str:
    """'auto' -> 'cuda' when a GPU is visible, else 'cpu'; any other name must exist on this machine."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError):
        raise BenchError(f"--device {device!r} is not a device name; use auto, cpu, cuda or cuda:N") from None
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise BenchError(f"--device {device}: no CUDA GPU is visible here; use --device cpu (or auto)")
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise BenchError(f"--device {device}: this machine has {torch.cuda.device_count()} GPU(s) "
                             f"(cuda:0 .. cuda:{torch.cuda.device_count() - 1})")
    elif parsed.type == "mps" and not torch.backends.mps.is_available():
        raise BenchError(f"--device {device}: MPS is not available here; use --device cpu (or auto)")
    elif parsed.type not in ("cpu", "cuda", "mps"):
        raise BenchError(f"--device {device}: unsupported device type; use auto, cpu, cuda or cuda:N")
    return device


def resolve_dtype(dtype: str, device: str) -> str:
    """'auto' -> float16 on CUDA, float32 elsewhere (CPU half precision is slow and inexact)."""
    if dtype == "auto":
        return "float16" if str(device).startswith("cuda") else "float32"
    if dtype not in DTYPES:
        raise BenchError(f"unknown dtype '{dtype}' (auto, {', '.join(DTYPES)})")
    return dtype


@contextlib.contextmanager
def torch_threads(threads: int | None):
    """Inside: `threads` torch threads (None: leave them); the previous count comes back on exit."""
    import torch

    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def reproducible_cpu(threads: int, seed: int):
    """Inside: `threads` torch threads, every generator seeded, and deterministic kernels when no GPU trains.

    A CPU splits float sums across its threads, so the thread count decides the last bits of every result:
    the environment's (OMP_NUM_THREADS, a machine's core count) must not. The previous settings come back on
    exit, so a demo that trains and then generates in one process keeps its own thread count for the rest.
    """
    import random

    import numpy as np
    import torch

    deterministic_before = torch.are_deterministic_algorithms_enabled()
    if not torch.cuda.is_available():  # CUDA's deterministic mode needs CUBLAS_WORKSPACE_CONFIG before start-up
        torch.use_deterministic_algorithms(True)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    try:
        with torch_threads(threads):
            yield
    finally:
        torch.use_deterministic_algorithms(deterministic_before)
