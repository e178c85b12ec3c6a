"""Observation models: Poisson and the spike-history (autoregressive) GLM."""

import pickle

import numpy as np
import pytest
from scipy.stats import poisson
from sklearn.base import clone

from ldns_sklearn.observation import AutoregressiveObservation, PoissonObservation


def _rates(n_trials=40, n_bins=60, n_neurons=3, seed=0):
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 4 * np.pi, n_bins)
    phase = rng.uniform(0, 2 * np.pi, size=(n_trials, 1, n_neurons))
    return 0.4 + 0.3 * np.sin(t[None, :, None] + phase)


def _refractory_truth(n_neurons=3):
    """An AR model whose neurons are strongly refractory for two bins."""
    truth = AutoregressiveObservation(history=4)
    truth.n_neurons_ = n_neurons
    truth.rate_gain_ = np.ones(n_neurons)
    truth.bias_ = np.zeros(n_neurons)
    truth.history_weights_ = np.tile([-3.0, -1.5, 0.0, 0.0], (n_neurons, 1))
    truth.max_count_ = np.full(n_neurons, 3)
    return truth


def test_poisson_sample_and_score():
    rates = _rates()
    obs = PoissonObservation().fit(np.zeros_like(rates, dtype=int), rates)
    draws = np.stack([obs.sample(rates[:2], random_state=s) for s in range(300)])
    np.testing.assert_allclose(draws.mean(axis=0), rates[:2], atol=0.25)
    np.testing.assert_array_equal(obs.sample(rates, 3), obs.sample(rates, 3))
    counts = obs.sample(rates, random_state=0)
    assert obs.score(counts, rates) == pytest.approx(poisson.logpmf(counts, rates).mean())


def test_ragged_trials_keep_their_form():
    rates = _rates()
    ragged = [rates[0, :30], rates[1], rates[2, :11]]
    for obs in (PoissonObservation(), AutoregressiveObservation(history=3, max_iter=5)):
        zeros = [np.zeros(r.shape, dtype=int) for r in ragged]
        counts = PoissonObservation().fit(zeros, ragged).sample(ragged, random_state=0)
        obs.fit(counts, ragged)
        sampled = obs.sample(ragged, random_state=1)
        assert isinstance(sampled, list)
        assert [s.shape for s in sampled] == [r.shape for r in ragged]
        assert np.isfinite(obs.score(counts, ragged))


def test_autoregressive_starts_at_poisson_on_poisson_data():
    rates = _rates(n_trials=80)
    counts = PoissonObservation().fit(rates.round(), rates).sample(rates, random_state=0)
    obs = AutoregressiveObservation(history=5).fit(counts, rates)
    np.testing.assert_allclose(obs.rate_gain_, 1.0, atol=0.25)
    assert np.abs(obs.history_weights_).max() < 0.3


def test_autoregressive_recovers_refractoriness_and_beats_poisson():
    rates = _rates(n_trials=120)
    truth = _refractory_truth()
    counts = truth.sample(rates, random_state=0)
    obs = AutoregressiveObservation(history=4).fit(counts, rates)
    # The refractory lags come out clearly negative; the rest stay near zero.
    assert np.all(obs.history_weights_[:, 0] < -1.5)
    assert np.all(obs.history_weights_[:, 1] < -0.5)
    assert np.abs(obs.history_weights_[:, 2:]).max() < 0.5
    held_out = truth.sample(rates, random_state=1)
    poisson_model = PoissonObservation().fit(counts, rates)
    assert obs.score(held_out, rates) > poisson_model.score(held_out, rates) + 0.01

    # Samples reproduce the dip in spikes right after a spike; Poisson samples do not.
    def after_spike(c):
        return (c[:, 1:] * (c[:, :-1] > 0)).sum() / (c[:, :-1] > 0).sum()

    sampled = obs.sample(rates, random_state=2)
    assert abs(after_spike(sampled) - after_spike(held_out)) < 0.05
    assert after_spike(poisson_model.sample(rates, random_state=2)) > after_spike(held_out) + 0.1


def test_autoregressive_sampling_is_capped_and_reproducible():
    rates = _rates()
    counts = PoissonObservation().fit(rates.round(), rates).sample(rates, random_state=0)
    obs = AutoregressiveObservation(history=3, max_count=1).fit(counts, rates)
    sampled = obs.sample(rates * 20, random_state=0)
    assert sampled.max() == 1 and sampled.dtype == np.int64
    np.testing.assert_array_equal(sampled, obs.sample(rates * 20, random_state=0))
    default = AutoregressiveObservation(history=3).fit(counts, rates)
    np.testing.assert_array_equal(default.max_count_, np.maximum(counts.max(axis=(0, 1)), 1))


def test_clone_and_pickle():
    rates = _rates(n_trials=10)
    counts = PoissonObservation().fit(rates.round(), rates).sample(rates, random_state=0)
    obs = AutoregressiveObservation(history=3, max_iter=20).fit(counts, rates)
    assert clone(obs).get_params() == obs.get_params()
    restored = pickle.loads(pickle.dumps(obs))
    np.testing.assert_array_equal(restored.sample(rates, 0), obs.sample(rates, 0))


@pytest.mark.parametrize("model", [PoissonObservation, AutoregressiveObservation])
def test_bad_input(model):
    rates = _rates(n_trials=4)
    counts = np.ones_like(rates, dtype=int)
    with pytest.raises(ValueError, match="negative"):
        model().fit(counts, -rates)
    with pytest.raises(ValueError, match="negative"):
        model().fit(-counts, rates)
    with pytest.raises(ValueError, match="same number"):
        model().fit(counts[:, :10], rates)
    with pytest.raises(ValueError, match="neurons"):
        model().fit(counts[..., :2], rates)
    fitted = model().fit(counts, rates)
    with pytest.raises(ValueError, match="channels"):
        fitted.sample(rates[..., :2])
    with pytest.raises(ValueError, match="NaN"):
        fitted.sample(np.full_like(rates, np.nan))
