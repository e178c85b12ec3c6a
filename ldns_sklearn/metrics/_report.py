"""Everything a reviewer asks about generated trials, in one report."""

from __future__ import annotations

from .._sklearn_compat import validate_params
from ._checks import COMMON_CONSTRAINTS, check_counts, check_pair
from ._discrepancy import warn_one_sided
from ._score import statistics_report
from ._temporal import DEFAULT_N_GROUPS
from ._two_sample import classifier_two_sample_test, memorisation_check

# Random half-splits of real whose floors give the score's range (a second each at the
# quickstart's size).
FLOOR_SPLITS = 20


@validate_params(
    {
        "real": ["array-like"],
        "generated": ["array-like"],
        "training": ["array-like", None],
        "two_sample": ["boolean"],
        **COMMON_CONSTRAINTS,
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def generation_report(
    real,
    generated,
    *,
    training=None,
    two_sample=True,
    bin_size=None,
    min_isis=2,
    bandwidth="scott",
    eps=1e-10,
    max_lag=None,
    n_groups=DEFAULT_N_GROUPS,
    random_state=None,
):
    """How close generated trials are to real ones: statistics, single trials, copying.

    Three views, as a reviewer would ask for them:

    * the nine spike statistics of :func:`compare_spike_statistics`, each as a ratio to
      its real-vs-real floor, and their combination :func:`generation_score`;
    * the classifier two-sample test of :func:`classifier_two_sample_test`: can single
      generated trials be told from real ones (0.5: no)?
    * with ``training``, the memorisation check of :func:`memorisation_check`: do
      generated trials sit closer to training trials than new recordings do?

    Parameters
    ----------
    real : array-like of shape (n_trials, n_bins, n_neurons), list of 2-D arrays or Neo
        Held-out real trials (not those the model was fitted on); at least 2, and a few
        dozen for the two-sample test.
    generated : same form
        Generated trials with the same neurons (ideally as many as ``real``).
    training : same form, optional
        The trials the model was fitted on; the memorisation check needs them.
    two_sample : bool, default=True
        Whether to run the classifier two-sample test (a few seconds for hundreds of
        trials).
    bin_size, min_isis, bandwidth, eps, max_lag, n_groups
        As for :func:`compare_spike_statistics`.
    random_state : int, RandomState instance or None, default=None
        Seeds the two-sample test's folds and classifier and the half-splits of
        ``score_range``.

    Returns
    -------
    report : GenerationReport
        A named tuple: ``score`` (:func:`generation_score`), ``ratios`` (each
        discrepancy over its floor, the KL through its square root), ``results``
        (:func:`compare_spike_statistics`), ``floor`` (each discrepancy between two
        real data sets of the size of ``real``), ``one_sided`` (entries defined in only
        one data set, per statistic), ``two_sample`` (a ``TwoSampleResult``, or None)
        ``memorisation`` (a ``MemorisationResult``, or None without ``training``) and
        ``score_range``: the 5th to 95th percentile of the score against the floors of 20
        random half-splits of ``real`` and the even/odd one, how far to trust the score
        (wide on few trials).

    See Also
    --------
    ldns_sklearn.LDNSPipeline.score_report : The same for a fitted pipeline and X.

    Examples
    --------
    >>> import numpy as np
    >>> from ldns_sklearn.metrics import generation_report
    >>> rng = np.random.default_rng(0)
    >>> rates = rng.uniform(0.1, 0.5, size=8)
    >>> training, real = rng.poisson(rates, (100, 30, 8)), rng.poisson(rates, (60, 30, 8))
    >>> report = generation_report(real, rng.poisson(rates, (60, 30, 8)),
    ...                            training=training, random_state=0)
    >>> -2 < report.score < -0.4, report.two_sample.accuracy < 0.7, report.memorisation.passed
    (True, True, True)
    """
    real, generated, bin_size = check_pair(real, generated, bin_size)
    report = statistics_report(
        real, generated, min_isis=min_isis, bandwidth=bandwidth, eps=eps, max_lag=max_lag,
        n_groups=n_groups, n_floor_splits=FLOOR_SPLITS, random_state=random_state,
    )
    warn_one_sided(report.one_sided, stacklevel=3)
    if two_sample:
        report = report._replace(
            two_sample=classifier_two_sample_test(real, generated, random_state=random_state)
        )
    if training is not None:
        training = check_counts(training, "training", bin_size)
        report = report._replace(memorisation=memorisation_check(training, real, generated))
    return report
