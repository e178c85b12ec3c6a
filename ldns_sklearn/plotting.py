"""Figures for LDNS models: rasters, real-vs-generated statistics, training curves.

Needs matplotlib (``pip install ldns-sklearn[plot]``). Every function draws into axes you
pass (or makes a new figure) and returns what it drew on, so figures compose.
"""

from __future__ import annotations

import numpy as np

from ._spike_times import even_spike_positions
from ._validation import check_trials
from .metrics import spike_statistics
from .metrics._checks import recorded_bin_size

__all__ = ["plot_raster", "plot_spike_statistics", "plot_training_history"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "ldns_sklearn.plotting needs matplotlib: pip install ldns-sklearn[plot]"
        ) from exc
    return plt


def _spike_times(trial):
    """Per-neuron spike times and a time unit label of one trial (Neo or counts)."""
    if isinstance(trial, np.ndarray) or (
        isinstance(trial, (list, tuple)) and trial and not hasattr(trial[0], "times")
    ):
        counts = check_trials([trial], name="trial", counts=True, dtype=np.int64)[0]
        # Spikes of a bin spread evenly inside it, as SpikeTrainBinner places them.
        times = [even_spike_positions(neuron, len(neuron)) for neuron in counts.T]
        return times, "bin"
    spiketrains = trial.spiketrains if hasattr(trial, "spiketrains") else trial
    if not spiketrains:
        raise ValueError("trial holds no spike trains.")
    units = spiketrains[0].units
    times = [np.asarray(train.times.rescale(units).magnitude) for train in spiketrains]
    return times, units.dimensionality.string


def plot_raster(trial, ax=None, *, color="k", title=None):
    """Spike raster of one trial.

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
    >>> ax.get_ylabel()
    'neuron'
    """
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3))
    times, unit = _spike_times(trial)
    ax.eventplot(times, colors=color, linelengths=0.8, linewidths=0.8)
    ax.set_xlabel(f"time ({unit})")
    ax.set_ylabel("neuron")
    ax.set_ylim(-0.5, len(times) - 0.5)
    if title:
        ax.set_title(title)
    return ax


def _identity_scatter(ax, real, generated, label):
    keep = np.isfinite(real) & np.isfinite(generated)
    real, generated = real[keep], generated[keep]
    ax.scatter(real, generated, s=8, alpha=0.6)
    if real.size:
        low = min(real.min(), generated.min())
        high = max(real.max(), generated.max())
        ax.plot([low, high], [low, high], color="0.5", lw=1, ls="--")
    if real.size > 1 and np.std(real) > 0 and np.std(generated) > 0:
        r = np.corrcoef(real, generated)[0, 1]
        ax.set_title(f"{label}\nr = {r:.3f}")
    else:
        ax.set_title(label)
    ax.set_xlabel("real")
    ax.set_ylabel("generated")


def plot_spike_statistics(real, generated, *, bin_size=None, axes=None):
    """Real against generated spike statistics, as in the paper's figures.

    Five panels: per-neuron mean rate, mean ISI and std ISI, the off-diagonal pairwise
    correlations (each a scatter of real against generated with the identity line and the
    Pearson r), and the population spike-count histograms.

    Parameters
    ----------
    real, generated : array-like of shape (n_trials, n_bins, n_neurons), list of 2-D arrays, or Neo
        Spike counts, or Neo trials (as ``LDNSPipeline.sample`` returns them).
    bin_size : quantities.Quantity or None, default=None
        Bin duration, for the units of rates and intervals (None: per bin and in bins; see
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
    >>> from ldns_sklearn.plotting import plot_spike_statistics
    >>> rng = np.random.default_rng(0)
    >>> real, generated = rng.poisson(0.3, (2, 20, 30, 4))
    >>> axes = plot_spike_statistics(real, generated)
    >>> len(axes)
    5
    """
    plt = _pyplot()
    if axes is None:
        _, axes = plt.subplots(1, 5, figsize=(17, 3.4), layout="constrained")
    axes = np.asarray(axes).ravel()
    if axes.size != 5:
        raise ValueError(f"axes must hold 5 Axes, got {axes.size}.")
    if bin_size is None:
        # Neo trials are counted in the bin size generated trains record, on both sides.
        bin_size = recorded_bin_size(generated, real)
    real_stats = spike_statistics(real, bin_size=bin_size)
    generated_stats = spike_statistics(generated, bin_size=bin_size)
    for ax, key, label in zip(
        axes[:3],
        ("mean_rate", "mean_isi", "std_isi"),
        ("mean rate", "mean ISI", "std ISI"),
        strict=True,
    ):
        _identity_scatter(ax, real_stats[key], generated_stats[key], label)
    upper = np.triu_indices_from(real_stats["correlation"], k=1)
    _identity_scatter(
        axes[3],
        real_stats["correlation"][upper],
        generated_stats["correlation"][upper],
        "pairwise correlation",
    )
    real_pop, generated_pop = real_stats["population_counts"], generated_stats["population_counts"]
    edges = np.arange(max(real_pop.max(), generated_pop.max()) + 2) - 0.5
    axes[4].hist(real_pop, bins=edges, density=True, alpha=0.5, label="real")
    axes[4].hist(generated_pop, bins=edges, density=True, alpha=0.5, label="generated")
    axes[4].set_xlabel("population spike count per bin")
    axes[4].set_ylabel("density")
    axes[4].legend(frameon=False)
    axes[4].set_title("population spike count")
    return axes


def plot_training_history(estimator, ax=None):
    """Training (and validation) loss per epoch of a fitted estimator's ``history_``.

    Parameters
    ----------
    estimator : fitted S4Autoencoder or LatentDiffusion
        Anything with a ``history_`` list of per-epoch dicts holding ``"train_loss"`` and,
        with a validation split, ``"val_loss"``.
    ax : matplotlib Axes, optional

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from types import SimpleNamespace
    >>> from ldns_sklearn.plotting import plot_training_history
    >>> fitted = SimpleNamespace(history_=[{"epoch": 0, "train_loss": 2.0},
    ...                                    {"epoch": 1, "train_loss": 1.5}])
    >>> plot_training_history(fitted).get_xlabel()
    'epoch'
    """
    plt = _pyplot()
    history = getattr(estimator, "history_", None)
    if not history:
        raise ValueError(
            f"{type(estimator).__name__} has no training history; fit it first."
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3))
    epochs = [record["epoch"] for record in history]
    ax.plot(epochs, [record["train_loss"] for record in history], label="train")
    if "val_loss" in history[0]:
        ax.plot(epochs, [record["val_loss"] for record in history], label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend(frameon=False)
    return ax
