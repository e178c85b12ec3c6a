"""One figure with every comparison of generated against real data."""

from __future__ import annotations

import numpy as np

from ..metrics import generation_score
from ._common import pyplot
from ._statistics import (
    PER_NEURON,
    draw_auto_correlation,
    draw_identity_scatter,
    draw_population_histogram,
    draw_psth,
    labelled_statistics,
)


def plot_comparison(real, generated, *, bin_size=None, max_lag=None, title=None):
    """A summary figure of generated against real spike trains, ready for a paper.

    Top row: per-neuron mean rate, mean ISI, ISI standard deviation and Fano factor, each a
    scatter of real against generated (one dot per neuron, identity line, Pearson r).
    Bottom row: pairwise correlations (one dot per pair), the population spike-count
    histograms, the auto-correlation over lags and the PSTHs of the most active neurons.
    The title gives the generation score (:func:`ldns_sklearn.metrics.generation_score`;
    about -1 is as close as a second real recording) unless ``title`` is given.

    Parameters
    ----------
    real, generated : array-like of shape (n_trials, n_bins, n_neurons), list of 2-D arrays, or Neo
        Spike counts, or Neo trials (as ``LDNSPipeline.sample`` returns them).
    bin_size : quantities.Quantity or None, default=None
        Bin duration, for units (None: per bin and in bins, or the bin size generated Neo
        trains record).
    max_lag : int or None, default=None
        Largest lag of the auto-correlation panel, in bins.
    title : str, optional
        Figure title; by default the generation score.

    Returns
    -------
    figure : matplotlib Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> import quantities as pq
    >>> from ldns_sklearn.plotting import plot_comparison
    >>> rng = np.random.default_rng(0)
    >>> real, generated = rng.poisson(0.3, (2, 40, 30, 6))
    >>> figure = plot_comparison(real, generated, bin_size=5 * pq.ms)
    >>> len(figure.axes)
    8
    >>> figure.get_suptitle().startswith("generation score")
    True
    """
    if isinstance(generated, dict):
        raise TypeError(
            "plot_comparison compares one generated data set; plot_auto_correlation and "
            "plot_population_spike_count take a dict of several."
        )
    real_stats, labelled, units = labelled_statistics(real, generated, bin_size, max_lag=max_lag)
    generated_stats = labelled["generated"]
    figure, axes = pyplot().subplots(2, 4, figsize=(15, 7), layout="constrained")
    for ax, (key, name, unit) in zip(axes[0], PER_NEURON, strict=True):
        draw_identity_scatter(
            ax,
            units.shown(real_stats[key], unit),
            units.shown(generated_stats[key], unit),
            name=name,
            unit=getattr(units, unit) if unit else None,
        )
    upper = np.triu_indices_from(real_stats["correlation"], k=1)
    draw_identity_scatter(
        axes[1, 0],
        real_stats["correlation"][upper],
        generated_stats["correlation"][upper],
        name="pairwise correlation",
        what="pair of neurons",
    )
    draw_population_histogram(axes[1, 1], real_stats, labelled)
    draw_auto_correlation(axes[1, 2], real_stats, labelled, units)
    draw_psth(axes[1, 3], real_stats, labelled, units, n_neurons=3)
    if title is None:
        score = generation_score(real, generated, bin_size=bin_size)
        title = f"generation score {score:.2f} (−1 ≈ as close as a second real recording)"
    figure.suptitle(title)
    return figure
