"""The statistics compared between real and generated counts: one table, one route.

Each :class:`Statistic` of :data:`STATISTICS` says what its comparison needs summed (parts
of :class:`~._accumulator.SpikeSums`, lag products, the real data's neuron groups) and
which entries of the two data sets' statistics it compares. :func:`discrepancies`
evaluates every row (for :func:`~ldns_sklearn.metrics.compare_spike_statistics`, the score
and the scorers); each public ``*_rmse`` function evaluates its one row through
:func:`compare_one`, reading only what that row needs. A function and its entry of
``compare_spike_statistics`` are one computation, not two that agree by care.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.signal import convolve

from ._accumulator import ALL_PARTS, SpikeSums
from ._checks import bin_size_in_seconds, check_pair
from ._statistics import neuron_groups, statistics
from ._temporal import DEFAULT_N_GROUPS, resolve_max_lag


@dataclass(frozen=True)
class Statistic:
    """One compared statistic: what it needs and which entries it compares.

    ``entries(real, generated, options)`` takes the two data sets' :func:`statistics` and
    the options (``bandwidth``, ``eps``) and returns the arrays compared entry by entry:
    by the KL divergence if ``kl``, else by the RMSE over entries defined in both (those
    defined in only one are counted for a warning if ``one_sided``); and by Pearson's r.
    """

    discrepancy: str
    pearson_r: str
    label: str
    parts: frozenset
    entries: Callable
    lags: bool = False
    groups: bool = False
    one_sided: bool = False
    kl: bool = False


def _population(real, generated, options):
    return _population_densities(
        real["population_counts"], generated["population_counts"],
        options["bandwidth"], options["eps"],
    )


def _key(key, select=lambda value: value):
    """Entries: the statistic ``key`` of both data sets, through ``select``."""
    return lambda real, generated, options: (select(real[key]), select(generated[key]))


def _off_diagonal(matrix):
    return matrix[np.triu_indices_from(matrix, k=1)]


def _after_lag_zero(curves):
    # Lag 0 of the curves is a variance (auto) or a plain correlation (cross), both compared
    # elsewhere; the temporal statistics compare lags 1..max_lag, as the paper's figures.
    return curves[:, 1:]


def _psth(real, generated, options):
    """The PSTHs over the bins both reach (trials aligned at their start)."""
    n_bins = min(len(real["psth"]), len(generated["psth"]))
    return real["psth"][:n_bins], generated["psth"][:n_bins]


#: The compared statistics, in the paper's table order, then the temporal and trial ones.
STATISTICS = (
    Statistic("population_spike_count_kl", "population_spike_count_pearson_r",
              "population spike count", frozenset({"population"}), _population, kl=True),
    Statistic("pairwise_correlation_rmse", "pairwise_correlation_pearson_r",
              "pairwise correlation", frozenset({"correlation"}),
              _key("correlation", _off_diagonal), one_sided=True),
    Statistic("mean_rate_rmse", "mean_rate_pearson_r", "mean rate", frozenset(),
              _key("mean_rate")),
    Statistic("mean_isi_rmse", "mean_isi_pearson_r", "mean ISI", frozenset({"isi"}),
              _key("mean_isi"), one_sided=True),
    Statistic("std_isi_rmse", "std_isi_pearson_r", "ISI standard deviation",
              frozenset({"isi"}), _key("std_isi"), one_sided=True),
    Statistic("auto_correlation_rmse", "auto_correlation_pearson_r", "auto-correlation",
              frozenset(), _key("auto_correlation", _after_lag_zero), lags=True),
    Statistic("cross_correlation_rmse", "cross_correlation_pearson_r", "cross-correlation",
              frozenset(), _key("cross_correlation", _after_lag_zero), lags=True,
              groups=True),
    Statistic("fano_factor_rmse", "fano_factor_pearson_r", "Fano factor",
              frozenset({"fano"}), _key("fano_factor"), one_sided=True),
    Statistic("psth_rmse", "psth_pearson_r", "PSTH", frozenset({"psth"}), _psth),
)
_BY_NAME = {statistic.discrepancy: statistic for statistic in STATISTICS}

# Discrepancies (lower is better) that generation_score combines, and the agreement
# measures (higher is better) that compare_spike_statistics adds.
DISCREPANCIES = tuple(statistic.discrepancy for statistic in STATISTICS)
PEARSON_RS = tuple(statistic.pearson_r for statistic in STATISTICS)


def summed_pair(real, generated, parts=ALL_PARTS, *, lags=True, groups=True, max_lag=None,
                n_groups=DEFAULT_N_GROUPS):
    """:class:`SpikeSums` of validated real and generated counts: ``parts``, and the lag
    products if ``lags``, over the neuron groups of ``real``'s correlations if ``groups``
    (so that the cross-correlations of both compare the same pairs)."""
    if lags:
        max_lag = resolve_max_lag(max_lag, {"real": real, "generated": generated})
    real_sums = SpikeSums.from_trials(real, parts | {"correlation"} if groups else parts)
    generated_sums = SpikeSums.from_trials(generated, parts)
    if lags:
        shared = neuron_groups(real_sums, n_groups) if groups else ()
        for sums, trials in ((real_sums, real), (generated_sums, generated)):
            sums.add_lags(trials, shared, max_lag)
    return real_sums, generated_sums


def _evaluate(statistic, real, generated, options, one_sided):
    """The statistic's discrepancy and Pearson r between two data sets' statistics."""
    real_entries, generated_entries = statistic.entries(real, generated, options)
    if statistic.kl:
        distance = _kl(real_entries, generated_entries)
    else:
        counted = one_sided if statistic.one_sided else None
        distance = _rmse(real_entries, generated_entries, statistic.label, counted)
    return distance, _pearson_r(real_entries, generated_entries)


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
    options = {"bandwidth": bandwidth, "eps": eps}
    values = [_evaluate(s, real, generated, options, one_sided) for s in STATISTICS]
    return {
        **{s.discrepancy: distance for s, (distance, _) in zip(STATISTICS, values, strict=True)},
        **{s.pearson_r: r for s, (_, r) in zip(STATISTICS, values, strict=True)},
    }


def compare_one(name, real, generated, *, bin_size=None, min_isis=2, bandwidth="scott",
                eps=1e-10, max_lag=None, n_groups=DEFAULT_N_GROUPS):
    """The ``name`` entry of :func:`compare_spike_statistics`, summing only what it needs.

    Called by the public function of that statistic: its warning points at that
    function's caller.
    """
    statistic = _BY_NAME[name]
    real, generated, bin_size = check_pair(real, generated, bin_size)
    real_sums, generated_sums = summed_pair(
        real, generated, statistic.parts, lags=statistic.lags, groups=statistic.groups,
        max_lag=max_lag, n_groups=n_groups,
    )
    seconds = bin_size_in_seconds(bin_size)
    one_sided = {}
    distance, _ = _evaluate(
        statistic,
        statistics(real_sums, seconds, min_isis),
        statistics(generated_sums, seconds, min_isis),
        {"bandwidth": bandwidth, "eps": eps},
        one_sided,
    )
    # Levels: warn_one_sided, this function, the public function, its parameter check.
    warn_one_sided(one_sided, stacklevel=4)
    return distance


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
