"""Checks of the observation masks that in-painting takes: which bins, which neurons.

A mask is boolean, True where the data was recorded. Bins: ``(n_bins,)`` for every trial
(trials of one length), ``(n_trials, n_bins)``, or, for trials of different lengths, a list
of 1-D masks or ``(n_trials, max_bins)`` (entries past a trial's end are ignored).
Neurons: ``(n_neurons,)`` for every trial or ``(n_trials, n_neurons)``.
Checked masks come back as a boolean ``(n_trials, max_bins)`` array, False past each
trial's end, or ``(n_trials, n_neurons)``.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_trials, is_ragged, pad_trials, trial_lengths, valid_bins
from ._warnings import warn_deprecated

__all__ = [
    "INPAINT_INSTEAD", "as_boolean_mask", "check_kept", "check_observed_bins",
    "check_observed_neurons", "deprecated_kept", "fill_missing", "observed_entries",
]

# What the deprecated in-painting keywords of the drawing steps point to.
INPAINT_INSTEAD = (
    "complete recordings with LDNSPipeline.inpaint(X, observed_bins=, observed_neurons=), "
    "which keeps their recorded entries (for Neo, the very spike times)."
)


def as_boolean_mask(mask, name: str) -> np.ndarray:
    """``mask`` as booleans: bool, or numbers that are all 0 or 1; a clear error otherwise."""
    array = np.asarray(mask)
    if array.dtype == bool:
        return array
    if np.issubdtype(array.dtype, np.number) and np.all(np.isin(array, (0, 1))):
        return array.astype(bool)
    raise ValueError(
        f"{name} must be a boolean mask (True where the data was recorded), got values "
        f"of dtype {array.dtype} other than 0 and 1; to hide positions given as indices, "
        f"build the mask first, e.g. mask = np.ones(n, bool); mask[indices] = False."
    )


def check_observed_bins(observed_bins, lengths: np.ndarray, *, name: str = "observed_bins"):
    """Observed-bin mask of trials of ``lengths`` bins as ``(n_trials, max_bins)`` booleans.

    Examples
    --------
    >>> import numpy as np
    >>> check_observed_bins([True, True, False], np.array([3, 3])).astype(int)
    array([[1, 1, 0],
           [1, 1, 0]])
    >>> check_observed_bins([False, False], np.array([2]))
    Traceback (most recent call last):
    ...
    ValueError: observed_bins hides every bin of trial 0; there is nothing to in-paint from ...
    """
    lengths = np.asarray(lengths)
    n_trials, n_bins = len(lengths), int(lengths.max())
    ragged = not np.all(lengths == n_bins)
    if isinstance(observed_bins, (list, tuple)) and ragged:
        if len(observed_bins) != n_trials:
            raise ValueError(
                f"{name} holds masks for {len(observed_bins)} trials but there are {n_trials}."
            )
        masks = [as_boolean_mask(mask, f"{name}[{i}]") for i, mask in enumerate(observed_bins)]
        checked = np.zeros((n_trials, n_bins), dtype=bool)
        for i, (mask, length) in enumerate(zip(masks, lengths, strict=True)):
            if mask.shape != (length,):
                raise ValueError(
                    f"{name}[{i}] has shape {mask.shape} but trial {i} has {length} bins."
                )
            checked[i, :length] = mask
    else:
        mask = given = as_boolean_mask(observed_bins, name)
        if mask.ndim == 1 and not ragged:
            mask = np.broadcast_to(mask, (n_trials, mask.shape[0]))
        if mask.shape != (n_trials, n_bins):
            expected = (
                f"a list of one 1-D mask per trial or ({n_trials}, {n_bins})"
                if ragged
                else f"({n_bins},) or ({n_trials}, {n_bins})"
            )
            raise ValueError(
                f"{name} has shape {given.shape}; expected {expected} (one entry per bin)."
            )
        checked = mask & valid_bins(lengths, n_bins)
    empty = np.flatnonzero(~checked.any(axis=1))
    if empty.size:
        raise ValueError(
            f"{name} hides every bin of trial {empty[0]}; there is nothing to in-paint from "
            "(draw new trials with sample instead)."
        )
    return checked


def check_observed_neurons(
    observed_neurons, n_trials: int, n_neurons: int, *, name: str = "observed_neurons"
):
    """Observed-neuron mask as ``(n_trials, n_neurons)`` booleans.

    Examples
    --------
    >>> check_observed_neurons([True, False, True], 2, 3).astype(int)
    array([[1, 0, 1],
           [1, 0, 1]])
    """
    mask = given = as_boolean_mask(observed_neurons, name)
    if mask.ndim == 1:
        mask = np.broadcast_to(mask, (n_trials, mask.shape[0]))
    if mask.shape != (n_trials, n_neurons):
        raise ValueError(
            f"{name} has shape {given.shape}; expected ({n_neurons},) or ({n_trials}, "
            f"{n_neurons}) (one entry per neuron)."
        )
    empty = np.flatnonzero(~mask.any(axis=1))
    if empty.size:
        raise ValueError(
            f"{name} hides every neuron of trial {empty[0]}; there is nothing to in-paint "
            "from (draw new trials with sample instead)."
        )
    return np.ascontiguousarray(mask)


def observed_entries(shape, bins=None, neurons=None) -> np.ndarray:
    """Boolean ``shape`` ``(n_trials, n_bins, n_neurons)``: True where a checked ``bins``
    ``(n_trials, n_bins)`` and ``neurons`` ``(n_trials, n_neurons)`` mask both say recorded
    (either may be None: all of them).

    Examples
    --------
    >>> import numpy as np
    >>> observed_entries((1, 2, 2), bins=np.array([[True, False]])).astype(int).tolist()
    [[[1, 1], [0, 0]]]
    """
    observed = np.ones(shape, dtype=bool)
    if bins is not None:
        observed &= bins[:, :, None]
    if neurons is not None:
        observed &= neurons[:, None, :]
    return observed


def fill_missing(trials, observed_bins, *, name: str):
    """A copy of ``trials`` with zeros in the bins ``observed_bins`` marks missing.

    Missing bins may hold anything, NaN included (a recording has no value there); the
    copy can then be checked like any trials. ``observed_bins`` is checked against the
    trials' own lengths first.
    """
    if isinstance(trials, np.ndarray) or not isinstance(trials, (list, tuple)):
        array = np.asarray(trials, dtype=float)
        if array.ndim != 3:
            raise ValueError(
                f"{name} has {array.ndim} dimension(s); expected (n_trials, n_bins, "
                "n_channels) or a list of 2-D trials."
            )
        mask = check_observed_bins(observed_bins, trial_lengths(array))
        return np.where(mask[..., None], array, 0.0), mask
    pieces = [np.asarray(trial, dtype=float) for trial in trials]
    if any(piece.ndim != 2 for piece in pieces):
        raise ValueError(f"every trial of {name} must be a 2-D array (n_bins, n_channels).")
    mask = check_observed_bins(observed_bins, trial_lengths(pieces))
    return [
        np.where(mask[i, : len(piece), None], piece, 0.0) for i, piece in enumerate(pieces)
    ], mask


def check_kept(counts, observed, lengths: np.ndarray, n_neurons: int):
    """Padded ``(counts, observed)`` that a draw of trials of ``lengths`` keeps.

    ``observed`` is boolean, of the form of ``counts``: True on the entries to keep.

    Examples
    --------
    >>> import numpy as np
    >>> kept, observed = check_kept(np.ones((1, 2, 3), int), np.ones((1, 2, 3)), [2], 3)
    >>> kept.shape, observed.dtype
    ((1, 2, 3), dtype('bool'))
    """
    if (counts is None) != (observed is None):
        raise ValueError(
            "counts and observed go together: counts are kept where observed is True; give "
            "both or neither."
        )
    counts = check_trials(
        counts, name="counts", counts=True, n_channels=n_neurons, dtype=np.int64
    )
    if not np.array_equal(trial_lengths(counts), lengths):
        raise ValueError("counts must have the same number of trials and bins as the draw.")
    ragged = is_ragged(counts)
    if ragged:
        masks = [as_boolean_mask(piece, f"observed[{i}]") for i, piece in enumerate(observed)]
    else:
        masks = as_boolean_mask(observed, "observed")
    if ragged and len(masks) != len(counts):
        raise ValueError(f"observed holds {len(masks)} trials but counts hold {len(counts)}.")
    for mask, trial in zip(masks, counts, strict=True) if ragged else [(masks, counts)]:
        if mask.shape != trial.shape:
            raise ValueError(
                f"observed has shape {mask.shape} where counts have {trial.shape}; it needs "
                "one entry per count."
            )
    return pad_trials(counts)[0], pad_trials(masks, fill_value=False)[0]


def deprecated_kept(method: str, counts, observed, lengths: np.ndarray, n_neurons: int):
    """The deprecated in-painting keywords ``counts=, observed=`` of ``method``: a
    ``FutureWarning`` that points to ``LDNSPipeline.inpaint``, then :func:`check_kept`."""
    warn_deprecated(f"{method}(counts=, observed=)", INPAINT_INSTEAD)
    return check_kept(counts, observed, lengths, n_neurons)
