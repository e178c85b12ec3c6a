"""Wall time of the sample-quality metrics (ldns_sklearn.metrics).

Two sizes:

* small (200 trials x 100 bins x 50 neurons): ``compare_spike_statistics`` against a baseline
  written the way the paper's evaluation code computes the same statistics (spike times per
  trial and neuron with ``linspace``, ``np.diff`` per train, ``np.corrcoef`` of the
  concatenated bins, ``scipy.stats.gaussian_kde`` of the population counts); the script
  checks that both agree and prints the speed-up.
* large (10,000 trials x 200 bins x 200 neurons, 400 million counts per data set, stored as
  uint8): ``compare_spike_statistics`` and ``generation_score``, with ``np.corrcoef`` of the
  concatenated float64 bins (the single call the paper's code makes for correlations) as the
  baseline in the same run.

Run: ``python benchmarks/bench_metrics.py`` (``--small-only`` skips the large size).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from scipy.stats import gaussian_kde

from ldns_sklearn.metrics import compare_spike_statistics, generation_score


def poisson_counts(rng, rates, n_trials, n_bins, dtype=np.uint8):
    """Poisson counts built in blocks of trials, so no int64 copy of the whole set exists."""
    counts = np.empty((n_trials, n_bins, len(rates)), dtype=dtype)
    for start in range(0, n_trials, 500):
        stop = min(start + 500, n_trials)
        counts[start:stop] = rng.poisson(rates, size=(stop - start, n_bins, len(rates)))
    return counts


def paper_style_statistics(counts):
    """Per-neuron mean/std ISI, correlations and population counts as the paper's loops do."""
    n_trials, n_bins, n_neurons = counts.shape
    isis = {neuron: [] for neuron in range(n_neurons)}
    for trial in range(n_trials):
        for neuron in range(n_neurons):
            times = []
            for b in range(n_bins):
                k = int(counts[trial, b, neuron])
                if k > 0:
                    times.extend(np.linspace(b, b + 1, k + 2)[1:-1])
            if len(times) > 1:
                isis[neuron].extend(np.diff(times))
    mean_isi = np.array([np.mean(isis[n]) if len(isis[n]) > 1 else np.nan for n in isis])
    std_isi = np.array([np.std(isis[n]) if len(isis[n]) > 1 else np.nan for n in isis])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        correlation = np.corrcoef(counts.reshape(-1, n_neurons).T)
    population = counts.sum(axis=2).ravel()
    grid = np.arange(population.max() + 1)
    density = gaussian_kde(population)(grid)
    return mean_isi, std_isi, correlation, density / density.sum()


def paper_style_compare(real, generated):
    real_stats, generated_stats = paper_style_statistics(real), paper_style_statistics(generated)
    upper = np.triu_indices(real.shape[2], k=1)
    rmse = lambda a, b: float(np.sqrt(np.nanmean((a - b) ** 2)))  # noqa: E731
    return {
        "mean_isi_rmse": rmse(real_stats[0], generated_stats[0]),
        "std_isi_rmse": rmse(real_stats[1], generated_stats[1]),
        "pairwise_correlation_rmse": rmse(real_stats[2][upper], generated_stats[2][upper]),
    }


def timed(function, *args, repeat=1):
    """Best wall time over ``repeat`` runs, and the result. The CPU time of the best run is
    kept in ``timed.cpu``: on a shared machine wall time above CPU time means waiting for a
    core (the metrics run single-threaded)."""
    best = np.inf
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        result = function(*args)
        elapsed = time.perf_counter() - start
        if elapsed < best:
            best, timed.cpu = elapsed, time.process_time() - cpu
    return best, result


def small(rng):
    n_trials, n_bins, n_neurons = 200, 100, 50
    rates = rng.uniform(0.05, 1.0, size=n_neurons)
    real = poisson_counts(rng, rates, n_trials, n_bins, dtype=np.int64)
    generated = poisson_counts(rng, rates, n_trials, n_bins, dtype=np.int64)
    ours_s, ours = timed(compare_spike_statistics, real, generated, repeat=3)
    ours_cpu = timed.cpu
    base_s, base = timed(paper_style_compare, real, generated)
    base_cpu = timed.cpu
    for key, value in base.items():
        assert np.isclose(ours[key], value, rtol=1e-9), (key, ours[key], value)
    print(f"small  {n_trials} trials x {n_bins} bins x {n_neurons} neurons")
    print(f"  compare_spike_statistics            {ours_s:8.3f} s  (CPU {ours_cpu:.3f} s)")
    print(f"  paper-style loops (baseline)        {base_s:8.3f} s  (CPU {base_cpu:.3f} s)")
    print(f"  speed-up                            {base_s / ours_s:8.1f} x  (same ISI/corr RMSEs)")


def large(rng):
    n_trials, n_bins, n_neurons = 10_000, 200, 200
    rates = rng.uniform(0.05, 1.0, size=n_neurons)
    start = time.perf_counter()
    real = poisson_counts(rng, rates, n_trials, n_bins)
    generated = poisson_counts(rng, rates, n_trials, n_bins)
    print(
        f"large  {n_trials} trials x {n_bins} bins x {n_neurons} neurons "
        f"({real.size / 1e6:.0f}M counts each, uint8; made in {time.perf_counter() - start:.1f} s)"
    )
    ours_s, results = timed(compare_spike_statistics, real, generated)
    ours_cpu = timed.cpu
    score_s, score = timed(generation_score, real, generated)
    score_cpu = timed.cpu

    def corrcoef_only(counts):
        return np.corrcoef(counts.reshape(-1, n_neurons).astype(np.float64).T)

    base_s, _ = timed(corrcoef_only, real)
    base_cpu = timed.cpu
    print(f"  compare_spike_statistics            {ours_s:8.2f} s  (CPU {ours_cpu:.2f} s)")
    print(f"  generation_score                    {score_s:8.2f} s  (CPU {score_cpu:.2f} s)")
    print(f"  generation_score of a matched Poisson resample: {score:.3f}")
    print(f"  np.corrcoef of one set (baseline)   {base_s:8.2f} s  (CPU {base_cpu:.2f} s)")
    print(f"  compare (2 sets, all stats) / corrcoef (1 set, one stat)  {ours_s / base_s:6.2f}")
    print(f"  generation_score / compare_spike_statistics              {score_s / ours_s:6.2f}")
    print(
        "  mean_rate_rmse {mean_rate_rmse:.2e}  corr_rmse {pairwise_correlation_rmse:.2e}  "
        "kl {population_spike_count_kl:.2e}".format(**results)
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small-only", action="store_true", help="skip the 10k-trial size")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    small(rng)
    if not args.small_only:
        large(rng)


if __name__ == "__main__":
    main()
