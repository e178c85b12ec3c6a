"""Trials of any length as one value: padded to the longest, each trial's length, its form.

In the pipeline's sampling chain (latents → rates → counts → spike trains) the estimators'
private methods take and return this value, so nothing is padded, unpadded or validated
again on the way, and the result is given back in the user's form once
(:meth:`Trials.unpad`). Fitting and transforming still pass between estimators through
their public methods; inside each, the checked input is held as a :class:`Trials`.
Trials given as a ``numpy.memmap`` (or a list of them) are padded only where read, a few
trials at a time, so they are never loaded whole.
"""

from __future__ import annotations

import numpy as np

from ._validation import trial_lengths, unpad_trials, valid_bins

__all__ = ["Trials"]


class Trials:
    """Validated trials seen as one zero-padded array ``(n_trials, max_bins, n_channels)``.

    Indexing along the first axis (an int, a slice or an array of ints) returns those
    trials as a padded ndarray of ``dtype`` and reads nothing else; :attr:`padded` is the
    whole padded array (made once, where it is needed).

    Parameters
    ----------
    trials : ndarray of shape (n_trials, n_bins, n_channels) or list of 2-D arrays
        Validated trials, e.g. from ``check_trials(..., dtype=None)``; or, with
        ``lengths``, trials already padded, zero past each length.
    dtype : numpy dtype, default=np.float64
        Dtype of what is read.
    lengths : array of int, optional
        The bins of each trial of a padded array.

    Examples
    --------
    >>> import numpy as np
    >>> trials = Trials([np.ones((3, 2), dtype=int), np.ones((1, 2), dtype=int)])
    >>> trials.shape, trials.ragged, trials[1:].tolist()
    ((2, 3, 2), True, [[[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]])
    >>> [trial.shape for trial in trials.unpad()]
    [(3, 2), (1, 2)]
    """

    ndim = 3

    def __init__(self, trials, dtype=np.float64, *, lengths=None):
        self.trials = trials
        self.dtype = np.dtype(dtype)
        if lengths is None:
            self.lengths = trial_lengths(trials)
            n_bins = int(self.lengths.max())
        else:
            self.lengths = np.asarray(lengths, dtype=np.int64)
            n_bins = trials.shape[1]
        n_channels = trials.shape[2] if isinstance(trials, np.ndarray) else trials[0].shape[1]
        self.shape = (len(self.lengths), n_bins, n_channels)
        self._padded = None

    @classmethod
    def from_padded(cls, padded: np.ndarray, lengths) -> Trials:
        """The value of a padded array the library made; its padding is set to zero (in
        place), so that nothing computed past a trial's end reaches the next step."""
        trials = cls(padded, padded.dtype, lengths=lengths)
        if trials.ragged:
            padded[~trials.valid] = 0
        return trials

    def take(self, rows) -> Trials:
        """The trials ``rows`` (an array of ints) as one value, padded to their longest."""
        lengths = self.lengths[rows]
        return Trials.from_padded(self[rows][:, : lengths.max()], lengths)

    def with_values(self, padded: np.ndarray) -> Trials:
        """Other values of the same trials (e.g. the rates decoded from these latents)."""
        return Trials.from_padded(padded, self.lengths)

    @property
    def ragged(self) -> bool:
        """Whether the trials differ in length (the estimators' list form)."""
        return bool((self.lengths != self.shape[1]).any())

    @property
    def padding(self) -> np.ndarray | None:
        """The lengths where some trial is padded, None where none is (the backend's
        convention)."""
        return self.lengths if self.ragged else None

    @property
    def valid(self) -> np.ndarray:
        """Boolean ``(n_trials, max_bins)``: True on each trial's own bins."""
        return valid_bins(self.lengths, self.shape[1])

    @property
    def padded(self) -> np.ndarray:
        """All trials as one padded array of ``dtype`` (the trials' own array where they
        are one already)."""
        if self._padded is None:
            if isinstance(self.trials, np.ndarray):
                self._padded = np.asarray(self.trials, dtype=self.dtype)
            else:
                self._padded = self[:]
        return self._padded

    def unpad(self):
        """The trials in their own form: the 3-D array, or a list of 2-D arrays."""
        return unpad_trials(self.padded, self.lengths, self.ragged)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index) -> np.ndarray:
        rows = np.arange(len(self))[index]
        if rows.ndim == 0:
            return self[rows[None]][0]
        if isinstance(self.trials, np.ndarray):
            return np.asarray(self.trials[rows], dtype=self.dtype)
        padded = np.zeros((len(rows), *self.shape[1:]), dtype=self.dtype)
        for row, trial in enumerate(rows):
            padded[row, : self.lengths[trial]] = self.trials[trial]
        return padded
