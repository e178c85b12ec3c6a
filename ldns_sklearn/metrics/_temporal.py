"""Temporal statistics: spike-count auto- and cross-correlation over lags, the paper's way.

The conventions are those of the paper's code (``ldns/utils/eval_utils.py``,
``get_temp_corr_summary(..., mode="biased")``): each neuron's counts are centred on their mean
within the trial; the correlation at lag k of two centred series ``a``, ``b`` of a trial of T
bins is ``(1/T) sum_t a_t b_{t+k}`` (the "biased" estimate), averaged over trials. The
auto-correlation is a neuron's with itself; the cross-correlation of a group of neurons is
the average over its pairs. Neurons are grouped as the paper's ``group_neurons_temp_corr``
does: sorted by their summed squared correlation with all others (most correlated first) and
cut into ``n_groups`` groups of equal size, the remainder joining the last.

Where this differs: the paper averages the pairs ``i < j`` of a group in one direction, so
its curve depends on the order of the neurons within a group; here each pair enters in both
directions, which is the symmetric part of the paper's curve, ``(c(k) + c(-k)) / 2``, and the
same for every order.

Every sum is read in one pass over blocks of trials (:mod:`._blocks`, as
:mod:`._accumulator`), from the raw counts: ``sum_t (x_t - m)(x_{t+k} - m)`` is the raw
lag product minus terms of the trial's total and of its first and last k bins, so no
centred float64 copy of the data is made.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import trial_lengths
from . import _blocks
from ._checks import n_neurons

#: Lags compared when ``max_lag`` is not given (fewer where trials are shorter).
DEFAULT_MAX_LAG = 10
#: Groups of neurons whose cross-correlations are averaged, as in the paper's figures.
DEFAULT_N_GROUPS = 4


def resolve_max_lag(max_lag, datasets: dict) -> int:
    """The largest lag to compute: ``max_lag``, or by default ``DEFAULT_MAX_LAG`` capped by the
    trials; a clear error for a lag no trial of a data set reaches."""
    longest = {name: int(trial_lengths(trials).max()) for name, trials in datasets.items()}
    shortest_name = min(longest, key=longest.get)
    if max_lag is None:
        return min(DEFAULT_MAX_LAG, longest[shortest_name] - 1)
    if max_lag >= longest[shortest_name]:
        raise ValueError(
            f"max_lag={max_lag} reaches beyond the trials: the longest trial of "
            f"{shortest_name} has {longest[shortest_name]} bins, so lags of at most "
            f"{longest[shortest_name] - 1} bins exist. Pass a smaller max_lag."
        )
    return max_lag


def correlation_groups(correlation: np.ndarray, n_groups: int) -> tuple[np.ndarray, ...]:
    """Neurons sorted by summed squared correlation with the others, cut into groups.

    Groups hold at least two neurons (a cross-correlation needs a pair), so fewer than
    ``n_groups`` are made for few neurons; none for a single neuron.
    """
    n = len(correlation)
    n_groups = min(n_groups, n // 2)
    if n_groups == 0:
        return ()
    strength = np.nan_to_num(correlation) ** 2  # silent neurons correlate with nothing
    np.fill_diagonal(strength, 0.0)
    order = np.argsort(-strength.sum(axis=0), kind="stable")
    size = n // n_groups
    return tuple(
        order[g * size : (g + 1) * size if g < n_groups - 1 else n] for g in range(n_groups)
    )


@dataclass
class LagSums:
    """Lag products of a set of trials, summed over trials (see the module docstring).

    ``auto[k, n]`` is the sum over trials of neuron n's biased lag-k product; ``group[k, g]``
    the same for the summed counts of group g, from which the pairs' average follows.
    """

    groups: tuple[np.ndarray, ...]
    auto: np.ndarray
    group: np.ndarray
    n_trials: int = 0

    @classmethod
    def from_trials(cls, trials, groups, max_lag: int) -> LagSums:
        """Read ``trials`` (validated counts) once, summing lags ``0..max_lag``."""
        width = n_neurons(trials)
        membership = np.zeros((width, len(groups)), dtype=np.float32)
        for g, members in enumerate(groups):
            membership[members, g] = 1.0
        sums = cls(
            groups=tuple(groups),
            auto=np.zeros((max_lag + 1, width)),
            group=np.zeros((max_lag + 1, len(groups))),
        )
        for block, lengths in _blocks.blocks(trials):
            values, largest = _exact_floats(block)
            sums.auto += _lag_products(values, lengths, max_lag)
            if groups:
                # A group sum is at most largest x width: exact in the values' own dtype.
                flat = values.reshape(-1, width)
                if largest * width >= _blocks.FLOAT32_EXACT:
                    flat = flat.astype(np.float64)
                grouped = (flat @ membership.astype(flat.dtype)).astype(np.float64)
                sums.group += _lag_products(grouped.reshape(len(block), -1, len(groups)),
                                            lengths, max_lag)
            sums.n_trials += len(block)
        return sums

    def merged(self, other: LagSums) -> LagSums:
        """The sums of the union of both sets of trials (same groups and lags)."""
        return LagSums(
            self.groups,
            self.auto + other.auto,
            self.group + other.group,
            self.n_trials + other.n_trials,
        )

    def auto_correlation(self, scale: float = 1.0) -> np.ndarray:
        """``(n_neurons, max_lag + 1)``: each neuron's auto-correlation, averaged over trials."""
        return self.auto.T * (scale / max(self.n_trials, 1))

    def cross_correlation(self, scale: float = 1.0) -> np.ndarray:
        """``(n_groups, max_lag + 1)``: the average cross-correlation of a group's pairs."""
        curves = []
        for g, members in enumerate(self.groups):
            # The group sum's lag product holds every ordered pair and each neuron's own.
            pairs = self.group[:, g] - self.auto[:, members].sum(axis=1)
            curves.append(pairs / (len(members) * (len(members) - 1)))
        if not curves:
            return np.zeros((0, self.auto.shape[0]))
        return np.array(curves) * (scale / max(self.n_trials, 1))


def _exact_floats(block):
    """Counts as float32 where every lag product of a trial is exact in it, else float64;
    and the largest count."""
    if block.dtype == bool:
        block = block.view(np.uint8)
    largest = float(block.max(initial=0))
    exact = largest * largest * block.shape[1] < _blocks.FLOAT32_EXACT
    return block.astype(np.float32 if exact else np.float64, copy=False), largest


def _lag_products(x: np.ndarray, lengths: np.ndarray, max_lag: int) -> np.ndarray:
    """``(max_lag + 1, channels)``: ``sum_trials (1/T) sum_t (x_t - m)(x_{t+k} - m)``.

    ``x`` is ``(n_trials, n_bins, channels)``, zero-padded past each trial's length, raw
    (uncentred) counts. With ``m`` the trial's mean, ``P_k = sum_t x_t x_{t+k}``,
    ``A_k = total - (last k bins)`` and ``B_k = total - (first k bins)``, the centred sum is
    ``P_k - m (A_k + B_k) + (T - k) m²``.
    """
    n, n_bins, channels = x.shape
    lengths = np.asarray(lengths)
    totals = x.sum(axis=1, dtype=np.float64)
    means = totals / lengths[:, None]
    zeros = np.zeros((n, 1, channels))
    head = np.concatenate([zeros, np.cumsum(x[:, :max_lag], axis=1, dtype=np.float64)], axis=1)
    last = lengths[:, None] - 1 - np.arange(max_lag)[None, :]
    tail_bins = x[np.arange(n)[:, None], np.clip(last, 0, None)] * (last >= 0)[..., None]
    tail = np.concatenate([zeros, np.cumsum(tail_bins, axis=1, dtype=np.float64)], axis=1)
    weights = 1.0 / lengths[:, None]  # the biased estimate divides by the trial's length
    products = np.zeros((max_lag + 1, channels))
    for lag in range(min(max_lag, n_bins - 1) + 1):
        raw = np.einsum("itc,itc->ic", x[:, : n_bins - lag], x[:, lag:]).astype(np.float64)
        pairs = np.maximum(lengths - lag, 0)[:, None]
        edges = 2.0 * totals - head[:, lag] - tail[:, lag]
        centred = raw - means * edges + pairs * means**2
        products[lag] = (weights * centred).sum(axis=0)
    return products
