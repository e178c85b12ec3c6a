"""The count model: ``min(Poisson(lam), 1 + G, cap)`` with ``P(G >= j) = beta**j``."""

from __future__ import annotations

import numpy as np
from scipy.special import gammainc

from .settings import _TAIL_EPS


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
