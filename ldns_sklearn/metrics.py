"""Sample-quality statistics of the LDNS paper: how closely generated spikes match real ones.

Every function takes spike counts as a 3-D array ``(n_trials, n_bins, n_neurons)`` or a list
of 2-D arrays ``(n_bins_i, n_neurons)`` whose lengths may differ. Real and generated data may
hold different numbers of trials and bins, but must have the same neurons.

The statistics follow the conventions of the paper's code (``mackelab/LDNS``,
``ldns/utils/eval_utils.py``) so that numbers are comparable:

* **population spike count**: the number of spikes of all neurons in one bin, pooled over
  bins and trials; its distribution is smoothed with a Gaussian kernel density estimate
  (Scott's bandwidth, as ``scipy.stats.gaussian_kde``) and compared with the KL divergence
  ``KL(real || generated)``;
* **pairwise correlation**: Pearson correlation of the counts of two neurons, with bins of all
  trials concatenated (the paper's ``correlation_matrix(..., mode="concatenate")``); the RMSE
  runs over the off-diagonal pairs;
* **inter-spike intervals** from counts: the k spikes of a bin are placed at
  ``bin_start + bin_size * (j + 1) / (k + 1)``, ``j = 0..k-1`` (the paper's ``linspace`` over
  the bin without its end points); intervals are taken within a trial only and pooled over
  trials per neuron (the paper's ``compute_spike_stats_per_neuron``); the standard deviation
  is the population one (``ddof=0``, as ``np.std``);
* RMSEs run over the neurons (or pairs) where the statistic is defined in both data sets,
  like the paper's ``rmse_nan``.

Where this module differs from the paper's code: a neuron needs at least ``min_isis`` (default
2) intervals for its ISI statistics to be defined, where the paper accepts a single interval
(whose standard deviation is then 0); the kernel density is evaluated on the integer
population counts ``0..max`` and normalised there, with a floor ``eps`` so that the KL stays
finite when the generated data never reach a count the real data show. All statistics are
computed in one streaming pass over blocks of trials, so large data sets need little memory.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import quantities as pq
from scipy.signal import convolve
from threadpoolctl import threadpool_limits

from ._neo import check_time_quantity, is_neo_trials
from ._sklearn_compat import Interval, StrOptions, validate_params
from ._validation import check_trials, pad_trials

__all__ = [
    "compare_spike_statistics",
    "generation_score",
    "make_generation_scorer",
    "mean_isi_rmse",
    "mean_rate_rmse",
    "pairwise_correlation_rmse",
    "population_spike_count_kl",
    "spike_statistics",
    "std_isi_rmse",
]

# Discrepancies (lower is better) that generation_score combines, in the paper's table order.
DISCREPANCIES = (
    "population_spike_count_kl",
    "pairwise_correlation_rmse",
    "mean_rate_rmse",
    "mean_isi_rmse",
    "std_isi_rmse",
)
# Agreement measures (higher is better) that compare_spike_statistics adds.
PEARSON_RS = (
    "population_spike_count_pearson_r",
    "pairwise_correlation_pearson_r",
    "mean_rate_pearson_r",
    "mean_isi_pearson_r",
    "std_isi_pearson_r",
)

# Counts per block of the streaming pass (rows x neurons): large enough for fast BLAS and
# vectorised code, small enough that per-block temporaries stay in the tens of megabytes.
_BLOCK = 1 << 22
# Integers up to 2**24 are exact in float32, so an integer Gram matrix can use the faster
# single-precision BLAS whenever no partial sum can exceed it.
_FLOAT32_EXACT = 1 << 24

_ALL_PARTS = frozenset({"rate", "population", "correlation", "isi"})

_COMMON_CONSTRAINTS = {
    "bin_size": [Interval(Real, 0, None, closed="neither"), pq.Quantity],
    "min_isis": [Interval(Integral, 1, None, closed="left")],
    "bandwidth": [StrOptions({"scott", "silverman"}), Interval(Real, 0, None, closed="neither")],
    "eps": [Interval(Real, 0, 1, closed="neither")],
}


# --------------------------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------------------------


def _check_counts(X, name):
    # dtype=None keeps the caller's (possibly small integer) dtype: a float64 copy of a large
    # recording would need eight bytes per count.
    return check_trials(X, name=name, counts=True, dtype=None)


def _n_neurons(trials):
    return trials.shape[2] if isinstance(trials, np.ndarray) else trials[0].shape[1]


def _check_pair(real, generated):
    real = _check_counts(real, "real")
    generated = _check_counts(generated, "generated")
    if _n_neurons(real) != _n_neurons(generated):
        raise ValueError(
            f"real has {_n_neurons(real)} neurons but generated has {_n_neurons(generated)}; "
            "both must record the same neurons."
        )
    return real, generated


def _bin_size_value(bin_size):
    """A float bin size; a time quantity is expressed in seconds."""
    if isinstance(bin_size, pq.Quantity):
        return float(check_time_quantity(bin_size, "bin_size", positive=True).rescale(pq.s))
    return float(bin_size)


def _blocks(trials):
    """Yield ``(block, lengths)``: whole trials stacked into ``(n, n_bins, n_neurons)`` blocks.

    Trials of a list are zero-padded to the longest trial of their block; ``lengths`` gives
    the bins of each trial that are real.
    """
    n_neurons = _n_neurons(trials)
    if isinstance(trials, np.ndarray):
        n_trials, n_bins = trials.shape[:2]
        step = max(1, _BLOCK // (n_bins * n_neurons))
        for start in range(0, n_trials, step):
            block = trials[start : start + step]
            yield block, np.full(len(block), n_bins)
        return
    group, size = [], 0
    for trial in trials:
        group.append(trial)
        size += trial.size
        if size >= _BLOCK:
            yield pad_trials(group)
            group, size = [], 0
    if group:
        yield pad_trials(group)


def _bins(block, lengths):
    """The real bins of a block as one 2-D array (n_bins_total, n_neurons)."""
    if np.all(lengths == block.shape[1]):
        return block.reshape(-1, block.shape[2])
    return block[np.arange(block.shape[1]) < lengths[:, None]]


# --------------------------------------------------------------------------------------------
# Streaming accumulation of sufficient statistics
# --------------------------------------------------------------------------------------------


def _accumulate(trials, parts=_ALL_PARTS):
    """Sums from which every statistic follows, gathered in one pass over the blocks."""
    n_neurons = _n_neurons(trials)
    acc = {
        "n_neurons": n_neurons,
        "n_bins": 0,
        "spikes": np.zeros(n_neurons),
        "gram": np.zeros((n_neurons, n_neurons)) if "correlation" in parts else None,
        "population": [] if "population" in parts else None,
        "isi": np.zeros((3, n_neurons)) if "isi" in parts else None,
    }
    # A tall, thin Gram product gains little from threads, and multi-threaded OpenBLAS slows
    # down by an order of magnitude when other processes share the cores (parallel tests).
    with threadpool_limits(limits=1, user_api="blas"):
        for block, lengths in _blocks(trials):
            if block.dtype == bool:
                block = block.view(np.uint8)
            bins = _bins(block, lengths)
            spikes = bins.sum(axis=0, dtype=np.float64)
            acc["n_bins"] += len(bins)
            acc["spikes"] += spikes
            if acc["population"] is not None:
                acc["population"].append(bins.sum(axis=1, dtype=np.int64))
            if acc["gram"] is not None:
                acc["gram"] += _gram(bins)
            if acc["isi"] is not None:
                # Zero padding adds no spikes, hence no intervals.
                acc["isi"] += _isi_moments(block, spikes)
    return acc


def _merge(first, second):
    """Accumulators of the union of two sets of trials."""
    merged = dict(first)
    for key in ("n_bins", "spikes", "gram", "isi"):
        if first[key] is not None:
            merged[key] = first[key] + second[key]
    if first["population"] is not None:
        merged["population"] = first["population"] + second["population"]
    return merged


def _gram(bins):
    """Exact ``bins.T @ bins`` of integer counts, in float32 BLAS where that is exact."""
    largest = float(bins.max())
    # Every partial sum of the float32 product is an integer <= largest**2 * rows, so the
    # single-precision result is exact below 2**24.
    dtype = np.float32 if largest * largest * len(bins) < _FLOAT32_EXACT else np.float64
    values = bins.astype(dtype)
    return (values.T @ values).astype(np.float64)


def _interval_tables(largest):
    """Per spike count k: ``1 / (k + 1)``, and the sum and sum of squares of the k - 1
    intervals of width ``1 / (k + 1)`` between the k spikes of one bin."""
    k = np.arange(largest + 1, dtype=np.float64)
    width = 1.0 / (k + 1.0)
    inside = np.maximum(k - 1.0, 0.0)
    return width, inside * width, inside * width**2


def _isi_moments(block, spikes):
    """Number, sum and sum of squares (in bins) of each neuron's inter-spike intervals.

    ``spikes`` holds each neuron's spike total in ``block``. With the k spikes of bin b at
    ``b + (j + 1) / (k + 1)``, a bin holding k >= 2 spikes adds k - 1 intervals of
    ``1 / (k + 1)``, and consecutive non-empty bins b1 < b2 of one trial (holding k1 and k2
    spikes) add ``(b2 - b1 - 1) + 1 / (k1 + 1) + 1 / (k2 + 1)``.
    """
    n_trials, n_bins, n_neurons = block.shape
    moments = np.zeros((3, n_neurons))
    # A train of m >= 1 spikes has m - 1 intervals.
    moments[0] = spikes - block.any(axis=1).sum(axis=0)
    # Neuron-major order lists each neuron's non-empty bins trial by trial, bin by bin, so
    # consecutive entries of one spike train are neighbours and their flat distance is the
    # number of bins between them.
    flat = np.ascontiguousarray(np.moveaxis(block, 2, 0)).reshape(-1)
    where = np.flatnonzero(flat > 0)  # numpy finds non-zeros of a bool array ~5x faster
    if where.size == 0:
        return moments
    count = flat[where]
    if not np.issubdtype(count.dtype, np.integer):
        count = count.astype(np.intp)
    width, inside_sum, inside_squares = _interval_tables(int(count.max()))
    edge = width[count]

    # Row 0 of `values` gets entry i's interval to its predecessor, row 1 its square.
    values = np.empty((2, where.size))
    values[:, 0] = 0.0
    interval = values[0, 1:]
    np.subtract(where[1:], where[:-1], out=interval)
    interval -= 1.0
    interval += edge[:-1]
    interval += edge[1:]
    # Neighbours belong to one spike train when they lie in one (neuron, trial) stretch.
    stretch = where // n_bins
    interval *= stretch[1:] == stretch[:-1]
    np.square(values[0], out=values[1])
    # The intervals inside multi-spike bins (rarer at typical rates) are added where they are.
    several = np.flatnonzero(count >= 2)
    multi = count[several]
    for row, table in zip(values, (inside_sum, inside_squares), strict=True):
        row[several] += table[multi]

    # Entries are sorted by neuron; dropping the neurons without entries makes each start
    # followed by the next neuron's start, as reduceat needs.
    bounds = np.searchsorted(where, np.arange(n_neurons + 1) * (n_trials * n_bins))
    active = bounds[:-1] < bounds[1:]
    moments[1:, active] = np.add.reduceat(values, bounds[:-1][active], axis=1)
    return moments


# --------------------------------------------------------------------------------------------
# Statistics from the accumulators
# --------------------------------------------------------------------------------------------


def _mean_rate(acc, bin_size):
    return acc["spikes"] / acc["n_bins"] / bin_size


def _correlation(acc):
    n, spikes = acc["n_bins"], acc["spikes"]
    n_neurons = acc["n_neurons"]
    if n < 2:
        return np.full((n_neurons, n_neurons), np.nan)
    covariance = (acc["gram"] - np.outer(spikes, spikes) / n) / (n - 1)
    std = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    scale = np.outer(std, std)
    # A silent (or constant) neuron has no defined correlation with anything: NaN, left out
    # of RMSEs, rather than a division warning.
    correlation = np.divide(
        covariance, scale, out=np.full_like(covariance, np.nan), where=scale > 0
    )
    np.fill_diagonal(correlation, np.where(std > 0, 1.0, np.nan))
    return np.clip(correlation, -1.0, 1.0)


def _isi_statistics(acc, bin_size, min_isis):
    count, total, squares = acc["isi"]
    defined = count >= min_isis
    mean = np.divide(total, count, out=np.full_like(total, np.nan), where=defined)
    second = np.divide(squares, count, out=np.full_like(total, np.nan), where=defined)
    variance = np.clip(second - mean**2, 0.0, None, where=defined, out=np.full_like(total, np.nan))
    return mean * bin_size, np.sqrt(variance) * bin_size, count.astype(np.int64)


def _population_counts(acc):
    return np.concatenate(acc["population"]) if acc["population"] else np.zeros(0, np.int64)


def _statistics(acc, bin_size, min_isis):
    mean_isi, std_isi, n_isis = _isi_statistics(acc, bin_size, min_isis)
    return {
        "mean_rate": _mean_rate(acc, bin_size),
        "mean_isi": mean_isi,
        "std_isi": std_isi,
        "n_isis": n_isis,
        "correlation": _correlation(acc),
        "population_counts": _population_counts(acc),
    }


# --------------------------------------------------------------------------------------------
# Comparisons
# --------------------------------------------------------------------------------------------


def _paired(real, generated, what):
    """Entries defined in both; warn about those defined in only one (a real discrepancy)."""
    real, generated = np.ravel(real), np.ravel(generated)
    real_ok, generated_ok = np.isfinite(real), np.isfinite(generated)
    one_sided = int(np.sum(real_ok != generated_ok))
    if one_sided:
        warnings.warn(
            f"The {what} is defined in only one of real and generated data for {one_sided} "
            f"of {real.size} entries (e.g. neurons with too few inter-spike intervals); they "
            "are left out of the comparison.",
            UserWarning,
            stacklevel=4,
        )
    both = real_ok & generated_ok
    return real[both], generated[both]


def _rmse(real, generated, what):
    real, generated = _paired(real, generated, what)
    if real.size == 0:
        return float("nan")
    return float(np.sqrt(np.mean((real - generated) ** 2)))


def _pearson_r(real, generated, what):
    real, generated = _paired(real, generated, what)
    if real.size < 2:
        return float("nan")
    real, generated = real - real.mean(), generated - generated.mean()
    norm = np.sqrt(np.sum(real**2) * np.sum(generated**2))
    return float(np.sum(real * generated) / norm) if norm > 0 else float("nan")


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


def _discrepancies(real_acc, generated_acc, *, min_isis, bandwidth, eps, bin_size=1.0):
    real = _statistics(real_acc, bin_size, min_isis)
    generated = _statistics(generated_acc, bin_size, min_isis)
    p, q = _population_densities(
        real["population_counts"], generated["population_counts"], bandwidth, eps
    )
    real_corr, generated_corr = (_off_diagonal(s["correlation"]) for s in (real, generated))
    result = {
        "population_spike_count_kl": _kl(p, q),
        "pairwise_correlation_rmse": _rmse(real_corr, generated_corr, "pairwise correlation"),
        "mean_rate_rmse": _rmse(real["mean_rate"], generated["mean_rate"], "mean rate"),
        "mean_isi_rmse": _rmse(real["mean_isi"], generated["mean_isi"], "mean ISI"),
        "std_isi_rmse": _rmse(real["std_isi"], generated["std_isi"], "ISI standard deviation"),
    }
    # The same entries were already checked (and warned about) above.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        result.update(
            population_spike_count_pearson_r=_pearson_r(p, q, "population density"),
            pairwise_correlation_pearson_r=_pearson_r(real_corr, generated_corr, "corr"),
            mean_rate_pearson_r=_pearson_r(real["mean_rate"], generated["mean_rate"], "rate"),
            mean_isi_pearson_r=_pearson_r(real["mean_isi"], generated["mean_isi"], "isi"),
            std_isi_pearson_r=_pearson_r(real["std_isi"], generated["std_isi"], "isi"),
        )
    return result


# --------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------


@validate_params(
    {"counts": ["array-like"], **_COMMON_CONSTRAINTS},
    prefer_skip_nested_validation=True,
)
def spike_statistics(counts, *, bin_size=1.0, min_isis=2):
    """Per-neuron and population statistics of binned spike counts.

    Parameters
    ----------
    counts : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
        Spike counts; trials of a list may differ in length.
    bin_size : float or quantities.Quantity, default=1.0
        Duration of a bin. Rates are in spikes per this unit and intervals in this unit; a
        time quantity (e.g. ``5 * pq.ms``) gives spikes per second and seconds.
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
    counts = _check_counts(counts, "counts")
    return _statistics(_accumulate(counts), _bin_size_value(bin_size), min_isis)


@validate_params(
    {
        "real": ["array-like"],
        "generated": ["array-like"],
        "bandwidth": _COMMON_CONSTRAINTS["bandwidth"],
        "eps": _COMMON_CONSTRAINTS["eps"],
    },
    prefer_skip_nested_validation=True,
)
def population_spike_count_kl(real, generated, *, bandwidth="scott", eps=1e-10):
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
    real, generated = _check_pair(real, generated)
    parts = {"population"}
    p, q = _population_densities(
        _population_counts(_accumulate(real, parts)),
        _population_counts(_accumulate(generated, parts)),
        bandwidth,
        eps,
    )
    return _kl(p, q)


@validate_params(
    {"real": ["array-like"], "generated": ["array-like"]},
    prefer_skip_nested_validation=True,
)
def pairwise_correlation_rmse(real, generated):
    """RMSE between the pairwise neuron correlations of two data sets.

    Correlations are Pearson correlations of the counts of two neurons with the bins of all
    trials concatenated; the RMSE runs over the pairs ``i < j`` defined in both data sets
    (pairs with a silent neuron are left out, with a warning if only one side is silent).

    Parameters
    ----------
    real, generated : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
        Spike counts with the same neurons.

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
    real, generated = _check_pair(real, generated)
    parts = {"correlation"}
    real_corr = _off_diagonal(_correlation(_accumulate(real, parts)))
    generated_corr = _off_diagonal(_correlation(_accumulate(generated, parts)))
    return _rmse(real_corr, generated_corr, "pairwise correlation")


@validate_params(
    {
        "real": ["array-like"],
        "generated": ["array-like"],
        "bin_size": _COMMON_CONSTRAINTS["bin_size"],
    },
    prefer_skip_nested_validation=True,
)
def mean_rate_rmse(real, generated, *, bin_size=1.0):
    """RMSE across neurons between the mean firing rates of two data sets.

    Parameters
    ----------
    real, generated : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
        Spike counts with the same neurons.
    bin_size : float or quantities.Quantity, default=1.0
        Duration of a bin; rates are spikes per this unit (per second for a time quantity).

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
    real, generated = _check_pair(real, generated)
    bin_size = _bin_size_value(bin_size)
    parts = frozenset()
    return _rmse(
        _mean_rate(_accumulate(real, parts), bin_size),
        _mean_rate(_accumulate(generated, parts), bin_size),
        "mean rate",
    )


def _isi_rmse(real, generated, bin_size, min_isis, which):
    real, generated = _check_pair(real, generated)
    bin_size = _bin_size_value(bin_size)
    parts = {"isi"}
    real_stat = _isi_statistics(_accumulate(real, parts), bin_size, min_isis)[which]
    generated_stat = _isi_statistics(_accumulate(generated, parts), bin_size, min_isis)[which]
    return _rmse(real_stat, generated_stat, ("mean ISI", "ISI standard deviation")[which])


@validate_params(
    {
        "real": ["array-like"],
        "generated": ["array-like"],
        "bin_size": _COMMON_CONSTRAINTS["bin_size"],
        "min_isis": _COMMON_CONSTRAINTS["min_isis"],
    },
    prefer_skip_nested_validation=True,
)
def mean_isi_rmse(real, generated, *, bin_size=1.0, min_isis=2):
    """RMSE across neurons between the mean inter-spike intervals of two data sets.

    The k spikes of a bin sit at ``bin_start + bin_size * (j + 1) / (k + 1)``; intervals are
    taken within trials and pooled per neuron. Neurons with fewer than ``min_isis`` intervals
    in either data set are left out (with a warning when only one side lacks them).

    Parameters
    ----------
    real, generated : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
        Spike counts with the same neurons.
    bin_size : float or quantities.Quantity, default=1.0
        Duration of a bin; intervals are in this unit (seconds for a time quantity).
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
        "bin_size": _COMMON_CONSTRAINTS["bin_size"],
        "min_isis": _COMMON_CONSTRAINTS["min_isis"],
    },
    prefer_skip_nested_validation=True,
)
def std_isi_rmse(real, generated, *, bin_size=1.0, min_isis=2):
    """RMSE across neurons between the standard deviations of inter-spike intervals.

    Intervals are built as in :func:`mean_isi_rmse`; the standard deviation is the population
    one (``ddof=0``).

    Parameters
    ----------
    real, generated : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
        Spike counts with the same neurons.
    bin_size : float or quantities.Quantity, default=1.0
        Duration of a bin; intervals are in this unit (seconds for a time quantity).
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
    {"real": ["array-like"], "generated": ["array-like"], **_COMMON_CONSTRAINTS},
    prefer_skip_nested_validation=True,
)
def compare_spike_statistics(
    real, generated, *, bin_size=1.0, min_isis=2, bandwidth="scott", eps=1e-10
):
    """All sample-quality statistics of generated against real spike counts.

    Each data set is read once. The discrepancies are those of
    :func:`population_spike_count_kl`, :func:`pairwise_correlation_rmse`,
    :func:`mean_rate_rmse`, :func:`mean_isi_rmse` and :func:`std_isi_rmse`; the Pearson
    correlations compare the same per-neuron statistics, the off-diagonal correlations and the
    population spike-count densities entry by entry.

    Parameters
    ----------
    real, generated : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
        Spike counts with the same neurons.
    bin_size : float or quantities.Quantity, default=1.0
        Duration of a bin, the unit of rates and intervals (seconds for a time quantity).
    min_isis : int, default=2
        Fewest intervals a neuron needs for its ISI statistics to be defined.
    bandwidth : {"scott", "silverman"} or float, default="scott"
        Kernel width of the population spike-count density.
    eps : float, default=1e-10
        Floor of the population spike-count densities.

    Returns
    -------
    results : dict of str to float
        Lower is better for ``"population_spike_count_kl"``, ``"pairwise_correlation_rmse"``,
        ``"mean_rate_rmse"``, ``"mean_isi_rmse"`` and ``"std_isi_rmse"``; higher is better for
        ``"population_spike_count_pearson_r"``, ``"pairwise_correlation_pearson_r"``,
        ``"mean_rate_pearson_r"``, ``"mean_isi_pearson_r"`` and ``"std_isi_pearson_r"``.

    Examples
    --------
    >>> import numpy as np
    >>> from ldns_sklearn.metrics import compare_spike_statistics
    >>> rng = np.random.default_rng(0)
    >>> rates = rng.uniform(0.1, 1.0, size=8)
    >>> real = rng.poisson(rates, size=(60, 25, 8))
    >>> generated = rng.poisson(rates, size=(60, 25, 8))
    >>> results = compare_spike_statistics(real, generated)
    >>> sorted(results)[:3]
    ['mean_isi_pearson_r', 'mean_isi_rmse', 'mean_rate_pearson_r']
    >>> results["mean_rate_pearson_r"] > 0.95
    True
    """
    real, generated = _check_pair(real, generated)
    return _discrepancies(
        _accumulate(real),
        _accumulate(generated),
        min_isis=min_isis,
        bandwidth=bandwidth,
        eps=eps,
        bin_size=_bin_size_value(bin_size),
    )


def _relative(value, reference):
    if reference > 0:
        return value / reference
    # A zero floor means the real data are exactly reproducible in this statistic: matching
    # it is perfect, missing it is infinitely worse than the floor.
    return 0.0 if value == 0 else np.inf


@validate_params(
    {
        "real": ["array-like"],
        "generated": ["array-like"],
        "min_isis": _COMMON_CONSTRAINTS["min_isis"],
        "bandwidth": _COMMON_CONSTRAINTS["bandwidth"],
        "eps": _COMMON_CONSTRAINTS["eps"],
    },
    prefer_skip_nested_validation=True,
)
def generation_score(real, generated, *, min_isis=2, bandwidth="scott", eps=1e-10):
    """One number for sample quality, higher is better: minus the mean relative discrepancy.

    The five discrepancies of :func:`compare_spike_statistics` (population spike-count KL,
    RMSE of pairwise correlations, mean rates, mean ISIs and ISI standard deviations) are
    each divided by a reference scale computed from ``real`` itself: the same discrepancy
    between its even and its odd trials (the "data resample" floor of the paper). Then::

        score = -mean_k( d_k(real, generated) / d_k(real[0::2], real[1::2]) )

    A score near -1 means generated data differ from real data about as much as two halves
    of the real data differ from each other; more negative is worse. The ratios make the
    score free of units and of ``bin_size``. Discrepancies that are undefined (NaN, e.g. ISI
    statistics when no neuron fires twice) are left out of the mean; a zero reference gives a
    ratio of 0 if the generated discrepancy is also 0 and infinity otherwise.

    Parameters
    ----------
    real : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
        Real spike counts; at least 2 trials.
    generated : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
        Generated spike counts with the same neurons.
    min_isis : int, default=2
        Fewest intervals a neuron needs for its ISI statistics to be defined.
    bandwidth : {"scott", "silverman"} or float, default="scott"
        Kernel width of the population spike-count density.
    eps : float, default=1e-10
        Floor of the population spike-count densities.

    Returns
    -------
    score : float
        At most 0; NaN if no discrepancy is defined.

    Examples
    --------
    >>> import numpy as np
    >>> from ldns_sklearn.metrics import generation_score
    >>> rng = np.random.default_rng(0)
    >>> rates = rng.uniform(0.1, 1.0, size=6)
    >>> real = rng.poisson(rates, size=(80, 20, 6))
    >>> good = rng.poisson(rates, size=(80, 20, 6))
    >>> bad = rng.poisson(rates[::-1], size=(80, 20, 6))
    >>> generation_score(real, good) > generation_score(real, bad)
    True
    """
    real, generated = _check_pair(real, generated)
    if len(real) < 2:
        raise ValueError(
            "generation_score needs at least 2 real trials: its reference scale compares "
            "the even and the odd trials of real."
        )
    options = {"min_isis": min_isis, "bandwidth": bandwidth, "eps": eps}
    even, odd = _accumulate(real[0::2]), _accumulate(real[1::2])
    reference = _discrepancies(even, odd, **options)
    achieved = _discrepancies(_merge(even, odd), _accumulate(generated), **options)
    ratios = [
        _relative(achieved[name], reference[name])
        for name in DISCREPANCIES
        if np.isfinite(achieved[name]) and np.isfinite(reference[name])
    ]
    return -float(np.mean(ratios)) if ratios else float("nan")


# --------------------------------------------------------------------------------------------
# scikit-learn scorers
# --------------------------------------------------------------------------------------------


def _n_trials(X):
    import neo

    return len(X.segments) if isinstance(X, neo.Block) else len(X)


class _GenerationScorer:
    """Callable ``scorer(estimator, X, y=None)``; a class (not a closure) so it pickles."""

    def __init__(self, metric, n_samples, random_state):
        self.metric = metric
        self.n_samples = n_samples
        self.random_state = random_state

    def __repr__(self):
        return (
            f"make_generation_scorer(metric={self.metric!r}, n_samples={self.n_samples!r}, "
            f"random_state={self.random_state!r})"
        )

    def __call__(self, estimator, X, y=None):
        n_samples = _n_trials(X) if self.n_samples is None else self.n_samples
        kwargs = {"random_state": self.random_state}
        if y is not None and self.n_samples is None:
            # A conditional model generates one trial per condition of the held-out trials.
            kwargs["y"] = y
        generated = estimator.sample(n_samples, **kwargs)
        X, generated = (self._counts(estimator, trials) for trials in (X, generated))
        if self.metric == "generation_score":
            return generation_score(X, generated)
        value = compare_spike_statistics(X, generated)[self.metric]
        return -value if self.metric in DISCREPANCIES else value

    @staticmethod
    def _counts(estimator, trials):
        if not is_neo_trials(trials):
            return trials
        if not hasattr(estimator, "__getitem__"):
            raise TypeError(
                "The trials are Neo objects, so the scorer bins them with the estimator's "
                f"first step, but {type(estimator).__name__} is not a pipeline; pass binned "
                "counts or a pipeline that starts with a SpikeTrainBinner."
            )
        return estimator[0].transform(trials)


@validate_params(
    {
        "metric": [StrOptions({"generation_score", *DISCREPANCIES, *PEARSON_RS})],
        "n_samples": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_generation_scorer(metric="generation_score", n_samples=None, random_state=0):
    """A scikit-learn scorer that samples from a generative estimator and compares with X.

    The returned ``scorer(estimator, X, y=None)`` draws ``len(X)`` trials (or
    ``n_samples``) with ``estimator.sample(n, random_state=random_state)`` (passing ``y`` too
    when it is given and ``n_samples`` is None, for conditional models), bins Neo trials
    through the estimator's first step (``estimator[0].transform``, e.g. a
    ``SpikeTrainBinner``) and scores the samples against X. Use it as ``scoring=`` of
    ``GridSearchCV`` or ``cross_validate``.

    Parameters
    ----------
    metric : str, default="generation_score"
        ``"generation_score"`` (see :func:`generation_score`) or a key of
        :func:`compare_spike_statistics`. Discrepancies (lower is better) are negated so
        that, as scikit-learn expects, a higher score is always better.
    n_samples : int, default=None
        Number of trials to generate; None generates as many as X holds.
    random_state : int, RandomState instance or None, default=0
        Passed to ``estimator.sample``; fixed by default so every candidate of a search is
        scored on equally drawn samples.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None) -> float``.

    Examples
    --------
    >>> import numpy as np
    >>> from ldns_sklearn.metrics import make_generation_scorer
    >>> class RateModel:  # a toy generative estimator with a sample method
    ...     def __init__(self, rate):
    ...         self.rate = rate
    ...     def sample(self, n, random_state=None):
    ...         rng = np.random.default_rng(random_state)
    ...         return rng.poisson(self.rate, size=(n, 20, 4))
    >>> X = np.random.default_rng(1).poisson(0.5, size=(30, 20, 4))
    >>> scorer = make_generation_scorer("mean_rate_rmse")
    >>> scorer(RateModel(0.5), X) > scorer(RateModel(2.0), X)
    True
    """
    return _GenerationScorer(metric, n_samples, random_state)
