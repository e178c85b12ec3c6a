"""Observation models: Poisson and the spike-history (autoregressive) GLM."""


import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import xlogy
from scipy.stats import poisson

from ldns_sklearn.metrics import auto_correlation_rmse, spike_statistics
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


def reference_fit(counts, rates, history, alpha):
    """Each neuron's optimum found on its own by L-BFGS, in float64, from the definition."""
    drive = np.log(np.expm1(rates))
    lagged = np.stack(
        [np.pad(counts, [(0, 0), (lag, 0), (0, 0)])[:, :-lag] for lag in range(1, history + 1)],
        axis=-1,
    )
    fitted = []
    for n in range(counts.shape[2]):
        design = np.concatenate(
            [drive[..., n, None], np.ones_like(drive[..., n, None]), lagged[..., n, :]], axis=-1
        ).reshape(-1, history + 2)
        y = counts[..., n].ravel()

        def objective(theta, design=design, y=y):
            rate = np.logaddexp(0.0, design @ theta)
            return np.mean(rate - xlogy(y, rate)) + alpha * np.sum(theta[2:] ** 2)

        start = np.r_[1.0, 0.0, np.zeros(history)]
        fitted.append(minimize(objective, start, method="L-BFGS-B", tol=1e-12).x)
    return np.array(fitted)


def test_newton_fit_reaches_each_neurons_optimum():
    rates = _rates(n_trials=60)
    counts = _refractory_truth().sample(rates, random_state=0)
    obs = AutoregressiveObservation(history=4, alpha=1e-3).fit(counts, rates)
    reference = reference_fit(counts, rates, 4, 1e-3)
    np.testing.assert_allclose(obs.rate_gain_, reference[:, 0], atol=2e-3)
    np.testing.assert_allclose(obs.bias_, reference[:, 1], atol=2e-3)
    np.testing.assert_allclose(obs.history_weights_, reference[:, 2:], atol=2e-3)
    assert obs.n_iter_ < 20


def test_spike_history_gets_the_sign_of_the_lag_one_auto_correlation_right():
    # A latent-driven GLM with negative self-history: smooth rates, refractory neurons.
    rates = _rates(n_trials=150)
    truth = _refractory_truth()
    real = truth.sample(rates, random_state=0)
    held_out = truth.sample(rates, random_state=1)
    history_model = AutoregressiveObservation(history=4).fit(real, rates)
    from_history = history_model.sample(rates, random_state=2)
    from_poisson = PoissonObservation().fit(real, rates).sample(rates, random_state=2)

    def lag_one(counts):
        return spike_statistics(counts, max_lag=3)["auto_correlation"][:, 1]

    assert np.all(lag_one(held_out) < 0)
    assert np.all(lag_one(from_poisson) > 0)  # the smooth rates alone: the wrong sign
    assert np.all(lag_one(from_history) < 0)
    floor = auto_correlation_rmse(held_out, real, max_lag=3)
    poisson_error = auto_correlation_rmse(held_out, from_poisson, max_lag=3)
    history_error = auto_correlation_rmse(held_out, from_history, max_lag=3)
    assert poisson_error > 5 * history_error
    assert history_error < 2 * floor


def test_autoregressive_sampling_is_capped_and_reproducible():
    rates = _rates()
    counts = PoissonObservation().fit(rates.round(), rates).sample(rates, random_state=0)
    obs = AutoregressiveObservation(history=3, max_count=1).fit(counts, rates)
    sampled = obs.sample(rates * 20, random_state=0)
    assert sampled.max() == 1 and sampled.dtype == np.int64
    np.testing.assert_array_equal(sampled, obs.sample(rates * 20, random_state=0))
    default = AutoregressiveObservation(history=3).fit(counts, rates)
    np.testing.assert_array_equal(default.max_count_, np.maximum(counts.max(axis=(0, 1)), 1))


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
    with pytest.raises(ValueError, match="NaN"):
        model().fit(counts, np.where(rates > 0.5, np.nan, rates))
    fitted = model().fit(counts, rates)
    with pytest.raises(ValueError, match="channels"):
        fitted.sample(rates[..., :2])
    with pytest.raises(ValueError, match="NaN"):
        fitted.sample(np.full_like(rates, np.nan))


def test_spike_history_refuses_zero_rates_and_a_history_beyond_the_trials():
    rates = _rates(n_trials=4, n_bins=10)
    counts = np.ones_like(rates, dtype=int)
    with pytest.raises(ValueError, match="zeros; the spike-history model needs rates > 0"):
        AutoregressiveObservation(history=2).fit(counts, np.where(rates > 0.5, 0.0, rates))
    with pytest.raises(ValueError, match="history=10 reaches beyond the trials"):
        AutoregressiveObservation(history=10).fit(counts, rates)
    fitted = AutoregressiveObservation(history=2).fit(counts, rates)
    with pytest.raises(ValueError, match="zeros"):
        fitted.sample(np.zeros_like(rates))
    # Poisson counts have a meaning at rate 0 (none): accepted there.
    assert PoissonObservation().fit(counts * 0, rates * 0).sample(rates * 0).sum() == 0
