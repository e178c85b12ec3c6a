"""Tests of the synthetic Lorenz data set (ldns_sklearn.datasets.make_lorenz_spikes)."""

import numpy as np
import pytest
import quantities as pq
from scipy.integrate import solve_ivp

from ldns_sklearn.datasets import _lorenz, make_lorenz_spikes

SMALL = {"n_trials": 6, "n_neurons": 10, "n_bins": 40, "return_spiketrains": False}


@pytest.fixture(scope="module")
def data():
    return make_lorenz_spikes(
        n_trials=20, n_neurons=64, n_bins=128, return_spiketrains=False, random_state=0
    )


def test_shapes_dtypes_and_fields(data):
    assert data.counts.shape == data.rates.shape == (20, 128, 64)
    assert data.latents.shape == (20, 128, 3)
    assert data.readout.shape == (64, 3)
    assert data.counts.dtype == np.int64
    assert isinstance(data.bias, float)
    assert data.bin_size == 5 * pq.ms
    assert data.spiketrains is None
    assert "Lorenz" in data.DESCR


def test_same_seed_same_data_other_seed_other_data():
    first = make_lorenz_spikes(**SMALL, random_state=3)
    again = make_lorenz_spikes(**SMALL, random_state=np.random.RandomState(3))
    other = make_lorenz_spikes(**SMALL, random_state=4)
    for key in ("counts", "rates", "latents", "readout"):
        np.testing.assert_array_equal(first[key], again[key])
        assert not np.array_equal(first[key], other[key])


def test_latents_are_z_scored_per_trial_and_dimension(data):
    np.testing.assert_allclose(data.latents.mean(axis=1), 0.0, atol=1e-10)
    np.testing.assert_allclose(data.latents.std(axis=1), 1.0, rtol=1e-10)


def test_readout_rows_have_unit_norm_and_are_sorted(data):
    np.testing.assert_allclose(np.linalg.norm(data.readout, axis=1), 1.0)
    assert np.all(np.diff(data.readout[:, 0]) >= 0)


def test_rates_follow_the_softplus_readout(data):
    drive = data.latents @ data.readout.T + data.bias
    expected = np.log1p(np.exp(2.0 * drive)) / 2.0
    np.testing.assert_allclose(data.rates, expected, rtol=1e-12)


@pytest.mark.parametrize(("mean_rate", "beta"), [(0.3, 2.0), (0.05, 2.0), (2.0, 1.0)])
def test_mean_rate_is_met(mean_rate, beta):
    data = make_lorenz_spikes(
        n_trials=12,
        n_neurons=40,
        n_bins=100,
        mean_rate=mean_rate,
        softplus_beta=beta,
        return_spiketrains=False,
        random_state=1,
    )
    assert data.rates.mean() == pytest.approx(mean_rate, rel=1e-8)
    # Poisson counts: the standard error of their mean is sqrt(rate / n).
    standard_error = np.sqrt(mean_rate / data.counts.size)
    assert abs(data.counts.mean() - mean_rate) < 5 * standard_error


def test_neurons_are_heterogeneous(data):
    # One shared bias, different readouts: at low rates the softplus makes mean rates differ.
    per_neuron = data.rates.mean(axis=(0, 1))
    assert per_neuron.std() > 0.2 * per_neuron.mean()


def test_vectorised_integration_matches_one_trajectory_at_a_time():
    rng = np.random.default_rng(0)
    initial = _lorenz._REFERENCE_IC + 2.0 * rng.standard_normal((3, 3))
    together = _lorenz._integrate(initial, 200, 0.015)
    times = np.arange(200) * 0.015

    def lorenz(t, s):
        x, y, z = s
        return [10 * (y - x), x * (28 - z) - y, x * y - 8 / 3 * z]

    for i, start in enumerate(initial):
        alone = solve_ivp(lorenz, (0, times[-1]), start, t_eval=times, rtol=1e-11, atol=1e-11)
        np.testing.assert_allclose(together[i], alone.y.T, atol=1e-4)


def test_latents_visit_both_wings_of_the_attractor():
    # Over 256 bins (about 2.5 periods) most trajectories switch wings: x changes sign.
    data = make_lorenz_spikes(
        n_trials=30, n_neurons=4, n_bins=256, return_spiketrains=False, random_state=2
    )
    raw_x_sign_changes = [np.any(np.diff(np.sign(trial[:, 0])) != 0) for trial in data.latents]
    assert np.mean(raw_x_sign_changes) > 0.8


def test_counts_match_spiketrains():
    data = make_lorenz_spikes(n_trials=3, n_neurons=5, n_bins=20, random_state=0)
    assert len(data.spiketrains) == 3
    edges = np.arange(21) * 5.0  # ms
    for trial, trains in zip(data.counts, data.spiketrains, strict=True):
        assert len(trains) == 5
        for neuron, train in enumerate(trains):
            assert train.t_start == 0 * pq.s
            assert train.t_stop.rescale(pq.ms) == pytest.approx(100 * pq.ms)
            times = train.rescale(pq.ms).magnitude
            np.testing.assert_array_equal(np.histogram(times, bins=edges)[0], trial[:, neuron])
            # No spike sits on a bin edge: the k spikes of a bin lie strictly inside it.
            assert not np.any(np.isclose(np.mod(times, 5.0), 0.0))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_trials": 0}, ValueError, "n_trials"),
        ({"n_neurons": 2.5}, TypeError, "n_neurons"),
        ({"n_bins": 1}, ValueError, "n_bins"),
        ({"mean_rate": 0.0}, ValueError, "mean_rate"),
        ({"mean_rate": -1.0}, ValueError, "mean_rate"),
        ({"bin_size": 5}, TypeError, "bin_size"),
        ({"bin_size": 5 * pq.mV}, TypeError, "time"),
        ({"bin_size": -5 * pq.ms}, ValueError, "positive"),
        ({"bin_size": [5, 6] * pq.ms}, ValueError, "scalar"),
        ({"softplus_beta": 0}, ValueError, "softplus_beta"),
        ({"burn_in": -1}, ValueError, "burn_in"),
        ({"random_state": "seed"}, ValueError, "random_state"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_lorenz_spikes(**{**SMALL, **kwargs})
