"""Figures for LDNS models: rasters, real-vs-generated statistics, training curves.

Needs matplotlib (``pip install ldns-sklearn[plot]``). Every function draws into axes you
pass (or makes a new figure with room for its labels) and returns what it drew on, so
figures compose; :func:`plot_comparison` puts the paper's comparisons into one figure.
Every function takes spike counts or Neo trials (what ``LDNSPipeline.sample`` returns);
axes name their statistic and its units (rates per second and times in ms with a
``bin_size`` under a second, as rasters show spike times; in seconds for longer bins; per
bin and in bins without).
"""

from ._comparison import plot_comparison
from ._raster import plot_raster
from ._statistics import (
    plot_auto_correlation,
    plot_population_spike_count,
    plot_psth,
    plot_spike_statistics,
)
from ._training import plot_training_history

__all__ = [
    "plot_auto_correlation",
    "plot_comparison",
    "plot_population_spike_count",
    "plot_psth",
    "plot_raster",
    "plot_spike_statistics",
    "plot_training_history",
]
