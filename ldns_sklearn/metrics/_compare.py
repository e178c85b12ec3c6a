"""Discrepancies between the statistics of real and generated spike counts."""

from __future__ import annotations

import warnings

import numpy as np
from scipy.signal import convolve

from .._sklearn_compat import validate_params
from ._accumulator import SpikeSums
from ._checks import COMMON_CONSTRAINTS, bin_size_in_seconds, check_pair
from ._statistics import correlation, isi_statistics, mean_rate, statistics
from ._temporal import DEFAULT_N_GROUPS, LagSums, correlation_groups, resolve_max_lag

# Discrepancies (lower is better) that generation_score combines: the paper's table order,
# then the temporal and trial statistics.
DISCREPANCIES = (
    "population_spike_count_kl",
    "pairwise_correlation_rmse",
    "mean_rate_rmse",
    "mean_isi_rmse",
    "std_isi_rmse",
    "auto_correlation_rmse",
    "cross_correlation_rmse",
    "fano_factor_rmse",
    "psth_rmse",
)
# Agreement measures (higher is better) that compare_spike_statistics adds.
PEARSON_RS = (
    "population_spike_count_pearson_r",
    "pairwise_correlation_pearson_r",
    "mean_rate_pearson_r",
    "mean_isi_pearson_r",
    "std_isi_pearson_r",
    "auto_correlation_pearson_r",
    "cross_correlation_pearson_r",
    "fano_factor_pearson_r",
    "psth_pearson_r",
)


def summed_pair(real, generated, *, max_lag=None, n_groups=DEFAULT_N_GROUPS):
    """:class:`SpikeSums` of validated real and generated counts, lag products included.

    Both are summed over the same groups of neurons, made from the correlations of
    ``real``, so that their cross-correlations compare the same pairs.
    """
    max_lag = resolve_max_lag(max_lag, {"real": real, "generated": generated})
    real_sums = SpikeSums.from_trials(real)
    groups = correlation_groups(correlation(real_sums), n_groups)
    generated_sums = SpikeSums.from_trials(generated)
    for sums, trials in ((real_sums, real), (generated_sums, generated)):
        sums.lags = LagSums.from_trials(trials, groups, max_lag)
    return real_sums, generated_sums


@validate_params(
    {
        "real": ["array-like"],
        "generated": ["array-like"],
        "bandwidth": COMMON_CONSTRAINTS["bandwidth"],
        "eps": COMMON_CONSTRAINTS["eps"],
        "bin_size": COMMON_CONSTRAINTS["bin_size"],
    },
    prefer_skip_nested_validation=True,
)
def population_spike_count_kl(real, generated, *, bandwidth="scott", eps=1e-10, bin_size=None):
    """KL divergence between the population spike-count distributions of two data sets.

    The population spike count of a bin is the number of spikes all neurons fire in it. Its
    distribution over all bins and trials is smoothed with a Gaussian kernel density estimate,
    evaluated on the integer counts ``0..max`` of both data sets, floored at ``eps`` and
    normalised; the result is ``KL(real || generated) = sum p log(p / q)``.

    Parameters
    ----------
    real, generated : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
        Spike counts with the same neurons.
    bandwidth : {"scott", "silverman"} or float, default="scott"
        Kernel width: a rule of ``scipy.stats.gaussian_kde`` applied to each data set, or a
        fixed width in spikes.
    eps : float, default=1e-10
        Floor of the densities, so that counts one data set never reaches give a large but
        finite divergence.
    bin_size : quantities.Quantity or None, default=None
        Only for Neo trials (as ``LDNSPipeline.sample`` returns them): the bin to count
        their spikes in; None reads the bin size generated trains record.

    Returns
    -------
    kl : float
        Non-negative; 0 for identical distributions.

    Examples
    --------
    >>> import numpy as np
    >>> from ldns_sklearn.metrics import population_spike_count_kl
    >>> rng = np.random.default_rng(0)
    >>> real = rng.poisson(0.3, size=(50, 20, 10))
    >>> population_spike_count_kl(real, real)
    0.0
    >>> population_spike_count_kl(real, rng.poisson(0.6, size=(50, 20, 10))) > 0.5
    True
    """
    real, generated, bin_size = check_pair(real, generated, bin_size)
    parts = {"population"}
    p, q = _population_densities(
        SpikeSums.from_trials(real, parts).population_counts(),
        SpikeSums.from_trials(generated, parts).population_counts(),
        bandwidth,
        eps,
    )
    return _kl(p, q)


@validate_params(
    {
        "real": ["array-like"],
        "generated": ["array-like"],
        "bin_size": COMMON_CONSTRAINTS["bin_size"],
    },
    prefer_skip_nested_validation=True,
)
def pairwise_correlation_rmse(real, generated, *, bin_size=None):
    """RMSE between the pairwise neuron correlations of two data sets.

    Correlations are Pearson correlations of the counts of two neurons with the bins of all
    trials concatenated; the RMSE runs over the pairs ``i < j`` defined in both data sets
    (pairs with a silent neuron are left out, with a warning if only one side is silent).

    Parameters
    ----------
    real, generated : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
        Spike counts with the same neurons.
    bin_size : quantities.Quantity or None, default=None
        Only for Neo trials (as ``LDNSPipeline.sample`` returns them): the bin to count
        their spikes in; None reads the bin size generated trains record.

    Returns
    -------
    rmse : float

    Examples
    --------
    >>> import numpy as np
    >>> from ldns_sklearn.metrics import pairwise_correlation_rmse
    >>> rng = np.random.default_rng(0)
    >>> shared = rng.poisson(1.0, size=(40, 30, 1))
    >>> correlated = shared + rng.poisson(0.2, size=(40, 30, 5))
    >>> pairwise_correlation_rmse(correlated, correlated)
    0.0
    >>> independent = rng.poisson(1.2, size=(40, 30, 5))
    >>> pairwise_correlation_rmse(correlated, independent) > 0.5
    True
    """
    real, generated, bin_size = check_pair(real, generated, bin_size)
    parts = {"correlation"}
    real_corr = _off_diagonal(correlation(SpikeSums.from_trials(real, parts)))
    generated_corr = _off_diagonal(correlation(SpikeSums.from_trials(generated, parts)))
    one_sided = {}
    result = _rmse(real_corr, generated_corr, "pairwise correlation", one_sided)
    warn_one_sided(one_sided, stacklevel=3)
    return result


@validate_params(
    {
        "real": ["array-like"],
        "generated": ["array-like"],
        "bin_size": COMMON_CONSTRAINTS["bin_size"],
    },
    prefer_skip_nested_validation=True,
)
def mean_rate_rmse(real, generated, *, bin_size=None):
    """RMSE across neurons between the mean firing rates of two data sets.

    Parameters
    ----------
    real, generated : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
        Spike counts with the same neurons.
    bin_size : quantities.Quantity or None, default=None
        Duration of a bin (e.g. ``5 * pq.ms``): rates in spikes per second. None: spikes
        per bin.

    Returns
    -------
    rmse : float

    Examples
    --------
    >>> import numpy as np
    >>> from ldns_sklearn.metrics import mean_rate_rmse
    >>> real = np.array([[[1, 0], [1, 2]]])        # rates 1.0 and 1.0 spikes per bin
    >>> generated = np.array([[[2, 1], [2, 1]]])   # rates 2.0 and 1.0
    >>> float(mean_rate_rmse(real, generated))      # sqrt((1**2 + 0**2) / 2)
    0.7071
    >>> import quantities as pq
    >>> float(mean_rate_rmse(real, generated, bin_size=10 * pq.ms))  # in spikes per second
    70.71
    """
    real, generated, bin_size = check_pair(real, generated, bin_size)
    bin_size = bin_size_in_seconds(bin_size)
    parts = frozenset()
    return _rmse(
        mean_rate(SpikeSums.from_trials(real, parts), bin_size),
        mean_rate(SpikeSums.from_trials(generated, parts), bin_size),
        "mean rate",
    )


def _isi_rmse(real, generated, bin_size, min_isis, which):
    real, generated, bin_size = check_pair(real, generated, bin_size)
    bin_size = bin_size_in_seconds(bin_size)
    parts = {"isi"}
    real_stat = isi_statistics(SpikeSums.from_trials(real, parts), bin_size, min_isis)[which]
    generated_stat = isi_statistics(
        SpikeSums.from_trials(generated, parts), bin_size, min_isis
    )[which]
    one_sided = {}
    result = _rmse(
        real_stat, generated_stat, ("mean ISI", "ISI standard deviation")[which], one_sided
    )
    warn_one_sided(one_sided, stacklevel=4)
    return result


@validate_params(
    {
        "real": ["array-like"],
        "generated": ["array-like"],
        "bin_size": COMMON_CONSTRAINTS["bin_size"],
        "min_isis": COMMON_CONSTRAINTS["min_isis"],
    },
    prefer_skip_nested_validation=True,
)
def mean_isi_rmse(real, generated, *, bin_size=None, min_isis=2):
    """RMSE across neurons between the mean inter-spike intervals of two data sets.

    The k spikes of a bin sit at ``bin_start + bin_size * (j + 1) / (k + 1)``; intervals are
    taken within trials and pooled per neuron. Neurons with fewer than ``min_isis`` intervals
    in either data set are left out (with a warning when only one side lacks them).

    Parameters
    ----------
    real, generated : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
        Spike counts with the same neurons.
    bin_size : quantities.Quantity or None, default=None
        Duration of a bin (e.g. ``5 * pq.ms``): intervals in seconds. None: in bins.
    min_isis : int, default=2
        Fewest intervals a neuron needs for its statistic to be defined.

    Returns
    -------
    rmse : float
        NaN if no neuron is defined in both data sets.

    Examples
    --------
    >>> import numpy as np
    >>> from ldns_sklearn.metrics import mean_isi_rmse
    >>> real = np.array([[[1], [1], [1]]])        # one spike per bin: intervals of 1 bin
    >>> generated = np.array([[[1], [0], [1], [0], [1]]])  # intervals of 2 bins
    >>> float(mean_isi_rmse(real, generated))
    1.0
    """
    return _isi_rmse(real, generated, bin_size, min_isis, 0)


@validate_params(
    {
        "real": ["array-like"],
        "generated": ["array-like"],
        "bin_size": COMMON_CONSTRAINTS["bin_size"],
        "min_isis": COMMON_CONSTRAINTS["min_isis"],
    },
    prefer_skip_nested_validation=True,
)
def std_isi_rmse(real, generated, *, bin_size=None, min_isis=2):
    """RMSE across neurons between the standard deviations of inter-spike intervals.

    Intervals are built as in :func:`mean_isi_rmse`; the standard deviation is the population
    one (``ddof=0``).

    Parameters
    ----------
    real, generated : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
        Spike counts with the same neurons.
    bin_size : quantities.Quantity or None, default=None
        Duration of a bin (e.g. ``5 * pq.ms``): intervals in seconds. None: in bins.
    min_isis : int, default=2
        Fewest intervals a neuron needs for its statistic to be defined.

    Returns
    -------
    rmse : float
        NaN if no neuron is defined in both data sets.

    Examples
    --------
    >>> import numpy as np
    >>> from ldns_sklearn.metrics import std_isi_rmse
    >>> regular = np.array([[[1], [1], [1], [1]]])            # intervals 1, 1, 1
    >>> irregular = np.array([[[1], [1], [0], [0], [1]]])     # intervals 1, 3
    >>> float(std_isi_rmse(regular, irregular))
    1.0
    """
    return _isi_rmse(real, generated, bin_size, min_isis, 1)


@validate_params(
    {"real": ["array-like"], "generated": ["array-like"], **COMMON_CONSTRAINTS},
    prefer_skip_nested_validation=True,
)
def compare_spike_statistics(
    real,
    generated,
    *,
    bin_size=None,
    min_isis=2,
    bandwidth="scott",
    eps=1e-10,
    max_lag=None,
    n_groups=DEFAULT_N_GROUPS,
):
    """All sample-quality statistics of generated against real spike counts.

    The discrepancies are those of :func:`population_spike_count_kl`,
    :func:`pairwise_correlation_rmse`, :func:`mean_rate_rmse`, :func:`mean_isi_rmse`,
    :func:`std_isi_rmse`, :func:`auto_correlation_rmse`, :func:`cross_correlation_rmse`,
    :func:`fano_factor_rmse` and :func:`psth_rmse`; the Pearson correlations compare the
    same entries (per-neuron statistics, off-diagonal correlations, population spike-count
    densities, correlation curves, PSTH bins) one by one. Generated data are read once,
    real data twice (the neuron groups of the cross-correlations come from its
    correlations).

    Parameters
    ----------
    real, generated : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
        Spike counts with the same neurons.
    bin_size : quantities.Quantity or None, default=None
        Duration of a bin (e.g. ``5 * pq.ms``): rates in spikes per second and intervals in
        seconds. None: spikes per bin and intervals in bins.
    min_isis : int, default=2
        Fewest intervals a neuron needs for its ISI statistics to be defined.
    bandwidth : {"scott", "silverman"} or float, default="scott"
        Kernel width of the population spike-count density.
    eps : float, default=1e-10
        Floor of the population spike-count densities.
    max_lag : int or None, default=None
        Largest lag, in bins, of the auto- and cross-correlations; None: 10, or fewer where
        trials are shorter. A lag beyond the trials is refused.
    n_groups : int, default=4
        Groups of neurons (by correlation strength in ``real``) whose cross-correlations are
        averaged.

    Returns
    -------
    results : dict of str to float
        Lower is better for the discrepancies (:data:`DISCREPANCIES`: the names ending in
        ``_kl`` or ``_rmse``); higher is better for the Pearson correlations
        (:data:`PEARSON_RS`, ending in ``_pearson_r``).

    Examples
    --------
    >>> import numpy as np
    >>> from ldns_sklearn.metrics import compare_spike_statistics
    >>> rng = np.random.default_rng(0)
    >>> rates = rng.uniform(0.1, 1.0, size=8)
    >>> real = rng.poisson(rates, size=(60, 25, 8))
    >>> generated = rng.poisson(rates, size=(60, 25, 8))
    >>> results = compare_spike_statistics(real, generated)
    >>> list(results)[:3]
    ['population_spike_count_kl', 'pairwise_correlation_rmse', 'mean_rate_rmse']
    >>> results["mean_rate_pearson_r"] > 0.95
    True
    """
    real, generated, bin_size = check_pair(real, generated, bin_size)
    one_sided = {}
    result = discrepancies(
        *summed_pair(real, generated, max_lag=max_lag, n_groups=n_groups),
        min_isis=min_isis,
        bandwidth=bandwidth,
        eps=eps,
        bin_size=bin_size_in_seconds(bin_size),
        one_sided=one_sided,
    )
    warn_one_sided(one_sided, stacklevel=3)
    return result


def _paired(real, generated, what, one_sided):
    """Entries defined in both; counts those defined in only one in ``one_sided[what]``."""
    real, generated = np.ravel(real), np.ravel(generated)
    real_ok, generated_ok = np.isfinite(real), np.isfinite(generated)
    count = int(np.sum(real_ok != generated_ok))
    if count and one_sided is not None:
        one_sided[what] = (count, real.size)
    both = real_ok & generated_ok
    return real[both], generated[both]


def warn_one_sided(one_sided: dict, stacklevel: int) -> None:
    """One warning for all statistics defined in only one of real and generated data."""
    if not one_sided:
        return
    listed = "; ".join(f"{what}: {n} of {size}" for what, (n, size) in one_sided.items())
    warnings.warn(
        f"Some statistics are defined in only one of real and generated data ({listed} "
        "entries; e.g. neurons with too few inter-spike intervals); those entries are left "
        "out of the comparison.",
        UserWarning,
        stacklevel=stacklevel + 1,
    )


def _rmse(real, generated, what, one_sided=None):
    real, generated = _paired(real, generated, what, one_sided)
    if real.size == 0:
        return float("nan")
    return float(np.sqrt(np.mean((real - generated) ** 2)))


def _pearson_r(real, generated):
    real, generated = _paired(real, generated, "", None)
    if real.size < 2:
        return float("nan")
    real, generated = real - real.mean(), generated - generated.mean()
    norm = np.sqrt(np.sum(real**2) * np.sum(generated**2))
    return float(np.sum(real * generated) / norm) if norm > 0 else float("nan")


def _common_bins(real_psth, generated_psth):
    """The PSTHs over the bins both reach (trials aligned at their start)."""
    n_bins = min(len(real_psth), len(generated_psth))
    return real_psth[:n_bins], generated_psth[:n_bins]


def _off_diagonal(matrix):
    return matrix[np.triu_indices_from(matrix, k=1)]


def _bandwidth(samples, bandwidth):
    """Kernel width in spikes; the string rules are those of ``scipy.stats.gaussian_kde``."""
    if not isinstance(bandwidth, str):
        return float(bandwidth)
    n = samples.size
    std = float(np.std(samples, ddof=1)) if n > 1 else 0.0
    if std == 0.0:
        # A constant population count has no spread to scale a kernel by; one spike is the
        # resolution of the data.
        return 1.0
    factor = n ** (-1 / 5) if bandwidth == "scott" else (n * 3 / 4) ** (-1 / 5)
    return std * factor


def _count_density(samples, n_grid, bandwidth):
    """Gaussian KDE of integer samples at 0..n_grid-1, normalised to sum to one there.

    Identical to evaluating ``scipy.stats.gaussian_kde(samples)`` on the integer grid (up to
    the normalisation), but as a convolution of the histogram with the sampled kernel, so the
    cost does not grow with the number of samples.
    """
    width = _bandwidth(samples, bandwidth)
    histogram = np.bincount(samples, minlength=n_grid).astype(np.float64)
    half = int(np.ceil(8 * width))  # beyond 8 widths the kernel is below 1e-14
    offsets = np.arange(-half, half + 1)
    density = convolve(histogram, np.exp(-0.5 * (offsets / width) ** 2), mode="same")
    return density / density.sum()


def _population_densities(real_counts, generated_counts, bandwidth, eps):
    n_grid = int(max(real_counts.max(), generated_counts.max())) + 1
    densities = []
    for samples in (real_counts, generated_counts):
        # The floor keeps the KL finite where one density vanishes (beyond 8 kernel widths).
        density = np.maximum(_count_density(samples, n_grid, bandwidth), eps)
        densities.append(density / density.sum())
    return densities


def _kl(p, q):
    return float(np.sum(p * np.log(p / q)))


def discrepancies(
    real_sums: SpikeSums,
    generated_sums: SpikeSums,
    *,
    min_isis: int = 2,
    bandwidth="scott",
    eps: float = 1e-10,
    bin_size: float = 1.0,
    one_sided: dict | None = None,
) -> dict:
    """Every discrepancy and Pearson r of :func:`compare_spike_statistics`.

    Entries defined in only one data set are counted in ``one_sided`` (for one warning by
    the public caller) rather than warned about here, once per statistic.
    """
    real = statistics(real_sums, bin_size, min_isis)
    generated = statistics(generated_sums, bin_size, min_isis)
    p, q = _population_densities(
        real["population_counts"], generated["population_counts"], bandwidth, eps
    )
    real_corr, generated_corr = (_off_diagonal(s["correlation"]) for s in (real, generated))
    # Lag 0 of the curves is a variance (auto) or a plain correlation (cross), both compared
    # elsewhere; the temporal statistics compare lags 1..max_lag, as the paper's figures.
    real_auto, generated_auto, real_cross, generated_cross = (
        s[key][:, 1:]
        for key in ("auto_correlation", "cross_correlation")
        for s in (real, generated)
    )
    real_psth, generated_psth = _common_bins(real["psth"], generated["psth"])
    result = {
        "population_spike_count_kl": _kl(p, q),
        "pairwise_correlation_rmse": _rmse(
            real_corr, generated_corr, "pairwise correlation", one_sided
        ),
        "mean_rate_rmse": _rmse(real["mean_rate"], generated["mean_rate"], "mean rate"),
        "mean_isi_rmse": _rmse(real["mean_isi"], generated["mean_isi"], "mean ISI", one_sided),
        "std_isi_rmse": _rmse(
            real["std_isi"], generated["std_isi"], "ISI standard deviation", one_sided
        ),
        "auto_correlation_rmse": _rmse(real_auto, generated_auto, "auto-correlation"),
        "cross_correlation_rmse": _rmse(real_cross, generated_cross, "cross-correlation"),
        "fano_factor_rmse": _rmse(
            real["fano_factor"], generated["fano_factor"], "Fano factor", one_sided
        ),
        "psth_rmse": _rmse(real_psth, generated_psth, "PSTH"),
        # The Pearson r compare the same entries (already counted above).
        "population_spike_count_pearson_r": _pearson_r(p, q),
        "pairwise_correlation_pearson_r": _pearson_r(real_corr, generated_corr),
        "mean_rate_pearson_r": _pearson_r(real["mean_rate"], generated["mean_rate"]),
        "mean_isi_pearson_r": _pearson_r(real["mean_isi"], generated["mean_isi"]),
        "std_isi_pearson_r": _pearson_r(real["std_isi"], generated["std_isi"]),
        "auto_correlation_pearson_r": _pearson_r(real_auto, generated_auto),
        "cross_correlation_pearson_r": _pearson_r(real_cross, generated_cross),
        "fano_factor_pearson_r": _pearson_r(real["fano_factor"], generated["fano_factor"]),
        "psth_pearson_r": _pearson_r(real_psth, generated_psth),
    }
    return result
