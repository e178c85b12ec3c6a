"""Spike history at scale: fitting and sampling ``AutoregressiveObservation``.

Data: a latent-driven GLM with refractory self-history (smooth rates from 4 latent sines,
history weights -3 and -1.5 at lags 1 and 2, weaker random weights up to lag 20), drawn by
the model itself.

* fit: 200 neurons × 100,000 bins (500 trials × 200 bins), ``history=20``, against the
  per-neuron loop a user would write (``scipy.optimize.minimize`` L-BFGS on each neuron's
  likelihood, the same objective, float64). The loop runs on ``--baseline-neurons`` neurons
  and is scaled to all of them (the neurons are independent problems of equal size); the
  script prints the largest parameter difference and objective gap between the two.
* sample: 1000 trials × 200 bins × 200 neurons, against a per-neuron loop over bins
  (NumPy Poisson draws of one neuron's trials at a time), and the lag-1 auto-correlation
  of real, spike-history and Poisson samples.

Run: ``python benchmarks/bench_observation.py`` (``--quick`` for a small size).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.optimize import minimize
from scipy.special import xlogy

from ldns_sklearn.metrics import auto_correlation_rmse, spike_statistics
from ldns_sklearn.observation import AutoregressiveObservation, PoissonObservation


def latent_rates(rng, n_trials, n_bins, n_neurons):
    """Smooth rates between about 0.02 and 0.5 spikes per bin, driven by 4 latent sines."""
    t = np.arange(n_bins)[None, :, None]
    periods = rng.uniform(20, 80, size=(1, 1, 4))
    phases = rng.uniform(0, 2 * np.pi, size=(n_trials, 1, 4))
    latents = np.sin(2 * np.pi * t / periods + phases)
    readout = rng.normal(0, 0.6, size=(4, n_neurons))
    return np.exp(latents @ readout + np.log(0.12))


def truth_model(rng, n_neurons, history):
    truth = AutoregressiveObservation(history=history)
    truth.n_neurons_ = n_neurons
    truth.rate_gain_ = np.ones(n_neurons)
    truth.bias_ = np.zeros(n_neurons)
    weights = rng.normal(0, 0.05, size=(n_neurons, history))
    weights[:, 0], weights[:, 1] = -3.0, -1.5
    truth.history_weights_ = weights
    truth.max_count_ = np.full(n_neurons, 4)
    return truth


def neuron_objective(theta, design, y, alpha):
    rate = np.logaddexp(0.0, design @ theta)
    return np.mean(rate - xlogy(y, rate)) + alpha * np.sum(theta[2:] ** 2)


def per_neuron_loop_fit(counts, rates, history, alpha, neurons):
    """One L-BFGS fit per neuron of its own design matrix (what the loop baseline does)."""
    drive = rates + np.log(-np.expm1(-rates))
    fitted = []
    for n in neurons:
        x = counts[..., n]
        columns = [drive[..., n], np.ones_like(drive[..., n])]
        columns += [np.pad(x, [(0, 0), (lag, 0)])[:, :-lag] for lag in range(1, history + 1)]
        design = np.stack(columns, axis=-1).reshape(-1, history + 2)
        y = x.ravel().astype(np.float64)

        def value_and_grad(theta, design=design, y=y):
            u = design @ theta
            rate = np.logaddexp(0.0, u)
            slope = 0.5 * (1.0 + np.tanh(0.5 * u))
            g = slope * (1.0 - y / np.maximum(rate, 1e-300)) / len(y)
            penalty = np.r_[0.0, 0.0, np.full(history, alpha)]
            value = np.mean(rate - xlogy(y, rate)) + np.sum(penalty * theta**2)
            return value, design.T @ g + 2 * penalty * theta

        start = np.r_[1.0, 0.0, np.zeros(history)]
        result = minimize(value_and_grad, start, jac=True, method="L-BFGS-B", tol=1e-12)
        fitted.append((result.x, design, y))
    return fitted


def per_neuron_loop_sample(model, rates, seed):
    """Bin-by-bin draws, one neuron at a time (what the loop baseline does)."""
    rng = np.random.default_rng(seed)
    drive_rate = rates + np.log(-np.expm1(-rates))
    counts = np.zeros(rates.shape, dtype=np.int64)
    for n in range(rates.shape[2]):
        weights = model.history_weights_[n]
        for t in range(rates.shape[1]):
            lags = min(len(weights), t)
            past = counts[:, t - lags : t, n][:, ::-1]
            u = model.rate_gain_[n] * drive_rate[:, t, n] + model.bias_[n] + past @ weights[:lags]
            draw = rng.poisson(np.logaddexp(0.0, u))
            counts[:, t, n] = np.minimum(draw, model.max_count_[n])
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="50 neurons, 100 trials")
    parser.add_argument("--baseline-neurons", type=int, default=20)
    args = parser.parse_args()
    n_neurons = 50 if args.quick else 200
    n_fit_trials, n_sample_trials = (100, 200) if args.quick else (500, 1000)
    n_bins, history, alpha = 200, 20, 1e-4
    rng = np.random.default_rng(0)
    truth = truth_model(rng, n_neurons, history)
    rates = latent_rates(rng, n_fit_trials, n_bins, n_neurons)
    counts = truth.sample(rates, random_state=1)
    print(
        f"fit: {n_neurons} neurons x {n_fit_trials * n_bins:,} bins, history {history}, "
        f"{counts.mean():.3f} spikes per bin"
    )

    start = time.perf_counter()
    model = AutoregressiveObservation(history=history, alpha=alpha).fit(counts, rates)
    ours = time.perf_counter() - start
    print(f"  AutoregressiveObservation.fit: {ours:.2f} s ({model.n_iter_} Newton steps)")

    neurons = np.arange(min(args.baseline_neurons, n_neurons))
    start = time.perf_counter()
    loop = per_neuron_loop_fit(counts, rates, history, alpha, neurons)
    measured = time.perf_counter() - start
    scaled = measured * n_neurons / len(neurons)
    print(
        f"  per-neuron L-BFGS loop: {measured:.2f} s for {len(neurons)} neurons, "
        f"{scaled:.1f} s scaled to {n_neurons}; ratio {scaled / ours:.1f}x"
    )
    ours_theta = np.column_stack([model.rate_gain_, model.bias_, model.history_weights_])
    gaps = [
        neuron_objective(ours_theta[n], design, y, alpha)
        - neuron_objective(theta, design, y, alpha)
        for n, (theta, design, y) in zip(neurons, loop, strict=True)
    ]
    largest = max(
        np.abs(ours_theta[n] - theta).max()
        for n, (theta, _, _) in zip(neurons, loop, strict=True)
    )
    print(
        f"  agreement: largest parameter difference {largest:.2e}, objective gap "
        f"{max(gaps):.1e} nats per bin (positive: ours higher)"
    )

    sample_rates = latent_rates(rng, n_sample_trials, n_bins, n_neurons)
    print(f"sample: {n_sample_trials} trials x {n_bins} bins x {n_neurons} neurons")
    start = time.perf_counter()
    sampled = model.sample(sample_rates, random_state=2)
    ours = time.perf_counter() - start
    print(f"  AutoregressiveObservation.sample: {ours:.2f} s")
    start = time.perf_counter()
    per_neuron_loop_sample(model, sample_rates, seed=2)
    loop_time = time.perf_counter() - start
    print(f"  per-neuron loop over bins: {loop_time:.2f} s; ratio {loop_time / ours:.1f}x")

    real = truth.sample(sample_rates, random_state=3)
    poisson = PoissonObservation().fit(counts, rates).sample(sample_rates, random_state=2)
    print("lag-1 auto-correlation, median over neurons (auto-correlation RMSE vs real):")
    floor = auto_correlation_rmse(real, truth.sample(sample_rates, random_state=4))
    for name, data in (("real", real), ("spike history", sampled), ("Poisson", poisson)):
        lag_one = np.median(spike_statistics(data)["auto_correlation"][:, 1])
        rmse = auto_correlation_rmse(real, data) if name != "real" else floor
        label = "(a second real draw)" if name == "real" else ""
        print(f"  {name:14s} {lag_one:+.4f}   RMSE {rmse:.5f} {label}")


if __name__ == "__main__":
    main()
