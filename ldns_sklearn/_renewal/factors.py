"""Shared fluctuations as processes: the factors' paths and states, the multiplier and the
events they make, and the draw of counts with all of it."""

from __future__ import annotations

import functools

import numpy as np
from scipy.special import ndtri
from scipy.stats import multivariate_normal

from .._synchrony import Synchrony, find_synchrony
from .model import RenewalFit, _Model
from .settings import _ACF_GRID, _MIN_FACTOR_NEURONS, _MIN_FACTOR_SPIKES


def _taking_part(counts, valid):
    """Which neurons of padded ``counts`` take part in the shared fluctuations: those of at
    least ``_MIN_FACTOR_SPIKES`` spikes. A silent neuron (common in recordings) shares no
    covariance, and one of a handful of spikes only noise."""
    return (counts * valid[..., None]).sum(axis=(0, 1)) >= _MIN_FACTOR_SPIKES


def _compared_pairs(taking_part):
    """``(n_neurons, n_neurons)`` mask of the pairs whose covariances the shared
    fluctuations are fitted to: two different neurons, each taking part."""
    return ~np.eye(len(taking_part), dtype=bool) & np.outer(taking_part, taking_part)


def _fits_factors(n_factors, taking_part):
    """Whether shared fluctuations are fitted: enough neurons take part (their
    covariances are the ones factored). A neuron that does not take part does not stop
    the others' fluctuations."""
    return bool(n_factors) and np.count_nonzero(taking_part) >= _MIN_FACTOR_NEURONS


def synchrony_left_to_events(counts, valid, n_factors) -> Synchrony:
    """The synchronous groups of padded ``counts`` (:func:`~ldns_sklearn._synchrony.
    find_synchrony`) where the model fits shared fluctuations, which draw synchronous
    events; none where it does not (their spikes then stay each neuron's own)."""
    if _fits_factors(n_factors, _taking_part(counts, valid)):
        return find_synchrony(counts, valid)
    return Synchrony.none(counts.shape[-1])


def _off_diagonal_factors(matrix, n_factors, n_iter=100):
    """``L`` with ``L @ L.T`` close to ``matrix`` off its diagonal (principal factors)."""
    matrix = (matrix + matrix.T) / 2.0
    diagonal = np.zeros(len(matrix))
    for _ in range(n_iter):
        filled = matrix.copy()
        np.fill_diagonal(filled, diagonal)
        values, vectors = np.linalg.eigh(filled)
        values, vectors = values[::-1][:n_factors], vectors[:, ::-1][:, :n_factors]
        loadings = vectors * np.sqrt(np.maximum(values, 0.0))
        diagonal = (loadings**2).sum(axis=1)
    return loadings, values


def _yule_walker(acf1, acf2):
    """AR(2) coefficients of a unit-variance process with these lag-1 and lag-2
    autocorrelations (arrays)."""
    a1 = acf1 * (1.0 - acf2) / (1.0 - acf1**2)
    a2 = (acf2 - acf1**2) / (1.0 - acf1**2)
    return a1, a2


def _binary_acf(gaussian_acf, p):
    """Autocorrelation of ``1[eta > z_p]`` for a Gaussian ``eta`` of this autocorrelation
    (``P(eta > z_p) = p``), by the bivariate normal orthant probability."""
    z = ndtri(1.0 - p)
    both = multivariate_normal([0.0, 0.0], [[1.0, gaussian_acf], [gaussian_acf, 1.0]]).cdf(
        [-z, -z]
    )
    return (both - p**2) / (p * (1.0 - p))


@functools.lru_cache
def _binary_acfs(p):
    """The autocorrelation of the process thresholded at ``p`` for each Gaussian one of
    ``_ACF_GRID`` (increasing; the Gaussian ones themselves for ``p = 0``)."""
    if not p:
        return _ACF_GRID
    return np.array([_binary_acf(r, p) for r in _ACF_GRID])


def _factor_paths(rng, ar, n_trials, n_bins):
    """``(n_trials, n_bins, n_factors)`` stationary unit-variance AR(2) paths."""
    a1, a2 = ar[:, 0], ar[:, 1]
    acf1 = a1 / (1.0 - a2)
    acf2 = a1 * acf1 + a2
    innovation = np.sqrt(np.maximum(1.0 - a1 * acf1 - a2 * acf2, 1e-12))
    noise = rng.standard_normal((n_trials, n_bins, len(ar)))
    eta = np.empty_like(noise)
    eta[:, 0] = noise[:, 0]
    if n_bins > 1:
        eta[:, 1] = acf1 * eta[:, 0] + np.sqrt(1.0 - acf1**2) * noise[:, 1]
    for t in range(2, n_bins):
        eta[:, t] = a1 * eta[:, t - 1] + a2 * eta[:, t - 2] + innovation * noise[:, t]
    return eta


def _factor_states(rng, ar, sparsity, n_trials, n_bins):
    """``(n_trials, n_bins, n_factors)`` paths of the factors: a unit-variance Gaussian
    AR(2) path where ``sparsity`` is 0; else 1 in the bins where the factor is on (a
    fraction ``p`` of them: the Gaussian path above its ``1 - p`` quantile) and 0."""
    eta = _factor_paths(rng, ar, n_trials, n_bins)
    two_state = sparsity > 0
    eta[..., two_state] = eta[..., two_state] > ndtri(1.0 - sparsity[two_state])
    return eta


def fluctuation_multiplier(loadings, sparsity, states):
    """``exp(L @ eta_t - c)`` of multiplicative factors, with ``c`` making its mean 1,
    ``(n_trials, n_bins, n_neurons)``; None without factors.

    ``states`` are the factors' paths (:func:`_factor_states`); a two-state factor is
    standardised to unit variance: synchronous excitability (small ``p``) or up and down
    states of a rhythm (``p`` near 0.5).
    """
    if loadings.shape[1] == 0:
        return None
    eta = states.copy()
    log_mean = np.zeros(loadings.shape[0])
    for k, p in enumerate(sparsity):
        if p == 0:
            log_mean += 0.5 * loadings[:, k] ** 2
            continue
        scale = np.sqrt(p * (1.0 - p))
        on, off = (1.0 - p) / scale, -p / scale
        eta[..., k] = np.where(states[..., k] > 0, on, off)
        log_mean += np.logaddexp(np.log(p) + loadings[:, k] * on,
                                 np.log1p(-p) + loadings[:, k] * off)
    return np.exp(eta @ loadings.T - log_mean)


def trial_factors(rng, spread, n_trials):
    """``(n_trials, n_neurons)`` log-normal factors of mean 1 on each trial's rates, the
    logarithm's standard deviation ``spread`` per neuron."""
    return np.exp(spread * rng.standard_normal((n_trials, len(spread))) - spread**2 / 2.0)


def event_spikes(rng, participation, states):
    """Spikes of synchronous events ``(n_trials, n_bins, n_neurons)``: in a bin where
    factor ``k`` is on (``states[..., k] == 1``), neuron ``n`` fires with probability
    ``participation[n, k]``."""
    n_trials, n_bins, _ = states.shape
    spikes = np.zeros((n_trials, n_bins, len(participation)), dtype=np.int64)
    for k in range(participation.shape[1]):
        # Only the bins of events are drawn (a few per cent of them).
        trials, bins = np.nonzero(states[..., k] > 0)
        spikes[trials, bins] += rng.random((trials.size, len(participation))) < participation[:, k]
    return spikes


def draw(fit: RenewalFit, rates, valid, rng, *, kept=None, observed=None):
    """Counts for padded ``rates`` (and the drives); ``kept`` counts stay where
    ``observed``."""
    model = _Model.of(fit)
    multiplier = events = event_mean = None
    if np.any(fit.trial_spread > 0):
        rates = rates * trial_factors(rng, fit.trial_spread, len(rates))[:, None, :]
    if fit.loadings.shape[1]:
        states = _factor_states(rng, fit.ar, fit.sparsity, *rates.shape[:2])
        additive = fit.additive
        multiplier = fluctuation_multiplier(fit.loadings[:, ~additive],
                                            fit.sparsity[~additive], states[..., ~additive])
        if additive.any():
            events = event_spikes(rng, fit.loadings[:, additive], states[..., additive])
            event_mean = fit.loadings[:, additive] @ fit.sparsity[additive]
    _, counts = model.run(rates, valid, rng=rng, multiplier=multiplier, events=events,
                          event_mean=event_mean, kept=kept, observed=observed)
    return counts
