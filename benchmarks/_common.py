"""What the benchmark scripts share: their run options, a timer that waits for the GPU, and
the import of the paper's code from a local checkout.

The data makers of the fidelity benchmarks are in ``_spiking_data.py``. Scripts run as
``python benchmarks/SCRIPT.py``, which puts this folder on the import path.
"""

from __future__ import annotations

import importlib
import sys
import time

import torch


def add_run_options(parser, *, device: str | None = "auto", threads: int | None = None,
                    seed: int | None = 0) -> None:
    """``--device``, ``--threads`` and ``--seed`` with these defaults (None: left out, for
    ``device`` and ``seed``; for ``threads``: torch's own number of threads)."""
    if device is not None:
        parser.add_argument("--device", default=device,
                            help=f"where torch computes (default: {device})")
    default = threads if threads else "torch's own, one per core"
    parser.add_argument("--threads", type=int, default=threads,
                        help=f"torch CPU threads (default: {default})")
    if seed is not None:
        parser.add_argument("--seed", type=int, default=seed)


def apply_threads(args) -> None:
    """Compute on ``--threads`` CPU threads, where given."""
    if args.threads:
        torch.set_num_threads(args.threads)


def synchronize(device) -> None:
    """Wait for the GPU's queued work, so that a timer stops when the work is done."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def seconds(function, device, repeats: int = 1, *, warm_up: bool = True) -> list[float]:
    """Wall-clock seconds of each of ``repeats`` calls of ``function()`` on ``device``,
    after one warm-up call (allocations, FFT plans, kernels), the GPU synchronised."""
    if warm_up:
        function()
    times = []
    for _ in range(repeats):
        synchronize(device)
        started = time.perf_counter()
        function()
        synchronize(device)
        times.append(time.perf_counter() - started)
    return times


def paper_networks(checkout: str):
    """``ldns.networks`` of a local checkout of ``mackelab/LDNS`` (the paper's code; it needs
    ``einops``). Nothing is downloaded: fetch the checkout yourself."""
    if checkout not in sys.path:
        sys.path.insert(0, checkout)
    return importlib.import_module("ldns.networks")
