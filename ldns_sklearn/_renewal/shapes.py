"""What the shared fluctuations' fit measures: autocorrelations, factor directions, event
participation, and the distances between recorded and drawn counts."""

from __future__ import annotations

import numpy as np

from .._synchrony import lagged_covariances
from .factors import _binary_acfs, _compared_pairs, _yule_walker, draw
from .settings import _ACF_GRID, _AR_MARGIN, _AR_TOLERANCE, _MEMBER_SHARE


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


def _mean_count(counts, valid):
    """Each neuron's mean count per valid bin."""
    return (counts * valid[..., None]).sum(axis=(0, 1)) / max(valid.sum(), 1)


def _gain_correction(target, drawn_mean, taking_part):
    """``target / drawn_mean`` for the neurons taking part in the shared fluctuations, 1
    for the others: the fluctuations leave their mean counts alone, and their draws'
    noise would only move the gains their rates give (from 1 to 1.23 for a neuron of 20
    training spikes, to 0.25-2 for one of a single spike; 1e12-fold where the draws held
    none of a neuron's spikes and the mean was divided by a floor: the Brian2 balanced
    network's mean rate 44.7x). 1 also where the draws hold no spike."""
    return np.divide(target, drawn_mean, out=np.ones_like(target),
                     where=taking_part & (drawn_mean > 0))
