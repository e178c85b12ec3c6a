"""Input checks of the metrics: spike counts, pairs of data sets, bin sizes."""

from __future__ import annotations

from numbers import Integral, Real

import quantities as pq

from .._neo import check_time_quantity
from .._sklearn_compat import Interval, StrOptions
from .._validation import check_trials

# Constraints of the options shared by the public functions (for ``validate_params``).
COMMON_CONSTRAINTS = {
    "bin_size": [pq.Quantity, None],
    "min_isis": [Interval(Integral, 1, None, closed="left")],
    "bandwidth": [StrOptions({"scott", "silverman"}), Interval(Real, 0, None, closed="neither")],
    "eps": [Interval(Real, 0, 1, closed="neither")],
}


def check_counts(X, name):
    """Validated counts; a 3-D array or a list of 2-D arrays (the caller's dtype kept)."""
    # dtype=None keeps the caller's (possibly small integer) dtype: a float64 copy of a large
    # recording would need eight bytes per count.
    return check_trials(X, name=name, counts=True, dtype=None)


def n_neurons(trials) -> int:
    return trials.shape[2] if hasattr(trials, "shape") else trials[0].shape[1]


def check_pair(real, generated):
    """Validated real and generated counts of the same neurons."""
    real = check_counts(real, "real")
    generated = check_counts(generated, "generated")
    if n_neurons(real) != n_neurons(generated):
        raise ValueError(
            f"real has {n_neurons(real)} neurons but generated has {n_neurons(generated)}; "
            "both must record the same neurons."
        )
    return real, generated


def bin_size_in_seconds(bin_size) -> float:
    """Seconds per bin for a time quantity; 1.0 for None (statistics per bin).

    The units policy of the library: a time is a ``quantities.Quantity`` (``5 * pq.ms``).
    ``validate_params`` already refuses bare numbers here, as ``SpikeTrainBinner`` does,
    so ``0.005`` is never silently read as seconds or milliseconds.
    """
    if bin_size is None:
        return 1.0
    return float(check_time_quantity(bin_size, "bin_size", positive=True).rescale(pq.s))
