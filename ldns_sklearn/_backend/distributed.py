"""Data-parallel training through ``torch.distributed``: ranks, shards, shared values.

When a process group is initialised (e.g. by a script launched with ``torchrun`` that
calls ``torch.distributed.init_process_group``) and holds more than one process, the
training loop runs data-parallel: every rank draws the same global batches, computes the
loss on its own shard of each, and ``DistributedDataParallel`` averages the gradients.
``batch_size`` stays the global batch, so the same parameters mean the same optimisation
with one process or many.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel


@dataclass(frozen=True)
class DataParallel:
    """This process's place in the process group, and the collective steps training needs."""

    rank: int
    world_size: int

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes files and shows progress."""
        return self.rank == 0

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        """The model under DDP: rank 0's weights are broadcast, gradients averaged."""
        device_ids = [device] if device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=device_ids)

    def shard(self, index: torch.Tensor) -> tuple[torch.Tensor, float]:
        """This rank's part of a global batch, and the weight of its loss.

        DDP averages gradients over ranks with equal weights; scaling each rank's mean loss
        by ``world_size * n_rank / n_global`` makes that average the gradient of the mean
        over the whole global batch, also when the shards differ in size. A rank whose
        shard is empty (a last batch smaller than the world) still has to take part in the
        gradient averaging: it computes the loss of one sample with weight 0.
        """
        local = torch.tensor_split(index, self.world_size)[self.rank]
        weight = self.world_size * len(local) / len(index)
        if len(local) == 0:
            return index[:1], 0.0
        return local, weight

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        """``values`` summed over all ranks (a new tensor on the same device)."""
        total = values.to(_collective_device(), copy=True)
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
        return total.to(values.device)

    def from_main(self, values: torch.Tensor) -> torch.Tensor:
        """Rank 0's ``values`` on every rank, so that all ranks take the same decisions."""
        shared = values.to(_collective_device(), copy=True)
        dist.broadcast(shared, src=0)
        return shared.to(values.device)

    def share_generator(self, generator: torch.Generator) -> None:
        """Give every rank rank 0's random stream (shuffling, validation split)."""
        generator.set_state(self.from_main(generator.get_state()))


def _collective_device() -> torch.device:
    # NCCL communicates only CUDA tensors; gloo (CPU training) takes CPU ones.
    if dist.get_backend() == "nccl":
        return torch.device("cuda", local_cuda_index())
    return torch.device("cpu")


def data_parallel() -> DataParallel | None:
    """The process group's :class:`DataParallel`, or None when training in one process."""
    if not (dist.is_available() and dist.is_initialized()):
        return None
    world_size = dist.get_world_size()
    if world_size == 1:
        return None
    return DataParallel(rank=dist.get_rank(), world_size=world_size)


def local_cuda_index() -> int | None:
    """The GPU of this process under ``torchrun`` (``LOCAL_RANK``), else None."""
    if data_parallel() is None:
        return None
    return int(os.environ.get("LOCAL_RANK", 0))


def is_main_process() -> bool:
    """Whether this process writes files: rank 0, or the only process."""
    parallel = data_parallel()
    return parallel is None or parallel.is_main


@contextlib.contextmanager
def process_group_from_environment():
    """Within the block, a process group when ``torchrun`` started several processes.

    ``torchrun`` sets ``WORLD_SIZE`` (and the rendezvous variables) but leaves
    initialising the group to the program: NCCL on GPUs, gloo on CPUs. A group that is
    already initialised, or a single process, is left as it is.
    """
    if dist.is_initialized() or int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        yield
        return
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
        dist.init_process_group("nccl")
    else:
        dist.init_process_group("gloo")
    try:
        yield
    finally:
        dist.destroy_process_group()
