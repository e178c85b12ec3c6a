"""Spike rasters of one trial."""

from __future__ import annotations

import numpy as np

from .._neo.spike_times import even_spike_positions
from .._validation import check_trials
from ._common import new_axes


def _spike_times(trial):
    """Per-neuron spike times and a time unit label of one trial (Neo or counts)."""
    if isinstance(trial, np.ndarray) or (
        isinstance(trial, (list, tuple)) and trial and not hasattr(trial[0], "times")
    ):
        counts = check_trials([trial], name="trial", counts=True, dtype=np.int64)[0]
        # Spikes of a bin spread evenly inside it, as SpikeTrainBinner places them.
        times = [even_spike_positions(neuron, len(neuron)) for neuron in counts.T]
        return times, "bins"
    spiketrains = trial.spiketrains if hasattr(trial, "spiketrains") else trial
    if not spiketrains:
        raise ValueError("trial holds no spike trains.")
    units = spiketrains[0].units
    times = [np.asarray(train.times.rescale(units).magnitude) for train in spiketrains]
    return times, units.dimensionality.string


def plot_raster(trial, ax=None, *, color="k", title=None):
    """Spike raster of one trial: one row per neuron, one tick per spike.

    Parameters
    ----------
    trial : list of neo.SpikeTrain, neo.Segment or array of shape (n_bins, n_neurons)
        One trial. Counts are drawn with the spikes of a bin spread evenly inside it.
    ax : matplotlib Axes, optional
        Where to draw; a new figure if omitted.
    color : color, default="k"
    title : str, optional

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from ldns_sklearn.plotting import plot_raster
    >>> ax = plot_raster(np.array([[0, 1], [2, 0], [0, 1]]))
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('time (bins)', 'neuron')
    >>> [float(tick) for tick in ax.get_yticks() if -0.5 <= tick <= 1.5]  # whole neurons
    [0.0, 1.0]
    """
    from matplotlib.ticker import MaxNLocator

    if ax is None:
        ax = new_axes(width=6.0, height=3.0)
    times, unit = _spike_times(trial)
    ax.eventplot(times, colors=color, linelengths=0.8, linewidths=0.8)
    ax.set_xlabel(f"time ({unit})")
    ax.set_ylabel("neuron")
    ax.set_ylim(-0.5, len(times) - 0.5)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        ax.set_title(title)
    return ax
