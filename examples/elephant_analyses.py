"""
Generated trials straight through Elephant: do they behave like real data?
==========================================================================

Fits LDNS on Lorenz spike trains, samples as many trials as a held-out set holds (Neo trials,
spikes drawn at random times inside their bin), and runs the analyses an electrophysiologist
runs on real data — on held-out real trials, on the generated trials, on a second real set
(the floor: how far real data is from itself) and on homogeneous Poisson trains with each
neuron's real mean rate (what ignoring all structure gives):

1. ``elephant.statistics.mean_firing_rate`` per neuron;
2. ``elephant.statistics.isi`` pooled per neuron, then ``cv`` and ``lv``;
3. ``elephant.conversion.BinnedSpikeTrain`` + ``spike_train_correlation.correlation_coefficient``;
4. ``spike_train_correlation.cross_correlation_histogram`` of the most correlated pair;
5. ``elephant.gpfa.GPFA`` fitted on the training trials: log-likelihood per trial and the
   spread of the extracted latent trajectories for each set.

Needs the ``[elephant]`` extra. Costs: ``--smoke`` seconds; the default size about 7 minutes
on 2 CPU cores with other work running (most of it fitting LDNS; what it printed is in
``docs/elephant.md``)::

    python examples/elephant_analyses.py [--smoke]

Which analyses are valid below the bin size: generated spike times inside a bin are drawn,
not learned (``spike_placement``). Rates, counts, correlations of binned trains, CCHs and
GPFA at the bin size or coarser are what the model produced; ISIs shorter than a bin, and
CV/LV where most intervals are that short, describe the placement, not the model.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import quantities as pq
from elephant.conversion import BinnedSpikeTrain
from elephant.gpfa import GPFA
from elephant.spike_train_correlation import (
    correlation_coefficient,
    cross_correlation_histogram,
)
from elephant.statistics import cv, isi, lv, mean_firing_rate

from ldns_sklearn import counts_to_spiketrains, make_ldns_pipeline
from ldns_sklearn.datasets import make_lorenz_spikes

BIN = 5 * pq.ms
SIZES = {
    # trials (train, held-out, second held-out), neurons, bins; model sizes; GPFA EM steps
    "default": dict(n_train=480, n_test=120, n_neurons=32, n_bins=128, ae={}, dm={}, em=200),
    "smoke": dict(
        n_train=40, n_test=16, n_neurons=8, n_bins=96,
        ae=dict(hidden_channels=8, n_blocks=1, max_epochs=2, batch_size=16),
        dm=dict(hidden_channels=8, n_blocks=1, max_epochs=2, batch_size=16),
        em=20,
    ),
}


def per_neuron(trials, statistic):
    """One value per neuron from its trains of every trial (``statistic`` of a list)."""
    return np.array([statistic([trial[n] for trial in trials]) for n in range(len(trials[0]))])


def mean_rate(trains):
    return np.mean([float(mean_firing_rate(t).rescale(pq.Hz)) for t in trains])


def pooled_isis(trains):
    return np.concatenate([isi(t).rescale(pq.s).magnitude for t in trains])


def pooled_cv(trains):
    intervals = pooled_isis(trains)
    return cv(intervals) if len(intervals) > 1 else np.nan


def mean_lv(trains):
    # LV compares neighbouring intervals, so it is taken within each train and averaged.
    values = [lv(isi(t).magnitude) for t in trains if len(t) > 2]
    return np.mean(values) if values else np.nan


def correlation_matrix(trials):
    """Mean over trials of the correlation coefficients of the trials' 5 ms binned trains."""
    with warnings.catch_warnings():
        # Elephant warns about neurons that are silent in a trial; their entries are NaN.
        warnings.simplefilter("ignore")
        matrices = [
            correlation_coefficient(BinnedSpikeTrain(trial, bin_size=BIN)) for trial in trials
        ]
        return np.nanmean(matrices, axis=0)


def pair_cch(trials, pair, window=10):
    """Cross-correlation histogram of one pair, summed over trials (lags -window..window)."""
    total = 0.0
    for trial in trials:
        first, second = (BinnedSpikeTrain(trial[n], bin_size=BIN) for n in pair)
        cch, _ = cross_correlation_histogram(first, second, window=[-window, window])
        total = total + cch.magnitude.ravel()
    return total


def rmse(a, b):
    keep = np.isfinite(a) & np.isfinite(b)
    return float(np.sqrt(np.mean((a[keep] - b[keep]) ** 2)))


def main(size: str = "default", random_state: int = 0) -> dict:
    """Fit, sample, run the Elephant analyses on every set, print and return the table."""
    config = SIZES[size]
    n_train, n_test = config["n_train"], config["n_test"]
    data = make_lorenz_spikes(
        n_trials=n_train + 2 * n_test, n_neurons=config["n_neurons"], n_bins=config["n_bins"],
        bin_size=BIN, return_spiketrains=False, random_state=random_state,
    )
    # The Lorenz data are binned counts with no timing inside a bin: their trains get the
    # same random placement as the generated ones, so sub-bin intervals compare like with
    # like (with evenly placed real spikes, LV differs by the placement rule alone).
    trials = [
        list(trial)
        for trial in counts_to_spiketrains(data.counts, BIN, spike_placement="random",
                                           random_state=random_state)
    ]
    train, held_out, second = (
        trials[:n_train], trials[n_train : n_train + n_test], trials[n_train + n_test :]
    )
    pipe = make_ldns_pipeline(
        bin_size=BIN, n_latents=8, autoencoder_params=config["ae"],
        diffusion_params=config["dm"], random_state=random_state,
        verbose=size != "smoke",  # progress bars per batch with an ETA, a line per step
    ).set_params(bin__spike_placement="random")
    started = time.perf_counter()
    pipe.fit(train)
    print(f"LDNS fitted on {n_train} trials in {time.perf_counter() - started:.0f} s")
    rng = np.random.default_rng(random_state)
    rates = data.counts[n_train : n_train + n_test].mean(axis=(0, 1))
    poisson_counts = rng.poisson(rates, size=(n_test, config["n_bins"], len(rates)))
    sets = {
        "LDNS samples": [list(t) for t in pipe.sample(n_test, random_state=1)],
        "real, second set": second,
        "Poisson, same rates": [
            list(t)
            for t in counts_to_spiketrains(poisson_counts, BIN, spike_placement="random",
                                           random_state=random_state)
        ],
    }

    reference = {
        "rate": per_neuron(held_out, mean_rate),
        "cv": per_neuron(held_out, pooled_cv),
        "lv": per_neuron(held_out, mean_lv),
        "corr": correlation_matrix(held_out),
    }
    upper = np.triu_indices(config["n_neurons"], k=1)
    strongest = np.nanargmax(np.abs(np.nan_to_num(reference["corr"][upper])))
    pair = (upper[0][strongest], upper[1][strongest])
    reference["cch"] = pair_cch(held_out, pair)
    gpfa = GPFA(bin_size=4 * BIN, x_dim=3, em_max_iters=config["em"]).fit(train)
    reference["gpfa_ll"] = gpfa.score(held_out) / n_test
    reference["latent_std"] = np.std(np.hstack(gpfa.transform(held_out)), axis=1)

    table = {}
    for label, generated in sets.items():
        latents = np.hstack(gpfa.transform(generated))
        table[label] = {
            "mean rate RMSE (Hz)": rmse(reference["rate"], per_neuron(generated, mean_rate)),
            "CV RMSE": rmse(reference["cv"], per_neuron(generated, pooled_cv)),
            "LV RMSE": rmse(reference["lv"], per_neuron(generated, mean_lv)),
            "correlation RMSE": rmse(
                reference["corr"][upper], correlation_matrix(generated)[upper]
            ),
            "CCH r": float(np.corrcoef(reference["cch"], pair_cch(generated, pair))[0, 1]),
            "GPFA log-lik per trial": gpfa.score(generated) / n_test,
            "GPFA latent std ratio": float(
                np.mean(np.std(latents, axis=1) / reference["latent_std"])
            ),
        }
    print(f"\nElephant analyses against {n_test} held-out real trials "
          f"(GPFA log-likelihood of the held-out trials: {reference['gpfa_ll']:.1f} per trial)")
    names = list(next(iter(table.values())))
    print(f"{'':22s}" + "".join(f"{name:>25s}" for name in names))
    for label, row in table.items():
        print(f"{label:22s}" + "".join(f"{row[name]:25.4f}" for name in names))
    return {"table": table, "reference": reference, "pair": pair}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().partition("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: a few seconds")
    args = parser.parse_args()
    main("smoke" if args.smoke else "default")
