"""One number for sample quality: how far generated data are, in units of real-data noise."""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np
from sklearn.utils import check_random_state

from .._sklearn_compat import validate_params
from .._validation import take_trials
from .._warnings import warn_user
from ._accumulator import SpikeSums
from ._checks import COMMON_CONSTRAINTS, check_pair
from ._discrepancy import DISCREPANCIES, discrepancies, warn_one_sided
from ._statistics import neuron_groups
from ._temporal import DEFAULT_N_GROUPS, resolve_max_lag


def _distances(results: dict) -> dict:
    """The discrepancies on one scale: the KL grows with the square of a small difference
    between densities, the RMSEs linearly, so the KL enters through its square root."""
    distances = {name: results[name] for name in DISCREPANCIES}
    kl = distances["population_spike_count_kl"]
    distances["population_spike_count_kl"] = math.sqrt(max(kl, 0.0)) if np.isfinite(kl) else kl
    return distances


# Fewer real trials than this make a lenient score, and a warning says so
# (benchmarks/bench_score_trials.py: a model with rates up to 30 % off scored -2.3 on 10
# trials, -2.9 on 20, -3.3 on 40, -4.6 on 80, -6.0 on 160; a perfect one -1.0 ± 0.1).
FEW_TRIALS = 50


class GenerationReport(NamedTuple):
    """What :func:`~ldns_sklearn.metrics.generation_report` measured (see there)."""

    score: float
    ratios: dict
    results: dict
    floor: dict
    one_sided: dict
    two_sample: object = None
    memorisation: object = None
    score_range: tuple | None = None


def statistics_report(
    real,
    generated,
    *,
    min_isis=2,
    bandwidth="scott",
    eps=1e-10,
    max_lag=None,
    n_groups=DEFAULT_N_GROUPS,
    n_floor_splits=0,
    random_state=None,
):
    """The spike statistics of a :class:`GenerationReport` of validated counts.

    ``ratios`` maps each defined discrepancy to its ratio to the floor (the KL through its
    square root), the terms the score averages; ``results`` is
    :func:`compare_spike_statistics` of the two; ``floor`` each discrepancy between two
    real data sets of the size of ``real``, in the discrepancy's own units; ``one_sided``
    counts the entries defined in only one of them (for one warning by the caller).
    With ``n_floor_splits``, ``score_range`` is the 5th to 95th percentile of the score
    against the floors of that many random half-splits of ``real`` (seeded by
    ``random_state``) and of the even/odd one: how much the score owes to which trials of
    ``real`` set its unit.
    """
    if len(real) < 2:
        raise ValueError(
            "generation_score needs at least 2 real trials: its reference scale compares "
            "the even and the odd trials of real."
        )
    if len(real) < FEW_TRIALS:
        warn_user(
            f"A generation score from {len(real)} real trials is lenient: the real-vs-real "
            "floor shrinks as one over the square root of the trial count while a model's "
            "errors do not, so with few trials a weak model looks close to real data (one "
            "with rates up to 30% off scored -2.3 on 10 trials and -6.0 on 160, a perfect "
            f"one about -1 on both). Score on at least {FEW_TRIALS} held-out trials."
        )
    options = {"min_isis": min_isis, "bandwidth": bandwidth, "eps": eps}
    max_lag = resolve_max_lag(max_lag, {"real": real, "generated": generated})
    halves = real[0::2], real[1::2]
    even, odd = (SpikeSums.from_trials(half) for half in halves)
    # One grouping of neurons (from all of real) for every comparison, floor included.
    groups = neuron_groups(even.merged(odd), n_groups)
    generated_sums = SpikeSums.from_trials(generated)
    for sums, trials in ((even, halves[0]), (odd, halves[1]), (generated_sums, generated)):
        sums.add_lags(trials, groups, max_lag)
    one_sided = {}
    results = discrepancies(even.merged(odd), generated_sums, one_sided=one_sided, **options)
    floor = _half_floor(even, odd, options)
    achieved = _distances(results)
    defined = [
        name for name in DISCREPANCIES if np.isfinite(achieved[name]) and np.isfinite(floor[name])
    ]
    # A floor of zero is no unit to measure in: the halves of real agree exactly (all
    # silent, or one trial per half where a variance across trials is zero), so the
    # statistic says nothing about sampling noise. Left out, and said, rather than
    # ranking every model -inf.
    ratios = {name: achieved[name] / floor[name] for name in defined if floor[name] > 0}
    unscored = [name for name in defined if floor[name] <= 0]
    if not ratios:
        raise ValueError(
            f"no statistic can be scored on these {len(real)} real trials: every one is "
            "undefined or does not vary between their even and odd trials (a floor of 0; "
            "e.g. counts that are all zero). Score on more trials, with spikes."
        )
    if unscored:
        warnings.warn(
            f"{', '.join(unscored)}: the even and odd trials of real agree exactly (a floor "
            f"of 0 on {len(real)} trials), so there is no noise to measure against; left "
            "out of the score. Score on more trials.",
            UserWarning,
            stacklevel=3,
        )
    score = -float(np.mean(list(ratios.values())))
    score_range = None
    if n_floor_splits:
        scores = [score]
        rng = check_random_state(random_state)
        for _ in range(n_floor_splits):
            order = rng.permutation(len(real))
            first, second = (_sums(take_trials(real, order[start::2]), groups, max_lag)
                             for start in (0, 1))
            split = _half_floor(first, second, options)
            terms = [
                achieved[name] / split[name]
                for name in ratios
                if np.isfinite(split[name]) and split[name] > 0
            ]
            if terms:
                scores.append(-float(np.mean(terms)))
        score_range = (float(np.percentile(scores, 5)), float(np.percentile(scores, 95)))
    kl = "population_spike_count_kl"
    floor[kl] = floor[kl] ** 2  # back from the distance scale to a KL
    return GenerationReport(score, ratios, results, floor, one_sided, score_range=score_range)


def _half_floor(first, second, options) -> dict:
    """Each discrepancy (on the distance scale) between two halves of real, as the floor
    of two full-size data sets: halves differ by sqrt(2) times their sampling noise (these
    statistics' noise shrinks as one over the square root of the trial count)."""
    return {
        name: value / math.sqrt(2)
        for name, value in _distances(discrepancies(first, second, **options)).items()
    }


def _sums(trials, groups, max_lag) -> SpikeSums:
    """The sums of ``trials`` for :func:`discrepancies`, lags included."""
    return SpikeSums.from_trials(trials).add_lags(trials, groups, max_lag)


@validate_params(
    {
        "real": ["array-like"],
        "generated": ["array-like"],
        "min_isis": COMMON_CONSTRAINTS["min_isis"],
        "bandwidth": COMMON_CONSTRAINTS["bandwidth"],
        "eps": COMMON_CONSTRAINTS["eps"],
        "bin_size": COMMON_CONSTRAINTS["bin_size"],
        "max_lag": COMMON_CONSTRAINTS["max_lag"],
        "n_groups": COMMON_CONSTRAINTS["n_groups"],
    },
    prefer_skip_nested_validation=True,
)
def generation_score(
    real,
    generated,
    *,
    min_isis=2,
    bandwidth="scott",
    eps=1e-10,
    bin_size=None,
    max_lag=None,
    n_groups=DEFAULT_N_GROUPS,
):
    """One number for sample quality, higher is better: about -1 is as close as real data.

    Each of the nine discrepancies of :func:`compare_spike_statistics` — the paper's five
    (population spike-count KL, RMSE of pairwise correlations, mean rates, mean ISIs and ISI
    standard deviations) and four that see time and trials (RMSE of spike-count
    auto-correlations and group cross-correlations over lags, of Fano factors and of PSTHs)
    — is divided by the same discrepancy between two real data sets of the size
    of ``real`` — its sampling-noise floor, estimated from the even against the odd trials
    of ``real`` and scaled by ``1/sqrt(2)`` to full size. Then::

        score = -mean_k( d_k(real, generated) / floor_k )

    The KL enters as its square root, so that all nine are distances on one scale (a KL
    grows with the square of a small difference, an RMSE linearly). The ratios make the
    score free of units and of the bin size.

    How to read it: ``-1`` means generated data differ from ``real`` about as much as a
    second real recording of the same size would (a perfect model scores about -1, between
    roughly -0.7 and -1.5 from one draw of data to the next); ``-2`` means twice as far
    as that, on average over the nine statistics. On Lorenz data
    (``benchmarks/bench_score_scale.py``) a pipeline trained at the default sizes scored
    -0.81 (a second real data set: -0.85), one trained for a tenth of that -5.3, an
    untrained one -5.6 (its rates calibrated; -13.3 without). It is exactly 0 only for
    ``generated`` equal to ``real``.

    Discrepancies that are undefined (NaN, e.g. ISI statistics when no neuron fires twice)
    are left out of the mean, and so, with a warning, are those whose floor is 0 (the even
    and odd trials of ``real`` agree exactly, e.g. a Fano factor from one trial per half):
    there is no noise to measure them against.

    Parameters
    ----------
    real : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
        Real spike counts; at least 2 trials.
    generated : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
        Generated spike counts with the same neurons (ideally as many trials as ``real``).
    min_isis : int, default=2
        Fewest intervals a neuron needs for its ISI statistics to be defined.
    bandwidth : {"scott", "silverman"} or float, default="scott"
        Kernel width of the population spike-count density.
    eps : float, default=1e-10
        Floor of the population spike-count densities.
    bin_size : quantities.Quantity or None, default=None
        Only for Neo trials (as ``LDNSPipeline.sample`` returns them): the bin to count
        their spikes in; None reads the bin size generated trains record.
    max_lag : int or None, default=None
        Largest lag, in bins, of the auto- and cross-correlations (default 10, fewer for
        shorter trials).
    n_groups : int, default=4
        Groups of neurons of the cross-correlations, formed from all of ``real``.

    Returns
    -------
    score : float
        At most 0.

    Raises
    ------
    ValueError
        If no discrepancy can be scored (e.g. ``real`` is all zeros).

    See Also
    --------
    compare_spike_statistics : The nine discrepancies one by one.
    make_generation_scorer : The score (or any statistic) as a scorer for grid searches.

    Examples
    --------
    >>> import numpy as np
    >>> from ldns_sklearn.metrics import generation_score
    >>> rng = np.random.default_rng(0)
    >>> rates = rng.uniform(0.1, 1.0, size=6)
    >>> real = rng.poisson(rates, size=(80, 20, 6))
    >>> good = rng.poisson(rates, size=(80, 20, 6))      # the same process: near -1
    >>> bad = rng.poisson(rates[::-1], size=(80, 20, 6))
    >>> -2 < generation_score(real, good) < -0.5
    True
    >>> generation_score(real, bad) < generation_score(real, good)
    True
    """
    real, generated, _ = check_pair(real, generated, bin_size)
    report = statistics_report(
        real,
        generated,
        min_isis=min_isis,
        bandwidth=bandwidth,
        eps=eps,
        max_lag=max_lag,
        n_groups=n_groups,
    )
    warn_one_sided(report.one_sided, stacklevel=3)
    return report.score
