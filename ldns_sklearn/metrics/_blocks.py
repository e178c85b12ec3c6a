"""Trials read in blocks: how every streaming pass of the metrics walks a data set."""

from __future__ import annotations

import numpy as np

from .._validation import pad_trials
from ._checks import n_neurons

# Counts per block of the streaming pass (rows x neurons): large enough for fast BLAS and
# vectorised code, small enough that per-block temporaries stay in the tens of megabytes.
BLOCK = 1 << 22
# Integers up to 2**24 are exact in float32, so integer sums of products can use the faster
# single-precision BLAS whenever no partial sum can exceed it.
FLOAT32_EXACT = 1 << 24


def blocks(trials):
    """Yield ``(block, lengths)``: whole trials stacked into ``(n, n_bins, n_neurons)`` blocks.

    Trials of a list are zero-padded to the longest trial of their block; ``lengths`` gives
    the bins of each trial that are real.
    """
    width = n_neurons(trials)
    if isinstance(trials, np.ndarray):
        n_trials, n_bins = trials.shape[:2]
        step = max(1, BLOCK // (n_bins * width))
        for start in range(0, n_trials, step):
            block = trials[start : start + step]
            yield block, np.full(len(block), n_bins)
        return
    group, size = [], 0
    for trial in trials:
        group.append(trial)
        size += trial.size
        if size >= BLOCK:
            yield pad_trials(group)
            group, size = [], 0
    if group:
        yield pad_trials(group)
