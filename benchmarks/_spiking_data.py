"""Benchmark data sets beyond Poisson counts, shared by the fidelity benchmarks.

``lif``, ``balanced`` and ``gamma`` are the library's own simulators
(:mod:`ldns_sklearn.datasets`); ``gamma-elephant`` is made with Elephant's generators
(a third-party tool: ``NonStationaryGammaProcess`` for each neuron's regular firing on
shared latents and ``single_interaction_process`` for the synchrony injected into groups),
at parameters of its own, so that a model is not judged only on data the library itself
wrote. Each maker returns counts ``(n_trials, n_bins, n_neurons)`` at 5 ms bins.

``cached(name, maker, cache_dir)`` keeps a made data set on disk: the balanced network
takes minutes to simulate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import quantities as pq

from ldns_sklearn.datasets import make_balanced_network_spikes, make_gamma_spikes, make_lif_spikes

BIN = 5 * pq.ms


def lif(n_trials, n_neurons, n_bins, seed):
    return make_lif_spikes(n_trials, n_neurons, n_bins, BIN, return_spiketrains=False,
                           random_state=seed).counts


def balanced(n_trials, n_neurons, n_bins, seed):
    return make_balanced_network_spikes(n_trials, n_neurons, n_bins, BIN,
                                        return_spiketrains=False, random_state=seed).counts


def gamma(n_trials, n_neurons, n_bins, seed):
    return make_gamma_spikes(n_trials, n_neurons, n_bins, BIN, return_spiketrains=False,
                             random_state=seed).counts


def gamma_elephant(n_trials, n_neurons, n_bins, seed, *, shape=3.0, rate=12.0,
                   n_groups=3, group_size=10, coincidence_rate=2.0):
    """Regular firing on 3 shared latents plus synchronous groups, made by Elephant.

    The trials are consecutive windows of one long recording (each preceded by 200 ms
    that are dropped, over which the latents of the next trial are drawn afresh), so that
    Elephant generates each neuron's train, and each group's coincidences, in one call.
    """
    import neo
    from elephant.spike_train_generation import (
        NonStationaryGammaProcess,
        single_interaction_process,
    )

    rng = np.random.default_rng(seed)
    np.random.seed(seed)  # noqa: NPY002 (Elephant's generators draw from NumPy's global state)
    step, warm = 1.0, 200  # ms: latents sampled every millisecond; dropped lead per trial
    trial_steps = int(n_bins * BIN.rescale(pq.ms).magnitude / step)
    per_trial = warm + trial_steps
    decay = np.exp(-step / 80.0)
    latents = np.empty((n_trials, per_trial, 3))
    latents[:, 0] = rng.normal(size=(n_trials, 3))
    for t in range(1, per_trial):
        latents[:, t] = decay * latents[:, t - 1] + np.sqrt(1 - decay**2) * rng.normal(
            size=(n_trials, 3))
    readout = rng.normal(0.0, 0.5, (3, n_neurons))
    rates = np.exp(latents @ readout + rng.normal(0.0, 0.25, n_neurons))
    rates *= rate / rates.mean()
    rates = rates.reshape(-1, n_neurons)  # one long recording
    total = n_trials * per_trial * step
    trains = []
    for neuron in range(n_neurons):
        signal = neo.AnalogSignal(rates[:, neuron, None], units="Hz",
                                  sampling_period=step * pq.ms)
        generated = NonStationaryGammaProcess(signal, shape_factor=shape).generate_spiketrain()
        trains.append(generated.rescale(pq.ms).magnitude)
    groups = rng.permutation(n_neurons)[: n_groups * group_size].reshape(n_groups, group_size)
    for group in groups:
        coincident = single_interaction_process(
            rate=coincidence_rate * pq.Hz, coincidence_rate=coincidence_rate * pq.Hz,
            t_stop=total * pq.ms, n_spiketrains=group_size, coincidences="stochastic",
        )
        for neuron, train in zip(group, coincident, strict=True):
            trains[neuron] = np.concatenate([trains[neuron], train.rescale(pq.ms).magnitude])
    counts = np.zeros((n_trials, n_bins, n_neurons), dtype=np.int64)
    bin_ms = BIN.rescale(pq.ms).magnitude
    for neuron, times in enumerate(trains):
        trial, within = np.divmod(times, per_trial * step)
        recorded = within >= warm * step
        bins = ((within[recorded] - warm * step) / bin_ms).astype(np.int64)
        np.add.at(counts, (trial[recorded].astype(np.int64), np.minimum(bins, n_bins - 1),
                           neuron), 1)
    return counts


MAKERS = {"lif": lif, "balanced": balanced, "gamma": gamma, "gamma-elephant": gamma_elephant}


def cached(name, maker, cache_dir, *args):
    """``maker(*args)``, read from ``cache_dir`` if it was made there before."""
    if cache_dir is None:
        return maker(*args)
    path = Path(cache_dir) / f"{name}_{'_'.join(str(a) for a in args)}.npy"
    if path.exists():
        return np.load(path)
    counts = maker(*args)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, counts)
    return counts
