"""Discrepancies between the statistics of real and generated spike counts.

Each function is one row of :data:`~._discrepancy.STATISTICS`, computed as
:func:`compare_spike_statistics` computes it (:func:`~._discrepancy.compare_one`).
"""

from __future__ import annotations

from .._sklearn_compat import validate_params
from ._checks import COMMON_CONSTRAINTS, bin_size_in_seconds, check_pair
from ._discrepancy import (
    DISCREPANCIES,
    PEARSON_RS,
    compare_one,
    discrepancies,
    summed_pair,
    warn_one_sided,
)
from ._temporal import DEFAULT_N_GROUPS

__all__ = [
    "DISCREPANCIES",
    "PEARSON_RS",
    "compare_spike_statistics",
    "mean_isi_rmse",
    "mean_rate_rmse",
    "pairwise_correlation_rmse",
    "population_spike_count_kl",
    "std_isi_rmse",
]

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
    return compare_one(
        "population_spike_count_kl", real, generated, bandwidth=bandwidth, eps=eps,
        bin_size=bin_size,
    )


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
    return compare_one("pairwise_correlation_rmse", real, generated, bin_size=bin_size)


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
    return compare_one("mean_rate_rmse", real, generated, bin_size=bin_size)


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
    return compare_one(
        "mean_isi_rmse", real, generated, bin_size=bin_size, min_isis=min_isis
    )


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
    return compare_one(
        "std_isi_rmse", real, generated, bin_size=bin_size, min_isis=min_isis
    )


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


