"""Tests of the synthetic centre-out reaches (ldns_sklearn.datasets.make_reach_spikes)."""

import neo
import numpy as np
import pytest
import quantities as pq

from ldns_sklearn.datasets import make_reach_spikes

SMALL = {"n_trials": 6, "n_neurons": 10, "n_bins": 60, "return_spiketrains": False}


@pytest.fixture(scope="module")
def data():
    return make_reach_spikes(n_trials=80, return_spiketrains=False, random_state=0)


def test_shapes_dtypes_and_fields(data):
    assert data.counts.shape == data.rates.shape == (80, 140, 64)
    assert data.velocity.shape == data.position.shape == (80, 140, 2)
    assert data.latents.shape == (80, 140, 6)
    assert data.readout.shape == (64, 6) and data.offsets.shape == (64,)
    assert data.direction.shape == data.target.shape == data.movement_onset.shape == (80,)
    assert data.counts.dtype == np.int64 and data.target.dtype == np.int64
    assert data.spiketrains is None and data.bin_size == 5 * pq.ms
    assert "reach" in data.DESCR


def test_same_seed_same_data_other_seed_other_data():
    first = make_reach_spikes(**SMALL, random_state=3)
    again = make_reach_spikes(**SMALL, random_state=np.random.RandomState(3))
    other = make_reach_spikes(**SMALL, random_state=4)
    for key in ("counts", "rates", "velocity", "readout"):
        np.testing.assert_array_equal(first[key], again[key])
        assert not np.array_equal(first[key], other[key])


def test_targets_are_evenly_spaced_directions(data):
    assert set(np.unique(data.target)) == set(range(8))
    np.testing.assert_allclose(data.direction, 2 * np.pi * data.target / 8)


def test_reaches_are_bell_shaped_and_end_in_their_direction(data):
    dt = 0.005
    speed = np.linalg.norm(data.velocity, axis=-1)
    times = (np.arange(140) + 0.5) * dt
    before = times[None, :] < data.movement_onset[:, None]
    assert np.all(speed[before] == 0)
    # one peak per reach, between onset and the end of the reach (0.30-0.45 s later)
    peak_time = times[np.argmax(speed, axis=1)]
    since_onset = peak_time - data.movement_onset
    assert np.all((since_onset > 0.1) & (since_onset < 0.3))
    end = data.position[:, -1]
    np.testing.assert_allclose(np.arctan2(end[:, 1], end[:, 0]) % (2 * np.pi),
                               data.direction, atol=1e-9)
    assert np.all((np.linalg.norm(end, axis=1) > 8.4) & (np.linalg.norm(end, axis=1) < 11.6))
    # the velocity is the derivative of the position (to the bin's resolution)
    np.testing.assert_allclose(np.diff(data.position, axis=1) / dt,
                               (data.velocity[:, 1:] + data.velocity[:, :-1]) / 2, atol=1.5)


def test_rates_follow_the_readout_and_meet_the_mean_rate(data):
    drive = data.latents @ data.readout.T + data.offsets + data.bias
    np.testing.assert_allclose(data.rates, np.logaddexp(0, drive), rtol=1e-10)
    assert data.rates.mean() == pytest.approx(0.1, rel=1e-9)
    # per-neuron rates differ (the offsets), as in recordings
    assert data.rates.mean(axis=(0, 1)).std() > 0.03


def test_the_rates_carry_the_velocity_and_the_direction(data):
    from sklearn.linear_model import LinearRegression

    flat_rates = np.log(np.expm1(data.rates)).reshape(-1, 64)  # the drive, linear in latents
    velocity = data.velocity.reshape(-1, 2)
    assert LinearRegression().fit(flat_rates, velocity).score(flat_rates, velocity) > 0.99
    # before movement onset the rotational state sits at the preparatory angle: the
    # reach direction, so the condition is in the activity before the hand moves
    preparatory = data.latents[:, 0, 3:5]
    np.testing.assert_allclose(np.arctan2(preparatory[:, 1], preparatory[:, 0]) % (2 * np.pi),
                               data.direction, atol=1e-9)


def test_continuous_directions():
    data = make_reach_spikes(n_trials=200, n_neurons=4, n_bins=40, n_directions=None,
                             return_spiketrains=False, random_state=0)
    assert data.target is None
    assert np.unique(data.direction).size == 200
    assert np.all((data.direction >= 0) & (data.direction < 2 * np.pi))


def test_spiketrains_are_neo_trials_matching_the_counts():
    data = make_reach_spikes(**{**SMALL, "return_spiketrains": True}, bin_size=10 * pq.ms,
                             random_state=0)
    assert len(data.spiketrains) == 6 and len(data.spiketrains[0]) == 10
    train = data.spiketrains[2][3]
    assert isinstance(train, neo.SpikeTrain)
    assert train.t_stop == 0.6 * pq.s
    assert len(train) == data.counts[2, :, 3].sum()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n_trials": 0}, ValueError, "n_trials"),
        ({"n_directions": 0}, ValueError, "n_directions"),
        ({"mean_rate": -1.0}, ValueError, "mean_rate"),
        ({"bin_size": 5}, TypeError, "bin_size"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_reach_spikes(**{**SMALL, **kwargs})
