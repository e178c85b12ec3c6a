"""Writing trials of spike trains (e.g. generated ones) to an NWB file."""

from __future__ import annotations

import datetime
import uuid

import numpy as np
import quantities as pq

from .._files import replacing
from .._neo.reading import neo_trials
from .._version import __version__
from ._nwb_read import ANNOTATION_DESCRIPTION, UNIT_NAME_COLUMN, _import_pynwb

__all__ = ["save_nwb_trials"]


def _trial_bounds(trials) -> tuple[np.ndarray, np.ndarray]:
    """Each trial's ``t_start`` and duration in seconds, checked to agree across its trains."""
    starts, durations = [], []
    for index, trains in enumerate(trials):
        t_starts = {float(train.t_start.rescale(pq.s).magnitude) for train in trains}
        t_stops = {float(train.t_stop.rescale(pq.s).magnitude) for train in trains}
        if len(t_starts) != 1 or len(t_stops) != 1:
            raise ValueError(
                f"The spike trains of trial {index} do not share one t_start and t_stop; "
                "an NWB trial has one start and one stop time."
            )
        starts.append(t_starts.pop())
        durations.append(t_stops.pop() - starts[-1])
    return np.array(starts), np.array(durations)


# Annotation values an NWB column holds as they are.
_COLUMN_TYPES = (str, bool, int, float)
# Annotations with columns of their own in the file: `generated` (the NWB column says it
# of the unit) and `unit_id` (the Units table's ids); and names the Units table reserves.
_OWN_COLUMNS = ("generated", "unit_id", UNIT_NAME_COLUMN, "id", "spike_times",
                "obs_intervals", "electrodes", "electrode_group", "waveform_mean",
                "waveform_sd", "waveforms")


def _unit_identities(trains) -> tuple[list[str] | None, list[int] | None, dict]:
    """What of the units' identities (their trains in one trial) the Units table keeps:
    names if any unit has one; ``unit_id`` annotations as the table's ids if every unit
    has a distinct int one; each other annotation that every unit has with a value of
    one of ``_COLUMN_TYPES`` (the same type for all), as a column."""
    names = [train.name for train in trains]
    names = [name or "" for name in names] if any(names) else None
    ids = [train.annotations.get("unit_id") for train in trains]
    usable = all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
    ids = ids if usable and len(set(ids)) == len(ids) else None
    columns = {}
    for key in trains[0].annotations:
        values = [train.annotations.get(key) for train in trains]
        kinds = {type(value) for value in values}
        if key not in _OWN_COLUMNS and len(kinds) == 1 and kinds.pop() in _COLUMN_TYPES:
            columns[key] = values
    return names, ids, columns


def save_nwb_trials(trials, path, *, session_description=None, overwrite=False):
    """Write trials of spike trains to an NWB file: a Units table and a trials table.

    The trials are laid end to end on the file's clock: trial ``i`` runs from the sum of
    the durations before it, for its own duration. The Units table has one row per neuron
    with its spike times of all trials (in seconds on that clock), one observation interval
    covering the whole file, and a ``generated`` column that is True when every train of
    the neuron carries the annotation ``generated=True`` (as trains from
    ``LDNSPipeline.sample`` do). The units keep the identities of their trains in the
    first trial: names in a ``unit_name`` column, distinct int ``unit_id`` annotations as
    the table's ids, and every other annotation that all units hold as a str, int, float
    or bool as a column of its own; :func:`load_nwb_trials` puts them back on the trains.
    The trials table has ``start_time``, ``stop_time`` and ``align_time``, the file time
    of each trial's zero (its trains' ``t=0``), so that :func:`load_nwb_trials` with
    ``align="align_time"`` and the trials' window cuts the same trials back out, and Neo's
    ``NWBIO`` reads one train per neuron.

    The file is written next to ``path`` and renamed when complete: a failure leaves no
    half-written file, and an existing file untouched. Needs the optional ``pynwb``
    (``pip install 'ldns-sklearn[nwb]'``).

    Parameters
    ----------
    trials : neo.Block, list of neo.Segment, or list of lists of neo.SpikeTrain
        The trials, each with one train per neuron (the same neurons in every trial); a
        trial's trains share one ``t_start`` and ``t_stop``.
    path : str or os.PathLike
        The ``.nwb`` file to write.
    session_description : str, optional
        The NWB session description. By default it says whether the trials were generated
        (by an LDNS model, and so are not a recording) and by which ldns-sklearn version.
    overwrite : bool, default=False
        Replace ``path`` if it exists; otherwise an existing file is an error.

    Raises
    ------
    ImportError
        If pynwb is not installed.
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    ValueError
        If the trials have different numbers of neurons, or a trial's trains do not share
        one start and stop.

    See Also
    --------
    load_nwb_trials : Read trials from an NWB file.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np, quantities as pq
    >>> from ldns_sklearn import counts_to_spiketrains
    >>> from ldns_sklearn.datasets import load_nwb_trials, save_nwb_trials
    >>> counts = np.random.default_rng(0).poisson(1.0, size=(3, 20, 4))
    >>> trials = counts_to_spiketrains(counts, 5 * pq.ms)   # marked generated=True
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "generated.nwb")
    ...     save_nwb_trials(trials, path)
    ...     back = load_nwb_trials(path, align="align_time", window=(0, 100) * pq.ms,
    ...                            velocity=None)
    >>> bool((back.counts == counts).all()), back.units["generated"].tolist()
    (True, [True, True, True, True])
    """
    pynwb = _import_pynwb()
    _, trials = neo_trials(trials, name="trials")
    n_neurons = {len(trains) for trains in trials}
    if len(n_neurons) != 1:
        raise ValueError(
            f"The trials have different numbers of spike trains ({sorted(n_neurons)}); "
            "every trial needs one train per neuron, the same neurons throughout."
        )
    starts, durations = _trial_bounds(trials)
    offsets = np.concatenate([[0.0], np.cumsum(durations)])
    generated = [
        all(trains[unit].annotations.get("generated", False) is True for trains in trials)
        for unit in range(n_neurons.pop())
    ]
    if session_description is None:
        what = (
            "Synthetic spike trains generated by an LDNS model; not a recording"
            if all(generated)
            else "Spike trains"
        )
        session_description = f"{what} (written by ldns-sklearn {__version__})."
    nwbfile = pynwb.NWBFile(
        session_description=session_description,
        identifier=str(uuid.uuid4()),
        session_start_time=datetime.datetime.now(datetime.timezone.utc),
        source_script=f"ldns-sklearn {__version__}",
        source_script_file_name="ldns_sklearn.datasets.save_nwb_trials",
    )
    nwbfile.add_unit_column("generated", "True if the spike trains were generated by a model")
    names, ids, columns = _unit_identities(trials[0])
    if names is not None:
        nwbfile.add_unit_column(UNIT_NAME_COLUMN, "name of the unit's spike trains")
    for key in columns:
        nwbfile.add_unit_column(key, ANNOTATION_DESCRIPTION)
    for unit, is_generated in enumerate(generated):
        times = [
            offsets[i] - starts[i] + trains[unit].times.rescale(pq.s).magnitude
            for i, trains in enumerate(trials)
        ]
        identity = {key: values[unit] for key, values in columns.items()}
        if names is not None:
            identity[UNIT_NAME_COLUMN] = names[unit]
        if ids is not None:
            identity["id"] = ids[unit]
        nwbfile.add_unit(
            spike_times=np.concatenate(times),
            obs_intervals=[[0.0, float(offsets[-1])]],
            generated=is_generated,
            **identity,
        )
    nwbfile.add_trial_column("align_time", "file time of the trial's zero (its trains' t=0)")
    for i in range(len(trials)):
        nwbfile.add_trial(
            start_time=float(offsets[i]),
            stop_time=float(offsets[i + 1]),
            align_time=float(offsets[i] - starts[i]),
        )
    with replacing(path, overwrite=overwrite) as partial:
        with pynwb.NWBHDF5IO(str(partial), "w") as io:
            io.write(nwbfile)
