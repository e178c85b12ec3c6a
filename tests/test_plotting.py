"""Figures take what the pipeline returns: Neo trials as well as counts."""

import matplotlib
import numpy as np
import pytest
import quantities as pq

from ldns_sklearn import counts_to_spiketrains
from ldns_sklearn.plotting import plot_spike_statistics

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
