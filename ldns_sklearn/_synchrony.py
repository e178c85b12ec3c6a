"""Groups of neurons that fire together within a bin, and their synchronous spikes.

Slow shared input (latents, a stimulus) correlates two neurons' counts at lag 0 and at
the neighbouring lags alike; synchronous events — coincidences injected into ongoing
firing, as in single-interaction or compound-Poisson models of synchrony — correlate them
at lag 0 only. A pair is *synchronous* when its lag-0 correlation exceeds the mean of its
lag -1 and +1 correlations by far more than the population's median pair does (a fast
population rhythm raises every pair alike). Groups are the connected sets of synchronous
pairs with at least ``_MIN_GROUP`` neurons.

A bin holds an *event* of a group when at least ``min_spikes`` of its members spike in it,
the fewest whose chance coincidences (independent members at their mean spiking
probability) make at most ``_CHANCE_SHARE`` of the bins seen with that many. Each member
spiking in an event bin has one synchronous spike there; the rest of its count is its own.

:class:`~ldns_sklearn.S4Autoencoder` leaves the synchronous spikes to an observation model
that draws synchronous events itself (:class:`~ldns_sklearn.RenewalObservation`): smooth
latents cannot carry a one-bin event, and rates that blur it count it twice once the
observation model adds events. That model fits each neuron's recovery on the rest of its
spikes, since an event spike does not reset the neuron's own renewal process.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.sparse.csgraph import connected_components

from ._trials import Trials

__all__ = [
    "Synchrony",
    "TrialsWithoutSynchrony",
    "find_synchrony",
    "lagged_covariances",
    "synchronous_spikes",
]

# A synchronous pair's lag-0 correlation exceeds the mean of its lag-1 ones by this much
# more than the median pair's does, and by this many times the sampling noise of that
# difference (about 1 / sqrt(bins)). On the benchmark data the groups' pairs stood at
# 0.08-0.27 and every other pair at most 0.03 (balanced network: 0.04 above its median).
_MIN_EXCESS = 0.05
_NOISE_SDS = 8.0
_MIN_GROUP = 3
# Most share of the bins with at least min_spikes members spiking that chance
# coincidences may explain.
_CHANCE_SHARE = 0.1


class Synchrony(NamedTuple):
    """Synchronous groups: ``groups[n]`` the group of neuron ``n`` (-1: none),
    ``min_spikes[g]`` the members spiking in a bin that make it an event of group ``g``."""

    groups: np.ndarray
    min_spikes: np.ndarray

    @classmethod
    def none(cls, n_neurons: int) -> Synchrony:
        """No synchronous group among ``n_neurons``."""
        return cls(np.full(n_neurons, -1, dtype=np.int64), np.zeros(0, dtype=np.int64))

    @property
    def n_groups(self) -> int:
        return len(self.min_spikes)


def lagged_covariances(counts, valid, n_lags):
    """``C[tau][i, j] = cov(x_i(t), x_j(t + tau))`` within trials, ``tau = 0..n_lags``."""
    x = counts.astype(np.float64)
    weights = valid[..., None]
    mean = (x * weights).sum(axis=(0, 1)) / weights.sum()
    centred = (x - mean) * weights
    out = []
    for tau in range(n_lags + 1):
        left = centred[:, : x.shape[1] - tau].reshape(-1, x.shape[2])
        right = centred[:, tau:].reshape(-1, x.shape[2])
        pairs = (valid[:, : x.shape[1] - tau] & valid[:, tau:]).sum()
        out.append(left.T @ right / max(pairs, 1))
    return np.array(out)


def find_synchrony(counts: np.ndarray, valid: np.ndarray) -> Synchrony:
    """The synchronous groups of padded ``counts`` ``(n_trials, n_bins, n_neurons)``
    (``valid`` ``(n_trials, n_bins)`` marks each trial's own bins).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> counts = rng.poisson(0.05, size=(200, 50, 12))
    >>> events = rng.random((200, 50)) < 0.02
    >>> counts[..., :5] += events[..., None]             # neurons 0-4 fire together
    >>> found = find_synchrony(counts, np.ones((200, 50), dtype=bool))
    >>> found.groups.tolist(), found.min_spikes.tolist()
    ([0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1], [4])
    """
    n_neurons = counts.shape[-1]
    none = Synchrony.none(n_neurons)
    n_bins = int(valid.sum())
    if n_neurons < _MIN_GROUP or (valid[:, :-1] & valid[:, 1:]).sum() == 0:
        return none
    lag0, lag1 = lagged_covariances(counts, valid, 1)
    sd = np.sqrt(np.diag(lag0))
    scale = np.outer(sd, sd)
    excess = np.divide(lag0 - (lag1 + lag1.T) / 2.0, scale, out=np.zeros_like(scale),
                       where=scale > 0)
    off_diagonal = ~np.eye(n_neurons, dtype=bool)
    threshold = np.median(excess[off_diagonal]) + max(_MIN_EXCESS, _NOISE_SDS / np.sqrt(n_bins))
    linked = (excess > threshold) & off_diagonal
    _, component = connected_components(linked, directed=False)
    groups = np.full(n_neurons, -1, dtype=np.int64)
    min_spikes = []
    spiking = np.where(valid[..., None], counts > 0, False)
    for label in np.unique(component):
        members = np.flatnonzero(component == label)
        if members.size < _MIN_GROUP:
            continue
        fired = spiking[..., members].sum(axis=-1)[valid]
        seen = np.bincount(fired, minlength=members.size + 1)[::-1].cumsum()[::-1] / fired.size
        chance = _at_least(spiking[..., members][valid].mean(axis=0))
        # seen[k], chance[k]: shares of bins with at least k members spiking.
        enough = [k for k in range(2, members.size + 1)
                  if seen[k] > 0 and chance[k] <= _CHANCE_SHARE * seen[k]]
        if enough:
            groups[members] = len(min_spikes)
            min_spikes.append(enough[0])
    if not min_spikes:
        return none
    return Synchrony(groups, np.asarray(min_spikes, dtype=np.int64))


def _at_least(probabilities):
    """``P(at least k succeed)`` for ``k = 0..n`` of independent trials with these
    probabilities (the Poisson-binomial distribution, by convolution)."""
    exactly = np.ones(1)
    for p in probabilities:
        exactly = np.convolve(exactly, [1.0 - p, p])
    return exactly[::-1].cumsum()[::-1]


def synchronous_spikes(counts: np.ndarray, synchrony: Synchrony) -> np.ndarray:
    """The synchronous spikes of ``counts`` (``(..., n_neurons)``, same shape): one for each
    member spiking in a bin where at least ``min_spikes`` of its group spike.

    Examples
    --------
    >>> found = Synchrony(np.array([0, 0, 0, -1]), np.array([2]))
    >>> synchronous_spikes(np.array([[2, 1, 0, 1], [1, 0, 0, 1]]), found).tolist()
    [[1, 1, 0, 0], [0, 0, 0, 0]]
    """
    spikes = np.zeros(counts.shape, dtype=np.int64)
    for group, least in enumerate(synchrony.min_spikes):
        members = np.flatnonzero(synchrony.groups == group)
        fired = counts[..., members] > 0
        spikes[..., members] = fired & (fired.sum(axis=-1, keepdims=True) >= least)
    return spikes


def check_synchrony(synchrony: Synchrony, rate, prefix: str = "") -> None:
    """Refuse synchronous groups (e.g. a model file's) that do not make sense: group numbers
    other than -1 or one of the groups, a group's least count below 1, a negative rate."""
    groups, min_spikes = synchrony
    n_groups = len(min_spikes)
    if groups.dtype.kind != "i" or np.any((groups < -1) | (groups >= n_groups)):
        raise ValueError(
            f"{prefix}synchronous_groups_ must hold -1 or group numbers below {n_groups} (one "
            f"per synchronous_min_spikes_), got {np.unique(groups).tolist()}."
        )
    if not (np.all(min_spikes >= 1) and np.all(rate >= 0)):
        raise ValueError(f"{prefix}synchronous_min_spikes_ must be positive and "
                         "synchronous_rate_ non-negative.")


class TrialsWithoutSynchrony(Trials):
    """Padded trials read as :class:`~ldns_sklearn._trials.Trials` reads them,
    less their synchronous spikes (computed for each read, so a ``numpy.memmap`` stays on
    disk). With ``observed`` (boolean, the padded shape) only observed entries count."""

    def __init__(self, counts: Trials, synchrony: Synchrony, observed=None):
        self.trials, self.dtype = counts.trials, counts.dtype
        self.lengths, self.shape = counts.lengths, counts.shape
        self.counts, self.synchrony, self.observed = counts, synchrony, observed

    @property
    def padded(self) -> np.ndarray:
        """All trials, less their synchronous spikes (read, never kept)."""
        return self[:]

    def __getitem__(self, index) -> np.ndarray:
        read = self.counts[index]
        if self.observed is not None:
            read = read * self.observed[index]
        return read - synchronous_spikes(read, self.synchrony).astype(read.dtype)
