"""Processes under torchrun / accelerate launch: who am I, and which items are mine.

Items are sharded by key over the sorted list of keys still to do, which every process computes from the
same files before any process starts writing (a barrier separates the two). Each key goes to exactly one
process, uneven splits differ by at most one item, and processes left without items simply wait; none of
accelerate's split_between_processes padding (which duplicates the last item) is involved.
"""

from __future__ import annotations

import atexit
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from bench.core import runtime

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Processes:
    """This process's place among the launched ones; single-process when WORLD_SIZE is unset or 1."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls) -> Processes:
        """Read RANK/WORLD_SIZE/LOCAL_RANK (set by torchrun and accelerate) and join the process group.

        A group we create stays up for the life of the process (destroyed at exit): tearing it down and
        building it again between two runs races when one rank gets there first.
        """
        rank, world = runtime.process_layout()
        if world <= 1:
            return cls()
        import torch
        import torch.distributed as dist

        local = runtime.local_rank(default=rank)
        if not dist.is_initialized():
            backend = "nccl" if torch.cuda.is_available() else "gloo"
            if backend == "nccl":
                torch.cuda.set_device(local)
            dist.init_process_group(backend=backend)
            atexit.register(_destroy_group)
        return cls(rank=dist.get_rank(), world=dist.get_world_size(), local_rank=local)

    def barrier(self) -> None:
        """Wait for every process (no-op alone)."""
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()

    def gather(self, value: Any) -> list[Any]:
        """Every process's `value`, in rank order (a list of one alone)."""
        if self.world == 1:
            return [value]
        import torch.distributed as dist

        out: list[Any] = [None] * self.world
        dist.all_gather_object(out, value)
        return out

    def broadcast(self, value: Any) -> Any:
        """Rank 0's `value` on every process."""
        if self.world == 1:
            return value
        import torch.distributed as dist

        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

def _destroy_group() -> None:
    """Leave the process group at exit, if it is still up."""
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()


def shard(keys: Sequence[T], rank: int, world: int) -> list[T]:
    """The keys process `rank` of `world` owns: every key exactly once over all ranks, sizes within one."""
    ordered = sorted(keys)  # type: ignore[type-var]  # keys are str or tuples of str
    return ordered[rank::world]
