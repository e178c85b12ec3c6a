"""Observation models: how spike counts arise from the firing rates an autoencoder decodes.

:class:`PoissonObservation` draws each count independently from a Poisson distribution
with the given rate. :class:`AutoregressiveObservation` adds a per-neuron spike-history
filter (a GLM with a softplus link), which can express refractoriness and bursting that a
smooth latent cannot carry.

Both share one small interface: ``fit(counts, rates)``, ``sample(rates, random_state)`` and
``score(counts, rates)`` (mean log-likelihood per bin and neuron, in nats; higher is
better, comparable between the two models). Counts and rates are trials: a 3-D array
``(n_trials, n_bins, n_neurons)`` or a list of 2-D arrays (ragged), and outputs keep the
form of the input.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from scipy.special import gammaln, xlogy
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._backend.spike_history import fit_spike_history
from ._estimator import (
    SavableMixin,
    TrialInputMixin,
    check_declared,
    restore_on_failure,
    restored_on_failure,
)
from ._masks import deprecated_kept
from ._renewal import (
    RECOVERY_CLOCKS,
    RenewalFit,
    automatic_history,
    draw,
    fit_fluctuations,
    fit_renewal,
    log_likelihood,
    synchrony_left_to_events,
)
from ._sklearn_compat import Interval, StrOptions, fit_context
from ._trials import Trials
from ._validation import (
    check_trials,
    is_ragged,
    pad_trials,
    trial_lengths,
    valid_bins,
)

__all__ = [
    "AutoregressiveObservation",
    "PoissonObservation",
    "RenewalObservation",
    "check_rates",
]

# Most (bin, neuron) entries of training trials an observation model is fitted on (and at
# least this many trials): its parameters are per neuron, which a sample determines, and
# fitting holds several float64 copies of what it reads (see S4Autoencoder's
# ``observation``).
OBSERVATION_ENTRIES = 1 << 22
OBSERVATION_MIN_TRIALS = 100

# Largest firing rate, in spikes per bin, that counts are drawn for: far above any neuron
# (1e9 spikes in one bin), far below where NumPy's Poisson sampler and int64 counts fail.
MAX_RATE = 1e9


def check_rates(
    rates, *, name: str = "rates", n_channels: int | None = None, positive: bool = False
):
    """Validate firing rates (per bin): finite and non-negative (or, with ``positive``,
    strictly positive) trials.

    Examples
    --------
    >>> import numpy as np
    >>> check_rates(np.full((1, 2, 3), 0.5)).shape
    (1, 2, 3)
    >>> check_rates(-np.ones((1, 2, 3)))
    Traceback (most recent call last):
    ...
    ValueError: rates contains negative values; firing rates must be >= 0.
    """
    rates = check_trials(rates, name=name, n_channels=n_channels)
    for trial in rates if is_ragged(rates) else [rates]:
        _check_rate_values(trial, name, positive)
    return rates


def _check_rate_values(values, name, positive, valid=None):
    """Refuse rates a draw cannot use: one trial, or padded trials whose ``valid`` bins
    ``(n_trials, n_bins)`` are read (the padding is zero). Finiteness is checked where the
    rates come from (``check_trials`` for the user's, the decoder for the library's)."""
    if np.any(values < 0):
        raise ValueError(f"{name} contains negative values; firing rates must be >= 0.")
    if positive and np.any((values == 0) if valid is None else (values == 0) & valid[..., None]):
        raise ValueError(
            f"{name} contains zeros; the spike-history model needs rates > 0 (it reads a "
            "rate through the inverse of its softplus link, which has no value at 0)."
        )
    if values.size and values.max() > MAX_RATE:
        raise ValueError(
            f"{name} reach {values.max():.3g} spikes per bin, above {MAX_RATE:.0e}: no "
            "neuron fires like that (a model producing such rates has diverged), and "
            "counts drawn from them would overflow."
        )


def _sampled(model, rates, random_state, counts, observed):
    """An observation model's ``sample``: the given rates checked once, drawn as one value
    (``model._sample_trials``) and given back in their own form."""
    check_is_fitted(model)
    rates = Trials(check_trials(rates, name="rates", n_channels=model.n_neurons_))
    kept = None
    if counts is not None or observed is not None:
        kept, observed = deprecated_kept(f"{type(model).__name__}.sample", counts, observed,
                                         rates.lengths, model.n_neurons_)
    return model._sample_trials(rates, random_state, kept, observed).unpad()


def _checked_values(rates: Trials, positive: bool) -> Trials:
    """Rates the library made (decoded, padded): their values checked, their form not."""
    _check_rate_values(rates.padded, "rates", positive, rates.valid if rates.ragged else None)
    return rates


def training_sample(n_trials: int, entries_per_trial: int, rng) -> np.ndarray:
    """Sorted indices of the trials an observation model is fitted (or calibrated) on.

    All ``n_trials`` if their (bin, neuron) entries fit in ``OBSERVATION_ENTRIES``, else
    as many trials as do (at least ``OBSERVATION_MIN_TRIALS``), drawn from ``rng``.

    Examples
    --------
    >>> import numpy as np
    >>> training_sample(5, 100, np.random.RandomState(0)).tolist()
    [0, 1, 2, 3, 4]
    >>> len(training_sample(10**6, 128 * 128, np.random.RandomState(0)))
    256
    """
    n_kept = min(n_trials, max(OBSERVATION_MIN_TRIALS, OBSERVATION_ENTRIES // entries_per_trial))
    if n_kept == n_trials:
        return np.arange(n_trials)
    return np.sort(rng.choice(n_trials, n_kept, replace=False))


def _check_same_shape(counts, rates) -> None:
    if not np.array_equal(trial_lengths(counts), trial_lengths(rates)):
        raise ValueError("counts and rates must have the same number of trials and bins.")
    width_counts = counts.shape[-1] if not is_ragged(counts) else counts[0].shape[1]
    width_rates = rates.shape[-1] if not is_ragged(rates) else rates[0].shape[1]
    if width_counts != width_rates:
        raise ValueError(
            f"counts have {width_counts} neurons but rates have {width_rates}; they must match."
        )


def _fitting_pair(counts, rates) -> tuple[Trials, Trials]:
    """Checked ``counts`` and ``rates`` of the same trials: what ``fit`` reads (the values
    of the rates are checked by ``_fit_trials``, which the library calls too)."""
    counts = check_trials(counts, name="counts", counts=True)
    rates = check_trials(rates, name="rates")
    _check_same_shape(counts, rates)
    return Trials(counts), Trials(rates)


def _scored_pair(counts, rates, n_neurons):
    """Checked ``counts`` and ``rates`` of the same trials, padded, with their valid bins
    ``(n_trials, n_bins)``: what an observation model's ``score`` reads."""
    counts = check_trials(counts, name="counts", counts=True, n_channels=n_neurons)
    rates = check_rates(rates, n_channels=n_neurons, positive=True)
    _check_same_shape(counts, rates)
    x, lengths = pad_trials(counts)
    r, _ = pad_trials(rates)
    return x, r, valid_bins(lengths, x.shape[1])


def _mean_per_entry(log_likelihood, valid):
    """Mean of ``(n_trials, n_bins, n_neurons)`` log-likelihoods over the valid bins."""
    entries = valid.sum() * log_likelihood.shape[2]
    return float(np.where(valid[..., None], log_likelihood, 0.0).sum() / entries)


def poisson_log_likelihood(counts: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """Elementwise ``log P(counts | rates)`` for Poisson counts (``0 log 0 = 0``).

    Examples
    --------
    >>> import numpy as np
    >>> float(poisson_log_likelihood(np.array(0.0), np.array(0.0)))
    0.0
    """
    return xlogy(counts, rates) - rates - gammaln(counts + 1.0)


class PoissonObservation(SavableMixin, TrialInputMixin, BaseEstimator):
    """Independent Poisson counts given per-bin firing rates (the LDNS default).

    Nothing is learned; ``fit`` only validates its input and records the number of
    neurons, so it can stand in wherever an observation model is expected.

    Attributes
    ----------
    n_neurons_ : int
        Number of neurons seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> rates = np.full((2, 50, 3), 2.0)
    >>> obs = PoissonObservation().fit(np.ones((2, 50, 3)), rates)
    >>> counts = obs.sample(rates, random_state=0)
    >>> counts.shape, counts.dtype
    ((2, 50, 3), dtype('int64'))
    """

    _saved_attributes = ("n_neurons_",)

    _requires_y = False  # rates are optional: only checked against the counts
    _parameter_constraints: ClassVar[dict] = {}

    @fit_context(prefer_skip_nested_validation=True)
    @restore_on_failure
    def fit(self, counts, rates=None):
        """Validate ``counts`` (and ``rates``, if given) and record the number of neurons.

        Parameters
        ----------
        counts : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
            Observed spike counts; checked a block of trials at a time, so a
            ``numpy.memmap`` is never loaded whole.
        rates : same form as ``counts``, optional
            Firing rates (expected counts per bin). The Poisson model learns nothing from
            them; they are only checked against ``counts``.

        Returns
        -------
        self : PoissonObservation
        """
        counts = check_trials(counts, name="counts", counts=True, dtype=None)
        if rates is not None:
            _check_same_shape(counts, check_rates(rates))
        self.n_neurons_ = counts.shape[-1] if not is_ragged(counts) else counts[0].shape[1]
        return self

    def sample(self, rates, random_state=None, *, counts=None, observed=None):
        """Draw spike counts with the given rates.

        Parameters
        ----------
        rates : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
            Firing rates per bin.
        random_state : int, RandomState instance or None
            Seed of the draws.
        counts, observed : trials of the form of ``rates``, optional
            Recorded counts and a boolean mask of the entries to keep (in-painting):
            there the result is ``counts``, elsewhere a draw.

            .. deprecated:: 0.1.0.dev1
                ``counts`` and ``observed`` warn (``FutureWarning``) and will be removed:
                complete recordings with :meth:`LDNSPipeline.inpaint
                <ldns_sklearn.LDNSPipeline.inpaint>`, which keeps their recorded entries.

        Returns
        -------
        counts : ndarray of int64, same form as ``rates``

        Examples
        --------
        >>> import numpy as np
        >>> rates = np.full((2, 4, 3), 3.0)
        >>> obs = PoissonObservation().fit(np.zeros((2, 4, 3), dtype=int))
        >>> drawn = obs.sample(rates, random_state=0)
        >>> drawn.shape, drawn.dtype
        ((2, 4, 3), dtype('int64'))
        """
        return _sampled(self, rates, random_state, counts, observed)

    def _sample_trials(self, rates: Trials, random_state, kept=None, observed=None) -> Trials:
        """:meth:`sample` of rates in one value (``kept`` and ``observed`` padded alike)."""
        rng = check_random_state(random_state)
        drawn = rng.poisson(_checked_values(rates, positive=False).padded).astype(np.int64)
        if kept is not None:
            drawn = np.where(observed, kept, drawn)
        return rates.with_values(drawn)

    def score(self, counts, rates):
        """Mean Poisson log-likelihood per bin and neuron (nats).

        Parameters
        ----------
        counts, rates : trials of the same shape
            Observed counts and the rates that should explain them.

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        counts = check_trials(counts, name="counts", counts=True, n_channels=self.n_neurons_)
        rates = check_rates(rates, n_channels=self.n_neurons_)
        _check_same_shape(counts, rates)
        pairs = zip(counts, rates, strict=True) if is_ragged(counts) else [(counts, rates)]
        total, n = 0.0, 0
        for trial_counts, trial_rates in pairs:
            total += float(poisson_log_likelihood(trial_counts, trial_rates).sum())
            n += trial_counts.size
        return total / n


def _softplus(u: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, u)


def _inverse_softplus(rates: np.ndarray) -> np.ndarray:
    """``log(expm1(r))``, written as ``r + log(-expm1(-r))`` to stay finite for small and
    large rates alike; in place after one copy (large arrays are costly to allocate)."""
    r = np.maximum(rates, 1e-6)
    result = np.negative(r)
    np.expm1(result, out=result)
    np.negative(result, out=result)
    np.log(result, out=result)
    result += r
    return result


def _history_drive(counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``sum_h weights[n, h-1] * counts[:, t-h, n]`` for every trial, bin and neuron."""
    drive = np.zeros(counts.shape, dtype=np.float64)
    for lag in range(1, min(weights.shape[1], counts.shape[1] - 1) + 1):
        drive[:, lag:] += counts[:, :-lag] * weights[:, lag - 1]
    return drive


class AutoregressiveObservation(SavableMixin, TrialInputMixin, BaseEstimator):
    """Spike counts from rates plus each neuron's own recent spikes (a spike-history GLM).

    For neuron ``n`` in bin ``t`` the count is Poisson with rate

    ``softplus(a_n * softplus⁻¹(r_{t,n}) + b_n + sum_{h=1..H} w_{n,h} * x_{t-h,n})``,

    where ``r`` is the rate decoded by the autoencoder and ``x`` the neuron's own counts.
    With ``a = 1, b = 0, w = 0`` this is exactly the Poisson model, which is where fitting
    starts; negative ``w`` at short lags express refractoriness, positive ones bursting.
    Neurons do not interact, so each neuron's ``H + 2`` parameters are a small convex
    problem (the Poisson likelihood of its training counts); Newton's method with a line
    search solves all of them together, in chunks of neurons, in a few steps (200 neurons ×
    100,000 bins with ``history=20`` in about 10 s on 2 CPU cores, 14× faster than one
    L-BFGS fit per neuron; ``benchmarks/bench_observation.py``).
    Sampling runs bin by bin, all trials and neurons together, feeding back the counts it
    drew; counts are capped at ``max_count`` so a self-exciting filter cannot run away.

    Parameters
    ----------
    history : int, default=20
        Number of past bins ``H`` in the filter.
    alpha : float, default=1e-4
        L2 penalty on the history weights: each neuron minimises its mean negative
        log-likelihood per bin plus ``alpha`` times the sum of its squared weights.
    max_count : int or None, default=None
        Largest count a bin may hold when sampling; None uses each neuron's largest
        training count.
    max_iter : int, default=200
        Maximum Newton iterations (a few suffice; each neuron stops when its predicted
        improvement is below 1e-9 nats per bin, or float32 round-off hides it).

    Attributes
    ----------
    n_neurons_ : int
    rate_gain_ : ndarray of shape (n_neurons,)
        ``a``: weight of the decoded rate (through ``softplus⁻¹``).
    bias_ : ndarray of shape (n_neurons,)
        ``b``.
    history_weights_ : ndarray of shape (n_neurons, history)
        ``w[n, h-1]`` multiplies the count ``h`` bins back.
    max_count_ : ndarray of shape (n_neurons,)
        Cap used when sampling.
    n_iter_ : int
        Newton iterations run (the most any neuron needed).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> rates = np.full((20, 40, 3), 0.4)
    >>> counts = rng.poisson(rates)
    >>> obs = AutoregressiveObservation(history=3).fit(counts, rates)
    >>> obs.history_weights_.shape
    (3, 3)
    >>> obs.sample(rates[:2], random_state=0).shape
    (2, 40, 3)
    """

    _saved_attributes = (
        "n_neurons_", "rate_gain_", "bias_", "history_weights_", "max_count_", "n_iter_",
    )

    _requires_y = True  # the rates
    _parameter_constraints: ClassVar[dict] = {
        "history": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "max_count": [Interval(Integral, 1, None, closed="left"), None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, history=20, *, alpha=1e-4, max_count=None, max_iter=200):
        self.history = history
        self.alpha = alpha
        self.max_count = max_count
        self.max_iter = max_iter

    def _check_loaded_state(self):
        """Refuse declared sizes that disagree with the fitted arrays (see ``load_model``)."""
        if not hasattr(self, "bias_"):
            return
        n = len(self.bias_)
        check_declared(
            self, "bias_", n_neurons_=n, rate_gain_=(n,), max_count_=(n,),
            history_weights_=(n, self.history),
        )

    @fit_context(prefer_skip_nested_validation=True)
    @restore_on_failure
    def fit(self, counts, rates):
        """Fit the spike-history filter on observed counts and the rates that drive them.

        Parameters
        ----------
        counts : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
            Observed spike counts.
        rates : same form as ``counts``
            Firing rates per bin (e.g. decoded by :class:`S4Autoencoder`).

        Returns
        -------
        self : AutoregressiveObservation
        """
        return self._fit_trials(*_fitting_pair(counts, rates))

    def _fit_trials(self, counts: Trials, rates: Trials):
        """:meth:`fit` on checked counts and rates of the same trials, each one value."""
        x, r = counts.padded, _checked_values(rates, positive=True).padded
        if self.history >= x.shape[1]:
            raise ValueError(
                f"history={self.history} reaches beyond the trials: the longest has "
                f"{x.shape[1]} bins, so at most {x.shape[1] - 1} past bins can drive a bin."
            )
        n_neurons = x.shape[2]
        gain, bias, weights, n_iter = fit_spike_history(
            x,
            # The fit runs in float32: its rate drive needs no more.
            _inverse_softplus(r.astype(np.float32)),
            counts.valid,
            self.history,
            self.alpha,
            self.max_iter,
        )
        self.rate_gain_, self.bias_, self.history_weights_ = gain, bias, weights
        self.n_iter_ = n_iter
        self.n_neurons_ = n_neurons
        observed_max = np.maximum(x.max(axis=(0, 1)), 1).astype(np.int64)
        self.max_count_ = (
            observed_max if self.max_count is None else np.full(n_neurons, self.max_count)
        )
        return self

    def sample(self, rates, random_state=None, *, counts=None, observed=None):
        """Draw counts bin by bin, feeding each neuron's drawn spikes back into its filter.

        Parameters
        ----------
        rates : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
            Firing rates per bin.
        random_state : int, RandomState instance or None
            Seed of the draws.
        counts, observed : trials of the form of ``rates``, optional
            Recorded counts and a boolean mask of the entries to keep (in-painting):
            there the result is ``counts``, and the kept spikes drive the history filter
            of the bins drawn after them, as recorded spikes would.

            .. deprecated:: 0.1.0.dev1
                ``counts`` and ``observed`` warn (``FutureWarning``) and will be removed:
                complete recordings with :meth:`LDNSPipeline.inpaint
                <ldns_sklearn.LDNSPipeline.inpaint>`, which keeps their recorded entries.

        Returns
        -------
        counts : ndarray of int64, same form as ``rates``
        """
        return _sampled(self, rates, random_state, counts, observed)

    def _sample_trials(self, rates: Trials, random_state, kept=None, observed=None) -> Trials:
        """:meth:`sample` of rates in one value (``kept`` and ``observed`` padded alike)."""
        r = _checked_values(rates, positive=True).padded
        rng = check_random_state(random_state)
        n_trials, n_bins, n_neurons = r.shape
        history = self.history
        # Oldest lag first, to match the chronological window below.
        oldest_first = np.ascontiguousarray(self.history_weights_[:, ::-1])[..., None]
        # The last `history` counts of every trial and neuron, neuron-major, stored twice
        # over (slots s and s + history) so that the window of bins t-H..t-1 is always the
        # contiguous slice [t % H, t % H + H): one batched matrix product per bin.
        recent = np.zeros((n_neurons, n_trials, 2 * history))
        drawn_counts = np.zeros(r.shape, dtype=np.int64)
        # NumPy's legacy Poisson draws, in this order, keep seeded samples of saved models
        # what they were when the models were written.
        for t in range(n_bins):
            slot = t % history
            window = recent[:, :, slot : slot + history]
            history_drive = np.matmul(window, oldest_first)[..., 0].T
            base = self.rate_gain_ * _inverse_softplus(r[:, t]) + self.bias_
            drawn = np.minimum(rng.poisson(_softplus(base + history_drive)), self.max_count_)
            if kept is not None:
                drawn = np.where(observed[:, t], kept[:, t], drawn)
            drawn_counts[:, t] = drawn
            recent[:, :, slot] = recent[:, :, slot + history] = drawn.T
        return rates.with_values(drawn_counts)  # bins past a trial's end are zeroed

    def score(self, counts, rates):
        """Mean log-likelihood per bin and neuron (nats), given the observed spike history.

        Comparable with :meth:`PoissonObservation.score` on the same data.

        Parameters
        ----------
        counts, rates : trials of the same shape

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        x, r, valid = _scored_pair(counts, rates, self.n_neurons_)
        drive = _history_drive(x, self.history_weights_)
        given_history = _softplus(self.rate_gain_ * _inverse_softplus(r) + self.bias_ + drive)
        return _mean_per_entry(poisson_log_likelihood(x, given_history), valid)


class RenewalObservation(SavableMixin, TrialInputMixin, BaseEstimator):
    """Spike counts from rates with each neuron's own interval structure (the default).

    Rates decoded from smooth latents say how many spikes to expect in each bin; real
    neurons then fire in their own way: refractory (never two spikes within a few
    milliseconds), regular, or in bursts, and groups of them fire in the same bin more
    often than shared rates explain. This model keeps the rates' meaning — the count
    expected in each bin, given the rates so far, is exactly the rate — and adds:

    * **recovery**: the expected count in a bin is scaled by ``q[d]``, a function of the
      number ``d`` of bins since the neuron's last spike (an inhomogeneous Markov
      interval model, Kass & Ventura 2001), fitted for ``d`` up to ``history`` bins (1
      beyond). ``q`` near 0 right after a spike is refractoriness, a peak later is
      regular firing, ``q > 1`` at short ``d`` is bursting. The drive that keeps the
      expected count at the rate is solved bin by bin, over the distribution of ``d``
      the rate path implies, so shared rate fluctuations reach the counts with their size
      (the paper's spike-history GLM amplified them through a fitted rate gain, and its
      summed history damped slow ones). With shared fluctuations (``n_factors > 0``)
      the spikes of synchronous events — in groups of neurons that fire together within
      a bin far more often than one bin apart, as :class:`S4Autoencoder` ``synchrony``
      describes — are set apart, and ``q`` is fitted on each neuron's other spikes,
      driven at the rate less the events' mean count: an injected spike neither needs
      the neuron recovered nor resets it (fitted on every spike, members of a group of
      refractory neurons came out with ``q[0]`` 0.16-0.26 instead of 0, events after
      their own spikes looking like quick recoveries);
    * **clock** (``recovery_clock``): the time since the last spike can be read on each
      neuron's own clock, which runs ``(r / r_mean) ** c`` times as fast at rate ``r``
      (``q`` interpolated between its columns; the state stays the bins since the last
      spike). ``c = 0`` (the default) counts bins: refractoriness fixed in time. ``c = 1``
      counts expected spikes: a regular neuron firing twice as fast recovers twice as
      fast, as a gamma process in operational time does. With ``"auto"`` each neuron
      keeps the one of 0, 0.5 and 1 under which its training spikes are likeliest;
    * **dispersion**: a count is ``min(Poisson(lam), 1 + G, max_count)`` with ``P(G >=
      j) = beta**j`` per neuron: ``beta = 1`` is Poisson, ``beta = 0`` at most one spike
      per bin (a neuron refractory within the bin);
    * **shared fluctuations**: up to ``n_factors`` factors for synchrony in the same bin
      and fast population rhythms, which latents smooth in time cannot carry. Each is a
      unit-variance AR(2) process, Gaussian or two-state, and acts in one of two ways:
      *multiplicative*, on the expected counts of the neurons that load on it
      (``exp(L @ eta_t)``, scaled to mean 1: shared excitability, up and down states);
      or *additive*, as synchronous events: in a bin where the two-state process is on,
      each member of the group adds a spike with its own probability, outside its
      renewal process (injected coincidences, which need no recovered neuron and do not
      reset it). Factors are fitted to the cross-covariance (lags 0-3) that draws
      without them miss, kept only where that stands out of sampling noise and changes
      from bin to bin, and scaled until draws reproduce it (a neuron without a spike in
      the training trials takes no part); event groups are the varimax
      rotation of those factors (each loads on few neurons). The kind, the shape and,
      for a two-state factor, its orientation and how often it is on are chosen among
      candidates: the one whose draws give the population-count distribution and the
      pairwise correlations closest to the recorded ones; then, by the same comparison,
      how many of its factors (strongest first) are kept;
    * **trial spread**: rates decoded by an autoencoder are posterior means, which pull
      each trial towards the average, so the counts drawn from them can vary less from
      trial to trial than the recorded ones (too low a Fano factor for neurons the latents
      drive strongly). Each neuron's variance over trials of its mean count is compared
      between the recordings and the draws. A neuron whose shortfall exceeds twice the
      noise of the comparison keeps it; below that, it gets its estimate pooled over
      neurons (a random-effects mean, each neuron pulled towards it by its noise), since
      a shortfall of a few per cent that most neurons share is too small to tell from
      noise one neuron at a time. Each trial's rates of a neuron are multiplied by a
      log-normal factor of mean 1 whose spread makes up its shortfall (``trial_spread_``;
      0 where there is none). The factor acts on the rate, before the drive is solved, so
      it reaches the counts whole.

    On Poisson data ``q`` stays near 1, ``beta`` near 1 and no factor is kept: the
    counts are Poisson. On refractory integrate-and-fire and balanced-network spiking,
    where Poisson draws put the nine sample statistics of
    :func:`~ldns_sklearn.metrics.compare_spike_statistics` up to 35x from the
    real-vs-real floor and a classifier told them from recordings (two-sample accuracy
    1.0), the default pipeline with this model comes within 1.5x of the floor
    (population-count KL 1.14-1.33x) at a two-sample accuracy of 0.55-0.57. On regular
    (gamma) firing with injected synchrony (up to 9.8x and 0.94-1.0 with Poisson draws;
    the synchronous events left to this model, as :class:`S4Autoencoder` ``synchrony``
    describes), on four data sets of the library's own simulator and one of Elephant's,
    every statistic but the population-count KL (1.19-1.86x) comes within 1.5x, save one
    set's mean rate (1.57x, where a sample of its own training trials scores 1.42x), at
    0.54-0.71. Synchrony that every pair of a population shares weakly (a balanced
    network simulated with Brian2, mean pairwise correlation about 0.01) is drawn
    (population-count KL 1.53x, two-sample accuracy 0.56), and an integrate-and-fire
    population simulated with Brian2 comes within 1.5x too (KL 1.61x, 0.61), with the
    recovery fitted on rates that did not see each neuron's own spikes
    (:class:`S4Autoencoder` ``observation_rates``; ``docs/benchmarks.md``, "Recovery
    fitted on cross-fitted rates").

    Parameters
    ----------
    history : int or None, default=None
        Bins since the last spike whose recovery is fitted. None: the 95th percentile of
        the intervals between a neuron's spikes in the training counts, within 10-60 bins.
    max_count : int or None, default=None
        Largest count a bin may hold; None uses each neuron's largest training count.
    n_factors : int, default=6
        Most shared fluctuations fitted (0: none).
    alpha : float, default=1e-3
        Ridge penalty on ``log q`` (pulls the recovery of rarely seen intervals to 1).
    max_iter : int, default=5
        Rounds of fitting the recovery and the dispersion given the drive, and the drive
        given them.
    recovery_clock : {"bins", "rate", "auto"}, default="bins"
        What the time since a neuron's last spike is counted in: bins (``c = 0``),
        expected spikes at the bin's rate (``c = 1``), or, with ``"auto"``, per neuron
        the likeliest of ``c`` = 0, 0.5 and 1 (the recovery is fitted three times: this
        model's fit and calibration took 1.4-2.2 times as long on the benchmark data, a
        whole pipeline's fit 1.1 times on the gamma data, 1.0-1.7 times on the realistic
        kinds in later runs, one thread, beside other jobs).
        Given the true rates of regular (gamma) firing, ``"auto"`` brought the mean and
        the standard deviation of the intervals from 1.5x and 1.4x the real-vs-real floor
        to 1.2x and 1.3x; from the rates of fitted pipelines it brought the mean interval
        on five gamma data sets from 1.10-1.67x to 0.93-1.47x (three draws each) but the
        population-count KL up on four of them, one out of its 2x goal
        (``docs/benchmarks.md``), hence the default. (Measured before the recovered
        state's column was fitted, which brought the default's mean interval on the five
        to 0.92-1.36x.)
    random_state : int, RandomState instance or None, default=None
        Seeds the draws that fit the shared fluctuations (an :class:`S4Autoencoder`
        seeds it from its own ``random_state``).

    Attributes
    ----------
    n_neurons_ : int
    history_ : int
        The number of bins of recovery fitted.
    recovery_ : ndarray of shape (n_neurons, ``history_ + 1``)
        ``q``: column ``d`` for a last spike ``d + 1`` bins ago on the neuron's clock; the
        last column, 1, for ``history_ + 1`` bins or longer ago.
    recovery_clock_ : ndarray of shape (n_neurons,)
        ``c``: the clock of the recovery runs ``(rate / reference_rate_) ** c`` times as
        fast as bins (within 0.2-5); 0 counts bins.
    reference_rate_ : ndarray of shape (n_neurons,)
        Each neuron's mean training rate per bin, at which its clock counts bins.
    dispersion_ : ndarray of shape (n_neurons,)
        ``beta``.
    max_count_ : ndarray of shape (n_neurons,)
    rate_gain_ : ndarray of shape (n_neurons,)
        Factor on the rates that keeps each neuron's mean count that of the training
        counts when the shared fluctuations act (or, after :meth:`calibrate`, for the
        rates given there).
    fluctuation_loadings_ : ndarray of shape (n_neurons, n_fluctuations)
        ``L`` of multiplicative factors; the participations (probabilities) of additive
        ones. No columns when no factor was kept.
    fluctuation_ar_ : ndarray of shape (n_fluctuations, 2)
        AR(2) coefficients of the Gaussian path behind each factor.
    fluctuation_sparsity_ : ndarray of shape (n_fluctuations,)
        0 for a Gaussian factor; ``p`` for a two-state one, on in a fraction ``p`` of
        bins (synchronous events for small ``p``, up and down states near 0.5): of the
        shapes tried, the one whose draws give the population-count distribution and
        pairwise correlations closest to the recorded ones (for events, refined between
        the values tried first).
    fluctuation_additive_ : ndarray of bool, shape (n_fluctuations,)
        True for a factor of synchronous events (additive), on in a fraction
        ``fluctuation_sparsity_`` of bins.
    trial_spread_ : ndarray of shape (n_neurons,)
        Standard deviation of the logarithm of each trial's factor on the neuron's rates
        (0: none).

    See Also
    --------
    PoissonObservation : Independent Poisson counts.
    AutoregressiveObservation : The LDNS paper's spike-history GLM.

    Examples
    --------
    >>> import numpy as np
    >>> from ldns_sklearn import RenewalObservation
    >>> rng = np.random.default_rng(0)
    >>> counts = (rng.random((50, 80, 4)) < 0.3).astype(int)
    >>> for t in range(1, 80):                  # refractory: never two bins in a row
    ...     counts[:, t] *= 1 - counts[:, t - 1]
    >>> rates = np.full(counts.shape, counts.mean())
    >>> obs = RenewalObservation(random_state=0).fit(counts, rates)
    >>> bool(obs.recovery_[:, 0].max() < 0.01)   # the bin after a spike stays empty
    True
    >>> drawn = obs.sample(rates, random_state=1)
    >>> int((drawn[:, 1:] * drawn[:, :-1]).sum()), bool(abs(drawn.mean() - rates[0, 0, 0]) < 0.01)
    (0, True)
    """

    _saved_attributes = (
        "n_neurons_", "history_", "recovery_", "dispersion_", "max_count_", "rate_gain_",
        "fluctuation_loadings_", "fluctuation_ar_", "fluctuation_sparsity_",
        "fluctuation_additive_", "recovery_clock_", "reference_rate_", "trial_spread_",
    )

    _requires_y = True  # the rates
    _parameter_constraints: ClassVar[dict] = {
        "history": [Interval(Integral, 1, None, closed="left"), None],
        "max_count": [Interval(Integral, 1, None, closed="left"), None],
        "n_factors": [Interval(Integral, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "recovery_clock": [StrOptions(set(RECOVERY_CLOCKS))],
        "random_state": ["random_state"],
    }

    def __init__(self, history=None, *, max_count=None, n_factors=6, alpha=1e-3, max_iter=5,
                 recovery_clock="bins", random_state=None):
        self.history = history
        self.max_count = max_count
        self.n_factors = n_factors
        self.recovery_clock = recovery_clock
        self.alpha = alpha
        self.max_iter = max_iter
        self.random_state = random_state

    def _fitted(self) -> RenewalFit:
        # Files saved before additive factors existed have none.
        additive = getattr(self, "fluctuation_additive_",
                           np.zeros(len(self.fluctuation_sparsity_), dtype=bool))
        # Files saved before the recovery's clock existed count its time in bins.
        n = len(self.dispersion_)
        clock = getattr(self, "recovery_clock_", np.zeros(n))
        reference = getattr(self, "reference_rate_", np.ones(n))
        # ... and those saved before the trial spread existed have none.
        spread = getattr(self, "trial_spread_", np.zeros(n))
        return RenewalFit(self.recovery_, clock, reference, self.dispersion_, self.max_count_,
                          self.rate_gain_,
                          self.fluctuation_loadings_, self.fluctuation_ar_,
                          self.fluctuation_sparsity_, additive, spread)

    def _keep(self, fit: RenewalFit) -> None:
        self.recovery_, self.dispersion_, self.max_count_ = (
            fit.recovery, fit.dispersion, fit.max_count
        )
        self.recovery_clock_, self.reference_rate_ = fit.clock, fit.reference
        self.rate_gain_ = fit.gain
        self.fluctuation_loadings_, self.fluctuation_ar_ = fit.loadings, fit.ar
        self.fluctuation_sparsity_, self.fluctuation_additive_ = fit.sparsity, fit.additive
        self.trial_spread_ = fit.trial_spread

    def _check_loaded_state(self):
        """Refuse declared sizes that disagree with the fitted arrays (see ``load_model``)."""
        if not hasattr(self, "recovery_"):
            return
        n, f = len(self.dispersion_), len(self.fluctuation_sparsity_)
        # Files saved before additive factors existed do not hold the array.
        saved = hasattr(self, "fluctuation_additive_")
        additive = {"fluctuation_additive_": (f,)} if saved else {}
        # ... nor those saved before the recovery's clock existed.
        clock = ({"recovery_clock_": (n,), "reference_rate_": (n,)}
                 if hasattr(self, "recovery_clock_") or hasattr(self, "reference_rate_")
                 else {})
        # ... nor those saved before the trial spread existed.
        spread = {"trial_spread_": (n,)} if hasattr(self, "trial_spread_") else {}
        check_declared(
            self, "dispersion_", n_neurons_=n, recovery_=(n, self.history_ + 1),
            max_count_=(n,), rate_gain_=(n,), fluctuation_loadings_=(n, f),
            fluctuation_ar_=(f, 2), **additive, **clock, **spread,
        )
        if spread and not np.all(self.trial_spread_ >= 0):
            raise ValueError("RenewalObservation.trial_spread_ must not be negative.")
        # (The file format refuses NaN and infinities; a clock divides by its reference.)
        if clock and not np.all(self.reference_rate_ > 0):
            raise ValueError("RenewalObservation.reference_rate_ must be positive.")
        if additive and self.fluctuation_additive_.dtype != bool:
            raise ValueError(
                f"RenewalObservation.fluctuation_additive_ has dtype "
                f"{self.fluctuation_additive_.dtype}, not bool."
            )

    def _synchrony_left_to_events(self, counts, valid):
        # What S4Autoencoder(synchrony="observation") leaves to this model: the groups
        # whose synchronous events it draws, as fit finds them on the same counts.
        return synchrony_left_to_events(counts, valid, self.n_factors)

    @fit_context(prefer_skip_nested_validation=True)
    @restore_on_failure
    def fit(self, counts, rates):
        """Fit recovery, dispersion and shared fluctuations to counts and their rates.

        Parameters
        ----------
        counts : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
            Recorded spike counts.
        rates : same form as ``counts``
            Firing rates per bin of the same trials (e.g. decoded by
            :class:`S4Autoencoder`), which the counts are taken to have been drawn from:
            the expected count in each bin.

        Returns
        -------
        self : RenewalObservation

        Warns
        -----
        UserWarning
            When in more than 5 % of the bins no drive reaches the rate under the fitted
            recovery (rates above what the neurons' refractoriness lets them fire, such as
            spiking probabilities or rates in Hz): the recovery is then unreliable.
        """
        return self._fit_trials(*_fitting_pair(counts, rates))

    def _fit_trials(self, counts: Trials, rates: Trials):
        """:meth:`fit` on checked counts and rates of the same trials, each one value."""
        x, r = counts.padded, _checked_values(rates, positive=True).padded
        valid = counts.valid
        history = self.history
        if history is None:
            # What the trials can show: at most one bin fewer than the longest has.
            history = max(1, min(automatic_history(x, valid), x.shape[1] - 1))
        if history >= x.shape[1]:
            raise ValueError(
                f"history={history} reaches beyond the trials: the longest has {x.shape[1]} "
                f"bins, so at most {x.shape[1] - 1} bins since a spike can be seen."
            )
        fit = fit_renewal(
            x.astype(np.int64), r, valid, history=history, alpha=self.alpha,
            max_count=self.max_count, n_factors=self.n_factors, max_iter=self.max_iter,
            clocks=RECOVERY_CLOCKS[self.recovery_clock],
            rng=np.random.default_rng(check_random_state(self.random_state).randint(2**31)),
        )
        self.n_neurons_, self.history_ = x.shape[2], history
        self._keep(fit)
        return self

    def calibrate(self, counts, rates):
        """Refit the rate gains, shared fluctuations and trial spread for other rates.

        :meth:`fit` matches draws from the training trials' own rates to their counts.
        Rates from a generative model (latents sampled by a diffusion model, then
        decoded) can be a little smoother or offset; this refits the parts that compare
        only what is drawn with ``counts`` — the gains keeping each neuron's mean count,
        the shared fluctuations and the trial spread — on draws from ``rates``, which need
        not be paired with ``counts``. :class:`~ldns_sklearn.LDNSPipeline` calls it after
        fitting, with rates of trials its diffusion model generated.

        Parameters
        ----------
        counts : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
            The training counts.
        rates : array-like of shape (n_generated, n_bins, n_neurons) or list of 2-D arrays
            Rates to draw from (any number of trials).

        Returns
        -------
        self : RenewalObservation
        """
        check_is_fitted(self)
        counts = check_trials(counts, name="counts", counts=True, n_channels=self.n_neurons_)
        rates = check_rates(rates, n_channels=self.n_neurons_, positive=True)
        x, lengths = pad_trials(counts)
        r, rate_lengths = pad_trials(rates)
        with restored_on_failure(self):
            fit = fit_fluctuations(
                self._fitted(), x.astype(np.int64), valid_bins(lengths, x.shape[1]), r,
                valid_bins(rate_lengths, r.shape[1]), self.n_factors,
                np.random.default_rng(check_random_state(self.random_state).randint(2**31)),
            )
            self._keep(fit)
        return self

    def sample(self, rates, random_state=None, *, counts=None, observed=None):
        """Draw counts bin by bin, each neuron's recovery following its own last spike.

        Parameters
        ----------
        rates : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
            Firing rates per bin.
        random_state : int, RandomState instance or None
            Seed of the draws.
        counts, observed : trials of the form of ``rates``, optional
            Recorded counts and a boolean mask of the entries to keep (in-painting):
            there the result is ``counts``, and a kept spike starts its neuron's recovery
            as a drawn one would.

            .. deprecated:: 0.1.0.dev1
                ``counts`` and ``observed`` warn (``FutureWarning``) and will be removed:
                complete recordings with :meth:`LDNSPipeline.inpaint
                <ldns_sklearn.LDNSPipeline.inpaint>`, which keeps their recorded entries.

        Returns
        -------
        counts : ndarray of int64, same form as ``rates``
        """
        return _sampled(self, rates, random_state, counts, observed)

    def _sample_trials(self, rates: Trials, random_state, kept=None, observed=None) -> Trials:
        """:meth:`sample` of rates in one value (``kept`` and ``observed`` padded alike)."""
        r = _checked_values(rates, positive=True).padded
        seed = check_random_state(random_state).randint(2**31)
        drawn = draw(self._fitted(), r, rates.valid, np.random.default_rng(seed), kept=kept,
                     observed=observed)
        return rates.with_values(drawn)

    def score(self, counts, rates):
        """Mean log-likelihood per bin and neuron (nats), given the recorded spike history.

        Comparable with :meth:`PoissonObservation.score` on the same data. The shared
        fluctuations, which act on all neurons at once, and the trial spread, which acts on
        whole trials, are left out.

        Parameters
        ----------
        counts, rates : trials of the same shape

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        x, r, valid = _scored_pair(counts, rates, self.n_neurons_)
        return _mean_per_entry(log_likelihood(self._fitted(), x.astype(np.int64), r, valid),
                               valid)
