"""Per-neuron and population statistics of spike counts, from their summed form."""

from __future__ import annotations

import numpy as np

from .._sklearn_compat import validate_params
from ._accumulator import SpikeSums
from ._checks import COMMON_CONSTRAINTS, bin_size_in_seconds, check_counts, recorded_bin_size
from ._temporal import DEFAULT_N_GROUPS, correlation_groups, resolve_max_lag


@validate_params(
    {"counts": ["array-like"], **COMMON_CONSTRAINTS},
    prefer_skip_nested_validation=True,
)
def spike_statistics(
    counts, *, bin_size=None, min_isis=2, max_lag=None, n_groups=DEFAULT_N_GROUPS
):
    """Per-neuron, population and temporal statistics of binned spike counts.

    Parameters
    ----------
    counts : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
        Spike counts; trials of a list may differ in length.
    bin_size : quantities.Quantity or None, default=None
        Duration of a bin (e.g. ``5 * pq.ms``): rates in spikes per second and intervals in
        seconds. None: spikes per bin and intervals in bins. A bare number is refused (is
        0.005 seconds or milliseconds?), as :class:`~ldns_sklearn.SpikeTrainBinner` refuses it.
    min_isis : int, default=2
        Fewest inter-spike intervals a neuron needs for its ISI statistics; below that they
        are NaN.
    max_lag : int or None, default=None
        Largest lag, in bins, of the auto- and cross-correlations; None: 10, or fewer where
        the longest trial is shorter. A lag no trial reaches is refused.
    n_groups : int, default=4
        Groups of neurons whose pairs' cross-correlations are averaged (the paper's
        grouping by correlation strength); fewer for fewer than ``2 * n_groups`` neurons.

    Returns
    -------
    statistics : dict
        ``"mean_rate"`` (n_neurons,): mean spike count per bin over ``bin_size``;
        ``"mean_isi"``, ``"std_isi"`` (n_neurons,): mean and standard deviation (ddof=0) of the
        intervals, pooled over trials, NaN where fewer than ``min_isis``;
        ``"n_isis"`` (n_neurons,): number of intervals;
        ``"correlation"`` (n_neurons, n_neurons): Pearson correlation of the counts with bins
        of all trials concatenated, NaN for silent neurons;
        ``"population_counts"`` (total number of bins,): spikes of all neurons per bin;
        ``"fano_factor"`` (n_neurons,): variance over mean (ddof=0) of each neuron's spike
        count per trial, as :func:`elephant.statistics.fanofactor` of its trains, NaN for
        a silent neuron;
        ``"psth"`` (longest trial's bins, n_neurons): the trial-averaged rate in each bin
        from the trials' start, over the trials that reach it (spikes per second with a
        ``bin_size``, else per bin);
        ``"auto_correlation"`` (n_neurons, max_lag + 1): each neuron's spike-count
        auto-correlation at lags ``0..max_lag`` bins — counts centred on their trial's mean,
        ``(1/T) sum_t x_t x_{t+k}`` averaged over trials, as the paper's code (lag 0 is the
        variance; in (spikes per second)² with a ``bin_size``);
        ``"cross_correlation"`` (n_groups, max_lag + 1): the same between distinct neurons,
        averaged over the pairs of each group (both directions);
        ``"correlation_groups"``: tuple of index arrays, the neurons of each group, most
        correlated first.

    Examples
    --------
    >>> import numpy as np
    >>> from ldns_sklearn.metrics import spike_statistics
    >>> counts = np.array([[[1, 0], [0, 1], [2, 1]]])  # 1 trial, 3 bins, 2 neurons
    >>> stats = spike_statistics(counts)
    >>> stats["mean_rate"]
    array([1.        , 0.66666667])
    >>> stats["population_counts"]
    array([1, 1, 3])
    >>> stats["mean_isi"]  # neuron 0: spikes at 0.5, 2.33, 2.67; neuron 1 has one interval
    array([1.08333333,        nan])
    """
    if bin_size is None:
        bin_size = recorded_bin_size(counts)
    counts = check_counts(counts, "counts", bin_size)
    max_lag = resolve_max_lag(max_lag, {"counts": counts})
    sums = SpikeSums.from_trials(counts)
    sums.add_lags(counts, neuron_groups(sums, n_groups), max_lag)
    return statistics(sums, bin_size_in_seconds(bin_size), min_isis)


def neuron_groups(sums: SpikeSums, n_groups: int) -> tuple[np.ndarray, ...]:
    """The paper's groups of neurons, by the correlations of the summed trials: the one
    place groups are made, so every comparison of cross-correlations uses the same."""
    return correlation_groups(correlation(sums), n_groups)


def mean_rate(sums: SpikeSums, bin_size):
    return sums.spikes / sums.n_bins / bin_size


def correlation(sums: SpikeSums):
    n, spikes, n_neurons = sums.n_bins, sums.spikes, sums.n_neurons
    if n < 2:
        return np.full((n_neurons, n_neurons), np.nan)
    covariance = (sums.gram - np.outer(spikes, spikes) / n) / (n - 1)
    std = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    scale = np.outer(std, std)
    # A silent (or constant) neuron has no defined correlation with anything: NaN, left out
    # of RMSEs, rather than a division warning.
    correlation = np.divide(
        covariance, scale, out=np.full_like(covariance, np.nan), where=scale > 0
    )
    np.fill_diagonal(correlation, np.where(std > 0, 1.0, np.nan))
    return np.clip(correlation, -1.0, 1.0)


def isi_statistics(sums: SpikeSums, bin_size, min_isis):
    count, total, squares = sums.isi
    defined = count >= min_isis
    mean = np.divide(total, count, out=np.full_like(total, np.nan), where=defined)
    second = np.divide(squares, count, out=np.full_like(total, np.nan), where=defined)
    variance = np.clip(second - mean**2, 0.0, None, where=defined, out=np.full_like(total, np.nan))
    return mean * bin_size, np.sqrt(variance) * bin_size, count.astype(np.int64)


def fano_factor(sums: SpikeSums):
    total, squares = sums.trial_totals
    mean = total / sums.n_trials
    variance = np.clip(squares / sums.n_trials - mean**2, 0.0, None)
    return np.divide(variance, mean, out=np.full_like(mean, np.nan), where=mean > 0)


def psth(sums: SpikeSums, bin_size):
    summed, reached = sums.psth
    return summed / reached[:, None] / bin_size


def statistics(sums: SpikeSums, bin_size: float, min_isis: int) -> dict:
    """Every statistic the sums hold the parts of (the temporal ones where ``sums.lags``
    is set)."""
    result = {"mean_rate": mean_rate(sums, bin_size)}
    if sums.isi is not None:
        result["mean_isi"], result["std_isi"], result["n_isis"] = isi_statistics(
            sums, bin_size, min_isis
        )
    if sums.gram is not None:
        result["correlation"] = correlation(sums)
    if sums.population is not None:
        result["population_counts"] = sums.population_counts()
    if sums.trial_totals is not None:
        result["fano_factor"] = fano_factor(sums)
    if sums.psth is not None:
        result["psth"] = psth(sums, bin_size)
    if sums.lags is not None:
        # Products of two rates: squared units.
        scale = 1.0 / bin_size**2
        result["auto_correlation"] = sums.lags.auto_correlation(scale)
        result["cross_correlation"] = sums.lags.cross_correlation(scale)
        result["correlation_groups"] = sums.lags.groups
    return result
