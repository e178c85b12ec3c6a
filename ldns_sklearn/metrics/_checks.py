"""Input checks of the metrics: spike counts, pairs of data sets, bin sizes."""

from __future__ import annotations

from numbers import Integral, Real

import quantities as pq

from .._memory import check_fits_in_memory
from .._neo.binning import spiketrains_to_counts
from .._neo.reading import check_time_quantity, is_neo_trials, neo_trials
from .._sklearn_compat import Interval, StrOptions
from .._validation import check_trials

# Constraints of the options shared by the public functions (for ``validate_params``).
COMMON_CONSTRAINTS = {
    "bin_size": [pq.Quantity, None],
    "min_isis": [Interval(Integral, 1, None, closed="left")],
    "bandwidth": [StrOptions({"scott", "silverman"}), Interval(Real, 0, None, closed="neither")],
    "eps": [Interval(Real, 0, 1, closed="neither")],
    "max_lag": [Interval(Integral, 0, None, closed="left"), None],
    "n_groups": [Interval(Integral, 1, None, closed="left")],
}


def neo_bin_size(X, name, bin_size):
    """The bin size to count Neo trials ``X`` in: ``bin_size`` if given, else the one
    generated trains record (annotation ``bin_size``); a clear error if neither."""
    bin_size = recorded_bin_size(X) if bin_size is None else bin_size
    if bin_size is None:
        raise TypeError(
            f"{name} holds Neo spike trains without a recorded bin size; pass bin_size= "
            "(e.g. 5 * pq.ms) to count their spikes in bins."
        )
    return bin_size


def recorded_bin_size(*datasets):
    """The bin size the first generated Neo trains among ``datasets`` record, or None."""
    for trials in datasets:
        if is_neo_trials(trials):
            trains = neo_trials(trials)[1][0]
            recorded = trains[0].annotations.get("bin_size") if trains else None
            if isinstance(recorded, pq.Quantity):
                return recorded
    return None


def check_counts(X, name, bin_size=None):
    """Validated counts (a 3-D array or a list of 2-D arrays, the caller's dtype kept);
    Neo trials are counted first, in ``bin_size`` or the bin size their trains record."""
    if is_neo_trials(X):
        X = spiketrains_to_counts(X, neo_bin_size(X, name, bin_size))
    # dtype=None keeps the caller's (possibly small integer) dtype: a float64 copy of a large
    # recording would need eight bytes per count.
    return check_trials(X, name=name, counts=True, dtype=None)


def n_neurons(trials) -> int:
    return trials.shape[2] if hasattr(trials, "shape") else trials[0].shape[1]


def check_pair(real, generated, bin_size=None):
    """Validated real and generated counts of the same neurons, and the bin size to use.

    Neo trials (as ``LDNSPipeline.sample`` returns them) are counted in ``bin_size``, or in
    the bin size that generated trains record; that size then also sets the units of rates
    and intervals, as a given ``bin_size`` does.
    """
    if bin_size is None:
        bin_size = recorded_bin_size(generated, real)
    real = check_counts(real, "real", bin_size)
    generated = check_counts(generated, "generated", bin_size)
    if n_neurons(real) != n_neurons(generated):
        raise ValueError(
            f"real has {n_neurons(real)} neurons but generated has {n_neurons(generated)}; "
            "both must record the same neurons."
        )
    check_pairwise_memory(n_neurons(real))
    return real, generated, bin_size


def check_pairwise_memory(n_neurons: int) -> None:
    """Refuse, before any work, comparing more neurons than their pairs fit in memory.

    The pairwise statistics hold about a dozen neurons × neurons float64 matrices at once
    (sums of products and correlations of real, its halves and generated).
    """
    check_fits_in_memory(
        12 * 8 * float(n_neurons) ** 2,
        f"comparing the pairwise correlations of {n_neurons} neurons",
        "Compare a subset of the neurons at a time (e.g. real[..., :2000] with "
        "generated[..., :2000]).",
    )


def bin_size_in_seconds(bin_size) -> float:
    """Seconds per bin for a time quantity; 1.0 for None (statistics per bin).

    The units policy of the library: a time is a ``quantities.Quantity`` (``5 * pq.ms``).
    ``validate_params`` already refuses bare numbers here, as ``SpikeTrainBinner`` does,
    so ``0.005`` is never silently read as seconds or milliseconds.
    """
    if bin_size is None:
        return 1.0
    return float(check_time_quantity(bin_size, "bin_size", positive=True).rescale(pq.s))
