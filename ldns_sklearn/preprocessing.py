"""Neo spike trains ↔ binned spike counts: :class:`SpikeTrainBinner` and two functions.

Binning follows :class:`elephant.conversion.BinnedSpikeTrain` to the last bit: bin ``b`` of
a trial covers ``[t_start + b * bin_size, t_start + (b + 1) * bin_size)``, positions are
computed in each train's own units as ``(t - t_start) * (1 / bin_size)``, a spike less than
``1e-8`` bins below an edge counts in the bin that edge opens (float round-off put it below),
and a spike at ``t_stop`` (which opens no bin) is not counted, with a warning. Unlike Elephant
the binning is vectorised over all trials, which is what makes 10^5 trains cheap.

Going back, the ``k`` spikes of a bin are placed evenly inside it, at
``bin_start + bin_size * (j + 1) / (k + 1)`` for ``j = 0, …, k - 1`` (``linspace`` over the bin
with its end points left out, the convention of the LDNS paper's ISI statistics). No spike
lands on an edge, so Neo → counts → Neo → counts gives back the counts exactly.
"""

from __future__ import annotations

import gc
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from numbers import Integral
from typing import ClassVar

import numpy as np
import quantities as pq
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._estimator import SavableMixin, TrialInputMixin, check_declared
from ._inpaint_neo import keep_recorded_spikes
from ._neo import (
    as_input_type,
    check_time_quantity,
    is_neo_trials,
    neo_trials,
    read_spiketrains,
    unit_identities,
)
from ._sklearn_compat import StrOptions
from ._spike_times import (
    BIN_TOLERANCE,
    SPIKE_PLACEMENTS,
    spike_bins,
    spike_positions,
)
from ._validation import check_trials
from ._warnings import warn_user

__all__ = ["SpikeTrainBinner", "counts_to_spiketrains", "spiketrains_to_counts"]


# Annotations every generated train carries; user annotations may not reuse the keys.
_GENERATED = {"generated": True, "generator": "ldns_sklearn"}
_RESERVED = (*_GENERATED, "spike_placement", "bin_size", "neuron")


# --------------------------------------------------------------------------------------------
# spike trains → counts
# --------------------------------------------------------------------------------------------


def _unit_string(quantity) -> str:
    return quantity.dimensionality.string


def _bin_table(table, bin_size, name):
    """Counts of a :class:`~ldns_sklearn._neo.SpikeTrainTable`, as a flat int64 array laid
    out trial by trial (each ``(n_bins_i, n_neurons)``, C order) and the bins per trial."""
    n_neurons = table.n_neurons
    # The bin size in each distinct unit, converted the way Elephant does (one rescale).
    width = np.array([bin_size.rescale(units).item() for units in table.units])
    conversion = table.conversion()
    codes = table.unit_codes
    first = codes[:, 0]  # each trial is binned from its first train's t_start, as Elephant
    start, stop = table.t_start[:, 0], table.t_stop[:, 0]
    first_width = width[first]

    exact = (stop - start) / first_width
    n_bins = np.rint(exact).astype(np.int64)
    # Times stored in float32 carry a relative error of float32's epsilon: a t_stop of 0.1 s
    # is 0.10000000149 s, 3e-7 bins of 5 ms off. Allow that error, in bins, as Elephant does.
    tolerance = np.maximum(
        BIN_TOLERANCE, 2 * np.finfo(table.dtype).eps * (np.abs(start) + np.abs(stop)) / first_width
    )
    bad = np.flatnonzero(np.abs(exact - n_bins) > tolerance)
    if bad.size:
        i = bad[0]
        raise ValueError(
            f"{name}[{i}] lasts {stop[i] - start[i]:g} {_unit_string(table.units[first[i]])}, "
            f"which is {exact[i]:.6g} bins of {bin_size}: the bin size must divide the "
            "trial duration."
        )
    bad = np.flatnonzero(n_bins < 1)
    if bad.size:
        raise ValueError(f"{name}[{bad[0]}] spans no bin: its t_start equals its t_stop.")

    to_first = conversion[codes, first[:, None]]
    for bound, values, reference in (
        ("t_start", table.t_start, start),
        ("t_stop", table.t_stop, stop),
    ):
        mismatch = np.abs(values * to_first - reference[:, None]) > (
            tolerance[:, None] * first_width[:, None]
        )
        if mismatch.any():
            i, j = np.argwhere(mismatch)[0]
            raise ValueError(
                f"{name}[{i}][{j}] has {bound} {values[i, j]} "
                f"{_unit_string(table.units[codes[i, j]])} but {name}[{i}][0] has "
                f"{reference[i]} {_unit_string(table.units[first[i]])}; all spike trains of "
                "a trial must share t_start and t_stop."
            )

    # Per train, in the train's own units: the trial's origin and 1 / bin size (Elephant
    # multiplies by the reciprocal; dividing would round differently on edges).
    origin = (start[:, None] * conversion[first[:, None], codes]).ravel()
    reciprocal = (1.0 / width)[codes].ravel()
    n_bins_of_train = np.repeat(n_bins, n_neurons)
    offsets = np.concatenate([[0], np.cumsum(n_bins)])
    base = (offsets[:-1, None] * n_neurons + np.arange(n_neurons)).ravel()
    counts = np.zeros(offsets[-1] * n_neurons, dtype=np.int64)
    n_dropped, first_dropped = 0, None
    for trials, times, train in table.trial_chunks():
        dtype = times.dtype.type  # float32 trains are binned in float32, as in Elephant
        # Trains of one trial may disagree on t_start by up to the tolerance, which can put
        # a spike a hair before its trial's origin: spike_bins puts it in bin 0.
        index = spike_bins(
            times,
            origin[train].astype(dtype, copy=False),
            reciprocal[train].astype(dtype, copy=False),
        )
        keep = index < n_bins_of_train[train]
        if not keep.all():
            n_dropped += int(keep.size - np.count_nonzero(keep))
            if first_dropped is None:
                spike = int(np.argmin(keep))
                first_dropped = (*divmod(int(train[spike]), n_neurons), times[spike])
            index, train = index[keep], train[keep]
        low, high = offsets[trials.start] * n_neurons, offsets[trials.stop] * n_neurons
        flat = base[train] - low + index * n_neurons
        counts[low:high] += np.bincount(flat, minlength=high - low)
    if n_dropped:
        i, j, time = first_dropped
        warnings.warn(
            f"{n_dropped} spike(s) at t_stop were not counted (e.g. {name}[{i}][{j}] at "
            f"{time} {_unit_string(table.units[codes[i, j]])}): t_stop closes the last bin "
            "and opens none, as in elephant.conversion.BinnedSpikeTrain.",
            UserWarning,
            stacklevel=4,
        )
    return counts, n_bins


def _split_counts(flat, n_bins, n_neurons):
    """A 3-D array if all trials have the same number of bins, else a list of 2-D arrays."""
    if np.all(n_bins == n_bins[0]):
        return flat.reshape(len(n_bins), n_bins[0], n_neurons)
    pieces = np.split(flat, np.cumsum(n_bins)[:-1] * n_neurons)
    return [piece.reshape(-1, n_neurons) for piece in pieces]


@dataclass
class _Binned:
    """What reading X gave: counts plus what ``fit`` learns from Neo input."""

    input_type: str
    counts: object
    n_neurons: int
    units: pq.Quantity | None = None
    t_start: pq.Quantity | None = None
    unit_names: list | None = None
    unit_annotations: list | None = None


def _bin(X, bin_size, *, n_neurons=None, learn=False, name="X"):
    """Bin Neo trials, or validate counts; ``learn`` also reads units and common t_start."""
    if not is_neo_trials(X) and not _looks_like_misplaced_neo(X):
        counts = check_trials(X, name=name, counts=True, n_channels=n_neurons, dtype=np.int64)
        width = counts.shape[2] if isinstance(counts, np.ndarray) else counts[0].shape[1]
        return _Binned("counts", counts, width)
    input_type, trials = neo_trials(X, name=name)
    if n_neurons is not None and len(trials[0]) != n_neurons:
        raise ValueError(
            f"{name} has {len(trials[0])} spike trains per trial but the binner was fitted "
            f"with {n_neurons} neurons."
        )
    table = read_spiketrains(trials, name=name)
    flat, n_bins = _bin_table(table, bin_size, name)
    binned = _Binned(input_type, _split_counts(flat, n_bins, table.n_neurons), table.n_neurons)
    if learn:
        binned.units = table.units[table.unit_codes[0, 0]]
        # Each trial's t_start in the units of the first train, compared within tolerance.
        first = table.unit_codes[:, 0]
        starts = table.t_start[:, 0] * table.conversion()[first, table.unit_codes[0, 0]]
        width = bin_size.rescale(binned.units).item()
        shared = np.all(np.abs(starts - starts[0]) <= BIN_TOLERANCE * width)
        binned.t_start = pq.Quantity(starts[0] if shared else 0.0, binned.units.dimensionality)
        binned.unit_names, binned.unit_annotations = unit_identities(
            trials, reserved=(*_RESERVED, "inpainted")
        )
        if not shared:
            symbol = binned.units.dimensionality.string
            warn_user(
                f"The trials of {name} start at different times (t_start from "
                f"{starts.min():g} to {starts.max():g} {symbol}): each is binned from its own "
                "t_start, and generated trials start at 0. Trials cut from one recording "
                "(neo.utils.cut_segment_by_epoch) should be cut with reset_time=True, so "
                "that their times are relative to the trial's start; otherwise the times "
                "of generated and recorded spikes do not compare."
            )
    return binned


def _looks_like_misplaced_neo(X) -> bool:
    """Neo given at the wrong depth (a lone SpikeTrain or Segment, a flat list of
    SpikeTrains) or spike times without a SpikeTrain (a Quantity inside a trial): these go
    to :func:`neo_trials`, whose errors explain the expected form, not to the counts check."""
    import neo

    if isinstance(X, (neo.SpikeTrain, neo.Segment)):
        return True
    if not isinstance(X, (list, tuple)) or len(X) == 0:
        return False
    first = X[0]
    if isinstance(first, pq.Quantity):
        return True
    return (
        isinstance(first, (list, tuple)) and len(first) > 0 and isinstance(first[0], pq.Quantity)
    )


# --------------------------------------------------------------------------------------------
# counts → spike trains
# --------------------------------------------------------------------------------------------


def _check_units(units, default):
    if units is None:
        return pq.Quantity(1.0, default.dimensionality)
    if isinstance(units, str):
        try:
            units = pq.Quantity(1.0, units)
        except (LookupError, ValueError) as exc:
            raise ValueError(f"units {units!r} are not known to quantities.") from exc
    return pq.Quantity(1.0, check_time_quantity(units, "units").dimensionality)


def _check_annotations(annotations):
    if annotations is None:
        return {}
    if not isinstance(annotations, dict):
        raise TypeError(f"annotations must be a dict, got {type(annotations).__name__}.")
    clash = sorted(set(annotations) & set(_RESERVED))
    if clash:
        raise ValueError(
            f"annotations may not set {clash}: these keys describe how the trains were "
            "generated and are set by ldns_sklearn."
        )
    import neo

    # Neo validates annotation values (types it can save) in `annotate`; do it once here.
    neo.SpikeTrain(np.empty(0), units="s", t_stop=1 * pq.s).annotate(**annotations)
    return dict(annotations)


@contextmanager
def _garbage_collection_paused():
    """Pause the cyclic garbage collector while building many long-lived objects.

    Building 10^5 SpikeTrains triggers repeated full collections that traverse every
    object alive (half of the time of ``inverse_transform`` at 1000 x 128 trains). Nothing
    is leaked: cycles made meanwhile are collected once the collector runs again.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _trials_from_counts(counts, width, origin, units, annotations, placement, random_state,
                        *, names=None, unit_annotations=None):
    """Lists of SpikeTrain from validated int counts; times are magnitudes in ``units``.

    ``names`` and ``unit_annotations`` (one per neuron, or None) give each neuron's trains
    the name and annotations of the unit it models.
    """
    with _garbage_collection_paused():
        return _build_trials(counts, width, origin, units, annotations, placement, random_state,
                             names, unit_annotations)


def _build_trials(counts, width, origin, units, annotations, placement, random_state,
                  names=None, unit_annotations=None):
    import neo

    dim = units.dimensionality
    t_start = pq.Quantity(origin, dim)
    # The bin size travels with the trains, so metrics and plots can bin them again.
    shared = {
        **annotations,
        **_GENERATED,
        "spike_placement": placement,
        "bin_size": pq.Quantity(width, dim),
    }
    rng = np.random.default_rng(check_random_state(random_state).randint(2**31))
    n_channels = counts.shape[2] if isinstance(counts, np.ndarray) else counts[0].shape[1]
    names = names or [None] * n_channels
    # The unit's own annotations first: the generated mark and bin size are ours.
    per_neuron = [
        {**own, **shared, "neuron": neuron}
        for neuron, own in enumerate(unit_annotations or [{}] * n_channels)
    ]
    trials = []
    for trial in counts:
        n_bins, n_neurons = trial.shape
        per_bin = np.ascontiguousarray(trial.T).ravel()  # neuron-major, bins in time order
        positions = spike_positions(per_bin, n_bins, placement, rng)
        times = origin + width * positions
        t_stop = pq.Quantity(origin + n_bins * width, dim)
        # One SpikeTrain per trial, sliced per neuron: Neo's constructor costs ~100 µs
        # (its range check compares quantities), a slice ~10 µs. Slices are ordinary
        # SpikeTrains (Neo's constructor, too, keeps a view of the array it is given).
        whole = neo.SpikeTrain(times, t_stop=t_stop, units=dim, t_start=t_start)
        edges = np.concatenate([[0], np.cumsum(trial.sum(axis=0))]).tolist()
        trains = []
        for neuron in range(n_neurons):
            train = whole[edges[neuron] : edges[neuron + 1]]
            # A slice shares its parent's annotation dict and bound objects; give each
            # train its own so that editing one train leaves the others alone.
            train.annotations = dict(per_neuron[neuron])
            train.name = names[neuron]
            train.t_start = t_start.copy()
            train.t_stop = t_stop.copy()
            trains.append(train)
        trials.append(trains)
    return trials


def counts_to_spiketrains(
    counts,
    bin_size,
    t_start=0 * pq.s,
    units=None,
    annotations=None,
    max_spikes=10**8,
    *,
    spike_placement="even",
    random_state=None,
):
    """Turn binned spike counts into trials of :class:`neo.SpikeTrain`.

    The ``k`` spikes of a bin are spread evenly inside it, at
    ``bin_start + bin_size * (j + 1) / (k + 1)`` for ``j = 0, …, k - 1``: a ``linspace`` over
    the bin without its end points, the convention of the LDNS paper's ISI statistics. No
    spike lands on a bin edge, so binning the result with the same ``bin_size`` (e.g. with
    :class:`SpikeTrainBinner` or Elephant's ``BinnedSpikeTrain``) gives ``counts`` back
    exactly.

    Parameters
    ----------
    counts : array-like of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
        Non-negative whole numbers (float arrays are accepted if integer-valued); trials
        may have different numbers of bins.
    bin_size : quantities.Quantity
        Width of one bin, e.g. ``5 * pq.ms``.
    t_start : quantities.Quantity, default=0 * pq.s
        Start of every trial; trial ``i`` ends at ``t_start + n_bins_i * bin_size``.
    units : quantities unit or str, optional
        Time units of the trains; by default those of ``bin_size``.
    annotations : dict, optional
        Extra annotations for every train (values must be types Neo accepts).
    max_spikes : int or None, default=10**8
        Refuse counts holding more spikes than this (10**8 spike times take 0.8 GB, and a
        diverged model can ask for far more); None converts whatever it is given.
    spike_placement : {"even", "random"}, default="even"
        ``"even"``: the paper's convention above. ``"random"``: each spike drawn uniformly
        inside its bin (sorted), so intervals below one bin are not all artefacts of the
        placement; binning the result still gives ``counts`` back exactly.
    random_state : int, RandomState instance or None, default=None
        Seed of ``"random"`` placement.

    Returns
    -------
    trials : list of list of neo.SpikeTrain
        ``trials[i][j]`` is neuron ``j`` in trial ``i``. Each train is annotated with
        ``generated=True``, ``generator="ldns_sklearn"``, ``spike_placement``,
        ``bin_size`` and ``neuron=j`` besides ``annotations``.

    Raises
    ------
    ValueError
        If counts are negative, not whole, NaN or empty, hold more than ``max_spikes``
        spikes, or ``annotations`` uses one of the keys above.
    TypeError
        If ``bin_size``, ``t_start`` or ``units`` is not a time quantity.

    See Also
    --------
    SpikeTrainBinner : the same conversion as an estimator, plus the way back.

    Examples
    --------
    >>> import numpy as np
    >>> import quantities as pq
    >>> counts = np.array([[[1, 0], [3, 2]]])  # 1 trial, 2 bins, 2 neurons
    >>> trials = counts_to_spiketrains(counts, 10 * pq.ms)
    >>> trials[0][0].times
    array([ 5. , 12.5, 15. , 17.5]) * ms
    >>> trials[0][1].t_stop, trials[0][1].annotations["neuron"]
    (array(20.) * ms, 1)
    """
    bin_size = check_time_quantity(bin_size, "bin_size", positive=True)
    t_start = check_time_quantity(t_start, "t_start")
    units = _check_units(units, bin_size)
    annotations = _check_annotations(annotations)
    counts = check_trials(counts, name="counts", counts=True, dtype=np.int64)
    trials = [counts] if isinstance(counts, np.ndarray) else counts
    n_spikes = sum(int(trial.sum()) for trial in trials)
    if max_spikes is not None and n_spikes > max_spikes:
        raise ValueError(
            f"counts hold {n_spikes:.3g} spikes, more than max_spikes={max_spikes:.3g}; as "
            f"spike trains they would need at least {8 * n_spikes / 1e9:.3g} GB. Pass "
            "max_spikes=None to convert them anyway."
        )
    if spike_placement not in SPIKE_PLACEMENTS:
        raise ValueError(
            f"spike_placement must be one of {SPIKE_PLACEMENTS}, got {spike_placement!r}."
        )
    return _trials_from_counts(
        counts,
        bin_size.rescale(units).item(),
        t_start.rescale(units).item(),
        units,
        annotations,
        spike_placement,
        random_state,
    )


def spiketrains_to_counts(trials, bin_size):
    """Bin trials of :class:`neo.SpikeTrain` into spike counts.

    Shorthand for ``SpikeTrainBinner(bin_size=bin_size).fit_transform(trials)``; see
    :class:`SpikeTrainBinner` for the binning rules.

    Parameters
    ----------
    trials : neo.Block, sequence of neo.Segment, or sequence of lists of neo.SpikeTrain
        The trials; all trains of a trial share t_start and t_stop.
    bin_size : quantities.Quantity
        Width of one bin, e.g. ``5 * pq.ms``.

    Returns
    -------
    counts : ndarray of shape (n_trials, n_bins, n_neurons) or list of ndarray
        int64 counts; a list of 2-D arrays if trials have different numbers of bins.

    Examples
    --------
    >>> import neo
    >>> import quantities as pq
    >>> trial = [neo.SpikeTrain([1, 2, 7] * pq.ms, t_stop=10 * pq.ms),
    ...          neo.SpikeTrain([0.009] * pq.s, t_stop=0.01 * pq.s)]
    >>> spiketrains_to_counts([trial], 5 * pq.ms)[0].tolist()
    [[2, 0], [1, 1]]
    """
    return SpikeTrainBinner(bin_size=bin_size).fit_transform(trials)


# --------------------------------------------------------------------------------------------
# the estimator
# --------------------------------------------------------------------------------------------


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
        binned = _bin(X, bin_size, learn=True)
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
        return _bin(X, self.bin_size_, n_neurons=self.n_neurons_).counts

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
        if (recorded is None) != (observed is None):
            raise ValueError("recorded and observed go together; give both or neither.")
        if self.input_type_ == "counts":
            return counts
        if recorded is not None:
            return keep_recorded_spikes(
                recorded, counts, observed, self.bin_size_, self.spike_placement, random_state
            )
        trials = _trials_from_counts(
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
            trials, self.input_type_, **_GENERATED, spike_placement=self.spike_placement
        )
