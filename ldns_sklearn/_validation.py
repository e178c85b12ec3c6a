"""Input checks shared by every estimator: trials of counts, latents and conditions.

Trials are either a 3-D array ``(n_trials, n_bins, n_channels)`` or a list of 2-D arrays
``(n_bins_i, n_channels)`` whose lengths may differ ("ragged"). Estimators keep the form
the user gave: a 3-D array comes back as a 3-D array, a ragged list as a list.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import numpy as np

# Largest spike count accepted: every integer up to 2**53 is exact in float64 and in int64.
MAX_COUNT = 2**53

# Entries checked at once: bounds the temporaries of checking a large (or memory-mapped) set.
_CHECK_BLOCK_ENTRIES = 2**18

__all__ = [
    "check_condition",
    "check_count",
    "check_trials",
    "is_ragged",
    "n_conditions",
    "pad_trials",
    "take_trials",
    "trial_lengths",
    "unpad_trials",
    "valid_bins",
]


def is_ragged(trials) -> bool:
    """Whether ``trials`` is the list form (as opposed to one 3-D array)."""
    return not isinstance(trials, np.ndarray)


def take_trials(trials, rows):
    """The trials at ``rows`` (an array of ints) of a 3-D array or a list of trials, in
    the same form."""
    return trials[rows] if isinstance(trials, np.ndarray) else [trials[i] for i in rows]


def trial_lengths(trials) -> np.ndarray:
    """Number of bins of each trial, as an int array of shape ``(n_trials,)``."""
    if isinstance(trials, np.ndarray):
        return np.full(trials.shape[0], trials.shape[1], dtype=np.int64)
    return np.array([trial.shape[0] for trial in trials], dtype=np.int64)


def valid_bins(lengths: np.ndarray, n_bins: int) -> np.ndarray:
    """Boolean ``(n_trials, n_bins)``: True on each trial's own bins, False on its padding.

    Examples
    --------
    >>> import numpy as np
    >>> valid_bins(np.array([2, 3]), 3).astype(int)
    array([[1, 1, 0],
           [1, 1, 1]])
    """
    return np.arange(n_bins)[None, :] < np.asarray(lengths)[:, None]


def check_count(value, name: str) -> int:
    """A whole number >= 1 (``n_samples``, ``n_bins``, ...) as an int, or a clear error.

    Examples
    --------
    >>> check_count(3, "n_samples")
    3
    >>> check_count(2.5, "n_bins")
    Traceback (most recent call last):
    ...
    TypeError: n_bins must be an int, got float.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}.")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}.")
    return int(value)


def _as_2d_trial(trial, index: int, name: str) -> np.ndarray:
    try:
        array = np.asarray(trial)
    except (TypeError, ValueError) as exc:  # e.g. a Neo object where counts were expected
        raise TypeError(f"{name}[{index}] could not be read as an array: {exc}") from exc
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or array.dtype == bool
    ):
        raise TypeError(
            f"{name}[{index}] has dtype {array.dtype}; expected numbers "
            "(pass Neo spike trains through SpikeTrainBinner first)."
        )
    if array.ndim != 2:
        raise ValueError(
            f"{name}[{index}] has {array.ndim} dimension(s); each trial must be 2-D "
            "(n_bins, n_channels)."
        )
    return array


def check_trials(
    X,
    *,
    name: str = "X",
    counts: bool = False,
    n_channels: int | None = None,
    dtype=np.float64,
    min_bins: int = 1,
):
    """Validate trials and return them as a float 3-D array or a list of 2-D arrays.

    Parameters
    ----------
    X : array-like of shape (n_trials, n_bins, n_channels) or list of 2-D arrays
        The trials. A list whose trials share one length is returned as a 3-D array
        (unless ``dtype=None``).
    name : str
        Name used in error messages.
    counts : bool
        If True, values must be non-negative integers (spike counts).
    n_channels : int, optional
        Expected number of channels (neurons or latents); checked if given.
    dtype : numpy dtype or None
        Output dtype. None: the trials come back as given, neither converted nor stacked
        (a ``numpy.memmap`` stays on disk; it is checked a block of trials at a time).
    min_bins : int
        Minimum number of bins per trial.

    Returns
    -------
    trials : ndarray of shape (n_trials, n_bins, n_channels) or list of ndarray
    """
    if X is None:
        raise ValueError(
            f"{name} is None; expected trials of shape (n_trials, n_bins, n_channels)."
        )
    if hasattr(X, "tocsr") or hasattr(X, "to_dense"):  # scipy.sparse, torch/pandas sparse
        raise TypeError(
            f"{name} is a sparse {type(X).__name__}; trials must be a dense 3-D array "
            "(n_trials, n_bins, n_channels) or a list of 2-D arrays."
        )
    if isinstance(X, np.ndarray) and X.dtype != object:
        if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
            raise TypeError(
                f"{name} has dtype {X.dtype}; expected numbers (pass Neo spike trains "
                "through SpikeTrainBinner first)."
            )
        if X.ndim != 3:
            raise ValueError(
                f"{name} has {X.ndim} dimension(s); expected a 3-D array "
                "(n_trials, n_bins, n_channels) or a list of 2-D trials (n_bins, n_channels)."
            )
        trials: list[np.ndarray] | np.ndarray = X
        if X.shape[0] == 0:
            raise ValueError(f"{name} is empty: it holds 0 trials.")
    else:
        if isinstance(X, (str, bytes)) or not isinstance(X, (Sequence, np.ndarray)):
            raise TypeError(
                f"{name} must be a 3-D array or a list of 2-D arrays, got {type(X).__name__}."
            )
        if len(X) == 0:
            raise ValueError(f"{name} is empty: it holds 0 trials.")
        trials = [_as_2d_trial(trial, i, name) for i, trial in enumerate(X)]
        widths = {trial.shape[1] for trial in trials}
        if len(widths) > 1:
            raise ValueError(
                f"Trials of {name} have different numbers of channels {sorted(widths)}; "
                "every trial must have the same neurons/latents."
            )
        if dtype is not None and len({trial.shape[0] for trial in trials}) == 1:
            trials = np.stack(trials)
    lengths = trial_lengths(trials)
    if lengths.min() < min_bins:
        bad = int(np.argmin(lengths))
        raise ValueError(f"{name}[{bad}] has {lengths[bad]} bin(s); at least {min_bins} needed.")
    width = trials.shape[2] if isinstance(trials, np.ndarray) else trials[0].shape[1]
    if width == 0:
        raise ValueError(f"{name} has 0 channels.")
    if n_channels is not None and width != n_channels:
        # Counts saved as (trials, neurons, bins) show the fitted width on their bin axis.
        bins_axis = trials.shape[1] if isinstance(trials, np.ndarray) else None
        hint = (
            f" Its axis 1 has {n_channels} entries: are the axes swapped? Trials are "
            f"(n_trials, n_bins, n_channels); pass np.swapaxes({name}, 1, 2) if so."
            if bins_axis == n_channels
            else ""
        )
        raise ValueError(
            f"{name} has {width} channels but the estimator was fitted with {n_channels}."
            f"{hint}"
        )
    if isinstance(trials, np.ndarray):
        # Checked a block of trials at a time: a numpy.memmap is read, never loaded whole.
        step = max(1, _CHECK_BLOCK_ENTRIES // max(1, trials[0].size))
        for start in range(0, len(trials), step):
            _check_values(trials[start : start + step], name, counts)
    else:
        for i, trial in enumerate(trials):
            _check_values(trial, f"{name}[{i}]", counts)
    if dtype is None:
        return trials
    if isinstance(trials, np.ndarray):
        return np.asarray(trials, dtype=dtype)
    return [np.asarray(trial, dtype=dtype) for trial in trials]


def _check_values(values: np.ndarray, where: str, counts: bool) -> None:
    """Finite values, and whole non-negative counts if ``counts``; a clear error if not."""
    # Integer arrays are always finite and whole; skipping those checks avoids
    # full-size temporaries (np.mod of an int64 array copies it) on large recordings.
    integral = values.dtype == bool or np.issubdtype(values.dtype, np.integer)
    if not integral and not np.all(np.isfinite(values)):
        raise ValueError(f"{where} contains NaN or infinity.")
    if not counts or not values.size:
        return
    if values.min() < 0:
        raise ValueError(f"{where} contains negative values; spike counts must be >= 0.")
    # Checked before any cast: 1e20 (or a uint64 above 2**63) would wrap to a negative
    # int64 without a word.
    if values.max() > MAX_COUNT:
        raise ValueError(
            f"{where} contains a count of {values.max():.3g}, above 2**53; no bin holds "
            "that many spikes, and it cannot be converted to an integer exactly."
        )
    if not integral and not np.all(np.equal(np.mod(values, 1), 0)):
        raise ValueError(
            f"{where} contains non-integer values; spike counts must be whole numbers."
        )


def pad_trials(trials, fill_value: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Stack trials into ``(n_trials, max_bins, n_channels)`` and return it with the lengths.

    Examples
    --------
    >>> import numpy as np
    >>> padded, lengths = pad_trials([np.ones((3, 2)), np.ones((1, 2))])
    >>> padded.shape, lengths.tolist()
    ((2, 3, 2), [3, 1])
    """
    lengths = trial_lengths(trials)
    if isinstance(trials, np.ndarray):
        return trials, lengths
    n_channels = trials[0].shape[1]
    padded = np.full((len(trials), lengths.max(), n_channels), fill_value, dtype=trials[0].dtype)
    for i, trial in enumerate(trials):
        padded[i, : trial.shape[0]] = trial
    return padded, lengths


def unpad_trials(padded: np.ndarray, lengths: np.ndarray, ragged: bool):
    """Inverse of :func:`pad_trials`: a list of trials if ``ragged`` else the 3-D array."""
    if not ragged:
        return padded
    return [padded[i, :length] for i, length in enumerate(lengths)]


def n_conditions(y, name: str = "y") -> int:
    """Number of trials a condition ``y`` is given for; a clear error for a scalar.

    Examples
    --------
    >>> n_conditions([[0.0, 1.0], [1.0, 0.0]])
    2
    """
    if isinstance(y, np.ndarray) and y.ndim > 0:
        return y.shape[0]
    if not isinstance(y, (str, bytes, np.ndarray)) and hasattr(y, "__len__"):
        return len(y)
    raise TypeError(
        f"{name} must hold one condition per trial (shape (n_trials,) or (n_trials, "
        f"n_features), or a time series per trial), got a {type(y).__name__}."
    )


def check_condition(y, n_trials: int, lengths: np.ndarray | None = None, *, name: str = "y"):
    """Validate a condition ``y`` for ``n_trials`` trials.

    Returns ``(kind, value)`` where ``kind`` is ``"trial"`` for a per-trial vector
    ``(n_trials, n_features)`` (a 1-D ``y`` becomes one feature) and ``"series"`` for a
    time series aligned to the bins (3-D array or ragged list matching ``lengths``).
    """
    n_conditions(y, name)  # a clear error for a scalar y
    if not isinstance(y, np.ndarray):
        # A plain list of per-trial values (e.g. one angle per trial) reads as a 1-D/2-D
        # array; a list of 2-D series does not (ragged) and is checked as trials below.
        try:
            as_array = np.asarray(y)
        except ValueError:
            as_array = None
        if as_array is not None and as_array.dtype != object and as_array.ndim <= 2:
            y = as_array
    if isinstance(y, np.ndarray) and y.size and (
        y.dtype.kind in "US" or (y.dtype == object and isinstance(y.ravel()[0], str))
    ):
        raise TypeError(
            f"{name} holds {y.dtype} values such as {str(y.ravel()[0])!r}; conditions must be "
            "numbers. Encode labels first (e.g. with sklearn.preprocessing.OneHotEncoder): "
            "reading '2' as the number 2 would silently order classes that have no order."
        )
    if isinstance(y, np.ndarray) and y.dtype != object and y.ndim <= 2:
        values = np.asarray(y, dtype=np.float64)
        if values.ndim == 1:
            values = values[:, None]
        if values.shape[0] != n_trials:
            raise ValueError(f"{name} has {values.shape[0]} rows but X has {n_trials} trials.")
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{name} contains NaN or infinity.")
        return "trial", values
    series = check_trials(y, name=name)
    series_lengths = trial_lengths(series)
    if len(series_lengths) != n_trials:
        raise ValueError(f"{name} has {len(series_lengths)} trials but X has {n_trials}.")
    if lengths is not None and not np.array_equal(series_lengths, lengths):
        bad = int(np.flatnonzero(series_lengths != lengths)[0])
        raise ValueError(
            f"{name}[{bad}] has {series_lengths[bad]} bins but trial {bad} of X has "
            f"{lengths[bad]}; a time-series condition must be aligned to the bins."
        )
    return "series", series
