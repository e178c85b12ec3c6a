"""Per-neuron and population statistics of spike counts, from their summed form."""

from __future__ import annotations

import numpy as np

from .._sklearn_compat import validate_params
from ._accumulator import SpikeSums
from ._checks import COMMON_CONSTRAINTS, bin_size_in_seconds, check_counts, recorded_bin_size


@validate_params(
    {"counts": ["array-like"], **COMMON_CONSTRAINTS},
    prefer_skip_nested_validation=True,
)
def spike_statistics(counts, *, bin_size=None, min_isis=2):
    """Per-neuron and population statistics of binned spike counts.

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

    Returns
    -------
    statistics : dict
        ``"mean_rate"`` (n_neurons,): mean spike count per bin over ``bin_size``;
        ``"mean_isi"``, ``"std_isi"`` (n_neurons,): mean and standard deviation (ddof=0) of the
        intervals, pooled over trials, NaN where fewer than ``min_isis``;
        ``"n_isis"`` (n_neurons,): number of intervals;
        ``"correlation"`` (n_neurons, n_neurons): Pearson correlation of the counts with bins
        of all trials concatenated, NaN for silent neurons;
        ``"population_counts"`` (total number of bins,): spikes of all neurons per bin.

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
    return statistics(SpikeSums.from_trials(counts), bin_size_in_seconds(bin_size), min_isis)


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


def statistics(sums: SpikeSums, bin_size: float, min_isis: int) -> dict:
    """Every per-neuron and population statistic of the summed trials."""
    mean_isi, std_isi, n_isis = isi_statistics(sums, bin_size, min_isis)
    return {
        "mean_rate": mean_rate(sums, bin_size),
        "mean_isi": mean_isi,
        "std_isi": std_isi,
        "n_isis": n_isis,
        "correlation": correlation(sums),
        "population_counts": sums.population_counts(),
    }
