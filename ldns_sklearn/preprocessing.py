"""Neo spike trains ↔ binned spike counts: :class:`SpikeTrainBinner` and two functions.

The binner is a thin estimator over the conversions of :mod:`ldns_sklearn._neo` (as
scikit-learn's ``Normalizer`` is over ``normalize``): ``fit`` learns what generated trains
need (units, t_start, unit identities, the input's form) while binning, ``transform`` bins,
``inverse_transform`` places the spikes of counts in their bins. Binning follows
:class:`elephant.conversion.BinnedSpikeTrain` to the last bit; going back, the ``k`` spikes
of a bin are spread evenly inside it, so Neo → counts → Neo → counts gives back the counts
exactly. :func:`counts_to_spiketrains` and :func:`spiketrains_to_counts` are the same
conversions as functions.
"""

from __future__ import annotations

from numbers import Integral
from typing import ClassVar

import numpy as np
import quantities as pq
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._estimator import SavableMixin, TrialInputMixin, check_declared
from ._masks import INPAINT_INSTEAD
from ._neo.annotations import GENERATED
from ._neo.binning import bin_trials, spiketrains_to_counts
from ._neo.reading import as_input_type, check_time_quantity
from ._neo.recorded import keep_recorded_spikes
from ._neo.spike_times import SPIKE_PLACEMENTS
from ._neo.trains import counts_to_spiketrains, trains_from_counts
from ._sklearn_compat import StrOptions
from ._trials import Trials
from ._validation import check_trials
from ._warnings import warn_deprecated

__all__ = ["SpikeTrainBinner", "counts_to_spiketrains", "spiketrains_to_counts"]


class SpikeTrainBinner(SavableMixin, TrialInputMixin, TransformerMixin, BaseEstimator):
    """Bin Neo spike trains into spike counts, and turn counts back into spike trains.

    ``transform`` counts the spikes of every neuron in bins of ``bin_size`` starting at each
    trial's ``t_start``: a spike at time ``t`` goes to bin ``floor((t - t_start) / bin_size)``.
    The counts equal ``elephant.conversion.BinnedSpikeTrain(trial, bin_size=...).to_array()``
    exactly, including its float tolerance (a spike less than 1e-8 bins below an edge is
    counted in the bin that edge opens) and its treatment of ``t_stop`` (a spike exactly there
    is not counted, with a warning). Spikes of all trials are binned at once, so this is
    far faster than binning trial by trial.

    ``inverse_transform`` turns counts (e.g. generated ones) into trials of the form ``fit``
    saw, spreading the ``k`` spikes of a bin evenly inside it or drawing them inside it
    (``spike_placement``; see :func:`counts_to_spiketrains`); Neo → counts → Neo → counts
    is exact.

    Already-binned counts are accepted too and passed through after validation, so a
    pipeline that starts with a binner also runs on counts.

    Parameters
    ----------
    bin_size : quantities.Quantity, default=5 * pq.ms
        Width of one bin. Must carry time units (``0.005 * pq.s`` ≡ ``5 * pq.ms``); a bare
        number is refused because it is ambiguous. It must divide every trial's duration.
    spike_placement : {"even", "random"}, default="even"
        Where ``inverse_transform`` puts the spikes of a bin: spread evenly (the paper's
        convention) or drawn uniformly inside it, seeded by its ``random_state`` (for
        Elephant analyses below the bin scale, e.g. ISI histograms; see
        :func:`counts_to_spiketrains`).

    Attributes
    ----------
    bin_size_ : quantities.Quantity
        The validated bin size (a 0-d float quantity in the units given).
    n_neurons_ : int
        Number of neurons (spike trains per trial, or count columns).
    n_features_in_ : int
        Same as ``n_neurons_`` (scikit-learn's name for the input width).
    units_ : quantities.Quantity
        Time units of the first training train (of ``bin_size`` for counts); generated
        trains use them.
    t_start_ : quantities.Quantity
        The t_start all training trials share (e.g. ``-250 ms`` for trials aligned to an
        event), else 0 in ``units_``; generated trials start here.
    n_bins_ : int or None
        Number of bins of the training trials, or None if it varies (ragged trials).
    input_type_ : {"spiketrains", "segments", "block", "counts"}
        The form of the training input; ``inverse_transform`` returns this form.
    unit_names_ : list of str or None, or None
        Per neuron, the name its trains have in every training trial (None where they
        have none, or differ); None for counts. Generated trains carry it.
    unit_annotations_ : list of dict, or None
        Per neuron, the annotations its trains have with the same value in every
        training trial (e.g. ``unit_id``, ``channel``; str, int, float or bool values);
        None for counts. Generated trains carry them, beside ``generated=True``.

    See Also
    --------
    counts_to_spiketrains, spiketrains_to_counts : the conversions as functions.

    Examples
    --------
    >>> import neo
    >>> import quantities as pq
    >>> trials = [
    ...     [neo.SpikeTrain([1, 2, 7] * pq.ms, t_stop=10 * pq.ms),
    ...      neo.SpikeTrain([9] * pq.ms, t_stop=10 * pq.ms)],
    ...     [neo.SpikeTrain([] * pq.ms, t_stop=10 * pq.ms),
    ...      neo.SpikeTrain([3, 4] * pq.ms, t_stop=10 * pq.ms)],
    ... ]
    >>> binner = SpikeTrainBinner(bin_size=5 * pq.ms)
    >>> counts = binner.fit_transform(trials)
    >>> counts.shape, counts.dtype
    ((2, 2, 2), dtype('int64'))
    >>> counts[0].tolist()
    [[2, 0], [1, 1]]
    >>> generated = binner.inverse_transform(counts)
    >>> generated[0][0].times, generated[0][0].annotations["generated"]
    (array([1.66666667, 3.33333333, 7.5 ]) * ms, True)
    >>> bool((binner.transform(generated) == counts).all())
    True
    """

    _saved_attributes = (
        "bin_size_", "input_type_", "n_bins_", "n_features_in_", "n_neurons_", "t_start_",
        "units_", "unit_names_", "unit_annotations_",
    )

    _parameter_constraints: ClassVar[dict] = {
        "bin_size": [pq.Quantity],
        "spike_placement": [StrOptions(set(SPIKE_PLACEMENTS))],
    }

    def __init__(self, bin_size=5 * pq.ms, *, spike_placement="even"):
        self.bin_size = bin_size
        self.spike_placement = spike_placement

    def _check_loaded_state(self):
        """Refuse declared sizes that disagree with each other (see ``load_model``)."""
        if not hasattr(self, "n_neurons_"):
            return
        check_declared(self, "n_neurons_", n_features_in_=self.n_neurons_)
        n_bins = self.n_bins_
        if n_bins is not None and not (
            isinstance(n_bins, Integral) and not isinstance(n_bins, bool) and n_bins >= 1
        ):
            raise ValueError(
                f"SpikeTrainBinner.n_bins_ must be a positive number of bins or None, got "
                f"{n_bins!r}."
            )

    def _fit(self, X):
        # Checked before _validate_params so that a bare number gets the explanation of
        # why it is refused, not only "must be an instance of Quantity".
        bin_size = check_time_quantity(self.bin_size, "bin_size", positive=True)
        self._validate_params()
        binned = bin_trials(X, bin_size, learn=True)
        self.bin_size_ = bin_size
        self.input_type_ = binned.input_type
        self.n_neurons_ = binned.n_neurons
        self.n_features_in_ = binned.n_neurons
        if binned.input_type == "counts":
            self.units_ = pq.Quantity(1.0, bin_size.dimensionality)
            self.t_start_ = pq.Quantity(0.0, bin_size.dimensionality)
        else:
            self.units_ = binned.units
            self.t_start_ = binned.t_start
        self.unit_names_ = binned.unit_names
        self.unit_annotations_ = binned.unit_annotations
        counts = binned.counts
        self.n_bins_ = int(counts.shape[1]) if isinstance(counts, np.ndarray) else None
        return counts

    def fit(self, X, y=None):
        """Learn the number of neurons, units, common t_start and form of the trials.

        The whole input is read and checked (as ``transform`` would), so bad trials fail
        here rather than later in a pipeline.

        Parameters
        ----------
        X : neo.Block, sequence of neo.Segment, sequence of lists of neo.SpikeTrain, \
array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
            The trials (all trains of a trial share t_start and t_stop) or counts.
        y : None
            Ignored; present for pipeline compatibility.

        Returns
        -------
        self : SpikeTrainBinner
            The fitted binner.

        Examples
        --------
        >>> import neo
        >>> import quantities as pq
        >>> trial = [neo.SpikeTrain([-0.2] * pq.s, t_start=-0.25 * pq.s, t_stop=0.45 * pq.s)]
        >>> binner = SpikeTrainBinner(bin_size=5 * pq.ms).fit([trial, trial])
        >>> binner.t_start_, binner.n_bins_, binner.input_type_
        (array(-0.25) * s, 140, 'spiketrains')
        """
        self._fit(X)
        return self

    def fit_transform(self, X, y=None, **fit_params):
        """Fit to ``X`` and return its counts, reading the trials only once.

        Parameters
        ----------
        X : neo.Block, sequence of neo.Segment, sequence of lists of neo.SpikeTrain, \
array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
            The trials or counts.
        y : None
            Ignored.
        **fit_params : dict
            Ignored; accepted for pipeline compatibility.

        Returns
        -------
        counts : ndarray of shape (n_trials, n_bins, n_neurons) or list of ndarray
            int64 counts; a list of 2-D arrays if trials have different numbers of bins.

        Examples
        --------
        >>> import numpy as np
        >>> SpikeTrainBinner().fit_transform(np.ones((2, 3, 4))).dtype
        dtype('int64')
        """
        return self._fit(X)

    def transform(self, X):
        """Bin trials of spike trains into counts (counts pass through after validation).

        Parameters
        ----------
        X : neo.Block, sequence of neo.Segment, sequence of lists of neo.SpikeTrain, \
array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
            The trials (any of these forms, whatever ``fit`` saw), with ``n_neurons_``
            trains per trial.

        Returns
        -------
        counts : ndarray of shape (n_trials, n_bins, n_neurons) or list of ndarray
            int64 counts; a list of 2-D arrays if trials have different numbers of bins.

        Raises
        ------
        ValueError
            If trials have the wrong number of neurons, trains of a trial disagree on
            t_start/t_stop, a spike lies outside [t_start, t_stop], a train is not in units
            of time, or ``bin_size`` does not divide a trial's duration.
        TypeError
            If ``X`` is neither Neo trials nor numeric counts.

        Examples
        --------
        >>> import neo
        >>> import quantities as pq
        >>> binner = SpikeTrainBinner(bin_size=0.5 * pq.s)
        >>> train = neo.SpikeTrain([0.1, 0.2] * pq.s, t_stop=1 * pq.s)
        >>> binner.fit([[train]]).transform([[train.rescale(pq.ms)]]).tolist()
        [[[2], [0]]]
        """
        check_is_fitted(self)
        return bin_trials(X, self.bin_size_, n_neurons=self.n_neurons_).counts

    def inverse_transform(self, X, random_state=None, *, recorded=None, observed=None):
        """Turn counts into trials of spike trains, in the form ``fit`` saw.

        The ``k`` spikes of a bin are placed as ``spike_placement`` says: evenly, at
        ``bin_start + bin_size * (j + 1) / (k + 1)``, ``j = 0, …, k - 1``, or drawn inside
        the bin (see :func:`counts_to_spiketrains`). Every trial starts at ``t_start_`` and
        ends ``n_bins * bin_size`` later; trains are in ``units_``, carry the name and
        identity annotations of the unit they model (``unit_names_``,
        ``unit_annotations_``) and are annotated ``generated=True``,
        ``generator="ldns_sklearn"``, ``spike_placement``, ``bin_size`` and ``neuron=j``.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
            Non-negative whole-number counts with ``n_neurons_`` columns; the number of
            bins may differ from the training trials.
        random_state : int, RandomState instance or None, default=None
            Seed of ``spike_placement="random"`` (unused for ``"even"``).
        recorded, observed : optional
            In-painting (:meth:`LDNSPipeline.inpaint <ldns_sklearn.LDNSPipeline.inpaint>`):
            the recorded trials ``X`` was in-painted from, in the form ``fit`` saw, and a
            boolean ``(n_trials, n_bins, n_neurons)`` mask of their observed entries.
            There the recorded spike times are kept exactly, on each trial's own time
            grid, with each train's units, t_start, t_stop, name and annotations (plus
            ``inpainted=True``); the counts of ``X`` give spikes only where ``observed``
            is False. Waveforms and per-spike array annotations are not carried over.

            .. deprecated:: 0.1.0.dev1
                ``recorded`` and ``observed`` warn (``FutureWarning``) and will be
                removed: complete recordings with :meth:`LDNSPipeline.inpaint
                <ldns_sklearn.LDNSPipeline.inpaint>`, which keeps their recorded entries.

        Returns
        -------
        trials : list of list of neo.SpikeTrain, list of neo.Segment, neo.Block or counts
            For ``input_type_`` "spiketrains", "segments", "block" and "counts"
            respectively (counts come back validated, as int64).

        Examples
        --------
        >>> import numpy as np
        >>> import neo
        >>> import quantities as pq
        >>> segment = neo.Segment()
        >>> segment.spiketrains.append(neo.SpikeTrain([0.1] * pq.s, t_stop=1 * pq.s))
        >>> binner = SpikeTrainBinner(bin_size=0.5 * pq.s).fit([segment])
        >>> out = binner.inverse_transform(np.array([[[1], [2]]]))
        >>> type(out[0]).__name__, out[0].spiketrains[0].times
        ('Segment', array([0.25      , 0.66666667, 0.83333333]) * s)
        """
        check_is_fitted(self)
        counts = check_trials(X, name="X", counts=True, n_channels=self.n_neurons_, dtype=np.int64)
        if recorded is not None or observed is not None:
            warn_deprecated("SpikeTrainBinner.inverse_transform(recorded=, observed=)",
                            INPAINT_INSTEAD)
            if (recorded is None) != (observed is None):
                raise ValueError("recorded and observed go together; give both or neither.")
        return self._inverse_trials(Trials(counts, np.int64), random_state, recorded, observed)

    def _inverse_trials(self, counts: Trials, random_state, recorded=None, observed=None):
        """:meth:`inverse_transform` of checked counts in one value; with ``recorded``
        trials, their spikes where ``observed`` (padded like the counts) is True."""
        check_is_fitted(self)
        trials = counts.unpad()
        if self.input_type_ == "counts":
            return trials
        if recorded is not None:
            return keep_recorded_spikes(
                recorded, trials, observed, self.bin_size_, self.spike_placement, random_state
            )
        return self._trains(trials, random_state)

    def _trains(self, counts, random_state):
        """Trials of spike trains, in the form ``fit`` saw, for checked counts."""
        trials = trains_from_counts(
            counts,
            self.bin_size_.rescale(self.units_).item(),
            self.t_start_.rescale(self.units_).item(),
            self.units_,
            {},
            self.spike_placement,
            random_state,
            # Files of earlier versions recorded no unit identities.
            names=getattr(self, "unit_names_", None),
            unit_annotations=getattr(self, "unit_annotations_", None),
        )
        return as_input_type(
            trials, self.input_type_, **GENERATED, spike_placement=self.spike_placement
        )
