"""Where the spikes of binned counts sit inside their bins: one convention for the library.

Counts carry no spike times; wherever times are needed (counts → ``neo.SpikeTrain``,
rasters, inter-spike intervals) the k spikes of a bin are spread evenly inside it, as the
paper's code does (``linspace`` over the bin without its end points). The ISI statistics of
:mod:`ldns_sklearn.metrics` follow the same convention in closed form.

Even placement makes every interval below one bin an artefact (a bin of 3 spikes gives two
intervals of exactly a quarter bin). For analyses below the bin scale, spikes can instead
be drawn uniformly inside their bin (:func:`random_spike_positions`); neither placement
adds information the counts do not have.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "SPIKE_PLACEMENTS",
    "even_spike_positions",
    "random_spike_positions",
    "spike_bins",
    "spike_positions",
]

#: How the spikes of a bin can be placed in time.
SPIKE_PLACEMENTS = ("even", "random")

# Elephant's default BinnedSpikeTrain tolerance, in bins: positions closer than this below
# an integer are round-off of a spike on a bin edge; durations are whole numbers of bins
# within it; trains of one trial share t_start/t_stop within it.
BIN_TOLERANCE = 1e-8

# Drawn positions keep this fraction of a bin away from its edges, so that binning the
# trains again (with the round-off tolerance of a binner) gives back the counts exactly.
_EDGE_MARGIN = 1e-6


def even_spike_positions(per_bin: np.ndarray, n_bins: int) -> np.ndarray:
    """Spike positions, in bins, of counts ``per_bin`` (neuron-major runs of ``n_bins``).

    The k spikes of bin b sit at ``b + (j + 1) / (k + 1)``, j = 0..k-1, each neuron's
    positions counted from its own first bin (so they can be split per neuron).

    Examples
    --------
    >>> even_spike_positions(np.array([1, 0, 2]), 3)   # 1 spike in bin 0, 2 in bin 2
    array([0.5       , 2.33333333, 2.66666667])
    """
    per_bin = np.asarray(per_bin, dtype=np.int64)
    n_spikes = int(per_bin.sum())
    bins = np.repeat(np.arange(per_bin.size) % n_bins, per_bin)
    k = np.repeat(per_bin, per_bin)
    j = np.arange(n_spikes) - np.repeat(np.cumsum(per_bin) - per_bin, per_bin)
    return bins + (j + 1) / (k + 1)


def random_spike_positions(per_bin: np.ndarray, n_bins: int, rng) -> np.ndarray:
    """Like :func:`even_spike_positions`, with each spike drawn uniformly inside its bin.

    Within a bin the positions are sorted, so each neuron's positions increase. ``rng`` is
    a ``numpy.random.Generator``.

    Examples
    --------
    >>> positions = random_spike_positions(np.array([1, 0, 2]), 3, np.random.default_rng(0))
    >>> np.floor(positions).astype(int).tolist()      # the same bins as the counts say
    [0, 2, 2]
    """
    per_bin = np.asarray(per_bin, dtype=np.int64)
    group = np.repeat(np.arange(per_bin.size), per_bin)
    offsets = _EDGE_MARGIN + (1.0 - 2 * _EDGE_MARGIN) * rng.random(group.size)
    # Sort within each bin: groups are contiguous and in order, so sorting by (group, offset)
    # keeps every spike in its bin.
    offsets = offsets[np.lexsort((offsets, group))]
    return group % n_bins + offsets


def spike_positions(per_bin: np.ndarray, n_bins: int, placement: str, rng) -> np.ndarray:
    """Positions placed as ``placement`` says: :func:`even_spike_positions` for
    ``"even"``, :func:`random_spike_positions` (drawing from ``rng``) for ``"random"``.

    Examples
    --------
    >>> spike_positions(np.array([1, 0, 2]), 3, "even", None).tolist()
    [0.5, 2.333333333333333, 2.6666666666666665]
    """
    if placement == "even":
        return even_spike_positions(per_bin, n_bins)
    return random_spike_positions(per_bin, n_bins, rng)


def spike_bins(times: np.ndarray, origin, reciprocal) -> np.ndarray:
    """Bin index of each spike time: ``floor((t - origin) * reciprocal)``, Elephant's way.

    ``reciprocal`` is ``1 / bin_size`` (Elephant multiplies by it; dividing would round
    differently on edges); all in the dtype of ``times`` (float32 trains bin in float32).
    A position whose fraction is within :data:`BIN_TOLERANCE` of 1 is a spike on the next
    edge that round-off moved left (Elephant's ``round_binning_errors``); a position a hair
    below 0 belongs to bin 0.

    Examples
    --------
    >>> spike_bins(np.array([0.0, 0.0049999999999, 0.012]), 0.0, 200.0).tolist()
    [0, 1, 2]
    """
    dtype = times.dtype.type
    position = (times - origin) * reciprocal
    whole = np.floor(position)
    # `position - floor(position)` equals `position % 1` bit for bit and costs ten times less.
    on_edge = position - whole >= dtype(1 - BIN_TOLERANCE)
    index = whole.astype(np.int64) + on_edge
    return np.maximum(index, 0, out=index)
