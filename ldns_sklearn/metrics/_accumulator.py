"""One streaming pass over the trials, summed into everything the statistics need.

A data set is read in blocks of whole trials, so large recordings need little memory; the
sums of two sets of trials add up to the sums of their union (:meth:`SpikeSums.merged`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from .._validation import valid_bins
from . import _blocks
from ._checks import n_neurons
from ._temporal import LagSums

#: The optional parts of :class:`SpikeSums`; a statistic that needs few asks for few.
ALL_PARTS = frozenset({"population", "correlation", "isi", "fano", "psth"})


@dataclass
class SpikeSums:
    """Sufficient statistics of a set of trials of spike counts.

    ``gram``, ``population``, ``isi``, ``trial_totals`` and ``psth`` are None unless asked
    for (``parts``); ``lags`` (lag products, :class:`._temporal.LagSums`) is added by
    :meth:`add_lags`, in a second pass, since its neuron groups come from the real data's
    correlations.
    """

    n_neurons: int
    n_bins: int = 0
    spikes: np.ndarray = field(default=None)
    # Sum over bins of outer(counts, counts): (n_neurons, n_neurons).
    gram: np.ndarray | None = None
    # Population spike count of every bin, one array per block.
    population: list[np.ndarray] | None = None
    # Per neuron: number, sum and sum of squares of its inter-spike intervals (in bins).
    isi: np.ndarray | None = None
    n_trials: int = 0
    # Per neuron: sum and sum of squares of its spike count per trial (Fano factor).
    trial_totals: np.ndarray | None = None
    # Per bin from each trial's start: summed counts (n_bins, n_neurons) and trials reaching it.
    psth: tuple[np.ndarray, np.ndarray] | None = None
    lags: LagSums | None = None

    @classmethod
    def from_trials(cls, trials, parts=ALL_PARTS) -> SpikeSums:
        """Read ``trials`` (validated counts) once, summing what ``parts`` need."""
        width = n_neurons(trials)
        sums = cls(
            n_neurons=width,
            spikes=np.zeros(width),
            gram=np.zeros((width, width)) if "correlation" in parts else None,
            population=[] if "population" in parts else None,
            isi=np.zeros((3, width)) if "isi" in parts else None,
            trial_totals=np.zeros((2, width)) if "fano" in parts else None,
            psth=(np.zeros((0, width)), np.zeros(0)) if "psth" in parts else None,
        )
        # A tall, thin Gram product gains little from threads, and multi-threaded OpenBLAS
        # slows down by an order of magnitude when other processes share the cores.
        with threadpool_limits(limits=1, user_api="blas"):
            for block, lengths in _blocks.blocks(trials):
                sums._add(block, lengths)
        return sums

    def _add(self, block, lengths):
        if block.dtype == bool:
            block = block.view(np.uint8)
        bins = _bins(block, lengths)
        spikes = bins.sum(axis=0, dtype=np.float64)
        self.n_bins += len(bins)
        self.n_trials += len(block)
        self.spikes += spikes
        if self.trial_totals is not None:
            totals = block.sum(axis=1, dtype=np.float64)
            self.trial_totals += (totals.sum(axis=0), np.square(totals).sum(axis=0))
        if self.psth is not None:
            self.psth = _add_padded(
                self.psth,
                (block.sum(axis=0, dtype=np.float64), valid_bins(lengths, block.shape[1]).sum(0)),
            )
        if self.population is not None:
            self.population.append(bins.sum(axis=1, dtype=np.int64))
        if self.gram is not None:
            self.gram += _gram(bins)
        if self.isi is not None:
            # Zero padding adds no spikes, hence no intervals.
            self.isi += _isi_moments(block, spikes)

    def merged(self, other: SpikeSums) -> SpikeSums:
        """The sums of the union of both sets of trials (same parts in both)."""

        def add(a, b):
            return None if a is None else a + b

        return SpikeSums(
            n_neurons=self.n_neurons,
            n_bins=self.n_bins + other.n_bins,
            spikes=self.spikes + other.spikes,
            gram=add(self.gram, other.gram),
            population=add(self.population, other.population),
            isi=add(self.isi, other.isi),
            n_trials=self.n_trials + other.n_trials,
            trial_totals=add(self.trial_totals, other.trial_totals),
            psth=None if self.psth is None else _add_padded(self.psth, other.psth),
            lags=None if self.lags is None else self.lags.merged(other.lags),
        )

    def add_lags(self, trials, groups, max_lag: int) -> SpikeSums:
        """Sum the lag products of ``trials`` (the trials these sums hold) over lags
        ``0..max_lag``, for each neuron and each group of ``groups``; returns self."""
        self.lags = LagSums.from_trials(trials, groups, max_lag)
        return self

    def population_counts(self) -> np.ndarray:
        """The population spike count of every bin, in order."""
        if not self.population:
            return np.zeros(0, np.int64)
        return np.concatenate(self.population)


def _add_padded(psth, other):
    """Bin-by-bin sum of two ``(summed counts, trials per bin)`` of possibly different lengths."""
    n_bins = max(len(psth[1]), len(other[1]))
    return tuple(
        np.pad(a, [(0, n_bins - len(a))] + [(0, 0)] * (a.ndim - 1))
        + np.pad(b, [(0, n_bins - len(b))] + [(0, 0)] * (b.ndim - 1))
        for a, b in zip(psth, other, strict=True)
    )


def _bins(block, lengths):
    """The real bins of a block as one 2-D array (n_bins_total, n_neurons)."""
    if np.all(lengths == block.shape[1]):
        return block.reshape(-1, block.shape[2])
    return block[valid_bins(lengths, block.shape[1])]


def _gram(bins):
    """Exact ``bins.T @ bins`` of integer counts, in float32 BLAS where that is exact."""
    largest = float(bins.max())
    # Every partial sum of the float32 product is an integer <= largest**2 * rows, so the
    # single-precision result is exact below 2**24.
    dtype = np.float32 if largest * largest * len(bins) < _blocks.FLOAT32_EXACT else np.float64
    values = bins.astype(dtype)
    return (values.T @ values).astype(np.float64)


def _interval_tables(largest):
    """Per spike count k: ``1 / (k + 1)``, and the sum and sum of squares of the k - 1
    intervals of width ``1 / (k + 1)`` between the k spikes of one bin."""
    k = np.arange(largest + 1, dtype=np.float64)
    width = 1.0 / (k + 1.0)
    inside = np.maximum(k - 1.0, 0.0)
    return width, inside * width, inside * width**2


def _isi_moments(block, spikes):
    """Number, sum and sum of squares (in bins) of each neuron's inter-spike intervals.

    ``spikes`` holds each neuron's spike total in ``block``. With the k spikes of bin b at
    ``b + (j + 1) / (k + 1)``, a bin holding k >= 2 spikes adds k - 1 intervals of
    ``1 / (k + 1)``, and consecutive non-empty bins b1 < b2 of one trial (holding k1 and k2
    spikes) add ``(b2 - b1 - 1) + 1 / (k1 + 1) + 1 / (k2 + 1)``.
    """
    n_trials, n_bins, n_neurons = block.shape
    moments = np.zeros((3, n_neurons))
    # A train of m >= 1 spikes has m - 1 intervals.
    moments[0] = spikes - block.any(axis=1).sum(axis=0)
    # Neuron-major order lists each neuron's non-empty bins trial by trial, bin by bin, so
    # consecutive entries of one spike train are neighbours and their flat distance is the
    # number of bins between them.
    flat = np.ascontiguousarray(np.moveaxis(block, 2, 0)).reshape(-1)
    where = np.flatnonzero(flat > 0)  # numpy finds non-zeros of a bool array ~5x faster
    if where.size == 0:
        return moments
    count = flat[where]
    if not np.issubdtype(count.dtype, np.integer):
        count = count.astype(np.intp)
    width, inside_sum, inside_squares = _interval_tables(int(count.max()))
    edge = width[count]

    # Row 0 of `values` gets entry i's interval to its predecessor, row 1 its square.
    values = np.empty((2, where.size))
    values[:, 0] = 0.0
    interval = values[0, 1:]
    np.subtract(where[1:], where[:-1], out=interval)
    interval -= 1.0
    interval += edge[:-1]
    interval += edge[1:]
    # Neighbours belong to one spike train when they lie in one (neuron, trial) stretch.
    stretch = where // n_bins
    interval *= stretch[1:] == stretch[:-1]
    np.square(values[0], out=values[1])
    # The intervals inside multi-spike bins (rarer at typical rates) are added where they are.
    several = np.flatnonzero(count >= 2)
    multi = count[several]
    for row, table in zip(values, (inside_sum, inside_squares), strict=True):
        row[several] += table[multi]

    # Entries are sorted by neuron; dropping the neurons without entries makes each start
    # followed by the next neuron's start, as reduceat needs.
    bounds = np.searchsorted(where, np.arange(n_neurons + 1) * (n_trials * n_bins))
    active = bounds[:-1] < bounds[1:]
    moments[1:, active] = np.add.reduceat(values, bounds[:-1][active], axis=1)
    return moments
