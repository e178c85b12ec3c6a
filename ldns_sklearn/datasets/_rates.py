"""Rates and spikes of the synthetic generators (``make_lorenz_spikes``, ``make_reach_spikes``).

Each reads a latent drive out into rates ``softplus(drive + bias, beta)`` with ``bias``
solved so that the mean rate is exactly what the user asked for, then draws Poisson counts
(and, if asked, Neo spike trains) from them.
"""

from __future__ import annotations

import numpy as np
import quantities as pq

from .._neo.trains import counts_to_spiketrains

# Elements per block when sweeping the (n_trials, n_bins, n_neurons) array, to bound temporaries.
_BLOCK = 1 << 22


def softplus(x, beta, out=None):
    """softplus(x) = log(1 + exp(beta * x)) / beta, computed stably in blocks.

    The form max(y, 0) + log1p(exp(-|y|)) is about twice as fast as ``np.logaddexp`` and
    writing into ``out`` block by block keeps temporaries small on large data sets.
    """
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x) if out is None else out
    flat_x, flat_out = x.reshape(-1), out.reshape(-1)
    for start in range(0, flat_x.size, _BLOCK):
        y = flat_x[start : start + _BLOCK] * beta
        tail = np.log1p(np.exp(-np.abs(y)))
        np.maximum(y, 0.0, out=y)
        y += tail
        y /= beta
        flat_out[start : start + _BLOCK] = y
    return out


def _mean_slope(rates, beta):
    # d softplus(x + b) / db = sigmoid(beta * (x + b)) = 1 - exp(-beta * softplus(x + b)), so the
    # slope of the mean rate comes from the rates themselves.
    flat = rates.reshape(-1)
    total = 0.0
    for start in range(0, flat.size, _BLOCK):
        total -= np.expm1(-beta * flat[start : start + _BLOCK]).sum()
    return total / flat.size


def rates_with_mean(drive, mean_rate, beta):
    """Rates softplus(drive + b) with the shared bias b solved so their mean is mean_rate.

    The mean rate is convex and increasing in b, so Newton's method converges monotonically
    once an iterate lies to the right of the root. A subsample finds the root cheaply; one or
    two full-data steps then make it exact (to 1e-9 relative).
    """
    # Start at the bias that gives mean_rate when the drive is zero (the inverse softplus,
    # written so that it does not overflow). For a zero-mean drive (Lorenz) it lies to the
    # right of the root by Jensen's inequality; otherwise the first Newton step of this
    # convex function lands to the right of it, and the iteration is monotone from there.
    scaled = beta * mean_rate
    bias = (scaled + np.log(-np.expm1(-scaled))) / beta
    flat = drive.reshape(-1)
    subsample = flat[:: max(1, flat.size // (1 << 20))]
    for _ in range(100):
        rates = softplus(subsample + bias, beta)
        step = (rates.mean() - mean_rate) / _mean_slope(rates, beta)
        bias -= step
        if abs(step) <= 1e-13 * max(1.0, abs(bias)):
            break
    rates = np.empty_like(drive)
    for _ in range(20):
        softplus(drive + bias, beta, out=rates)
        error = rates.mean() - mean_rate
        if abs(error) <= 1e-9 * mean_rate:
            break
        bias -= error / _mean_slope(rates, beta)
    return rates, float(bias)


def poisson_spikes(rates, rng, bin_size, return_spiketrains):
    """Poisson counts of ``rates`` (int64) and, if asked, the trials as Neo spike trains."""
    # numpy's Generator draws Poisson variates about twice as fast as the legacy RandomState;
    # seeding it from `rng` keeps the scikit-learn random_state semantics.
    poisson_rng = np.random.default_rng(rng.randint(np.iinfo(np.int32).max))
    counts = poisson_rng.poisson(rates).astype(np.int64, copy=False)
    spiketrains = None
    if return_spiketrains:
        spiketrains = counts_to_spiketrains(counts, bin_size, t_start=0 * pq.s)
    return counts, spiketrains
