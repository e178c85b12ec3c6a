"""The spiking model of :class:`~ldns_sklearn.RenewalObservation` (NumPy only).

Each neuron is a discrete-time *inhomogeneous Markov interval* process (Kass & Ventura
2001): its expected count in bin ``t`` is ``lam_t = rho_t * q[d_t]``, where ``d_t`` is the
number of bins since its last spike (the state; ``q[d]`` its recovery, ``q = 1`` once
recovered, ``d > history``) and ``rho_t`` the drive. The count is
``min(Poisson(lam_t), 1 + G, cap)`` with ``P(G >= j) = beta**j``: ``beta = 1`` leaves
Poisson counts, ``beta = 0`` allows one spike per bin.

The recovery is read on each neuron's own clock: at rate ``r_t`` the ``d + 1`` bins since
the last spike count as ``(d + 1) * (r_t / r_mean) ** c - 1`` columns of ``q``
(interpolated in ``log q``), ``c`` given or chosen per neuron by likelihood
(``RenewalObservation(recovery_clock=)``). ``c = 0``, the default, is the
multiplicative model above, refractoriness fixed in time; ``c = 1`` approximates time
rescaling, where a neuron firing twice as fast also recovers twice as fast (a gamma
process in operational time). The state stays the bins since the last spike, so the
filter below is unchanged; only the ``q`` of each state depends on the bin's rate.

The drive is not a fitted function of the decoded rate ``r_t``. It is solved bin by bin
so that the count *expected given the rate path* is exactly ``r_t``: a filter carries the
distribution ``pi_t`` of the state forward (what the rates so far imply, not what was
drawn) and ``rho_t`` solves ``sum_d pi_t[d] E[count | rho_t q[d]] = r_t``. So the decoded
rates keep their meaning, spike history only rearranges spikes in time, and shared rate
fluctuations pass to the counts unamplified (a fitted gain on the rate, as in the paper's
spike-history GLM, amplifies them; its summed history filter also damps slow ones).

Each trial's rates of a neuron can be multiplied by a log-normal factor of mean 1 (the
trial spread): variability from trial to trial that posterior-mean rates lose. It acts on
the rate, so the filter solves the drive for it.

Optionally, shared fluctuations that the rates miss act on the counts: zero-lag synchrony
and fast population rhythms that smooth latents cannot carry. Each is an AR(2) process
``eta``, Gaussian or two-state, and acts in one of two ways:

* *multiplicative*: every neuron's ``lam`` is multiplied by ``exp(L @ eta_t)`` scaled to
  mean 1 (shared excitability; a refractory neuron stays silent);
* *additive*: a two-state factor is a train of synchronous events, and in a bin where it
  is on each neuron adds a spike with probability ``L[n, k]`` (its participation), outside
  its own renewal process: the spike neither needs the neuron recovered nor resets it
  (coincidences injected into ongoing firing, as in the single-interaction and compound
  Poisson models of synchrony). The renewal part is then driven at the rate less the
  events' mean count.

The filter runs in float32 over blocks of trials, all neurons and states at once.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
from scipy.special import gammainc, ndtri
from scipy.stats import multivariate_normal

from ._synchrony import Synchrony, find_synchrony, lagged_covariances, synchronous_spikes
from ._warnings import warn_user

__all__ = [
    "RECOVERY_CLOCKS",
    "RenewalFit",
    "draw",
    "fit_fluctuations",
    "fit_renewal",
    "log_likelihood",
    "synchrony_left_to_events",
]

# Newton steps solving the drive in each bin (warm-started from the previous bin): this
# many for every entry, then up to the maximum for those not yet within the tolerance.
_NEWTON_STEPS = 3
_MAX_NEWTON_STEPS = 50
_RELATIVE_TOLERANCE = 1e-4
_FILTER_DTYPE = np.float32
_TINY = float(np.finfo(_FILTER_DTYPE).tiny)
_MAX_LOG_STEP = 3.0
# Largest drive relative to the rate: where the state distribution says a neuron is almost
# surely refractory, no finite drive reaches the rate, and the drive stops growing here.
_MAX_DRIVE_RATIO = 1e3
# Numbers in each state-distribution array of a block of trials run together (8 MB).
_BLOCK_ENTRIES = 1 << 20
# Share of the training bins whose drive may sit at that ceiling before the fit warns:
# rates that a refractory neuron cannot reach drive the recovery towards 0 everywhere.
# (Decoded rates of the benchmark data put at most 0.4 % of bins there.)
_MAX_SATURATED_SHARE = 0.05
# Smallest rate the filter solves for: a softplus never returns 0, but it can underflow.
_MIN_RATE = 1e-12
# Counts whose Poisson tail probability is below this are not summed, at a drive this many
# times the largest rate (a drive above the rate makes up for refractory states; in the
# fitted models it stayed within a few times the rate).
_TAIL_EPS = 1e-12
_DRIVE_HEADROOM = 20.0
# Lags of the cross-covariances that identify the shared fluctuations' time course.
_FLUCTUATION_LAGS = 3
# A factor is kept when its eigenvalue exceeds this multiple of the largest factor the same
# fit finds in the difference of two simulations of the model without factors (sampling
# noise), the larger over _NOISE_PAIRS such pairs. (The plain largest eigenvalue of that
# difference, the edge before, was 0.4-0.55 where the fit found factors of 1.1-1.3 in it:
# spurious factors passed on a tiny refractory population, tests/test_renewal.py.)
_FACTOR_MARGIN = 2.0
_NOISE_PAIRS = 2
_CALIBRATION_ROUNDS = 3
# Shapes a factor may take besides Gaussian, tried in turn (p: a two-state process on in
# a fraction p of bins; in both orientations), keeping the one whose draws come closest
# to the recorded population-count distribution and pairwise correlations.
_FACTOR_SPARSITIES = (0.5, 0.3, 0.15, 0.05)
# Fractions of bins holding a synchronous event, tried for additive factors (at 5 ms bins,
# 0.02 is an event rate of 4 Hz): the same covariance is made by frequent events that few
# members join or rare ones that most join, and only the population count tells which.
_EVENT_PROBABILITIES = (0.05, 0.02, 0.01, 0.005)
# Around the one chosen, factors of the event probability tried in turn (the grid's step,
# about 2, halved in log p twice), and the most it may become.
_EVENT_REFINEMENT = (2.0**0.5, 2.0**0.25)
_MAX_EVENT_PROBABILITY = 0.1
# Neurons loading less than this share of a factor's largest loading take no part in its
# events.
_MEMBER_SHARE = 0.25
# Least part of its rate a neuron's renewal process keeps when events add spikes to it.
_MIN_RENEWAL_SHARE = 0.05
# Most trials of rates drawn from while fitting the fluctuations (a sample of the others):
# every draw runs the filter over them, and these statistics settle well before.
_FLUCTUATION_TRIALS = 300
# Draws averaged for the gains of a model with shared fluctuations, and for each
# candidate's errors when its shape is chosen.
_GAIN_DRAWS = 4
_CLOSEST_DRAWS = 2
# history=None: the 95th percentile of the intervals between spikes, in this range of bins
# (the recovery of most intervals is fitted; longer ones end at the recovered hazard).
_HISTORY_QUANTILE = 0.95
_HISTORY_RANGE = (10, 60)
# Exponents of how fast each neuron's recovery runs at its current rate (see
# clock_speed), by the name RenewalObservation(recovery_clock=) gives them: 0 counts the
# time since a spike in bins (Kass & Ventura's multiplicative model), 1 in expected spikes
# at the current rate (time rescaling: a gamma process firing twice as fast recovers twice
# as fast); "auto" lets each neuron keep the likeliest of 0, 0.5 and 1. The speed stays
# within _CLOCK_RANGE of the one at the neuron's mean rate.
RECOVERY_CLOCKS = {"bins": (0.0,), "rate": (1.0,), "auto": (0.0, 0.5, 1.0)}
_CLOCK_RANGE = (0.2, 5.0)
# Trial spread (see _fit_trial_spread): draws compared with the recorded counts, and how
# many times its noise a neuron's shortfall of variance over trials must be to be kept on
# its own (on the gamma data's training rates the largest shortfalls were 3.6 and 4.5
# times their noise; on LIF and Lorenz data no neuron fell short by twice its noise).
# Below that, a neuron keeps its share of the shortfall pooled over neurons.
_SPREAD_DRAWS = 2
_SPREAD_THRESHOLD = 2.0
# Fewest neurons whose cross-covariances are factored: with fewer, the largest eigenvalue
# of sampling noise is too erratic a threshold.
_MIN_FACTOR_NEURONS = 8
# Fewest training spikes of a neuron that takes part in the shared fluctuations. Its
# loading on the rates is the factor of the noise-scaled covariances divided by sqrt(r),
# so a neuron of a handful of spikes turned the noise of its covariances into loadings of
# tens on the log-rate (exp overflowed on a recording's rarely firing units); 100 spikes
# bound that amplification to a few times the busiest neurons'.
_MIN_FACTOR_SPIKES = 100
# Largest lag-1 autocorrelation of a kept factor (see fit_fluctuations).
_MAX_FACTOR_ACF = 0.5
# Gaussian autocorrelations a factor's path is made of, how far inside the stationary
# triangle its AR(2) coefficients stay, and how much worse (in squared units of the
# measurement's noise, summed over lags 1 and 2: the 68 % region of two parameters) a
# pair of less structure may fit the measured autocorrelations (see _factor_ar).
_ACF_GRID = np.linspace(-0.95, 0.95, 77)
_AR_MARGIN = 0.95
_AR_TOLERANCE = 2.3


class RenewalFit(NamedTuple):
    """Fitted parameters (arrays; see the module docstring)."""

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


# ------------------------------------------------------------------------- count model


def count_weights(dispersion, max_count, lam_max):
    """``w[n, k - 1] = beta_n**(k - 1)`` for ``1 <= k <= cap_n`` (0 above the cap): the
    weights of ``P(Poisson >= k)`` in ``E[count]``, up to the largest count whose Poisson
    tail at ``lam_max`` is not negligible."""
    largest, cap_max = 1, int(np.max(max_count))
    while largest < cap_max and gammainc(largest + 1, lam_max) >= _TAIL_EPS:
        largest += 1
    k = np.arange(1, largest + 1)
    with np.errstate(divide="ignore"):  # 0**0 = 1 is what a count of one needs
        weights = dispersion[:, None] ** (k - 1)[None, :]
    return np.where(k[None, :] <= max_count[:, None], weights, 0.0)


def count_moments(lam, weights):
    """``E[count]`` and its derivative in ``lam`` ``(..., S)``, with ``P(count >= k) =
    P(Poisson(lam) >= k) * weights[..., k - 1]`` (rows of :func:`count_weights`)."""
    pmf = np.exp(-lam)
    # k = 1, whose weight is 1 for every neuron.
    mean = 1.0 - pmf
    slope = pmf.copy()
    # In place, one scratch array: the filter's Newton steps spend most of their time here.
    cdf, term = pmf.copy(), np.empty_like(pmf)
    for k in range(2, weights.shape[1] + 1):
        pmf *= lam
        pmf /= k - 1
        cdf += pmf
        weight = weights[..., k - 1, None]
        np.subtract(1.0, cdf, out=term)
        term *= weight
        mean += term
        np.multiply(weight, pmf, out=term)
        slope += term
    return mean, slope


def draw_counts(rng, lam, beta, cap):
    """Counts ``min(Poisson(lam), 1 + G, cap)`` with ``P(G >= j) = beta**j``."""
    counts = rng.poisson(lam)
    if np.any(beta < 1):
        # Geometric(p) counts trials up to the first success: P(geometric - 1 >= j) = beta**j.
        extra = rng.geometric(np.clip(1.0 - np.broadcast_to(beta, lam.shape), 1e-300, 1.0))
        counts = np.minimum(counts, extra)
    return np.minimum(counts, cap).astype(np.int64)


def _poisson_tails(counts, lam, cap):
    """``P(Poisson(lam) >= k)`` and ``P(Poisson(lam) >= k + 1)`` (0 at the cap) of the
    counts ``k >= 1``: the parts of :func:`_log_probability` that do not depend on
    ``beta`` (the incomplete gamma functions, most of its cost)."""
    k = counts.astype(np.float64)
    return gammainc(k, lam), np.where(counts >= cap, 0.0, gammainc(k + 1, lam))


def _log_probability_of_spikes(counts, tails, beta):
    """``log P(count | lam)`` of counts ``>= 1`` from their :func:`_poisson_tails`."""
    at_least, above = tails
    k = counts.astype(np.float64)
    return np.log(np.maximum(at_least * beta ** (k - 1) - above * beta**k, 1e-300))


def _log_probability(counts, lam, beta, cap):
    """``log P(count | lam)`` under the count model, elementwise."""
    log_p = -lam  # count 0
    spiking = counts > 0
    if spiking.any():
        k = np.maximum(counts, 1)
        spikes = _log_probability_of_spikes(k, _poisson_tails(k, lam, cap), beta)
        log_p = np.where(spiking, spikes, log_p)
    return log_p


# ------------------------------------------------------------------------ state filter


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


# ---------------------------------------------------------------------------- fitting


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


# ------------------------------------------------------------- shared fluctuations


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


def _no_factors(n_neurons):
    """The fields of :class:`RenewalFit` for a model without shared fluctuations."""
    return {"loadings": np.zeros((n_neurons, 0)), "ar": np.zeros((0, 2)),
            "sparsity": np.zeros(0), "additive": np.zeros(0, dtype=bool)}


def _mean_count(counts, valid):
    """Each neuron's mean count per valid bin."""
    return (counts * valid[..., None]).sum(axis=(0, 1)) / max(valid.sum(), 1)


def fit_fluctuations(fit, counts, valid, rates, rates_valid, n_factors, rng):
    """``fit`` with rate gains and shared fluctuations made for drawing from ``rates``.

    ``rates`` need not be those of ``counts``: only what the model draws from them is
    compared with ``counts`` (means, cross-covariances, the population-count
    distribution), so they may be rates a generative model made. The gains make each
    neuron's mean count that of ``counts``; the fluctuations are factors of the
    cross-covariance of ``counts`` that draws without them miss (at most ``n_factors``,
    each kept only if it stands out of the sampling noise and varies from bin to bin),
    their loadings scaled until draws make up that covariance. Whether the factors
    multiply the rates or add synchronous events (groups: their varimax rotation), are
    Gaussian or two-state, how sparse and which way round, and then how many of them are
    kept, is chosen by the population-count distribution and the pairwise correlations
    of the draws. Last, the trial spread (:func:`_fit_trial_spread`), with the chosen
    fluctuations in the draws.
    """
    n_neurons = counts.shape[-1]
    mean_rate = _mean_count(counts, valid)
    # The filter keeps every expected count at its rate: without fluctuations the gain
    # that gives the recorded mean counts follows from the rates alone.
    gain = mean_rate / np.maximum(_mean_count(rates, rates_valid), 1e-300)
    all_rates, all_valid = rates, rates_valid
    if len(rates) > _FLUCTUATION_TRIALS:
        rows = np.sort(rng.choice(len(rates), _FLUCTUATION_TRIALS, replace=False))
        rates, rates_valid = rates[rows], rates_valid[rows]
    fit = fit._replace(gain=gain, trial_spread=np.zeros(n_neurons), **_no_factors(n_neurons))
    # The fluctuations are fitted on draws from that sample: their gains aim at what the
    # model without them draws there, so that the sample's own mean rates (a little off
    # those of all the rates) leave the gains as they are.
    target = gain * _mean_count(rates, rates_valid)
    taking_part = _taking_part(counts, valid)
    if _fits_factors(n_factors, taking_part):
        fit = _fit_factors(fit, counts, valid, rates, rates_valid, n_factors, rng, mean_rate,
                           target, taking_part)
    # The spread is measured on all the rates: a shortfall shared by most neurons is a few
    # per cent of their variance, below what the sample's trials can tell from noise.
    fit = _fit_trial_spread(fit, counts, valid, all_rates, all_valid, rng)
    if not fit.loadings.shape[1]:
        # Without shared fluctuations the gains follow from the rates alone (the trial
        # factors have mean 1).
        return fit
    # The gains are the last thing fitted and every sample inherits their error: one draw's
    # mean count misses each neuron's by about as much as another recording's mean does
    # (1.5-2 % on the benchmark data), so it is averaged over several.
    drawn_mean = np.mean([_mean_count(draw(fit, rates, rates_valid, rng), rates_valid)
                          for _ in range(_GAIN_DRAWS)], axis=0)
    return fit._replace(gain=fit.gain * _gain_correction(target, drawn_mean, taking_part))


def _gain_correction(target, drawn_mean, taking_part):
    """``target / drawn_mean`` for the neurons taking part in the shared fluctuations, 1
    for the others: the fluctuations leave their mean counts alone, and their draws'
    noise would only move the gains their rates give (from 1 to 1.23 for a neuron of 20
    training spikes, to 0.25-2 for one of a single spike; 1e12-fold where the draws held
    none of a neuron's spikes and the mean was divided by a floor: the Brian2 balanced
    network's mean rate 44.7x). 1 also where the draws hold no spike."""
    return np.divide(target, drawn_mean, out=np.ones_like(target),
                     where=taking_part & (drawn_mean > 0))


def _fit_factors(fit, counts, valid, rates, rates_valid, n_factors, rng, mean_rate, target,
                 taking_part):
    """``fit`` with the shared fluctuations of :func:`fit_fluctuations` (none if no excess
    stands out of the noise and varies from bin to bin) among the neurons ``taking_part``;
    its gains are refitted after."""
    off = _compared_pairs(taking_part)
    # Covariances in units of their sampling noise, which for counts near Poisson grows as
    # sqrt(r_i r_j): so scaled, every pair weighs alike in the test of a factor against
    # noise. Relative covariances (scaled by r_i r_j) let the noise of the neurons that
    # fire least swamp the test: a balanced network's weak synchrony shared by all 64
    # neurons (correlation 0.012) cleared it only among neurons of 1,000 training spikes
    # or more. A silent neuron, or one of too few spikes, takes no part: its rows of the
    # excess are 0 and it loads on no factor.
    root = np.sqrt(np.where(mean_rate > 0, mean_rate, 1.0))
    scale = np.outer(root, root)
    real = lagged_covariances(counts, valid, _FLUCTUATION_LAGS)
    simulated = [
        lagged_covariances(draw(fit, rates, rates_valid, rng), rates_valid, _FLUCTUATION_LAGS)
        for _ in range(2 * _NOISE_PAIRS)
    ]
    baseline = np.mean(simulated, axis=0)
    excess = (real - baseline) * off / scale
    # Sampling noise of one simulation's covariances, at every lag, off the diagonal. The
    # edge a factor must clear: the largest factor the same fit finds in that noise alone
    # (its diagonal filled as the excess's is), over several pairs of simulations.
    noises = [(simulated[2 * k] - simulated[2 * k + 1]) * off / np.sqrt(2.0)
              for k in range(_NOISE_PAIRS)]
    noise = noises[0]
    noise_edge = max(_off_diagonal_factors(n[0] / scale, n_factors)[1][0] for n in noises)
    loadings, values = _off_diagonal_factors(excess[0], n_factors)
    keep = values > _FACTOR_MARGIN * max(noise_edge, 0.0)
    directions = loadings[:, keep] / np.linalg.norm(loadings[:, keep], axis=0)
    variance = _along(directions, excess[0] * off)
    acf1, acf2 = (_along(directions, excess[tau] * off) / variance for tau in (1, 2))
    acf_noise = _acf_noise(directions, noise / scale, variance)
    # Slow shared variability is the latents' to carry (they are smooth; what they miss
    # is what varies from one bin to the next): a slow excess is left alone.
    fast = np.abs(acf1) <= _MAX_FACTOR_ACF
    if not fast.any():
        return fit
    # A factor ``w`` of the scaled covariances is ``w / sqrt(r)`` on the rates (a
    # multiplier's covariance is r_i r_j L_i L_j) and ``sqrt(r) w`` in counts (the shape
    # of synchronous events, whose covariance is c_i c_j).
    directions, loadings = directions[:, fast], loadings[:, keep][:, fast]
    acf1, acf2, acf_noise = acf1[fast], acf2[fast], acf_noise[fast]
    missing = _along(directions, (real - baseline)[0] * off)
    n_kept = directions.shape[1]
    covered = baseline[0] * off

    def scaled(candidate, rounds=1):
        """``(fit, directions, missing)`` with the fit's loadings scaled to the missing
        covariance along the directions."""
        fit_, directions_, missing_ = candidate
        return (_scaled_factors(fit_, rates, rates_valid, rng, directions_, missing_, covered,
                                target, taking_part, rounds), directions_, missing_)

    gaussian = scaled(
        (fit._replace(loadings=loadings / root[:, None],
                      ar=_factor_ar(acf1, acf2, acf_noise, 0.0),
                      sparsity=np.zeros(n_kept), additive=np.zeros(n_kept, dtype=bool)),
         directions, missing),
        _CALIBRATION_ROUNDS,
    )
    # Other shapes start from the Gaussian's scale (a unit-variance factor adds about the
    # same covariance whatever its shape) and need one more round. A two-state factor's
    # rare state is "on", so its sign matters (a principal factor has none): synchronous
    # events add spikes together, rarer silences take them away. Both are tried, except at
    # p = 0.5, where the two are the same.
    candidates = [gaussian] + [
        scaled((gaussian[0]._replace(loadings=sign * gaussian[0].loadings,
                                     ar=_factor_ar(acf1, acf2, acf_noise, sparsity),
                                     sparsity=np.full(n_kept, sparsity)),
                sign * directions, missing))
        for sparsity in _FACTOR_SPARSITIES
        for sign in ((1.0,) if sparsity == 0.5 else (1.0, -1.0))
    ]
    # Synchronous events added to ongoing firing: they need no recovered neuron, which a
    # multiplier does (refractory members stay silent however excitable). Principal
    # factors of groups of about equal strength are mixtures of the groups (any rotation
    # of them is as good), and events of a mixture fire several groups together: the
    # events take the varimax rotation, whose factors each load on few neurons, each
    # the way round its sum is positive (events add spikes together).
    groups = _varimax(loadings)
    groups *= np.where(groups.sum(axis=0) < 0, -1.0, 1.0)
    oriented = groups / np.linalg.norm(groups, axis=0)
    group_missing = _along(oriented, (real - baseline)[0] * off)
    # An event of one neuron adds no covariance: such a factor (sampling noise that the
    # rotation put on one neuron) is no group, nor is one along which nothing is missing.
    # The strongest come first, as the principal factors do.
    order = np.argsort(-group_missing)
    order = order[(_members(oriented[:, order]).sum(axis=0) >= 2) & (group_missing[order] > 0)]
    oriented, group_missing = oriented[:, order], group_missing[order]
    group_acf1, group_acf2 = (
        _along(oriented, (real - baseline)[tau] * off) / group_missing for tau in (1, 2)
    )
    group_noise = _acf_noise(oriented, noise, group_missing)
    n_groups = oriented.shape[1]

    def events(probability):
        return scaled((fit._replace(loadings=_participation(oriented, group_missing, probability,
                                                            root),
                                    ar=_factor_ar(group_acf1, group_acf2, group_noise,
                                                  probability),
                                    sparsity=np.full(n_groups, probability),
                                    additive=np.ones(n_groups, dtype=bool)),
                       oriented, group_missing))

    candidates += [events(p) for p in (_EVENT_PROBABILITIES if n_groups else ())]
    # The shape is chosen by what it is for: the distribution of the population count
    # and the pairwise correlations of the draws.
    recorded = (_population_histogram(counts, valid), _off_diagonal_correlations(real[0]))
    best = _closest([c[0] for c in candidates], recorded, rates, rates_valid, rng)
    chosen = candidates[best]
    # How often events happen is the data's, not the grid's: synchrony at 3 Hz is events
    # in 1.5 % of 5 ms bins, between two of the grid's, and the population count is
    # sensitive to it. So around the chosen probability the step in log p is halved, and
    # halved again, keeping the closest each time.
    for step in _EVENT_REFINEMENT if chosen[0].additive.any() else ():
        probability = float(chosen[0].sparsity[0])
        nearby = [chosen] + [events(probability * step**side) for side in (1, -1)
                             if probability * step**side < _MAX_EVENT_PROBABILITY]
        chosen = nearby[_closest([c[0] for c in nearby], recorded, rates, rates_valid, rng)]
    # Then how many of its factors: the weaker ones stand out of the sampling noise less
    # clearly, and one scaled to noise makes the population count worse.
    n_chosen = chosen[0].loadings.shape[1]
    if n_chosen > 1:
        fewer = [chosen] + [
            scaled((_first_factors(chosen[0], n), chosen[1][:, :n], chosen[2][:n]))
            for n in range(1, n_chosen)
        ]
        best = _closest([c[0] for c in fewer], recorded, rates, rates_valid, rng)
        chosen = fewer[best]
    return chosen[0]


def _trial_means(counts, valid):
    """Each trial's mean count per valid bin ``(n_trials, n_neurons)``, for the trials
    that have a valid bin."""
    n_bins = valid.sum(axis=1)
    has_bins = n_bins > 0
    return (counts * valid[..., None]).sum(axis=1)[has_bins] / n_bins[has_bins, None]


def _variance_with_noise(values, n_independent):
    """The variance over rows of ``values`` ``(n_rows, n_neurons)`` and the sampling
    variance of that estimate, as from ``n_independent`` independent rows (with the
    fourth central moment, not assuming a normal distribution)."""
    centred = values - values.mean(axis=0)
    variance = (centred**2).sum(axis=0) / max(len(values) - 1, 1)
    n = max(n_independent, 1)
    fourth = (centred**4).mean(axis=0)
    noise = np.maximum(fourth - variance**2 * (n - 3) / max(n - 1, 1), 0.0) / n
    return variance, noise


def _fit_trial_spread(fit, counts, valid, rates, rates_valid, rng):
    """``fit`` with each neuron's trial spread: the standard deviation of a log-normal
    factor of mean 1 on a trial's rates that makes up the shortfall of the variance over
    trials of the neuron's mean count in draws from ``rates`` against ``counts``.

    Decoded rates are posterior means, which pull each trial towards the average, and a
    generative model of them can lose a little more: on the gamma data a trial's summed
    decoded rate varied a third less from trial to trial than the true one, which left the
    Fano factor of neurons that the latents drive strongly too low. A factor on the rates
    (not on the drive) reaches the counts whole: the filter solves each bin's drive for
    the rate it is given.

    A neuron whose shortfall exceeds ``_SPREAD_THRESHOLD`` times the noise of the
    comparison keeps it. Every neuron gets at least its pooled estimate
    (:func:`_pooled_shortfall`), clipped at 0: on the gamma data most neurons fell short
    by a few per cent each, too little for any one neuron to tell from noise.
    """
    recorded_means = _trial_means(counts, valid)
    recorded, recorded_noise = _variance_with_noise(recorded_means, len(recorded_means))
    drawn_means = np.concatenate([
        _trial_means(draw(fit, rates, rates_valid, rng), rates_valid)
        for _ in range(_SPREAD_DRAWS)
    ])
    # The draws share their rates: as many independent rows as there are rate trials.
    drawn, drawn_noise = _variance_with_noise(drawn_means, len(rates))
    # A factor of variance s**2 on a trial's rates adds s**2 * R**2 to the variance of its
    # mean count (R: the trial's mean rate): compared in those units.
    second_moment = np.maximum(
        np.mean(_trial_means(rates * fit.gain, rates_valid) ** 2, axis=0), 1e-300)
    shortfall = (recorded - drawn) / second_moment
    noise = np.sqrt(recorded_noise + drawn_noise) / second_moment
    own = np.where(shortfall > _SPREAD_THRESHOLD * noise, shortfall, 0.0)
    factor_variance = np.maximum(own, np.maximum(_pooled_shortfall(shortfall, noise), 0.0))
    return fit._replace(trial_spread=np.sqrt(np.log1p(factor_variance)))


def _pooled_shortfall(shortfall, noise):
    """Each neuron's ``shortfall`` pulled towards the mean over neurons as a random-effects
    model does: the mean weighted by ``1 / noise**2``, the spread of the neurons' true
    shortfalls about it by DerSimonian and Laird's moment estimate, and each neuron moved
    towards the mean by its noise's share of its variance.

    Centred on the pooled mean, not on 0: a prior at 0 (tried first) estimated a spread of
    1e-4 on the gamma data and removed the few large shortfalls along with the noise."""
    usable = np.isfinite(shortfall) & (noise > 0)
    if usable.sum() < 2:
        # Nothing to pool over: a lone neuron's shortfall is left to its own test.
        return np.zeros_like(shortfall)
    variance = np.where(usable, noise, 1.0) ** 2
    weight = np.where(usable, 1.0 / variance, 0.0)
    values = np.where(usable, shortfall, 0.0)
    mean = (weight * values).sum() / weight.sum()
    q = (weight * (values - mean) ** 2).sum()
    scale = weight.sum() - (weight**2).sum() / weight.sum()
    spread = max(q - (usable.sum() - 1), 0.0) / scale
    pulled = mean + spread / (spread + variance) * (values - mean)
    return np.where(usable, pulled, 0.0)


def _first_factors(fit, n):
    """``fit`` with its first ``n`` shared fluctuations only."""
    return fit._replace(loadings=fit.loadings[:, :n], ar=fit.ar[:n],
                        sparsity=fit.sparsity[:n], additive=fit.additive[:n])


def _closest(fits, recorded, rates, valid, rng):
    """The index of the fit whose draws from ``rates`` come closest to the ``recorded``
    population-count histogram and pairwise correlations. Closeness adds the two errors,
    each relative to the smallest among the fits (one fit can buy a closer population count
    with wrong correlations); each error is averaged over ``_CLOSEST_DRAWS`` draws, and
    every fit is drawn with the same seeds, so that the fits, not their draws' luck, differ
    (on one draw of its own each, the same fit given twice lost to itself about half the
    time)."""
    histogram, correlations = recorded
    seeds = rng.integers(2**63, size=_CLOSEST_DRAWS)
    divergences, correlation_errors = np.zeros(len(fits)), np.zeros(len(fits))
    for index, fit in enumerate(fits):
        for seed in seeds:
            drawn = draw(fit, rates, valid, np.random.default_rng(seed))
            divergences[index] += _histogram_kl(histogram, _population_histogram(drawn, valid))
            drawn_correlations = _off_diagonal_correlations(
                lagged_covariances(drawn, valid, 0)[0])
            correlation_errors[index] += np.sqrt(np.mean((drawn_correlations - correlations) ** 2))
    return int(np.argmin(divergences / max(divergences.min(), 1e-12)
                         + correlation_errors / max(correlation_errors.min(), 1e-12)))


def _acf_noise(directions, noise, variance):
    """Sampling noise of the lag autocorrelations along ``directions`` of covariances whose
    ``variance`` along them is given: the size of ``noise`` (lagged covariances of sampling
    noise alone, lags 1 and on) along them, relative to that variance."""
    size = np.sqrt(np.mean([_along(directions, lagged) ** 2 for lagged in noise[1:]], axis=0))
    return size / np.maximum(np.abs(variance), 1e-300)


def _factor_ar(acf1, acf2, noise, sparsity):
    """AR(2) coefficients of the Gaussian paths behind factors whose lag-1 and lag-2
    autocorrelations are measured as ``acf1`` and ``acf2``, each with sampling noise
    ``noise``, and which are thresholded at ``sparsity`` (if it is not 0).

    Of the pairs of Gaussian autocorrelations a stationary AR(2) makes (within
    ``_AR_MARGIN``), those whose thresholded autocorrelations are about as close to the
    measured ones as the closest pair (within ``_AR_TOLERANCE``, in units of the noise)
    explain the measurement equally well; the one of least temporal structure (nearest
    white noise) is taken. Matching the measured pair as closely as possible overfits
    its noise: a rare two-state process is anticorrelated by at most ``p / (1 - p)`` at
    any lag, and at ``p = 0.005`` a measured -0.01 at lag 1 (noise) was matched by a
    Gaussian path alternating from bin to bin, which made synchronous events recur two
    bins apart where the recording's were independent. Each lag's own nearest Gaussian
    autocorrelation is among the candidates besides the grid, so the closest fit is the
    measured pair itself wherever that is reachable and stationary, and what is taken
    lies within the noise of it.
    """
    binary = _binary_acfs(sparsity)
    grid1, grid2 = (g.ravel() for g in np.meshgrid(_ACF_GRID, _ACF_GRID, indexing="ij"))
    reached1, reached2 = (g.ravel() for g in np.meshgrid(binary, binary, indexing="ij"))
    coefficients = []
    for measured1, measured2, size in zip(acf1, acf2, noise, strict=True):
        if not np.all(np.isfinite([measured1, measured2, size])):
            coefficients.append((0.0, 0.0))
            continue
        # The curve is increasing: read backwards, it gives each lag's nearest Gaussian
        # autocorrelation (an end of the grid beyond the curve's range).
        own = np.interp([measured1, measured2], binary, _ACF_GRID)
        first, second = np.append(grid1, own[0]), np.append(grid2, own[1])
        error = ((np.append(reached1, np.interp(own[0], _ACF_GRID, binary)) - measured1) ** 2
                 + (np.append(reached2, np.interp(own[1], _ACF_GRID, binary)) - measured2) ** 2
                 ) / max(size, 1e-12) ** 2
        a1, a2 = _yule_walker(first, second)
        error[(np.abs(a2) >= _AR_MARGIN) | (a2 + np.abs(a1) >= _AR_MARGIN)] = np.inf
        explains = error <= error.min() + _AR_TOLERANCE
        best = np.argmin(np.where(explains, first**2 + second**2, np.inf))
        coefficients.append((float(a1[best]), float(a2[best])))
    return np.array(coefficients)


def _scaled_factors(fit, rates, valid, rng, directions, missing, baseline, mean_rate,
                    taking_part, rounds):
    """``fit`` with each factor's loadings scaled (``rounds`` times) until draws add the
    ``missing`` covariance along its direction (the multiplier's effect on counts is damped
    by refractoriness and the count caps), and gains keeping the mean counts."""
    off = _compared_pairs(taking_part)
    for _ in range(rounds):
        drawn = draw(fit, rates, valid, rng)
        gain = fit.gain * _gain_correction(mean_rate, _mean_count(drawn, valid), taking_part)
        covariance = lagged_covariances(drawn, valid, 0)[0]
        added = _along(directions, covariance * off - baseline)
        ratio = np.clip(missing / np.maximum(added, 1e-12 * np.abs(missing)), 0.25, 4.0)
        loadings = fit.loadings * np.sqrt(ratio)
        # A participation is a probability.
        loadings[:, fit.additive] = np.clip(loadings[:, fit.additive], 0.0, 1.0)
        fit = fit._replace(loadings=loadings, gain=gain)
    return fit


def _varimax(loadings, n_iter=100, tolerance=1e-8):
    """The orthogonal rotation of ``loadings`` ``(n_neurons, n_factors)`` maximising the
    variance of the squared loadings of each factor (Kaiser 1958): each rotated factor
    loads on few neurons, and ``L @ L.T`` is unchanged."""
    n_neurons, n_factors = loadings.shape
    rotation = np.eye(n_factors)
    objective = 0.0
    for _ in range(n_iter):
        rotated = loadings @ rotation
        target = rotated**3 - rotated @ np.diag((rotated**2).sum(axis=0)) / n_neurons
        left, singular, right = np.linalg.svd(loadings.T @ target)
        rotation = left @ right
        if singular.sum() < objective * (1.0 + tolerance):
            break
        objective = singular.sum()
    return loadings @ rotation


def _members(directions):
    """Where each direction is at least ``_MEMBER_SHARE`` of its largest entry."""
    return directions >= _MEMBER_SHARE * directions.max(axis=0)


def _participation(directions, missing, probability, count_scale):
    """Participations ``c * s+`` of events in a fraction ``probability`` of bins whose
    added covariance along each direction ``u`` (off the diagonal) is ``missing``:
    ``p (1 - p) c**2 ((u . s+)**2 - sum(u**2 s+**2))``, at most 1. ``u`` is a factor of
    covariances scaled by ``count_scale`` (per neuron), ``s+`` its shape in counts,
    ``count_scale * u`` where ``u`` is at least ``_MEMBER_SHARE`` of its largest entry,
    else 0."""
    # Only clear members take part: the positive parts of the loadings' sampling noise on
    # every other neuron, small one by one, add up to more covariance of the population
    # count than the group itself makes.
    positive = np.where(_members(directions), directions * count_scale[:, None], 0.0)
    cross = (directions * positive).sum(axis=0) ** 2 - (directions**2 * positive**2).sum(axis=0)
    variance = probability * (1.0 - probability) * np.maximum(cross, 1e-12)
    return np.clip(np.sqrt(np.maximum(missing, 0.0) / variance) * positive, 0.0, 1.0)


def _off_diagonal_correlations(covariance):
    """The correlations of a covariance matrix above its diagonal (0 for a silent
    neuron)."""
    sd = np.sqrt(np.maximum(np.diag(covariance), 0.0))
    correlation = covariance / np.maximum(np.outer(sd, sd), 1e-300)
    return correlation[np.triu_indices(len(covariance), 1)]


def _population_histogram(counts, valid):
    """Counts of each population count (spikes of all neurons in a valid bin)."""
    return np.bincount(counts.sum(axis=-1)[valid].astype(np.int64))


def _histogram_kl(recorded, drawn):
    """``KL(recorded || drawn)`` of two histograms, each smoothed by half a count per bin."""
    size = max(len(recorded), len(drawn))
    p, q = (np.pad(h, (0, size - len(h))).astype(np.float64) + 0.5 for h in (recorded, drawn))
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum(p * np.log(p / q)))


def _along(directions, matrix):
    """``u.T @ matrix @ u`` for each column ``u`` of ``directions``."""
    return np.einsum("ik,ij,jk->k", directions, matrix, directions)


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
