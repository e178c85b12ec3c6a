"""scikit-learn scorers of generation quality, one route for every generative estimator."""

from __future__ import annotations

from numbers import Integral

from .._neo.reading import is_neo_trials, n_trials
from .._sklearn_compat import Interval, StrOptions, validate_params
from ._checks import check_pair
from ._discrepancy import DISCREPANCIES, PEARSON_RS, discrepancies, summed_pair, warn_one_sided
from ._score import statistics_report
from ._two_sample import classifier_two_sample_test

# The classifier two-sample test's accuracy, negated like the discrepancies (0.5 is best).
TWO_SAMPLE = "two_sample_accuracy"
METRICS = ("generation_score", *DISCREPANCIES, *PEARSON_RS, TWO_SAMPLE)


def real_and_generated(estimator, X, y=None, *, n_samples=None, random_state=None):
    """Spike counts of ``X`` and of as many trials drawn from ``estimator``.

    An :class:`~ldns_sklearn.LDNSPipeline` answers through its own
    :meth:`~ldns_sklearn.LDNSPipeline.real_and_generated_counts` (what ``pipe.score``
    uses too, so both give the same number); any other estimator with ``sample(n,
    random_state=...)`` is sampled directly and must work on counts.
    """
    if hasattr(estimator, "real_and_generated_counts"):
        return estimator.real_and_generated_counts(
            X, y, n_samples=n_samples, random_state=random_state
        )
    if is_neo_trials(X):
        raise TypeError(
            f"X holds Neo trials, but {type(estimator).__name__} is not an LDNSPipeline that "
            "could bin them; pass binned counts, or a pipeline that starts with a "
            "SpikeTrainBinner."
        )
    kwargs = {"random_state": random_state}
    if y is not None and n_samples is None:
        # A conditional model generates one trial per condition of the held-out trials.
        kwargs["y"] = y
    generated = estimator.sample(n_trials(X) if n_samples is None else n_samples, **kwargs)
    return X, generated


class _GenerationScorer:
    """Callable ``scorer(estimator, X, y=None)``; a class (not a closure) so it pickles."""

    def __init__(self, metric, n_samples, random_state):
        self.metric = metric
        self.n_samples = n_samples
        self.random_state = random_state

    def __repr__(self):
        return (
            f"make_generation_scorer(metric={self.metric!r}, n_samples={self.n_samples!r}, "
            f"random_state={self.random_state!r})"
        )

    def __call__(self, estimator, X, y=None):
        real, generated = real_and_generated(
            estimator, X, y, n_samples=self.n_samples, random_state=self.random_state
        )
        real, generated, _ = check_pair(real, generated)
        names = [self.metric] if isinstance(self.metric, str) else list(self.metric)
        if "generation_score" in names:
            report = statistics_report(real, generated)
            score, results, one_sided = report.score, report.results, report.one_sided
        else:
            one_sided = {}
            results = discrepancies(*summed_pair(real, generated), one_sided=one_sided)
            score = None
        # One warning per call, whatever the number of statistics.
        warn_one_sided(one_sided, stacklevel=2)
        # Discrepancies are negated: scikit-learn maximises every score.
        values = {
            "generation_score": score,
            **{name: -results[name] for name in DISCREPANCIES},
            **{name: results[name] for name in PEARSON_RS},
        }
        if TWO_SAMPLE in names:
            values[TWO_SAMPLE] = -classifier_two_sample_test(
                real, generated, random_state=self.random_state
            ).accuracy
        if isinstance(self.metric, str):
            return values[self.metric]
        return {name: values[name] for name in names}


def _check_metric(metric):
    if metric == "all":
        return ("generation_score", *DISCREPANCIES, TWO_SAMPLE)
    if isinstance(metric, str):
        return metric
    names = tuple(metric)
    unknown = sorted(set(names) - set(METRICS))
    if unknown or not names:
        raise ValueError(
            f"metric must be 'all', or one or several of {list(METRICS)}; got {metric!r}."
        )
    return names


@validate_params(
    {
        "metric": [StrOptions({"all", *METRICS}), list, tuple],
        "n_samples": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_generation_scorer(metric="generation_score", n_samples=None, random_state=None):
    """A scikit-learn scorer that samples from a generative estimator and compares with X.

    The returned ``scorer(estimator, X, y=None)`` draws as many trials as ``X`` holds (or
    ``n_samples``), with the conditions ``y`` when given and ``n_samples`` is None, and
    compares their spike counts with those of ``X``. For an
    :class:`~ldns_sklearn.LDNSPipeline` both come from
    :meth:`~ldns_sklearn.LDNSPipeline.real_and_generated_counts`, the route
    ``pipe.score`` takes, so with the defaults ``scorer(pipe, X) == pipe.score(X)``. Any
    other estimator with ``sample(n, random_state=...)`` that works on counts can be scored
    too. Use it as ``scoring=`` of ``GridSearchCV`` or ``cross_validate``.

    Parameters
    ----------
    metric : str or list of str, default="generation_score"
        ``"generation_score"`` (see :func:`generation_score`), a key of
        :func:`compare_spike_statistics`, or ``"two_sample_accuracy"`` (the accuracy of
        :func:`classifier_two_sample_test`, a few seconds per call). Discrepancies and
        the accuracy (lower is better; 0.5 for the accuracy) are negated so that, as
        scikit-learn expects, a higher score is always better. A list of names, or
        ``"all"`` (the combined score, the nine discrepancies and the two-sample
        accuracy), makes a multimetric scorer returning a dict: one sampling per
        candidate and fold, every measure in ``cv_results_`` (pass ``refit=`` one of the
        names to ``GridSearchCV``). The memorisation check (:func:`memorisation_check`)
        is no scorer: it needs the training trials, which a scorer never sees.
    n_samples : int, default=None
        Number of trials to generate; None generates as many as X holds.
    random_state : int, RandomState instance or None, default=None
        Seed of the sampling. None leaves it to the estimator: an ``LDNSPipeline`` seeds
        from its own ``random_state`` (as its ``score`` does); another estimator gets None.
        Fix it (or the pipeline's) so every candidate of a search is scored on equally
        drawn samples.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y=None) -> float`` (a dict for several metrics).

    Examples
    --------
    >>> import numpy as np
    >>> from ldns_sklearn.metrics import make_generation_scorer
    >>> class RateModel:  # a toy generative estimator with a sample method
    ...     def __init__(self, rate):
    ...         self.rate = rate
    ...     def sample(self, n, random_state=None):
    ...         rng = np.random.default_rng(random_state)
    ...         return rng.poisson(self.rate, size=(n, 20, 4))
    >>> X = np.random.default_rng(1).poisson(0.5, size=(30, 20, 4))
    >>> scorer = make_generation_scorer("mean_rate_rmse", random_state=0)
    >>> scorer(RateModel(0.5), X) > scorer(RateModel(2.0), X)
    True
    >>> several = make_generation_scorer("all", random_state=0)(RateModel(0.5), X)
    >>> list(several)[:3]
    ['generation_score', 'population_spike_count_kl', 'pairwise_correlation_rmse']
    """
    return _GenerationScorer(_check_metric(metric), n_samples, random_state)
