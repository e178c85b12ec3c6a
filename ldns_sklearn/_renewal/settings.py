"""The renewal model's settings: each constant with the measurement or reason that set it."""

from __future__ import annotations

import numpy as np

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
