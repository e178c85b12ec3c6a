"""Discrepancies of temporal and across-trial statistics: one function per statistic.

Each computes one entry of :func:`~ldns_sklearn.metrics.compare_spike_statistics` the way
it does (:func:`~._discrepancy.compare_one`), reading only what that statistic needs.
"""

from __future__ import annotations

from .._sklearn_compat import validate_params
from ._checks import COMMON_CONSTRAINTS
from ._discrepancy import compare_one
from ._temporal import DEFAULT_N_GROUPS

_PAIR = {"real": ["array-like"], "generated": ["array-like"]}


@validate_params(
    {**_PAIR, **{key: COMMON_CONSTRAINTS[key] for key in ("max_lag", "bin_size")}},
    prefer_skip_nested_validation=True,
)
def auto_correlation_rmse(real, generated, *, max_lag=None, bin_size=None):
    """RMSE between the spike-count auto-correlations of each neuron, over lags 1..max_lag.

    A neuron's counts are centred on their mean within each trial; its auto-correlation at
    lag k is ``(1/T) sum_t x_t x_{t+k}`` for a trial of T bins, averaged over trials (the
    "biased" estimate of the paper's ``get_temp_corr_summary``). Refractoriness makes it
    negative at short lags, bursting and slow rate changes positive. The RMSE runs over
    neurons and lags ``1..max_lag`` (lag 0, the variance, is left out as in the paper's
    figures).

    Parameters
    ----------
    real, generated : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
        Spike counts with the same neurons, or Neo trials.
    max_lag : int or None, default=None
        Largest lag in bins; None: 10, or fewer where trials are shorter. A lag beyond the
        longest trial of either data set is refused.
    bin_size : quantities.Quantity or None, default=None
        Duration of a bin: the auto-correlations are then in (spikes per second)², else in
        (spikes per bin)². Also the bin to count Neo trials in.

    Returns
    -------
    rmse : float
        NaN for ``max_lag=0`` (no lag to compare).

    Examples
    --------
    >>> import numpy as np
    >>> from ldns_sklearn.metrics import auto_correlation_rmse
    >>> rng = np.random.default_rng(0)
    >>> poisson = rng.poisson(0.5, size=(200, 40, 5))
    >>> bursty = np.repeat(rng.poisson(0.5, size=(200, 20, 5)), 2, axis=1)  # spikes in pairs
    >>> auto_correlation_rmse(poisson, rng.poisson(0.5, size=(200, 40, 5)), max_lag=3) < 0.02
    True
    >>> auto_correlation_rmse(poisson, bursty, max_lag=3) > 0.1
    True
    """
    return compare_one(
        "auto_correlation_rmse", real, generated, max_lag=max_lag, bin_size=bin_size
    )


@validate_params(
    {**_PAIR, **{key: COMMON_CONSTRAINTS[key] for key in ("max_lag", "n_groups", "bin_size")}},
    prefer_skip_nested_validation=True,
)
def cross_correlation_rmse(
    real, generated, *, max_lag=None, n_groups=DEFAULT_N_GROUPS, bin_size=None
):
    """RMSE between group-averaged spike-count cross-correlations, over lags 1..max_lag.

    Neurons are grouped as in the paper's spike-history figure: sorted by their summed
    squared correlation with all other neurons in ``real`` (most correlated first) and cut
    into ``n_groups`` equal groups. For each group, the cross-correlation of every pair of
    its neurons (centred within trials, biased estimate, averaged over trials; see
    :func:`auto_correlation_rmse`) is averaged over the pairs in both directions. The RMSE
    runs over groups and lags ``1..max_lag``.

    Parameters
    ----------
    real, generated : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
        Spike counts with the same neurons, or Neo trials.
    max_lag : int or None, default=None
        Largest lag in bins; None: 10, or fewer where trials are shorter.
    n_groups : int, default=4
        Number of groups; fewer when there are fewer than ``2 * n_groups`` neurons (a group
        needs a pair).
    bin_size : quantities.Quantity or None, default=None
        Duration of a bin: cross-correlations in (spikes per second)², else per bin. Also
        the bin to count Neo trials in.

    Returns
    -------
    rmse : float
        NaN for a single neuron or ``max_lag=0``.

    Examples
    --------
    >>> import numpy as np
    >>> from ldns_sklearn.metrics import cross_correlation_rmse
    >>> rng = np.random.default_rng(0)
    >>> drive = rng.poisson(0.5, size=(200, 30, 1))
    >>> lagged = np.concatenate([drive, np.roll(drive, 1, axis=1)], axis=2)  # a leads b
    >>> independent = rng.poisson(0.5, size=(200, 30, 2))
    >>> cross_correlation_rmse(lagged, independent, max_lag=2) > 0.1
    True
    """
    return compare_one(
        "cross_correlation_rmse", real, generated, max_lag=max_lag, n_groups=n_groups,
        bin_size=bin_size,
    )


@validate_params(
    {**_PAIR, "bin_size": COMMON_CONSTRAINTS["bin_size"]}, prefer_skip_nested_validation=True
)
def fano_factor_rmse(real, generated, *, bin_size=None):
    """RMSE across neurons between the Fano factors of their spike counts per trial.

    A neuron's Fano factor is the variance over its mean (``ddof=0``) of its spike count
    per trial, as :func:`elephant.statistics.fanofactor` computes it from the neuron's
    trains: 1 for Poisson spiking at a fixed rate, above 1 when the rate varies from trial to
    trial, below 1 for regular firing. Neurons silent in either data set are left out (with
    a warning when only one side is silent).

    Parameters
    ----------
    real, generated : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
        Spike counts with the same neurons, or Neo trials.
    bin_size : quantities.Quantity or None, default=None
        Only for Neo trials: the bin to count their spikes in; None reads the bin size
        generated trains record. (A Fano factor has no units.)

    Returns
    -------
    rmse : float

    Examples
    --------
    >>> import numpy as np
    >>> from ldns_sklearn.metrics import fano_factor_rmse
    >>> rng = np.random.default_rng(0)
    >>> fixed = rng.poisson(0.5, size=(300, 20, 4))                 # Fano factor about 1
    >>> varying = rng.poisson(rng.gamma(1.0, 0.5, size=(300, 1, 4)), size=(300, 20, 4))
    >>> fano_factor_rmse(fixed, varying) > 3
    True
    """
    return compare_one("fano_factor_rmse", real, generated, bin_size=bin_size)


@validate_params(
    {**_PAIR, "bin_size": COMMON_CONSTRAINTS["bin_size"]}, prefer_skip_nested_validation=True
)
def psth_rmse(real, generated, *, bin_size=None):
    """RMSE between the peri-stimulus time histograms (trial-averaged rates) of two data sets.

    For trial-aligned data (every trial starts at the same event): the PSTH of a neuron is
    its spike count in each bin from the trials' start, averaged over the trials that reach
    that bin. The RMSE runs over neurons and the bins both data sets reach. For data without
    a common alignment the PSTH is flat up to noise, and the comparison says little.

    Parameters
    ----------
    real, generated : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
        Spike counts with the same neurons, or Neo trials.
    bin_size : quantities.Quantity or None, default=None
        Duration of a bin: rates in spikes per second, else per bin. Also the bin to count
        Neo trials in.

    Returns
    -------
    rmse : float

    Examples
    --------
    >>> import numpy as np
    >>> from ldns_sklearn.metrics import psth_rmse
    >>> rng = np.random.default_rng(0)
    >>> ramp = np.linspace(0.1, 2.0, 30)[None, :, None]
    >>> real = rng.poisson(ramp, size=(200, 30, 3))
    >>> psth_rmse(real, rng.poisson(ramp, size=(200, 30, 3))) < 0.15
    True
    >>> psth_rmse(real, rng.poisson(ramp[:, ::-1], size=(200, 30, 3))) > 0.5
    True
    """
    return compare_one("psth_rmse", real, generated, bin_size=bin_size)
