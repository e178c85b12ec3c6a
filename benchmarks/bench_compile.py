"""What ``torch_compile=True`` costs and saves: seconds per training epoch, eager and compiled.

Usage::

    python benchmarks/bench_compile.py                 # CPU, 2 threads
    python benchmarks/bench_compile.py --device cuda --n-trials 2000 --n-bins 256

Fits the autoencoder on Lorenz counts, then the denoiser on its latents, each once eager
and once with ``torch_compile=True`` (same seeds, same sizes), and prints every epoch's
seconds (the first compiled epoch includes compiling) and the total. Inductor warns that it
leaves complex operators (the S4 kernel's) uncompiled; the warning is silenced here.
"""

from __future__ import annotations

import argparse
import time
import warnings

import torch
from _common import add_run_options, apply_threads

from ldns_sklearn import LatentDiffusion, S4Autoencoder
from ldns_sklearn.datasets import make_lorenz_spikes


def _fit(estimator, X):
    started = time.perf_counter()
    estimator.fit(X)
    epochs = [record["seconds"] for record in estimator.history_]
    return time.perf_counter() - started, epochs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-trials", type=int, default=400)
    parser.add_argument("--n-bins", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=4)
    add_run_options(parser, device="cpu", threads=2, seed=None)
    args = parser.parse_args()
    apply_threads(args)
    warnings.filterwarnings("ignore", message=".*complex operators.*")
    X = make_lorenz_spikes(n_trials=args.n_trials, n_neurons=64, n_bins=args.n_bins,
                           random_state=0, return_spiketrains=False).counts
    # n_threads=None: the estimators compute on the threads --threads gave torch.
    common = dict(n_threads=None, hidden_channels=args.hidden, n_blocks=2, max_epochs=args.epochs,
                  batch_size=32, device=args.device, random_state=0)
    print(f"{args.n_trials} trials x {args.n_bins} bins, {args.hidden} wide, {args.epochs} "
          f"epochs, device {args.device}, {torch.get_num_threads()} threads")
    latents = None
    for name in ("autoencoder", "denoiser"):
        for compiled in (False, True):
            if name == "autoencoder":
                estimator, data = S4Autoencoder(n_latents=8, torch_compile=compiled,
                                                **common), X
            else:
                estimator, data = LatentDiffusion(torch_compile=compiled, **common), latents
            total, epochs = _fit(estimator, data)
            if name == "autoencoder" and not compiled:
                latents = estimator.transform(X)
            label = "compiled" if compiled else "eager"
            print(f"{name:12s} {label:9s} total {total:6.1f} s; epochs (s): "
                  + " ".join(f"{s:.2f}" for s in epochs))


if __name__ == "__main__":
    main()
