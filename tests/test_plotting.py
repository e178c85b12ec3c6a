"""Figures: what they show (axes, labels, units, artists), drawn headless from counts or Neo."""

from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest
import quantities as pq

from ldns_sklearn import S4Autoencoder, counts_to_spiketrains
from ldns_sklearn.metrics import spike_statistics
from ldns_sklearn.plotting import (
    plot_auto_correlation,
    plot_comparison,
    plot_population_spike_count,
    plot_psth,
    plot_raster,
    plot_spike_statistics,
    plot_training_history,
)

matplotlib.use("Agg")  # headless; pyplot is imported by the plotting functions, after this


def test_statistics_figure_of_neo_samples_shows_what_counts_show():
    rng = np.random.default_rng(0)
    rates = rng.uniform(0.2, 1.0, size=5)
    real, generated = rng.poisson(rates, size=(2, 30, 40, 5))
    from_counts = plot_spike_statistics(real, generated, bin_size=5 * pq.ms)
    generated_neo = counts_to_spiketrains(generated, 5 * pq.ms)  # as pipe.sample returns
    from_neo = plot_spike_statistics(real, generated_neo)
    for a, b in zip(from_counts[:4], from_neo[:4], strict=True):
        np.testing.assert_allclose(a.collections[0].get_offsets(), b.collections[0].get_offsets())
    with pytest.raises(TypeError, match="pass bin_size="):
        recorded = [[train.copy() for train in trial] for trial in generated_neo]
        for trial in recorded:
            for train in trial:
                train.annotations.pop("bin_size")
        plot_spike_statistics(recorded, real)


def _refractory_and_poisson(seed=0):
    """Refractory real trials (never two spikes in consecutive bins) and Poisson ones."""
    rng = np.random.default_rng(seed)
    real = np.zeros((80, 40, 6), dtype=int)
    real[:, ::2] = rng.poisson(0.8, size=(80, 20, 6)) > 0
    poisson = rng.poisson(real.mean(axis=(0, 1)), size=(80, 40, 6))
    return real, poisson


def _inside_figure(ax):
    """Whether the axes' labels and ticks lie inside the figure once drawn."""
    figure = ax.figure
    figure.canvas.draw()
    box = ax.get_tightbbox(figure.canvas.get_renderer())
    return (
        box.x0 >= -1 and box.y0 >= -1 and box.x1 <= figure.bbox.width + 1
        and box.y1 <= figure.bbox.height + 1
    )


def test_comparison_figure_names_statistics_units_and_the_score():
    real, generated = _refractory_and_poisson()
    figure = plot_comparison(real, generated, bin_size=10 * pq.ms, max_lag=4)
    axes = figure.axes
    assert len(axes) == 8
    assert [ax.get_xlabel() for ax in axes[:4]] == [
        "real (spikes/s)", "real (ms)", "real (ms)", "real",
    ]
    # Intervals in ms, as rasters show spike times (issue 27: seconds beside ms misled).
    isi = spike_statistics(real, bin_size=10 * pq.ms)["mean_isi"]
    shown = axes[1].collections[0].get_offsets()[:, 0]
    np.testing.assert_allclose(np.sort(shown), np.sort(isi[np.isfinite(isi)] * 1000))
    assert axes[0].get_title().startswith("mean rate\nr = ")
    assert any(text.get_text() == "one dot = one neuron" for text in axes[0].texts)
    assert any(text.get_text() == "one dot = one pair of neurons" for text in axes[4].texts)
    # Each scatter holds one dot per neuron (per pair for correlations).
    assert len(axes[0].collections[0].get_offsets()) == 6
    assert len(axes[4].collections[0].get_offsets()) == 15
    assert axes[6].get_xlabel() == "lag (ms)"
    assert axes[6].get_ylabel() == "auto-correlation ((spikes/s)²)"
    assert "generation score" in figure.get_suptitle()
    assert all(_inside_figure(ax) for ax in axes)


def test_auto_correlation_curves_show_refractoriness_that_poisson_misses():
    real, poisson = _refractory_and_poisson()
    ax = plot_auto_correlation(real, {"Poisson": poisson, "real, again": real[::-1]}, max_lag=3)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert {"real", "Poisson", "real, again"} <= set(lines)
    np.testing.assert_array_equal(lines["real"].get_xdata(), [1, 2, 3])
    assert lines["real"].get_ydata()[0] < 0  # the dip right after a spike
    assert abs(lines["Poisson"].get_ydata()[0]) < abs(lines["real"].get_ydata()[0]) / 5
    np.testing.assert_allclose(lines["real, again"].get_ydata(), lines["real"].get_ydata())
    assert ax.get_xlabel() == "lag (bins)"


def test_population_histogram_and_psth_draw_each_data_set():
    real, poisson = _refractory_and_poisson()
    ax = plot_population_spike_count(real, {"Poisson": poisson, "real": real})
    assert len(ax.patches) > 0 and ax.get_xlabel().startswith("population spike count")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["real", "Poisson", "real"]
    ax = plot_psth(real, poisson, n_neurons=2, bin_size=5 * pq.ms)
    assert len(ax.get_lines()) == 4
    assert ax.get_xlabel() == "time from trial start (ms)"
    assert ax.get_ylabel() == "trial-averaged rate (spikes/s)"
    assert _inside_figure(ax)


def test_standalone_figures_keep_their_labels_and_rasters_count_whole_neurons():
    real, _ = _refractory_and_poisson()
    raster = plot_raster(real[0])
    ticks = [tick for tick in raster.get_yticks() if -0.5 <= tick <= 5.5]
    assert ticks == [int(tick) for tick in ticks]
    assert _inside_figure(raster)
    history = [{"epoch": epoch, "train_loss": 1.0 / (epoch + 1)} for epoch in range(3)]
    fitted = SimpleNamespace(history_=history)
    curve = plot_training_history(fitted)
    assert _inside_figure(curve)
    assert any("early_stopping=True" in text.get_text() for text in curve.texts)


def test_training_curves_name_the_loss_and_show_validation():
    rng = np.random.default_rng(0)
    counts = rng.poisson(0.5, size=(20, 16, 3))
    ae = S4Autoencoder(
        n_latents=2, hidden_channels=4, n_blocks=1, max_epochs=3, batch_size=8,
        early_stopping=True, validation_fraction=0.25, random_state=0,
    ).fit(counts)
    ax = plot_training_history(ae)
    assert ax.get_ylabel() == "masked Poisson NLL + latent penalties"
    assert [line.get_label() for line in ax.get_lines()] == ["training", "validation"]
    assert len(ax.get_lines()[1].get_xdata()) == len(ae.history_)


def test_figures_comparing_one_data_set_refuse_several():
    real, poisson = _refractory_and_poisson()
    for plot in (plot_comparison, plot_spike_statistics):
        with pytest.raises(TypeError, match="one generated data set"):
            plot(real, {"Poisson": poisson})
