"""The fitted model and its state filter: the drive that keeps the expected count at the
rate, bin by bin, and the draws and likelihood that run it."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .counts import _log_probability, count_moments, count_weights, draw_counts
from .settings import (
    _BLOCK_ENTRIES,
    _CLOCK_RANGE,
    _DRIVE_HEADROOM,
    _FILTER_DTYPE,
    _MAX_DRIVE_RATIO,
    _MAX_LOG_STEP,
    _MAX_NEWTON_STEPS,
    _MIN_RATE,
    _MIN_RENEWAL_SHARE,
    _NEWTON_STEPS,
    _RELATIVE_TOLERANCE,
    _TINY,
)


class RenewalFit(NamedTuple):
    """Fitted parameters (arrays; see the docstring of :mod:`ldns_sklearn._renewal`)."""

    recovery: np.ndarray  # (n_neurons, history + 1); the last column is 1
    clock: np.ndarray  # (n_neurons,) exponent of the recovery's clock speed (0: bins)
    reference: np.ndarray  # (n_neurons,) rate per bin at which the clock runs in bins
    dispersion: np.ndarray  # (n_neurons,) beta
    max_count: np.ndarray  # (n_neurons,) int cap
    gain: np.ndarray  # (n_neurons,) rate factor that keeps mean rates with fluctuations
    loadings: np.ndarray  # (n_neurons, n_factors)
    ar: np.ndarray  # (n_factors, 2) AR(2) coefficients of each factor's Gaussian path
    sparsity: np.ndarray  # (n_factors,) 0: Gaussian factor; p: on in a fraction p of bins
    additive: np.ndarray  # (n_factors,) bool: synchronous events (loadings: participation)
    trial_spread: np.ndarray  # (n_neurons,) sd of each trial's log-rate factor (0: none)



def _stationary(rho, recovery):
    """State distribution ``(..., n_neurons, S)`` of a neuron driven at a constant ``rho``."""
    p = -np.expm1(-rho[..., None] * recovery)
    n_states = recovery.shape[-1]
    pi = np.empty(p.shape, dtype=p.dtype)
    pi[..., 0] = 1.0
    for s in range(1, n_states - 1):
        pi[..., s] = pi[..., s - 1] * (1.0 - p[..., s - 1])
    pi[..., -1] = pi[..., -2] * (1.0 - p[..., -2]) / np.maximum(p[..., -1], _TINY)
    return pi / pi.sum(axis=-1, keepdims=True)


def _propagate(pi, p):
    """One bin later: a spike (probability ``p`` per state) resets to state 0."""
    after = np.empty_like(pi)
    after[..., 0] = (pi * p).sum(axis=-1)
    after[..., 1:] = pi[..., :-1] * (1.0 - p[..., :-1])
    after[..., -1] += pi[..., -1] * (1.0 - p[..., -1])
    return after


def clock_speed(rates, clock, reference):
    """How fast each neuron's recovery clock runs at these rates ``(..., n_neurons)``:
    ``(rate / reference) ** clock``, within ``_CLOCK_RANGE``."""
    ratio = np.maximum(rates, _MIN_RATE) / reference
    return np.clip(ratio**clock, *_CLOCK_RANGE).astype(_FILTER_DTYPE)


def recovery_ages(states, speed, history):
    """Where on the columns of ``q`` each state lies: ``states + 1`` bins since the last
    spike, on a clock running at ``speed`` (same shape), within ``[0, history]``; the
    recovered state (``history``) and an unknown one (-1) keep theirs."""
    ages = np.clip((states + 1) * speed - 1.0, 0.0, history)
    return np.where((states == history) | (states < 0), states, ages)


def _interpolation(ages, history):
    """The columns either side of ``ages`` (>= 0) and the weight of the upper one."""
    lower = np.floor(ages).astype(np.int64)
    return lower, np.minimum(lower + 1, history), ages - lower


def recovery_at_ages(recovery, neurons, ages):
    """``q`` at ``ages`` (>= 0) of ``neurons`` (broadcast together): its columns at whole
    ages (an integer array), else ``log q`` interpolated linearly between them (a ``q`` of
    0, a state that never spikes, stays finite in the log)."""
    if np.issubdtype(ages.dtype, np.integer):
        return recovery[neurons, ages]
    log_q = np.log(np.maximum(recovery, _TINY))
    lower, upper, weight = _interpolation(ages, recovery.shape[1] - 1)
    return np.exp((1.0 - weight) * log_q[neurons, lower] + weight * log_q[neurons, upper])


class _Model:
    """Fitted or partly fitted parameters, with the solves they need."""

    def __init__(self, recovery, dispersion, max_count, gain, clock, reference):
        self.recovery, self.dispersion, self.max_count, self.gain = (
            recovery, dispersion, max_count, gain
        )
        self.clock, self.reference = clock, reference
        # The filter runs in float32: twice as fast, and its drives need no more.
        self._recovery = recovery.astype(_FILTER_DTYPE)
        self._ticking = bool(np.any(clock != 0))
        self._all_states = np.arange(recovery.shape[1])

    @classmethod
    def of(cls, fit: RenewalFit):
        return cls(fit.recovery, fit.dispersion, fit.max_count, fit.gain, fit.clock,
                   fit.reference)

    def speed(self, rates):
        """:func:`clock_speed` of ``rates`` ``(..., n_neurons)``, or None: a clock in bins."""
        return clock_speed(rates, self.clock, self.reference) if self._ticking else None

    def ages(self, states, rates):
        """:func:`recovery_ages` of ``states`` at ``rates`` (the same shape); ``states``
        themselves for a clock in bins."""
        speed = self.speed(rates)
        return states if speed is None else recovery_ages(states, speed,
                                                          len(self._all_states) - 1)

    def recovery_at(self, speed):
        """``q`` of every state ``(..., n_neurons, S)`` for neurons whose clock runs at
        ``speed`` (None: ``(n_neurons, S)``, the recovery in bins)."""
        if speed is None:
            return self._recovery
        ages = recovery_ages(self._all_states, speed[..., None], len(self._all_states) - 1)
        return recovery_at_ages(self._recovery, np.arange(len(self._recovery))[:, None],
                                ages).astype(_FILTER_DTYPE)

    def solve(self, pi, rate, rho, weights, recovery):
        """Drive whose expected count over the state distribution ``pi`` is ``rate``
        (``recovery``: :meth:`recovery_at` the bin's clock speed).

        Newton's method in ``log rho``, warm-started from ``rho`` (the previous bin's):
        every entry takes ``_NEWTON_STEPS`` steps, then only those not yet within
        ``_RELATIVE_TOLERANCE`` of their rate continue (a sudden change of rate, or a
        state distribution piled into refractory states, can take many more).
        """
        ceiling = np.log(rate * _MAX_DRIVE_RATIO)
        log_rho = np.log(rho)
        for _ in range(_NEWTON_STEPS):
            log_rho, excess = self._newton_step(pi, rate, log_rho, ceiling, recovery, weights)
        unsettled = (np.abs(excess) > _RELATIVE_TOLERANCE * rate) & (log_rho < ceiling)
        if unsettled.any():
            # The few entries left, gathered: one neuron's parameters per entry.
            neuron = np.broadcast_to(np.arange(rate.shape[-1]), rate.shape)[unsettled]
            args = pi[unsettled], rate[unsettled], log_rho[unsettled], ceiling[unsettled]
            sub_pi, sub_rate, sub_log, sub_ceiling = args
            sub_recovery = np.broadcast_to(recovery, pi.shape)[unsettled]
            todo = np.arange(sub_rate.size)
            for _ in range(_MAX_NEWTON_STEPS - _NEWTON_STEPS):
                rows = neuron[todo]
                sub_log[todo], excess = self._newton_step(
                    sub_pi[todo], sub_rate[todo], sub_log[todo], sub_ceiling[todo],
                    sub_recovery[todo], weights[rows],
                )
                todo = todo[(np.abs(excess) > _RELATIVE_TOLERANCE * sub_rate[todo])
                            & (sub_log[todo] < sub_ceiling[todo])]
                if todo.size == 0:
                    break
            log_rho[unsettled] = sub_log
        return np.exp(log_rho)

    @staticmethod
    def _newton_step(pi, rate, log_rho, ceiling, recovery, weights):
        """One step for ``pi`` ``(..., S)``; ``recovery`` and ``weights`` broadcast to
        ``(..., S)`` and ``(..., K)``. Returns the new ``log rho`` and the excess of the
        expected count over the rate before the step."""
        rho = np.exp(log_rho)
        mean, slope = count_moments(rho[..., None] * recovery, weights)
        excess = (pi * mean).sum(axis=-1) - rate
        derivative = (pi * slope * recovery).sum(axis=-1) * rho
        # A step is at most _MAX_LOG_STEP in log rho; bounding the divisor by the excess
        # gives that without dividing by a vanishing slope (an overflow in float32).
        divisor = np.maximum(np.maximum(derivative, np.abs(excess) / _MAX_LOG_STEP), _TINY)
        change = np.clip(excess / divisor, -_MAX_LOG_STEP, _MAX_LOG_STEP)
        return np.minimum(log_rho - change, ceiling), excess

    def weights(self, rates):
        """:func:`count_weights` for drives up to what these rates can ask for."""
        lam_max = float(np.max(rates, initial=0.0)) * _DRIVE_HEADROOM * self._recovery.max()
        return count_weights(self.dispersion, self.max_count, lam_max).astype(_FILTER_DTYPE)

    def start(self, rate, weights, recovery):
        """Drive and state distribution of the first bin (a neuron firing at ``rate``)."""
        rho = rate.copy()
        for _ in range(3):
            rho = self.solve(_stationary(rho, recovery), rate, rho, weights, recovery)
        return rho, _stationary(rho, recovery)

    def target(self, rates, event_mean=None):
        """The expected count of each bin's renewal part: the rates times the gains, less
        the mean count of synchronous events (``event_mean``), which add to it."""
        target = rates * self.gain
        if event_mean is not None:
            target = np.maximum(target - event_mean, _MIN_RENEWAL_SHARE * target)
        return np.maximum(target, _MIN_RATE)

    def run(self, rates, valid, *, rng=None, multiplier=None, events=None, event_mean=None,
            kept=None, observed=None):
        """The drive of every bin of ``rates`` ``(n_trials, n_bins, n_neurons)``; with
        ``rng``, also counts drawn bin by bin (keeping ``kept`` where ``observed``).

        ``events`` are spikes of synchronous events added to the drawn counts (outside the
        renewal process: they do not reset a neuron's state); ``event_mean`` their mean
        count per neuron, which the renewal part leaves to them.

        Trials are independent, so they run in blocks that bound the memory of the state
        distributions (``_BLOCK_ENTRIES`` numbers each).
        """
        n_trials, _, n_neurons = rates.shape
        target = self.target(rates, event_mean).astype(_FILTER_DTYPE)
        speed = self.speed(rates)
        weights = self.weights(target)
        drives = np.empty(rates.shape)
        counts = None if rng is None else np.zeros(rates.shape, dtype=np.int64)
        block = max(1, _BLOCK_ENTRIES // (n_neurons * self._recovery.shape[1]))
        for start in range(0, n_trials, block):
            trials = slice(start, start + block)
            drives[trials], drawn = self._run_block(
                target[trials], valid[trials], weights, rng,
                *(None if a is None else a[trials]
                  for a in (speed, multiplier, events, kept, observed)),
            )
            if rng is not None:
                counts[trials] = drawn
        return drives, counts

    def _run_block(self, target, valid, weights, rng, speed, multiplier, events, kept,
                   observed):
        n_trials, n_bins, n_neurons = target.shape
        recovery = self.recovery_at(None if speed is None else speed[:, 0])
        rho, pi = self.start(target[:, 0], weights, recovery)
        drives = np.empty(target.shape)
        counts = None
        last = self._recovery.shape[1] - 1
        if rng is not None:
            counts = np.zeros(target.shape, dtype=np.int64)
            # Where in its interval each neuron starts: drawn from the distribution above.
            cumulative = np.cumsum(pi, axis=-1)
            state = (rng.random((n_trials, n_neurons, 1)) > cumulative).sum(axis=-1)
            state = np.minimum(state, last)
        for t in range(n_bins):
            if speed is not None:
                recovery = self.recovery_at(speed[:, t])
            rho = self.solve(pi, target[:, t], rho, weights, recovery)
            drives[:, t] = rho
            pi = _propagate(pi, -np.expm1(-rho[..., None] * recovery))
            if rng is None:
                continue
            lam = rho * np.take_along_axis(np.broadcast_to(recovery, pi.shape),
                                           state[..., None], axis=-1)[..., 0]
            if multiplier is not None:
                lam = lam * multiplier[:, t]
            drawn = draw_counts(rng, lam, self.dispersion, self.max_count)
            if kept is not None:
                drawn = np.where(observed[:, t], kept[:, t], drawn)
            drawn *= valid[:, t, None]
            state = np.where(drawn > 0, 0, np.minimum(state + 1, last))
            if events is not None:
                added = np.minimum(drawn + events[:, t], self.max_count) * valid[:, t, None]
                drawn = added if kept is None else np.where(observed[:, t], drawn, added)
            counts[:, t] = drawn
        return drives, counts




def log_likelihood(fit: RenewalFit, counts, rates, valid, event_mean=None):
    """``log P(count)`` of every entry given the recorded spike history and the rate path
    (shared fluctuations left out: they act on all neurons at once; ``event_mean``: the
    renewal part is driven at the rates less it, as :meth:`_Model.run`)."""
    model = _Model.of(fit)
    drives, _ = model.run(rates, valid, event_mean=event_mean)
    history = fit.recovery.shape[1] - 1
    states = _states(counts, valid, history)
    # Before a trial's first spike the state is unknown: the recovered one.
    states = np.where(states < 0, history, states)
    ages = model.ages(states, rates)
    lam = drives * recovery_at_ages(fit.recovery, np.arange(counts.shape[-1]), ages)
    return _log_probability(counts, lam, fit.dispersion, fit.max_count)


def _states(counts, valid, history):
    """Bins since each neuron's last spike, 0-based (0: a spike in the previous bin),
    capped at ``history``; -1 before a trial's first spike (state unknown) and on padding."""
    n_trials, n_bins, n_neurons = counts.shape
    states = np.empty(counts.shape, dtype=np.int64)
    current = np.full((n_trials, n_neurons), -1)
    for t in range(n_bins):
        states[:, t] = np.where(valid[:, t, None], current, -1)
        seen = current >= 0
        current = np.where(counts[:, t] > 0, 0, np.where(seen, np.minimum(current + 1, history),
                                                          -1))
    return states
