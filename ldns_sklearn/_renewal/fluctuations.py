"""Fitting the shared fluctuations and the trial spread to recorded counts."""

from __future__ import annotations

import numpy as np

from .._synchrony import lagged_covariances
from .factors import _compared_pairs, _fits_factors, _off_diagonal_factors, _taking_part, draw
from .settings import (
    _CALIBRATION_ROUNDS,
    _CLOSEST_DRAWS,
    _EVENT_PROBABILITIES,
    _EVENT_REFINEMENT,
    _FACTOR_MARGIN,
    _FACTOR_SPARSITIES,
    _FLUCTUATION_LAGS,
    _FLUCTUATION_TRIALS,
    _GAIN_DRAWS,
    _MAX_EVENT_PROBABILITY,
    _MAX_FACTOR_ACF,
    _NOISE_PAIRS,
    _SPREAD_DRAWS,
    _SPREAD_THRESHOLD,
)
from .shapes import (
    _acf_noise,
    _along,
    _factor_ar,
    _gain_correction,
    _histogram_kl,
    _mean_count,
    _members,
    _off_diagonal_correlations,
    _participation,
    _population_histogram,
    _scaled_factors,
    _varimax,
)


def _no_factors(n_neurons):
    """The fields of :class:`RenewalFit` for a model without shared fluctuations."""
    return {"loadings": np.zeros((n_neurons, 0)), "ar": np.zeros((0, 2)),
            "sparsity": np.zeros(0), "additive": np.zeros(0, dtype=bool)}


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
