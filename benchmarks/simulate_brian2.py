"""Spiking benchmark data made by a third-party simulator (Brian2), saved for bench_fidelity.

The library's own simulators (``make_lif_spikes``, ``make_balanced_network_spikes``,
``make_gamma_spikes``) were written by the people who tune the model on them. This script
makes data of the same kinds with Brian2's integrators, at parameters of its own, so that
``bench_fidelity.py --data-file`` can judge the defaults on data nobody tuned them on:

* ``lif``: a population of leaky integrate-and-fire neurons, each with its own absolute
  refractory period (2-4 ms), driven by three shared slow inputs (Ornstein-Uhlenbeck, new
  on every trial), a stimulus repeated on every trial, and private noise. The trials are
  simulated side by side as independent copies of the population.
* ``balanced``: a sparse balanced network of excitatory and inhibitory integrate-and-fire
  neurons (Brunel 2000, model A, with delays and external Poisson drive), one long run of
  one network cut into consecutive trials; 64 excitatory neurons are recorded.

Brian2 stays out of the library's install (it pins NumPy below 2.4 today); run this in an
environment of its own and pass the file it writes to the benchmark::

    python -m venv brian2-env && brian2-env/bin/pip install "numpy<2.4" brian2
    brian2-env/bin/python benchmarks/simulate_brian2.py lif lif-brian2.npy
    python benchmarks/bench_fidelity.py --data-file lif-brian2.npy --samplers dpm-solver++-sde

The file holds spike counts of shape ``(n_trials, n_bins, n_neurons)`` in 5 ms bins (2,200
trials of 100 bins by default: the benchmark's 400 training trials, set A and eight sets
B). The script prints the mean rate and the interval CV it made.
"""

from __future__ import annotations

import argparse
import time

import brian2 as b2
import numpy as np

BIN = 5 * b2.ms


def counts_from_spikes(times, trial_of, neuron_of, n_trials, n_bins, n_neurons, start):
    """Bin spikes (times in s) into (trial, bin, neuron) counts, from ``start`` (s) on."""
    bins = np.floor((times - start) / float(BIN / b2.second)).astype(np.int64)
    keep = (bins >= 0) & (bins < n_bins)
    counts = np.zeros((n_trials, n_bins, n_neurons), dtype=np.int16)
    np.add.at(counts, (trial_of[keep], bins[keep], neuron_of[keep]), 1)
    return counts


def simulate_lif(n_trials, n_neurons, n_bins, seed):
    """Independent copies of one LIF population on shared slow inputs and a stimulus."""
    b2.seed(seed)
    rng = np.random.default_rng(seed)
    b2.prefs.codegen.target = "numpy"
    n_inputs, warmup = 3, 100 * b2.ms
    duration = warmup + n_bins * BIN
    # One population: its neurons' baselines, loadings on the slow inputs, stimulus gains.
    baseline = rng.uniform(10.0, 16.5, n_neurons)           # mV above rest (threshold 18)
    loadings = rng.normal(0.0, 1.6, (n_neurons, n_inputs))  # mV per unit of input
    stimulus_gain = rng.uniform(-1.0, 4.0, n_neurons)      # mV at the stimulus' peak
    refractory = rng.uniform(2.0, 4.0, n_neurons)           # ms
    # The stimulus: a rise at 150 ms into the trial and a damped 12 Hz ringing after it.
    time_in_trial = np.arange(round(float(duration / b2.ms))) - float(warmup / b2.ms)
    after = np.clip(time_in_trial - 150.0, 0.0, None)
    shape = (time_in_trial > 150.0) * (1 - np.exp(-after / 20.0)) * (
        0.6 + 0.4 * np.cos(2 * np.pi * after / 83.0) * np.exp(-after / 150.0))
    stimulus = b2.TimedArray(shape, dt=1 * b2.ms)

    # The shared inputs: unit-variance Ornstein-Uhlenbeck processes, one set per trial.
    slow = b2.NeuronGroup(n_trials, """
        dx1/dt = -x1 / tau_1 + sqrt(2 / tau_1) * xi_1 : 1
        dx2/dt = -x2 / tau_2 + sqrt(2 / tau_2) * xi_2 : 1
        dx3/dt = -x3 / tau_3 + sqrt(2 / tau_3) * xi_3 : 1
        """, method="euler",
        namespace={"tau_1": 60 * b2.ms, "tau_2": 120 * b2.ms, "tau_3": 250 * b2.ms})
    for name in ("x1", "x2", "x3"):
        setattr(slow, name, rng.normal(size=n_trials))
    n = n_trials * n_neurons
    cells = b2.NeuronGroup(n, """
        dv/dt = (-v + mu + w1 * x1 + w2 * x2 + w3 * x3 + a * stimulus(t)) / tau
                + sigma * sqrt(2 / tau) * xi : volt (unless refractory)
        x1 : 1 (linked)
        x2 : 1 (linked)
        x3 : 1 (linked)
        mu : volt (constant)
        w1 : volt (constant)
        w2 : volt (constant)
        w3 : volt (constant)
        a : volt (constant)
        t_ref : second (constant)
        """, threshold="v > theta", reset="v = v_reset", refractory="t_ref",
        method="euler", namespace={"tau": 15 * b2.ms, "sigma": 4.0 * b2.mV,
                                   "theta": 18 * b2.mV, "v_reset": 6 * b2.mV,
                                   "stimulus": stimulus})
    trial_of = np.repeat(np.arange(n_trials), n_neurons)
    neuron_of = np.tile(np.arange(n_neurons), n_trials)
    for name in ("x1", "x2", "x3"):
        setattr(cells, name, b2.linked_var(slow, name, index=trial_of))
    cells.mu = baseline[neuron_of] * b2.mV
    cells.w1, cells.w2, cells.w3 = (loadings[neuron_of, d] * b2.mV for d in range(3))
    cells.a = stimulus_gain[neuron_of] * b2.mV
    cells.t_ref = refractory[neuron_of] * b2.ms
    cells.v = rng.uniform(6.0, 18.0, n) * b2.mV
    spikes = b2.SpikeMonitor(cells)
    b2.run(duration)
    index = np.asarray(spikes.i)
    return counts_from_spikes(np.asarray(spikes.t / b2.second), trial_of[index],
                              neuron_of[index], n_trials, n_bins, n_neurons,
                              float(warmup / b2.second))


def simulate_balanced(n_trials, n_neurons, n_bins, seed):
    """One sparse E/I network (Brunel 2000, model A), one long run cut into trials."""
    b2.seed(seed)
    rng = np.random.default_rng(seed)
    b2.prefs.codegen.target = "cython"
    n_e, n_i, epsilon = 2000, 500, 0.05
    tau, theta, v_reset, delay, j = 20 * b2.ms, 20 * b2.mV, 10 * b2.mV, 1.5 * b2.ms, 0.6 * b2.mV
    g, eta = 6.5, 1.4
    c_e = int(epsilon * n_e)
    nu_threshold = theta / (j * c_e * tau)
    # Named in namespaces: "j" alone is the postsynaptic index in Brian2's synapses.
    constants = {"tau": tau, "theta": theta, "v_reset": v_reset, "weight": j, "g": g}
    cells = b2.NeuronGroup(n_e + n_i, "dv/dt = -v / tau : volt (unless refractory)",
                           threshold="v > theta", reset="v = v_reset", refractory=2 * b2.ms,
                           method="exact", namespace=constants)
    cells.v = rng.uniform(0.0, 20.0, n_e + n_i) * b2.mV
    excitatory = b2.Synapses(cells[:n_e], cells, on_pre="v += weight", delay=delay,
                             namespace=constants)
    excitatory.connect(p=epsilon)
    inhibitory = b2.Synapses(cells[n_e:], cells, on_pre="v += -g * weight", delay=delay,
                             namespace=constants)
    inhibitory.connect(p=epsilon)
    external = b2.PoissonInput(cells, "v", c_e, eta * nu_threshold, weight=j)  # noqa: F841
    recorded = np.sort(rng.choice(n_e, n_neurons, replace=False))
    spikes = b2.SpikeMonitor(cells[:n_e])
    warmup = 200 * b2.ms
    trial_length = n_bins * BIN
    b2.run(warmup + n_trials * trial_length)
    index, times = np.asarray(spikes.i), np.asarray(spikes.t / b2.second)
    slot = np.full(n_e, -1)
    slot[recorded] = np.arange(n_neurons)
    keep = slot[index] >= 0
    times, neuron_of = times[keep] - float(warmup / b2.second), slot[index[keep]]
    trial_of = np.floor(times / float(trial_length / b2.second)).astype(np.int64)
    inside = (times >= 0) & (trial_of < n_trials)
    start_of_trial = trial_of[inside] * float(trial_length / b2.second)
    return counts_from_spikes(times[inside] - start_of_trial, trial_of[inside],
                              neuron_of[inside], n_trials, n_bins, n_neurons, 0.0)


SIMULATORS = {"lif": simulate_lif, "balanced": simulate_balanced}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("kind", choices=SIMULATORS)
    parser.add_argument("out", help="the .npy file to write the counts to")
    parser.add_argument("--trials", type=int, default=2200)
    parser.add_argument("--neurons", type=int, default=64)
    parser.add_argument("--bins", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.perf_counter()
    counts = SIMULATORS[args.kind](args.trials, args.neurons, args.bins, args.seed)
    np.save(args.out, counts)
    seconds = float(BIN / b2.second)
    rate = counts.mean() / seconds
    cv = []
    for neuron in range(counts.shape[2]):
        for trial in counts[:, :, neuron]:
            spike_bins = np.repeat(np.arange(len(trial)), trial)
            if len(spike_bins) > 2:
                intervals = np.diff(spike_bins)
                cv.append(intervals.std() / max(intervals.mean(), 1e-9))
    print(f"{args.kind}: {counts.shape} counts in {time.perf_counter() - started:.0f} s, "
          f"mean rate {rate:.1f} Hz, interval CV {np.mean(cv):.2f} (in bins), "
          f"{(counts >= 2).mean():.2%} of bins with two or more spikes -> {args.out}")


if __name__ == "__main__":
    main()
