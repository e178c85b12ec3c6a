"""
Data-parallel training with ``torchrun``: several GPUs (or CPU processes), one model
====================================================================================

Launch one process per GPU; each holds the data, trains on its shard of every global batch,
and DDP averages the gradients, so ``batch_size`` keeps meaning the global batch and the
fit is the same optimisation as in one process. Every process ends with the same fitted
pipeline; only rank 0 writes it::

    torchrun --nproc-per-node 4 examples/train_distributed.py --output model.npz
    torchrun --nproc-per-node 2 examples/train_distributed.py --smoke   # CPU check, seconds

(The command line does the same: ``torchrun --nproc-per-node 4 -m ldns_sklearn.cli fit
DATA -o MODEL``.) With GPUs the processes talk over NCCL, on CPUs over gloo. Costs: the
default size is the paper's Lorenz configuration (hours on one CPU; on GPUs, what
``docs/benchmarks.md`` records); ``--smoke`` takes seconds on a CPU.
"""

from __future__ import annotations

import argparse
import os

import torch
import torch.distributed as dist

from ldns_sklearn import make_ldns_pipeline
from ldns_sklearn.datasets import make_lorenz_spikes

SIZES = {
    # the paper's Lorenz data and model sizes
    "paper": dict(n_trials=5000, n_bins=256, preset="paper", params={}),
    "smoke": dict(n_trials=24, n_bins=16, preset="cpu",
                  params={"hidden_channels": 8, "n_blocks": 1, "max_epochs": 2}),
}  # fmt: skip


def main(size="paper", output="model.npz"):
    settings = SIZES[size]
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank = dist.get_rank()
    data = make_lorenz_spikes(n_trials=settings["n_trials"], n_neurons=128,
                              n_bins=settings["n_bins"], random_state=0)
    pipe = make_ldns_pipeline(
        bin_size=None, n_latents=8, preset=settings["preset"], random_state=0,
        autoencoder_params=settings["params"], diffusion_params=settings["params"],
        verbose=rank == 0,  # one progress bar, not one per process
    )
    pipe.fit(data.counts)
    if rank == 0:
        pipe.save(output)
        print(f"rank 0 of {dist.get_world_size()}: saved the fitted pipeline to {output}")
    dist.destroy_process_group()
    return pipe


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().partition("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a tiny run that takes seconds")
    parser.add_argument("--output", default="model.npz", help="where rank 0 saves the model")
    arguments = parser.parse_args()
    main("smoke" if arguments.smoke else "paper", arguments.output)
