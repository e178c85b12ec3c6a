"""Read trial structure and spike times out of Neo objects, fast and with clear errors.

A *trial* is a list of :class:`neo.SpikeTrain` (one per neuron) or a :class:`neo.Segment`;
``X`` is a sequence of trials or a :class:`neo.Block`. These helpers turn such input into
flat NumPy arrays (one entry per train, trial-major) so that callers can work on all spikes
at once instead of calling ``.rescale()`` train by train.

Units are read through :class:`quantities.Dimensionality` objects compared as plain dicts:
``Dimensionality.__eq__`` compares hashes that quantities builds by parsing unit strings
(tens of microseconds per call), which would dominate the reading of 10^5 trains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import quantities as pq

__all__ = [
    "SpikeTrainTable",
    "as_input_type",
    "check_time_quantity",
    "is_neo_trials",
    "n_trials",
    "neo_trials",
    "read_spiketrains",
]

_TRIAL_CONTAINERS = (list, tuple)


def _neo():
    # Imported lazily: Neo is a dependency, but importing it costs ~0.3 s.
    import neo

    return neo


def _is_trial_container(obj) -> bool:
    from neo.core.spiketrainlist import SpikeTrainList

    return isinstance(obj, (*_TRIAL_CONTAINERS, SpikeTrainList))


def is_neo_trials(X) -> bool:
    """Whether ``X`` looks like Neo trials: a Block, Segments or lists of SpikeTrains.

    Only the first trial is inspected; :func:`neo_trials` checks all of them.

    Examples
    --------
    >>> import neo, quantities as pq
    >>> train = neo.SpikeTrain([0.1] * pq.s, t_stop=1 * pq.s)
    >>> is_neo_trials([[train]]), is_neo_trials([neo.Segment()]), is_neo_trials([[[0, 1]]])
    (True, True, False)
    """
    neo = _neo()
    if isinstance(X, neo.Block):
        return True
    if isinstance(X, (str, bytes, dict, np.ndarray)) or not hasattr(X, "__len__") or len(X) == 0:
        return False
    try:
        first = X[0]
    except (KeyError, IndexError, TypeError):
        return False
    if isinstance(first, neo.Segment):
        return True
    return _is_trial_container(first) and len(first) > 0 and isinstance(first[0], neo.SpikeTrain)


def n_trials(X) -> int:
    """Number of trials of any trial input: a Neo Block (its segments) or a sequence.

    Examples
    --------
    >>> import neo
    >>> block = neo.Block()
    >>> block.segments.extend([neo.Segment(), neo.Segment()])
    >>> n_trials(block), n_trials([[], [], []])
    (2, 3)
    """
    if isinstance(X, _neo().Block):
        return len(X.segments)
    return len(X)


def neo_trials(X, *, name: str = "X") -> tuple[str, list[list]]:
    """Return the input kind and the trials of ``X`` as lists of :class:`neo.SpikeTrain`.

    Parameters
    ----------
    X : neo.Block, sequence of neo.Segment, or sequence of lists of neo.SpikeTrain
        The trials.
    name : str, default="X"
        Name used in error messages.

    Returns
    -------
    input_type : {"block", "segments", "spiketrains"}
        Which form ``X`` had.
    trials : list of list of neo.SpikeTrain
        The spike trains of each trial (the objects themselves, not copies).

    Raises
    ------
    TypeError
        If ``X`` or one of its trials is not one of the forms above (e.g. a lone
        SpikeTrain or Segment, a mix of Segments and lists, an array of spike times).
    ValueError
        If ``X`` holds no trial or a trial holds no spike train.

    Examples
    --------
    >>> import neo, quantities as pq
    >>> segment = neo.Segment()
    >>> segment.spiketrains.append(neo.SpikeTrain([0.1] * pq.s, t_stop=1 * pq.s))
    >>> kind, trials = neo_trials([segment, segment])
    >>> kind, len(trials), len(trials[0])
    ('segments', 2, 1)
    """
    neo = _neo()
    if isinstance(X, neo.SpikeTrain):
        raise TypeError(
            f"{name} is a single neo.SpikeTrain; expected a sequence of trials, each a list of "
            "SpikeTrains (one per neuron). Wrap one trial as [[train, ...]]."
        )
    if isinstance(X, neo.Segment):
        raise TypeError(
            f"{name} is a single neo.Segment; expected a sequence of trials. Pass [segment] "
            "for one trial, or a neo.Block."
        )
    if isinstance(X, neo.Block):
        input_type, items = "block", list(X.segments)
        name = f"{name}.segments"
    elif isinstance(X, (str, bytes, dict)) or not hasattr(X, "__len__"):
        raise TypeError(
            f"{name} must be a neo.Block or a sequence of trials (neo.Segment or lists of "
            f"neo.SpikeTrain), got {type(X).__name__}."
        )
    else:
        items = list(X)
        input_type = None
    if not items:
        raise ValueError(f"{name} is empty: it holds 0 trials.")
    if input_type is None:
        if isinstance(items[0], neo.SpikeTrain):
            raise TypeError(
                f"{name}[0] is a neo.SpikeTrain, so {name} looks like a single trial; expected "
                "a sequence of trials. Wrap one trial as [trains]."
            )
        input_type = "segments" if isinstance(items[0], neo.Segment) else "spiketrains"
    trials = []
    for i, item in enumerate(items):
        if input_type in ("block", "segments"):
            if not isinstance(item, neo.Segment):
                raise TypeError(
                    f"{name}[{i}] is a {type(item).__name__} but {name}[0] is a Segment; every "
                    "trial must have the same form."
                )
            trains = list(item.spiketrains)
        else:
            if not _is_trial_container(item):
                raise TypeError(
                    f"{name}[{i}] is a {type(item).__name__}; each trial must be a list of "
                    "neo.SpikeTrain or a neo.Segment (and all trials the same form)."
                )
            trains = list(item)
        if not trains:
            raise ValueError(f"{name}[{i}] holds no spike trains.")
        for j, train in enumerate(trains):
            if not isinstance(train, neo.SpikeTrain):
                raise TypeError(
                    f"{name}[{i}][{j}] is a {type(train).__name__}, not a neo.SpikeTrain; spike "
                    "times need their units, t_start and t_stop."
                )
        trials.append(trains)
    _check_same_units(trials, name)
    return input_type, trials


def unit_identities(trials: list[list], reserved=()) -> tuple[list, list]:
    """What identifies each neuron's unit in every trial: its name and annotations.

    Returns ``names`` (a train's name where every trial gives that position the same str
    name, else None) and ``annotations`` (per neuron, the annotations that every trial gives
    that position with the same value, such as ``unit_id`` or ``channel``; values that are
    str, int, float or bool, NumPy scalars read as such; keys in ``reserved`` left out).
    Generated trains carry them, so a user can tell which unit each one models.
    """
    names, annotations = [], []
    for k, train in enumerate(trials[0]):
        name = train.name
        same_name = isinstance(name, str) and all(trial[k].name == name for trial in trials)
        names.append(name if same_name else None)
        kept = {}
        for key, value in train.annotations.items():
            if isinstance(value, np.generic) and value.dtype.kind in "biufU":
                value = value.item()
            if key in reserved or type(value) not in (str, int, float, bool):
                continue
            if all(_same(trial[k].annotations.get(key, _MISSING), value) for trial in trials[1:]):
                kept[key] = value
        annotations.append(kept)
    return names, annotations


_MISSING = object()


def _same(a, b) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # arrays, or values that do not compare to a number
        return False


def _check_same_units(trials: list[list], name: str) -> None:
    """Refuse trials whose named trains disagree: neurons are matched by position.

    When every train of two trials has a name, the names say which neuron each is; the
    same position holding another name (``unit_A, unit_B`` in one trial, ``unit_B,
    unit_A`` in the next) would silently mix two neurons' spikes.
    """
    first = [train.name for train in trials[0]]
    if any(unit is None for unit in first):
        return
    for i, trains in enumerate(trials[1:], start=1):
        names = [train.name for train in trains]
        if any(unit is None for unit in names) or names == first:
            continue
        for j, (a, b) in enumerate(zip(first, names, strict=False)):
            if a != b:
                raise ValueError(
                    f"{name}[{i}][{j}] is the spike train named {b!r}, but {name}[0][{j}] is "
                    f"named {a!r}: neurons are matched by their position in each trial, so "
                    "every trial must list the same units in the same order. Sort each "
                    "trial's trains by name (or remove the names if they do not identify "
                    "units)."
                )


def as_input_type(trials: list[list], input_type: str, **annotations):
    """Trials of :class:`neo.SpikeTrain` in the form :func:`neo_trials` reported: the lists
    themselves, one ``neo.Segment`` per trial, or a ``neo.Block`` of them; segments and
    block carry ``annotations``.

    Examples
    --------
    >>> import neo, quantities as pq
    >>> trains = [[neo.SpikeTrain([0.1] * pq.s, t_stop=1 * pq.s)]]
    >>> block = as_input_type(trains, "block", generated=True)
    >>> len(block.segments), block.annotations, block.segments[0].index
    (1, {'generated': True}, 0)
    """
    if input_type == "spiketrains":
        return trials
    neo = _neo()
    segments = []
    for index, trains in enumerate(trials):
        segment = neo.Segment(index=index, **annotations)
        segment.spiketrains.extend(trains)
        segments.append(segment)
    if input_type == "segments":
        return segments
    block = neo.Block(**annotations)
    block.segments.extend(segments)
    return block


def _is_time(dimensionality) -> bool:
    return dict.__eq__(
        pq.Quantity(1.0, dimensionality).simplified.dimensionality, pq.s.dimensionality
    )


def check_time_quantity(value, name: str, *, positive: bool = False) -> pq.Quantity:
    """Check that ``value`` is a scalar time quantity and return it as a 0-d float copy.

    A bare number is refused: whether ``0.005`` means seconds or milliseconds is exactly
    the kind of ambiguity that silently shifts every bin.

    Parameters
    ----------
    value : quantities.Quantity
        The quantity to check, e.g. ``5 * pq.ms``.
    name : str
        Name used in error messages.
    positive : bool, default=False
        Also require ``value > 0``.

    Returns
    -------
    quantity : quantities.Quantity
        A 0-d float64 copy in the units given.

    Raises
    ------
    TypeError
        If ``value`` is not a quantity (a bare number is ambiguous) or not a time.
    ValueError
        If it is not a scalar, not finite, or not positive when ``positive`` is set.

    Examples
    --------
    >>> import quantities as pq
    >>> check_time_quantity(5 * pq.ms, "bin_size", positive=True)
    array(5.) * ms
    >>> check_time_quantity(0.005, "bin_size")
    Traceback (most recent call last):
    ...
    TypeError: bin_size must be a time quantity such as 5 * pq.ms, got the bare number 0.005, ...
    """
    if not isinstance(value, pq.Quantity):
        if isinstance(value, (int, float, np.number)):
            raise TypeError(
                f"{name} must be a time quantity such as 5 * pq.ms, got the bare number "
                f"{value!r}, which is ambiguous (seconds? milliseconds?). Attach units, "
                "e.g. 5 * pq.ms or 0.005 * pq.s."
            )
        raise TypeError(
            f"{name} must be a time quantity such as 5 * pq.ms, got {type(value).__name__}."
        )
    if value.size != 1:
        raise ValueError(f"{name} must be a scalar time quantity, got shape {value.shape}.")
    if not _is_time(value.dimensionality):
        raise TypeError(
            f"{name} must be a time quantity, got units {value.dimensionality.string}."
        )
    quantity = pq.Quantity(float(value.magnitude.reshape(())), value.dimensionality)
    if not np.isfinite(quantity.magnitude):
        raise ValueError(f"{name} must be finite, got {value}.")
    if positive and not quantity.magnitude > 0:
        raise ValueError(f"{name} must be positive, got {value}.")
    return quantity


class _UnitCodes:
    """Small integer codes for the distinct units met while reading trains."""

    def __init__(self):
        self.dimensionalities = []
        self.is_time = []

    def code(self, dimensionality) -> int:
        for code, known in enumerate(self.dimensionalities):
            # dict equality: same units with the same powers, without quantities' slow hash.
            if dict.__eq__(dimensionality, known):
                return code
        self.dimensionalities.append(dimensionality)
        self.is_time.append(_is_time(dimensionality))
        return len(self.dimensionalities) - 1


@dataclass(frozen=True)
class SpikeTrainTable:
    """The spike trains of ``n_trials`` trials × ``n_neurons`` neurons as flat arrays.

    Every per-train array is indexed ``[trial, neuron]``; magnitudes are in the train's own
    units, ``units[unit_codes[i, j]]``, exactly as stored (no rescaling, so no round-off).

    Attributes
    ----------
    spike_times : list of ndarray
        Spike-time magnitudes of each train, trial-major (train ``i * n_neurons + j``);
        views of the trains' data, not copies.
    n_spikes : ndarray of shape (n_trials, n_neurons)
        Number of spikes in each train.
    unit_codes : ndarray of shape (n_trials, n_neurons)
        Index into ``units`` of each train's units.
    units : tuple of quantities.Quantity
        The distinct time units met, e.g. ``(1.0 * s, 1.0 * ms)``.
    t_start, t_stop : ndarray of shape (n_trials, n_neurons)
        Each train's t_start and t_stop, in that train's units.
    dtype : numpy dtype
        The floating dtype that holds every train's times exactly (float32 only if all
        trains are float32, as Neo allows).
    """

    spike_times: list
    n_spikes: np.ndarray
    unit_codes: np.ndarray
    units: tuple
    t_start: np.ndarray
    t_stop: np.ndarray
    dtype: np.dtype

    @property
    def n_trials(self) -> int:
        return self.n_spikes.shape[0]

    @property
    def n_neurons(self) -> int:
        return self.n_spikes.shape[1]

    def conversion(self) -> np.ndarray:
        """Factors ``C[a, b]`` such that a magnitude in ``units[a]`` times ``C[a, b]`` is
        the same time in ``units[b]`` (exactly 1 on the diagonal)."""
        n = len(self.units)
        factors = np.ones((n, n))
        for a in range(n):
            for b in range(n):
                if a != b:
                    factors[a, b] = self.units[a].rescale(self.units[b]).item()
        return factors

    def trial_chunks(self, max_spikes: int = 1 << 21):
        """Yield ``(trials, times, train)`` for consecutive groups of trials.

        ``trials`` is a slice of trial indices, ``times`` the concatenated spike magnitudes
        of those trials in ``dtype`` (trial-major, then neuron, then spike order) and
        ``train`` the flat
        train index (``i * n_neurons + j``) of each spike. Groups hold about ``max_spikes``
        spikes so that per-spike temporaries stay in a bounded amount of memory.
        """
        per_trial = self.n_spikes.sum(axis=1)
        n_neurons = self.n_neurons
        start = 0
        while start < self.n_trials:
            stop = start + 1
            total = per_trial[start]
            while stop < self.n_trials and total + per_trial[stop] <= max_spikes:
                total += per_trial[stop]
                stop += 1
            first, last = start * n_neurons, stop * n_neurons
            times = np.concatenate(self.spike_times[first:last]).astype(self.dtype, copy=False)
            train = np.repeat(
                np.arange(first, last, dtype=np.intp), self.n_spikes[start:stop].ravel()
            )
            yield slice(start, stop), times, train
            start = stop


def read_spiketrains(trials, *, name: str = "X") -> SpikeTrainTable:
    """Read lists of :class:`neo.SpikeTrain` into a :class:`SpikeTrainTable`, checking them.

    Parameters
    ----------
    trials : list of list of neo.SpikeTrain
        As returned by :func:`neo_trials`.
    name : str, default="X"
        Name used in error messages.

    Returns
    -------
    table : SpikeTrainTable

    Raises
    ------
    ValueError
        If trials hold different numbers of neurons, a train (or its t_start/t_stop) is not
        in units of time, a train has t_start > t_stop, or a spike lies outside its train's
        [t_start, t_stop] or is NaN (Neo checks the range on construction only; trains
        whose times or bounds were changed afterwards can break it).

    Examples
    --------
    >>> import neo, quantities as pq
    >>> trial = [neo.SpikeTrain([1, 2] * pq.ms, t_stop=5 * pq.ms),
    ...          neo.SpikeTrain([0.003] * pq.s, t_stop=0.005 * pq.s)]
    >>> table = read_spiketrains([trial])
    >>> table.n_spikes.tolist(), [u.dimensionality.string for u in table.units]
    ([[2, 1]], ['ms', 's'])
    """
    n_trials = len(trials)
    n_neurons = len(trials[0])
    for i, trial in enumerate(trials):
        if len(trial) != n_neurons:
            raise ValueError(
                f"{name}[{i}] has {len(trial)} spike trains but {name}[0] has {n_neurons}; "
                "every trial must hold the same neurons."
            )
    codes = _UnitCodes()
    unit_codes, t_start, t_stop, spike_times = [], [], [], []

    def where(index):
        return f"{name}[{index // n_neurons}][{index % n_neurons}]"

    def in_own_units(k, bound, quantity, dim):
        # Neo stores t_start/t_stop in the train's units, so this runs only for trains
        # whose bounds were reassigned later.
        if not codes.is_time[codes.code(quantity.dimensionality)]:
            raise ValueError(
                f"{where(k)}.{bound} is in units of {quantity.dimensionality.string}, not time."
            )
        return quantity.rescale(pq.Quantity(1.0, dim)).item()

    # This loop is the cost floor of reading Neo (~10^5 trains): plain lists, and the
    # units of the previous train tried first, since trains nearly always share them.
    last_dim, last_code = None, -1
    for train in (train for trial in trials for train in trial):
        dim = train.dimensionality
        if last_dim is None or not dict.__eq__(dim, last_dim):
            last_dim, last_code = dim, codes.code(dim)
            if not codes.is_time[last_code]:
                raise ValueError(
                    f"{where(len(unit_codes))} is in units of {dim.string}, not time; spike "
                    "trains must be in units of time (e.g. s or ms)."
                )
        unit_codes.append(last_code)
        spike_times.append(train.magnitude)
        start, stop = train.t_start, train.t_stop
        if dict.__eq__(start.dimensionality, dim):
            t_start.append(start.item())
        else:
            t_start.append(in_own_units(len(t_start), "t_start", start, dim))
        if dict.__eq__(stop.dimensionality, dim):
            t_stop.append(stop.item())
        else:
            t_stop.append(in_own_units(len(t_stop), "t_stop", stop, dim))
    unit_codes = np.array(unit_codes, dtype=np.intp)
    n_spikes = np.array([len(times) for times in spike_times], dtype=np.int64)
    t_start = np.array(t_start, dtype=np.float64)
    t_stop = np.array(t_stop, dtype=np.float64)
    units = tuple(pq.Quantity(1.0, d) for d in codes.dimensionalities)
    bad = np.flatnonzero(~(t_start <= t_stop))
    if bad.size:
        raise ValueError(
            f"{where(bad[0])} has t_start {t_start[bad[0]]} after t_stop {t_stop[bad[0]]} "
            f"({units[unit_codes[bad[0]]].dimensionality.string})."
        )
    table = SpikeTrainTable(
        spike_times=spike_times,
        n_spikes=n_spikes.reshape(n_trials, n_neurons),
        unit_codes=unit_codes.reshape(n_trials, n_neurons),
        units=units,
        t_start=t_start.reshape(n_trials, n_neurons),
        t_stop=t_stop.reshape(n_trials, n_neurons),
        dtype=np.result_type(np.float32, *{times.dtype for times in spike_times}),
    )
    _check_spikes_in_range(table, name)
    return table


def _check_spikes_in_range(table: SpikeTrainTable, name: str) -> None:
    starts, stops = table.t_start.ravel(), table.t_stop.ravel()
    for _, times, train in table.trial_chunks():
        # Written as a negation so that NaN spike times are caught too.
        outside = ~((times >= starts[train]) & (times <= stops[train]))
        if outside.any():
            spike = int(np.argmax(outside))
            index = int(train[spike])
            i, j = divmod(index, table.n_neurons)
            unit = table.units[table.unit_codes[i, j]].dimensionality.string
            raise ValueError(
                f"{name}[{i}][{j}] has a spike at {times[spike]} {unit}, outside its "
                f"[t_start, t_stop] = [{starts[index]}, {stops[index]}] {unit}."
            )
