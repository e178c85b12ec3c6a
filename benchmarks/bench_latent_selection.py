"""Choosing ``n_latents`` by cross-validated autoencoder score: masked against full.

Usage::

    python benchmarks/bench_latent_selection.py
    python benchmarks/bench_latent_selection.py --n-latents 1 2 3 4 8 16 32 --folds 3

Lorenz spiking data (true latent dimension 3). For every ``n_latents`` and every fold of a
``KFold`` split of the trials, one :class:`~ldns_sklearn.S4Autoencoder` is fitted and its
held-out fold is scored twice: with ``score_mask_prob=0.2`` (the default: entries hidden
from the encoder and scored alone) and with ``score_mask_prob=0`` (the encoder sees every
entry it is scored on). Printed: the mean score of each ``n_latents`` under both, and the
value ``GridSearchCV`` would pick with each (the largest mean; the same fits serve both
scores, so the comparison is exact).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import add_run_options, apply_threads
from sklearn.model_selection import KFold

from ldns_sklearn import S4Autoencoder
from ldns_sklearn.datasets import make_lorenz_spikes


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-latents", type=int, nargs="+", default=[1, 2, 3, 4, 8, 16, 32])
    parser.add_argument("--n-trials", type=int, default=600)
    parser.add_argument("--n-neurons", type=int, default=64)
    parser.add_argument("--n-bins", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--folds", type=int, default=3)
    add_run_options(parser, device=None)
    args = parser.parse_args()
    apply_threads(args)
    counts = make_lorenz_spikes(
        n_trials=args.n_trials, n_neurons=args.n_neurons, n_bins=args.n_bins,
        return_spiketrains=False, random_state=args.seed,
    ).counts
    print(f"bench_latent_selection: Lorenz (true dimension 3), {args.n_trials} trials x "
          f"{args.n_neurons} neurons x {args.n_bins} bins, {args.folds}-fold CV, "
          f"{args.epochs} epochs, default S4Autoencoder sizes")
    scores = {"masked": {}, "full": {}}
    started = time.perf_counter()
    for n_latents in args.n_latents:
        masked, full = [], []
        for train, test in KFold(args.folds, shuffle=True, random_state=args.seed).split(counts):
            ae = S4Autoencoder(n_latents=n_latents, max_epochs=args.epochs, n_threads=None,
                               random_state=args.seed).fit(counts[train])
            masked.append(ae.set_params(score_mask_prob=0.2).score(counts[test]))
            full.append(ae.set_params(score_mask_prob=0.0).score(counts[test]))
        scores["masked"][n_latents], scores["full"][n_latents] = np.mean(masked), np.mean(full)
        print(f"  n_latents={n_latents:3d}: masked {np.mean(masked):.4f} +- "
              f"{np.std(masked):.4f}   full {np.mean(full):.4f} +- {np.std(full):.4f}",
              flush=True)
    for name, values in scores.items():
        best = max(values, key=values.get)
        print(f"{name:6s} score selects n_latents = {best}")
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
