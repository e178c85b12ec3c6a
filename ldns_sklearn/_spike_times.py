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

__all__ = ["SPIKE_PLACEMENTS", "even_spike_positions", "random_spike_positions"]

#: How the spikes of a bin can be placed in time.
SPIKE_PLACEMENTS = ("even", "random")

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
