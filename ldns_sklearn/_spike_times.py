"""Where the spikes of binned counts sit inside their bins: one convention for the library.

Counts carry no spike times; wherever times are needed (counts → ``neo.SpikeTrain``,
rasters, inter-spike intervals) the k spikes of a bin are spread evenly inside it, as the
paper's code does (``linspace`` over the bin without its end points). The ISI statistics of
:mod:`ldns_sklearn.metrics` follow the same convention in closed form.
"""

from __future__ import annotations

import numpy as np

__all__ = ["even_spike_positions"]


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
