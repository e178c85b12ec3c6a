"""Real against generated statistics: scatters, histograms, correlation curves, PSTHs."""

from __future__ import annotations

import numpy as np

from ..metrics import spike_statistics
from ..metrics._checks import recorded_bin_size
from ._common import Units, as_labelled, new_axes

# Per-neuron statistics of the scatter panels: key, name, unit attribute of Units (or None).
PER_NEURON = (
    ("mean_rate", "mean rate", "rate"),
    ("mean_isi", "mean ISI", "time"),
    ("std_isi", "std ISI", "time"),
    ("fano_factor", "Fano factor", None),
)


def draw_identity_scatter(ax, real, generated, *, name, unit=None, what="neuron"):
    """Real (x) against generated (y) with the identity line, Pearson r and labels."""
    real, generated = np.ravel(real), np.ravel(generated)
    keep = np.isfinite(real) & np.isfinite(generated)
    real, generated = real[keep], generated[keep]
    ax.scatter(real, generated, s=8, alpha=0.6)
    if real.size:
        low = min(real.min(), generated.min())
        high = max(real.max(), generated.max())
        ax.plot([low, high], [low, high], color="0.5", lw=1, ls="--", label="identity")
    title = name
    if real.size > 1 and np.std(real) > 0 and np.std(generated) > 0:
        title += f"\nr = {np.corrcoef(real, generated)[0, 1]:.3f}"
    ax.set_title(title)
    suffix = f" ({unit})" if unit else ""
    ax.set_xlabel(f"real{suffix}")
    ax.set_ylabel(f"generated{suffix}")
    ax.text(
        0.03, 0.97, f"one dot = one {what}", transform=ax.transAxes, ha="left", va="top",
        fontsize="small", color="0.4",
    )


def draw_population_histogram(ax, real_stats, labelled_stats):
    real = real_stats["population_counts"]
    largest = max(real.max(), *(s["population_counts"].max() for s in labelled_stats.values()))
    edges = np.arange(largest + 2) - 0.5
    ax.hist(real, bins=edges, density=True, color="k", alpha=0.3, label="real")
    for label, stats in labelled_stats.items():
        ax.hist(stats["population_counts"], bins=edges, density=True, histtype="step", lw=1.5,
                label=label)
    ax.set_xlabel("population spike count per bin (spikes)")
    ax.set_ylabel("fraction of bins")
    ax.set_title("population spike count")
    ax.legend(frameon=False)


def draw_auto_correlation(ax, real_stats, labelled_stats, units):
    """Mean over neurons of the auto-correlation at lags 1..max_lag (lag 0 is the variance)."""
    def draw(stats, style, label):
        # Each data set's own lags: shorter trials may allow fewer.
        curve = stats["auto_correlation"].mean(axis=0)
        ax.plot(units.times(len(curve))[1:], curve[1:], style, ms=3, label=label)

    draw(real_stats, "k-o", "real")
    for label, stats in labelled_stats.items():
        draw(stats, "-o", label)
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.set_xlabel(f"lag ({units.time})")
    ax.set_ylabel(f"auto-correlation (({units.rate})²)")
    ax.set_title("spike-count auto-correlation\n(mean over neurons)")
    ax.legend(frameon=False)


def draw_psth(ax, real_stats, labelled_stats, units, n_neurons):
    """PSTHs of the ``n_neurons`` most active neurons: real solid, generated dashed."""
    order = np.argsort(-real_stats["mean_rate"], kind="stable")[:n_neurons]
    styles = ("--", ":", "-.")
    times = units.times(len(real_stats["psth"]))
    for i, neuron in enumerate(order):
        color = f"C{i}"
        ax.plot(times, real_stats["psth"][:, neuron], color=color, lw=1.5,
                label=f"neuron {neuron}, real")
        for j, (label, stats) in enumerate(labelled_stats.items()):
            psth = stats["psth"][:, neuron]
            ax.plot(units.times(len(psth)), psth, color=color, lw=1.2,
                    ls=styles[j % len(styles)], label=f"neuron {neuron}, {label}")
    ax.set_xlabel(f"time from trial start ({units.time})")
    ax.set_ylabel(f"trial-averaged rate ({units.rate})")
    ax.set_title("PSTH (most active neurons)")
    ax.legend(frameon=False, fontsize="x-small", ncol=2)


def labelled_statistics(real, generated, bin_size, **options):
    """Statistics of real and of each generated data set (a dict by label), and the units.

    Neo trials are counted in ``bin_size``, or in the bin size generated trains record, on
    every side.
    """
    labelled = as_labelled(generated)
    if bin_size is None:
        bin_size = recorded_bin_size(*labelled.values(), real)
    real_stats = spike_statistics(real, bin_size=bin_size, **options)
    generated_stats = {
        label: spike_statistics(data, bin_size=bin_size, **options)
        for label, data in labelled.items()
    }
    return real_stats, generated_stats, Units.of(bin_size)


def plot_spike_statistics(real, generated, *, bin_size=None, axes=None):
    """Real against generated spike statistics, as in the paper's figures.

    Five panels: per-neuron mean rate, mean ISI and std ISI, and the off-diagonal pairwise
    correlations (each a scatter of real against generated, one dot per neuron or pair, with
    the identity line and the Pearson r), and the population spike-count histograms.

    Parameters
    ----------
    real, generated : array-like of shape (n_trials, n_bins, n_neurons), list of 2-D arrays, or Neo
        Spike counts, or Neo trials (as ``LDNSPipeline.sample`` returns them).
    bin_size : quantities.Quantity or None, default=None
        Bin duration, for the units of rates and intervals (None: per bin and in bins, or
        the bin size generated Neo trains record; see
        :func:`ldns_sklearn.metrics.spike_statistics`).
    axes : sequence of 5 matplotlib Axes, optional

    Returns
    -------
    axes : ndarray of matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> import quantities as pq
    >>> from ldns_sklearn.plotting import plot_spike_statistics
    >>> rng = np.random.default_rng(0)
    >>> real, generated = rng.poisson(0.3, (2, 20, 30, 4))
    >>> axes = plot_spike_statistics(real, generated, bin_size=5 * pq.ms)
    >>> len(axes), axes[0].get_xlabel()
    (5, 'real (spikes/s)')
    """
    if axes is None:
        axes = new_axes(5, width=3.4, height=3.4)
    axes = np.asarray(axes).ravel()
    if axes.size != 5:
        raise ValueError(f"axes must hold 5 Axes, got {axes.size}.")
    if isinstance(generated, dict):
        raise TypeError(
            "plot_spike_statistics compares one generated data set; "
            "plot_auto_correlation and plot_population_spike_count take a dict of several."
        )
    real_stats, labelled, units = labelled_statistics(real, generated, bin_size)
    generated_stats = labelled["generated"]
    for ax, (key, name, unit) in zip(axes[:3], PER_NEURON[:3], strict=True):
        draw_identity_scatter(
            ax, units.shown(real_stats[key], unit), units.shown(generated_stats[key], unit),
            name=name, unit=getattr(units, unit),
        )
    upper = np.triu_indices_from(real_stats["correlation"], k=1)
    draw_identity_scatter(
        axes[3],
        real_stats["correlation"][upper],
        generated_stats["correlation"][upper],
        name="pairwise correlation",
        what="pair of neurons",
    )
    draw_population_histogram(axes[4], real_stats, labelled)
    return axes


def plot_auto_correlation(real, generated, *, bin_size=None, max_lag=None, ax=None):
    """Spike-count auto-correlation over lags, real against one or several generated sets.

    The curve is the mean over neurons of each neuron's auto-correlation (counts centred
    within trials, the paper's biased estimate; see
    :func:`ldns_sklearn.metrics.auto_correlation_rmse`) at lags ``1..max_lag``. Pass a dict
    to compare models, e.g. ``{"Poisson": ..., "spike history": ...}``: refractoriness
    shows as a dip below zero at short lags that Poisson sampling from smooth rates misses.

    Parameters
    ----------
    real : array-like of shape (n_trials, n_bins, n_neurons), list of 2-D arrays, or Neo
    generated : the same, or dict of str to the same
        One generated data set, or several by label.
    bin_size : quantities.Quantity or None, default=None
        Bin duration: lags in seconds and auto-correlations in (spikes/s)²; None: in bins
        and (spikes/bin)² (or the bin size generated Neo trains record).
    max_lag : int or None, default=None
        Largest lag in bins (default 10, fewer for shorter trials).
    ax : matplotlib Axes, optional

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from ldns_sklearn.plotting import plot_auto_correlation
    >>> rng = np.random.default_rng(0)
    >>> real = rng.poisson(0.3, (50, 30, 4))
    >>> bursty = np.repeat(rng.poisson(0.15, (50, 15, 4)), 2, axis=1)
    >>> ax = plot_auto_correlation(real, {"Poisson": real[::-1], "bursty": bursty}, max_lag=5)
    >>> [line.get_label() for line in ax.get_lines()][:3]
    ['real', 'Poisson', 'bursty']
    """
    if ax is None:
        ax = new_axes()
    real_stats, labelled, units = labelled_statistics(real, generated, bin_size, max_lag=max_lag)
    draw_auto_correlation(ax, real_stats, labelled, units)
    return ax


def plot_population_spike_count(real, generated, *, bin_size=None, ax=None):
    """Histograms of the population spike count per bin (all neurons' spikes in one bin).

    Parameters
    ----------
    real : array-like of shape (n_trials, n_bins, n_neurons), list of 2-D arrays, or Neo
    generated : the same, or dict of str to the same
    bin_size : quantities.Quantity or None, default=None
        Only for Neo trials: the bin to count their spikes in.
    ax : matplotlib Axes, optional

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from ldns_sklearn.plotting import plot_population_spike_count
    >>> rng = np.random.default_rng(0)
    >>> ax = plot_population_spike_count(*rng.poisson(0.3, (2, 20, 30, 4)))
    >>> ax.get_ylabel()
    'fraction of bins'
    """
    if ax is None:
        ax = new_axes()
    real_stats, labelled, _ = labelled_statistics(real, generated, bin_size)
    draw_population_histogram(ax, real_stats, labelled)
    return ax


def plot_psth(real, generated, *, bin_size=None, n_neurons=3, ax=None):
    """PSTHs (trial-averaged rates from the trial start) of the most active neurons.

    Meaningful for trial-aligned data, where every trial starts at the same event.

    Parameters
    ----------
    real : array-like of shape (n_trials, n_bins, n_neurons), list of 2-D arrays, or Neo
    generated : the same, or dict of str to the same
    bin_size : quantities.Quantity or None, default=None
        Bin duration: time in seconds and rates in spikes/s; None: in bins and spikes/bin.
    n_neurons : int, default=3
        How many of the most active real neurons to draw.
    ax : matplotlib Axes, optional

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from ldns_sklearn.plotting import plot_psth
    >>> rng = np.random.default_rng(0)
    >>> ramp = np.linspace(0.1, 1.0, 20)[None, :, None]
    >>> ax = plot_psth(rng.poisson(ramp, (40, 20, 3)), rng.poisson(ramp, (40, 20, 3)),
    ...                n_neurons=2)
    >>> len(ax.get_lines()), ax.get_ylabel()
    (4, 'trial-averaged rate (spikes/bin)')
    """
    if ax is None:
        ax = new_axes(width=5.0)
    real_stats, labelled, units = labelled_statistics(real, generated, bin_size)
    draw_psth(ax, real_stats, labelled, units, n_neurons)
    return ax
