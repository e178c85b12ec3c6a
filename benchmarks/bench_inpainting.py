"""In-painting against the truth: filled bins and neurons of held-out reaches.

Usage::

    python benchmarks/bench_inpainting.py
    python benchmarks/bench_inpainting.py --n-trials 400 --epochs 60 --threads 2

Synthetic centre-out reaches (:func:`ldns_sklearn.datasets.make_reach_spikes`, true rates
known). One pipeline (autoencoder, then a diffusion model with ``inpaint_fraction``) is
fitted on 75% of the trials; the held-out trials are in-painted for three tasks:

* ``forecast``: the first half of the bins is observed, the second half filled;
* ``gap``: the middle 30% of the bins is missing;
* ``neurons``: a quarter of the neurons (the same for every trial) is missing.

For each task and the missing entries only, printed:

* **rate RMSE** against the true rates of the held-out trials, of the rates the pipeline
  fills in (the route of ``LDNSPipeline.inpaint`` up to the spike draw, after each of
  ``--passes`` rounds of encoding and in-painting for missing bins), next to the same
  for unconditional samples (one per held-out trial: what you get without the recording)
  and for the autoencoder's rates of the *complete* trials (the best this model can do,
  seeing everything). Filled below unconditional means the recorded part informed the
  rest; near "complete" means it informed it as much as the missing part itself would.
* **realism**: :func:`~ldns_sklearn.metrics.generation_score` (about -1: as close as a
  second real data set) of the filled spikes against the held-out real spikes, on the
  missing entries only, next to the unconditional samples' score on the same entries;
  the last row of a task is ``LDNSPipeline.inpaint`` itself (default ``n_passes``).

The observed entries are checked to come back unchanged.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _common import add_run_options, apply_threads

from ldns_sklearn import make_ldns_pipeline
from ldns_sklearn._trials import Trials
from ldns_sklearn.datasets import make_reach_spikes
from ldns_sklearn.metrics import generation_score


def _tasks(n_bins, n_neurons, rng):
    bins = np.arange(n_bins)
    hidden_neurons = rng.permutation(n_neurons)[: n_neurons // 4]
    neurons = np.ones(n_neurons, dtype=bool)
    neurons[hidden_neurons] = False
    gap = (bins < int(0.35 * n_bins)) | (bins >= int(0.65 * n_bins))
    return {
        "forecast": dict(observed_bins=bins < n_bins // 2),
        "gap": dict(observed_bins=gap),
        "neurons": dict(observed_neurons=neurons),
    }


def _missing(task, n_bins, n_neurons):
    """Boolean (n_bins, n_neurons) of the entries a task hides."""
    bins = task.get("observed_bins", np.ones(n_bins, dtype=bool))
    neurons = task.get("observed_neurons", np.ones(n_neurons, dtype=bool))
    return ~(bins[:, None] & neurons[None, :])


def _crop(counts, missing):
    """The missing entries as trials: missing bins (all neurons) or missing neurons."""
    bins, neurons = missing.any(axis=1), missing.any(axis=0)
    if bins.all():
        return counts[:, :, neurons]
    return counts[:, bins]


def _passes(pipe, counts, task, n_passes, seed):
    """``(rates, counts)`` after each pass of LDNSPipeline.inpaint's route."""
    ae, dm = pipe.named_steps["ae"], pipe.named_steps["diffusion"]
    missing = _missing(task, *counts.shape[1:])
    recorded = np.broadcast_to(~missing, counts.shape)
    neurons = task.get("observed_neurons")
    latents = ae.transform(counts, **task)
    for index in range(n_passes if "observed_bins" in task else 1):
        if "observed_bins" in task:
            latents = dm.inpaint(latents, task["observed_bins"], random_state=seed + index)
        # The draw that keeps the recorded entries is the pipeline's own private step:
        # LDNSPipeline.inpaint returns only the last pass, and this shows every one.
        filled = ae._inverse_trials(Trials(latents), seed + index, counts, recorded).unpad()
        yield index + 1, ae.predict_rates(latents), filled
        latents = ae.transform(filled, observed_neurons=neurons)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-trials", type=int, default=800)
    parser.add_argument("--n-neurons", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=150, help="diffusion epochs")
    parser.add_argument("--inpaint-fraction", type=float, default=0.5)
    parser.add_argument("--passes", type=int, default=4, help="passes to show")
    add_run_options(parser, device=None)
    args = parser.parse_args()
    apply_threads(args)
    data = make_reach_spikes(n_trials=args.n_trials, n_neurons=args.n_neurons,
                             return_spiketrains=False, random_state=args.seed)
    n_train = int(0.75 * len(data.counts))
    train, test = data.counts[:n_train], data.counts[n_train:]
    true_rates = data.rates[n_train:]
    n_bins, n_neurons = test.shape[1:]
    print(f"bench_inpainting: reaches, {n_train} training / {len(test)} held-out trials x "
          f"{n_neurons} neurons x {n_bins} bins; autoencoder 8 latents lr 4e-3, diffusion "
          f"{args.epochs} epochs, inpaint_fraction={args.inpaint_fraction}")
    started = time.perf_counter()
    pipe = make_ldns_pipeline(
        bin_size=None, n_latents=8, random_state=args.seed,
        # n_threads=None: the estimators compute on the threads --threads gave torch.
        autoencoder_params=dict(learning_rate=4e-3, n_threads=None),
        diffusion_params=dict(max_epochs=args.epochs, inpaint_fraction=args.inpaint_fraction,
                              n_threads=None),
    ).fit(train)
    print(f"  fitted in {time.perf_counter() - started:.0f} s")
    ae = pipe.named_steps["ae"]
    complete_rates = ae.predict_rates(ae.transform(test))
    unconditional_latents = pipe.named_steps["diffusion"].sample(
        len(test), random_state=args.seed + 1)
    unconditional_rates = ae.predict_rates(unconditional_latents)
    unconditional = ae.inverse_transform(unconditional_latents, random_state=args.seed + 1)

    def rmse(rates, missing):
        return float(np.sqrt(np.mean((rates - true_rates)[:, missing] ** 2)))

    rng = np.random.default_rng(args.seed)
    print(f"  {'task':9s} {'passes':>9s} {'rate RMSE: filled':>18s} {'unconditional':>14s} "
          f"{'complete':>9s}   {'score: filled':>14s} {'unconditional':>14s}")
    for name, task in _tasks(n_bins, n_neurons, rng).items():
        missing = _missing(task, n_bins, n_neurons)
        real_part = _crop(test, missing)
        reference = (f"{rmse(unconditional_rates, missing):14.4f} "
                     f"{rmse(complete_rates, missing):9.4f}")
        unconditional_score = generation_score(real_part, _crop(unconditional, missing))
        for n_passes, rates, filled in _passes(pipe, test, task, args.passes, args.seed + 3):
            print(f"  {name:9s} {n_passes:9d} {rmse(rates, missing):18.4f} {reference}"
                  f"   {generation_score(real_part, _crop(filled, missing)):14.2f} "
                  f"{unconditional_score:14.2f}", flush=True)
        filled = pipe.inpaint(test, **task, random_state=args.seed + 2)
        assert np.array_equal(filled[:, ~missing], test[:, ~missing]), "observed part changed"
        print(f"  {name:9s} {'inpaint()':>9s} {'':18s} {'':14s} {'':9s}"
              f"   {generation_score(real_part, _crop(filled, missing)):14.2f}", flush=True)
    print(f"  true rates: mean {true_rates.mean():.4f} spikes/bin, "
          f"sd over entries {true_rates.std():.4f}; total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
