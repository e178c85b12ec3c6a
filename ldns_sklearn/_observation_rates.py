"""What an autoencoder fits its observation model with: a fresh, seeded clone of the model,
the synchronous groups it draws as events, the rates of the training trials decoded with
each neuron's own spikes hidden (cross-fitted), and a warning where rate calibration had to
scale a neuron's rates far."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone

from ._estimator import private_route
from ._synchrony import Synchrony, synchronous_spikes
from ._trials import Trials
from ._validation import valid_bins
from ._warnings import warn_user
from .observation import PoissonObservation, RenewalObservation

# Calibration factors outside this range mean the network misses a neuron's rate by an
# order of magnitude (on the benchmark data they lie within a few per cent of 1) ...
EXTREME_GAIN = 10.0
# ... for a neuron with enough spikes that its factor is known to within about 10 % (a
# neuron with 3 spikes can be off tenfold by chance, and its factor harms no one).
WELL_DETERMINED_SPIKES = 100
# Folds of neurons hidden in turn for cross-fitted rates (observation_rates): each encode
# hides a fifth of the neurons, as coordinated dropout hides a fifth of the entries
# (mask_prob=0.2) in training.
OBSERVATION_FOLDS = 5


def warn_extreme_gains(gain: np.ndarray, spikes: np.ndarray) -> None:
    extreme = np.flatnonzero(
        ((gain > EXTREME_GAIN) | (gain < 1 / EXTREME_GAIN)) & (spikes >= WELL_DETERMINED_SPIKES)
    )
    if extreme.size == 0:
        return
    listed = ", ".join(f"{k} (×{gain[k]:.3g})" for k in extreme[:5])
    more = f" and {extreme.size - 5} more" if extreme.size > 5 else ""
    warn_user(
        f"Rate calibration scaled the decoded rates of neuron(s) {listed}{more} by more "
        f"than {EXTREME_GAIN:g}× (see rate_gain_): the autoencoder misses their rates, e.g. "
        "because a few bins hold most of their spikes. Check those neurons' counts (a "
        "recording artefact?) or train longer."
    )


def fit_observation(observation, counts: Trials, rates: Trials) -> None:
    """Fit ``observation`` on the training trials' counts and their decoded rates, each
    one value (one of the user's through its public ``fit``, in the trials' own form)."""
    fit_trials = private_route(observation, "fit", "_fit_trials")
    if not fit_trials:
        observation.fit(Trials.from_padded(counts.padded.astype(np.int64), counts.lengths)
                        .unpad(), rates.unpad())
        return
    observation._validate_params()
    fit_trials(counts, rates)


def fresh_observation_model(observation, rng):
    """A fresh clone of ``S4Autoencoder(observation=)`` to fit (seeded from ``rng`` if it
    draws while fitting and was given no seed of its own)."""
    if observation == "poisson":
        return PoissonObservation()
    observation = RenewalObservation() if observation is None else clone(observation)
    params = observation.get_params()
    if "random_state" in params and params["random_state"] is None:
        observation.set_params(random_state=int(rng.randint(np.iinfo(np.int32).max)))
    return observation


def cross_fitted_rates(shape, rates_seeing) -> np.ndarray:
    """Padded rates ``shape`` ``(n_trials, n_bins, n_neurons)``, each neuron's decoded
    from latents encoded with its fold of neurons hidden: ``rates_seeing(observed)`` gives
    the rates of the trials when only the ``observed`` entries are seen. Neuron ``n`` is
    in fold ``n mod OBSERVATION_FOLDS`` (each neuron its own fold when there are fewer)."""
    n_neurons = shape[2]
    fold = np.arange(n_neurons) % min(OBSERVATION_FOLDS, n_neurons)
    rates = np.empty(shape)
    for hidden in np.unique(fold):
        observed = np.ones(shape, dtype=bool)
        observed[..., fold == hidden] = False
        rates[..., fold == hidden] = rates_seeing(observed)[..., fold == hidden]
    return rates


def event_synchrony(observation, counts, rows):
    """The synchronous groups of the training trials ``rows`` of padded ``counts`` (a
    :class:`~ldns_sklearn._trials.Trials`) that ``observation`` draws as events
    (none for a model that draws none, or None), and each neuron's mean count of their
    spikes per bin."""
    n_neurons = counts.shape[2]
    groups_of = getattr(observation, "_synchrony_left_to_events", None)
    if groups_of is None:
        return Synchrony.none(n_neurons), np.zeros(n_neurons)
    padded = counts[rows].astype(np.int64)
    valid = valid_bins(counts.lengths[rows], padded.shape[1])
    synchrony = groups_of(padded, valid)
    rate = synchronous_spikes(padded, synchrony).sum(axis=(0, 1)) / valid.sum()
    return synchrony, rate
