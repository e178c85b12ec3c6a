"""Binned spike counts → Neo spike trains: the k spikes of a bin placed inside it.

The ``k`` spikes of a bin are placed evenly inside it, at
``bin_start + bin_size * (j + 1) / (k + 1)`` for ``j = 0, …, k - 1`` (``linspace`` over the
bin with its end points left out, the convention of the LDNS paper's ISI statistics), or
drawn inside it (:mod:`.spike_times`). No spike lands on an edge, so Neo → counts → Neo →
counts gives back the counts exactly.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager

import numpy as np
import quantities as pq
from sklearn.utils import check_random_state

from .._validation import check_trials
from .annotations import GENERATED, RESERVED
from .reading import check_time_quantity
from .spike_times import SPIKE_PLACEMENTS, spike_positions

__all__ = ["counts_to_spiketrains", "trains_from_counts", "trains_of_trial"]


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
    clash = sorted(set(annotations) & set(RESERVED))
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


def trains_from_counts(counts, width, origin, units, annotations, placement, random_state,
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

    dim = units.dimensionality
    t_start = pq.Quantity(origin, dim)
    # The bin size travels with the trains, so metrics and plots can bin them again.
    shared = {
        **annotations,
        **GENERATED,
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
        n_bins = trial.shape[0]
        per_bin = np.ascontiguousarray(trial.T).ravel()  # neuron-major, bins in time order
        positions = spike_positions(per_bin, n_bins, placement, rng)
        times = origin + width * positions
        t_stop = pq.Quantity(origin + n_bins * width, dim)
        trials.append(
            trains_of_trial(times, trial.sum(axis=0), t_start, t_stop, names, per_neuron)
        )
    return trials


def trains_of_trial(times, n_spikes, t_start, t_stop, names, annotations) -> list:
    """One ``neo.SpikeTrain`` per unit on ``[t_start, t_stop]`` (quantities): unit ``u``
    holds the next ``n_spikes[u]`` of ``times`` (magnitudes in ``t_start``'s units), with
    name ``names[u]`` and annotations ``annotations[u]``.

    The library's one builder of trains: slices of one trial-wide train. Neo's constructor
    costs ~100 µs (its range check compares quantities), a slice ~10 µs; slices are
    ordinary SpikeTrains (Neo's constructor, too, keeps a view of the array it is given).
    """
    import neo

    whole = neo.SpikeTrain(times, t_stop=t_stop, units=t_start.units, t_start=t_start)
    edges = np.concatenate([[0], np.cumsum(n_spikes)]).tolist()
    trains = []
    for unit, (name, own) in enumerate(zip(names, annotations, strict=True)):
        train = whole[edges[unit] : edges[unit + 1]]
        # A slice shares its parent's annotation dict and bound objects; give each train
        # its own so that editing one train leaves the others alone.
        train.annotations = dict(own)
        train.name = name
        train.t_start = t_start.copy()
        train.t_stop = t_stop.copy()
        trains.append(train)
    return trains


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
    return trains_from_counts(
        counts,
        bin_size.rescale(units).item(),
        t_start.rescale(units).item(),
        units,
        annotations,
        spike_placement,
        random_state,
    )
