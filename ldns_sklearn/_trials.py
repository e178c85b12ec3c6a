"""Trials of any length as one value: a zero-padded array, each trial's length, the form.

A public method checks what the user gave once and makes a :class:`Trials` of it
(:meth:`Trials.from_checked`); the private methods the estimators chain (the pipeline's
sampling: latents → rates → counts → spike trains) take and return this value, so nothing
is padded, unpadded or validated again on the way; the public method gives the result
back in the user's form once (:meth:`Trials.unpad`).
"""

from __future__ import annotations

import numpy as np

from ._validation import is_ragged, pad_trials, unpad_trials, valid_bins

__all__ = ["Trials"]


class Trials:
    """Validated trials as one ``(n_trials, max_bins, n_channels)`` array, zero past each
    trial's length.

    Parameters
    ----------
    padded : ndarray of shape (n_trials, max_bins, n_channels)
        The trials, zero past each length (what :meth:`from_padded` ensures).
    lengths : ndarray of int of shape (n_trials,)
        Bins of each trial.
    ragged : bool
        Whether the trials' own form is a list (lengths differ) rather than a 3-D array.

    Examples
    --------
    >>> import numpy as np
    >>> trials = Trials.from_checked([np.ones((3, 2)), np.ones((1, 2))])
    >>> trials.padded.shape, trials.lengths.tolist(), trials.ragged
    ((2, 3, 2), [3, 1], True)
    >>> [trial.shape for trial in trials.unpad()]
    [(3, 2), (1, 2)]
    """

    __slots__ = ("lengths", "padded", "ragged")

    def __init__(self, padded: np.ndarray, lengths: np.ndarray, ragged: bool):
        self.padded = padded
        self.lengths = lengths
        self.ragged = ragged

    @classmethod
    def from_checked(cls, trials) -> Trials:
        """The value of trials ``check_trials`` returned (a 3-D array, or a list whose
        trials differ in length): padded once here."""
        padded, lengths = pad_trials(trials)
        return cls(padded, lengths, is_ragged(trials))

    @classmethod
    def from_padded(cls, padded: np.ndarray, lengths) -> Trials:
        """The value of a padded array the library made; its padding is set to zero (in
        place), so that nothing computed past a trial's end reaches the next step."""
        lengths = np.asarray(lengths, dtype=np.int64)
        ragged = bool(np.any(lengths != padded.shape[1]))
        if ragged:
            padded[~valid_bins(lengths, padded.shape[1])] = 0
        return cls(padded, lengths, ragged)

    def with_values(self, padded: np.ndarray) -> Trials:
        """Other values of the same trials (e.g. the rates decoded from these latents)."""
        return Trials.from_padded(padded, self.lengths)

    @property
    def padding(self) -> np.ndarray | None:
        """The lengths where some trial is padded, None where none is (the backend's
        convention)."""
        return self.lengths if self.ragged else None

    @property
    def valid(self) -> np.ndarray:
        """Boolean ``(n_trials, max_bins)``: True on each trial's own bins."""
        return valid_bins(self.lengths, self.padded.shape[1])

    def unpad(self):
        """The trials in their own form: the 3-D array, or a list of 2-D arrays."""
        return unpad_trials(self.padded, self.lengths, self.ragged)
