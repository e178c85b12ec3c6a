"""Fitting the recovery, the dispersion and the recovery's clock to recorded counts."""

from __future__ import annotations

import numpy as np

from .._synchrony import synchronous_spikes
from .._warnings import warn_user
from .counts import _log_probability_of_spikes, _poisson_tails
from .factors import synchrony_left_to_events
from .fluctuations import _no_factors, fit_fluctuations
from .model import RenewalFit, _interpolation, _Model, _states, log_likelihood, recovery_at_ages
from .settings import (
    _HISTORY_QUANTILE,
    _HISTORY_RANGE,
    _MAX_DRIVE_RATIO,
    _MAX_SATURATED_SHARE,
    _MIN_RATE,
)
from .shapes import _mean_count


def automatic_history(counts, valid, quantile=_HISTORY_QUANTILE):
    """Bins of history that cover most intervals: the ``quantile`` of the intervals
    between a neuron's non-empty bins (within trials), within ``_HISTORY_RANGE``."""
    trial, bin_, neuron = np.nonzero((counts > 0) & valid[..., None])
    order = np.lexsort((bin_, neuron, trial))
    trial, neuron, bin_ = trial[order], neuron[order], bin_[order]
    same = (trial[1:] == trial[:-1]) & (neuron[1:] == neuron[:-1])
    intervals = np.diff(bin_)[same]
    low, high = _HISTORY_RANGE
    if intervals.size == 0:
        return low
    return int(np.clip(np.ceil(np.quantile(intervals, quantile)), low, high))


def _fit_recovery(model, counts, drives, ages, alpha, max_iter):
    """Newton on ``log q`` of each (neuron, column of ``q``): the Bernoulli likelihood of a
    spike (``1 - exp(-lam)``) in the bins whose state is known (``ages``: of each bin,
    :func:`recovery_ages`, -1 where unknown; ``log q`` interpolated between columns), a
    ridge ``alpha`` on ``log q``; every column is fitted, then divided by the recovered one.

    The drive is solved for the rates whatever the scale of ``q``, so only the ratios of
    the columns matter and ``q = 1`` once recovered is a normalisation. Holding that column
    at 1 during the fit instead made the alternation with the drive converge slowly and
    stop at a cliff: on ``gamma`` data, after the default 5 rounds, ``q`` rose to 1.9 in
    the last fitted state and fell to 1 in the recovered one, so a neuron silent for longer
    than ``history`` bins fired at half the rate, and intervals just past it went missing
    (37 % too few of 30-40 bins, 2.2 % shorter intervals on average)."""
    n_neurons, n_states = model.recovery.shape
    known = ages >= 0
    lower, upper, weight = _interpolation(ages[known], n_states - 1)
    neuron = np.broadcast_to(np.arange(n_neurons), ages.shape)[known] * n_states
    lower, upper = neuron + lower, neuron + upper
    spiked = (counts > 0)[known]
    drive = drives[known]
    log_q = np.log(model.recovery)

    def per_column(values, share):
        # Each bin's term goes to its two columns by their interpolation weights.
        total = (np.bincount(lower, values * (1.0 - share), n_neurons * n_states)
                 + np.bincount(upper, values * share, n_neurons * n_states))
        return total.reshape(log_q.shape)

    for _ in range(max_iter):
        flat = log_q.reshape(-1)
        lam = drive * np.exp((1.0 - weight) * flat[lower] + weight * flat[upper])
        survive = np.exp(-lam)
        hazard = lam * survive / np.maximum(-np.expm1(-lam), 1e-300)
        first = np.where(spiked, hazard, -lam)
        second = np.where(spiked, hazard * (1.0 - lam - hazard), -lam)
        gradient = per_column(first, weight)
        # The curvature's row sums (a column's own weight, not its square): a bound on
        # the Hessian's coupling of neighbouring columns, so the steps do not overshoot.
        curvature = per_column(second, weight)
        gradient -= alpha * log_q
        curvature -= alpha
        step = np.clip(-gradient / np.minimum(curvature, -1e-12), -2.0, 2.0)
        log_q = np.clip(log_q + step, -30.0, 5.0)
        if np.max(np.abs(step)) < 1e-6:
            break
    # Within the bounds the steps keep (a recovered state that never fires would leave
    # the others at exp(30) times it otherwise).
    return np.exp(np.clip(log_q - log_q[:, -1:], -30.0, 5.0))


def _fit_dispersion(model, counts, drives, ages):
    """Per neuron, ``beta`` in [0, 1] maximising the likelihood of the non-zero counts
    (golden-section search, all neurons at once; ``ages`` as :func:`_fit_recovery`)."""
    n_neurons = counts.shape[-1]
    spiking = (counts > 0) & (ages >= 0)
    if not np.any(counts >= 2):
        # No bin ever held two spikes: the likelihood is maximal at beta = 0.
        return np.zeros(n_neurons)
    neuron = np.nonzero(spiking)[2]
    lam = drives[spiking] * recovery_at_ages(model.recovery, neuron, ages[spiking])
    k = counts[spiking]
    # The search changes beta alone: the Poisson tails are computed once.
    tails = _poisson_tails(k, lam, model.max_count[neuron])

    def loss(beta):
        log_p = _log_probability_of_spikes(k, tails, beta[neuron])
        return -np.bincount(neuron, log_p, n_neurons)

    low, high = np.zeros(n_neurons), np.ones(n_neurons)
    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    for _ in range(40):
        left, right = high - ratio * (high - low), low + ratio * (high - low)
        worse_left = loss(left) > loss(right)
        low = np.where(worse_left, left, low)
        high = np.where(worse_left, high, right)
    return (low + high) / 2.0


def fit_renewal(counts, rates, valid, *, history, alpha, max_count, n_factors, max_iter,
                clocks, rng):
    """Fit every part of the model; arrays padded ``(n_trials, n_bins, n_neurons)``.

    ``counts`` are the recorded spikes, ``rates`` the decoded rates of those trials,
    ``valid`` ``(n_trials, n_bins)`` marks each trial's own bins. ``n_factors`` is the
    largest number of shared fluctuations (0: none); ``clocks`` the exponents of the
    recovery's clock each neuron chooses from (a value of :data:`RECOVERY_CLOCKS`).
    """
    n_neurons = counts.shape[-1]
    cap = (np.maximum(counts.max(axis=(0, 1)), 1).astype(np.int64) if max_count is None
           else np.full(n_neurons, max_count, dtype=np.int64))
    # Spikes of synchronous events that the fluctuations will draw do not reset a
    # neuron's renewal process: its recovery is fitted on the rest of its spikes, driven at
    # the rate less the events' mean count (as it is drawn).
    synchronous = synchronous_spikes(counts, synchrony_left_to_events(counts, valid, n_factors))
    own = counts - synchronous
    event_mean = _mean_count(synchronous, valid) if synchronous.any() else None
    states = _states(own, valid, history)
    reference = np.maximum(_mean_count(rates, valid), _MIN_RATE)
    # Neurons are independent until the shared fluctuations: each keeps the clock under
    # which its own recorded spikes are likeliest (same number of parameters for each).
    fits, saturated = zip(*(
        _fit_clock(own, rates, valid, states, history, np.full(n_neurons, clock), reference,
                   cap, alpha, max_iter, event_mean)
        for clock in clocks
    ), strict=True)
    if max(saturated) > _MAX_SATURATED_SHARE:
        warn_user(
            f"RenewalObservation: in {max(saturated):.0%} of the training bins no drive "
            "reaches the rate under the fitted recovery: the rates ask for more spikes than "
            "the neurons' refractoriness lets them fire, and the recovery fitted to them is "
            "unreliable. The rates must be the expected counts per bin of these trials (as "
            "S4Autoencoder decodes them), not spiking probabilities or rates in Hz."
        )
    if len(fits) == 1:
        return fit_fluctuations(fits[0], counts, valid, rates, valid, n_factors, rng)
    scores = [(log_likelihood(fit, own, rates, valid, event_mean) * valid[..., None]).sum(
        axis=(0, 1)) for fit in fits]
    best, neurons = np.argmax(scores, axis=0), np.arange(n_neurons)
    fit = fits[0]._replace(**{
        name: np.stack([getattr(f, name) for f in fits])[best, neurons]
        for name in ("recovery", "clock", "dispersion")
    })
    return fit_fluctuations(fit, counts, valid, rates, valid, n_factors, rng)


def _fit_clock(counts, rates, valid, states, history, clock, reference, cap, alpha, max_iter,
               event_mean=None):
    """Recovery and dispersion fitted with the recovery's clock exponents ``clock``
    (:class:`RenewalFit` without shared fluctuations), and the share of valid bins whose
    drive, in the last round, sat at its ceiling (no drive reached the rate). ``counts``
    are the renewal spikes, ``event_mean`` the mean count of the rest (None: none)."""
    n_neurons = counts.shape[-1]
    model = _Model(np.ones((n_neurons, history + 1)), np.ones(n_neurons), cap,
                   np.ones(n_neurons), clock, reference)
    ages = model.ages(states, rates)
    for _ in range(max_iter):
        drives, _ = model.run(rates, valid, event_mean=event_mean)
        recovery = _fit_recovery(model, counts, drives, ages, alpha, max_iter=10)
        change = np.max(np.abs(np.log(recovery) - np.log(model.recovery)))
        model = _Model(recovery, model.dispersion, cap, model.gain, clock, reference)
        dispersion = _fit_dispersion(model, counts, drives, ages)
        model = _Model(recovery, dispersion, cap, model.gain, clock, reference)
        if change < 1e-3:
            break
    ceiling = model.target(rates, event_mean) * _MAX_DRIVE_RATIO
    saturated = float(np.mean((drives >= 0.999 * ceiling)[valid]))
    return RenewalFit(model.recovery, clock, reference, model.dispersion, model.max_count,
                      model.gain, **_no_factors(n_neurons),
                      trial_spread=np.zeros(n_neurons)), saturated
