"""One rank of the data-parallel training test, launched by ``torchrun`` from test_distributed.

Fits a tiny autoencoder (deterministic loss: no coordinated dropout; a validation split
with early stopping) and a tiny diffusion model (with checkpoints) on the CPU with the gloo
backend, and saves what each rank ended with, for the test to compare across ranks and
with a single-process fit.
"""

import sys
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from tests._ddp_models import autoencoder, diffusion, lorenz_counts, trained_state

if __name__ == "__main__":
    out = Path(sys.argv[1])
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    counts = lorenz_counts()
    ae = autoencoder().fit(counts)
    # Each rank gets its own checkpoint folder, so the test sees which ranks wrote one.
    dm = diffusion(checkpoint_dir=out / f"checkpoints{rank}").fit(ae.transform(counts))
    np.savez(out / f"rank{rank}.npz", **trained_state(ae, dm))
    dist.destroy_process_group()
