"""Trials of spikes and behaviour from local NWB files (e.g. NLB MC_Maze, DANDI 000128).

``neo.io.NWBIO`` reads the Units table but ignores the trials table and ``processing/``,
so trials are cut here with pynwb directly: spike times from the Units table, alignment
events from the trials table, behaviour from ``TimeSeries`` such as
``processing['behavior']['hand_vel']``. Nothing is ever downloaded.

The field names are those of the Neural Latents Benchmark files as read by the NLB tools
(``nlb_tools.nwb_interface``); ``nlb-tools`` itself is not a dependency.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path

import numpy as np
import quantities as pq
from sklearn.utils import Bunch

from .._neo.binning import spiketrains_to_counts
from .._neo.reading import check_time_quantity
from .._sklearn_compat import Interval, StrOptions, validate_params
from ._nwb_cut import (
    _bin_series,
    _check_window,
    _cut_segments,
    _direction,
    _Frame,
    _invalid_message,
    _unusable_trials,
)
from ._nwb_read import (
    Series,
    TrialTable,
    Units,
    _check_file,
    _find_timeseries,
    _import_pynwb,
    _read_timeseries,
    _read_trials,
    _read_units,
)

__all__ = ["load_mc_maze", "load_nwb_trials"]



@dataclass(frozen=True)
class _Options:
    """The loader's checked options."""

    align: str
    split: tuple | None
    bounds: str
    on_invalid: str
    unit_order: str
    velocity: str | None
    series_names: list[str]
    bin_size: pq.Quantity
    lag: pq.Quantity
    frame: _Frame


@dataclass(frozen=True)
class _Recording:
    """Everything the loader reads from the file, held after it closes."""

    units: Units
    trials: TrialTable
    series: dict[str, Series]
    direction: np.ndarray | None
    direction_reference: str | None
    trials_frame: object  # pandas.DataFrame of the read trials' rows


@dataclass(frozen=True)
class _Selection:
    """The trials that can be cut, their binned behaviour, and those dropped (and why)."""

    keep: np.ndarray
    trials: TrialTable
    behavior: dict[str, np.ndarray]
    direction: np.ndarray | None
    dropped: object  # pandas.DataFrame: trial_id, reason


def _load(path, expected_n_units=None, **options):
    """Read the file, select the trials that can be cut, bin them: one step each."""
    options = _check_options(**options)
    file = _check_file(path)
    recording = _read(file, options, expected_n_units)
    selected = _select(recording, options)
    return _bin(selected, recording, options, file)


def _check_options(
    *,
    align,
    window,
    bin_size,
    velocity,
    behavior,
    behavior_lag,
    split,
    bounds,
    on_invalid,
    unit_order,
) -> _Options:
    """The loader's options, with the window as a :class:`_Frame` (the choices among
    names are checked by the public functions' ``validate_params``)."""
    behavior = (behavior,) if isinstance(behavior, str) else tuple(behavior)
    window, bin_size, n_bins = _check_window(window, bin_size)
    lag = check_time_quantity(behavior_lag, "behavior_lag")
    units_q = window.units
    w0, w1 = (float(v) for v in window.magnitude.ravel())
    frame = _Frame(
        units=units_q,
        w0=w0,
        w1=w1,
        step=float(bin_size.rescale(units_q).magnitude),
        lag=float(lag.rescale(units_q).magnitude),
        n_bins=n_bins,
    )
    names = [velocity] if velocity is not None else []
    return _Options(
        align=align,
        split=(split,) if isinstance(split, str) else split,
        bounds=bounds,
        on_invalid=on_invalid,
        unit_order=unit_order,
        velocity=velocity,
        series_names=names + [b for b in behavior if b not in names],
        bin_size=bin_size,
        lag=lag,
        frame=frame,
    )


def _read(file: Path, options: _Options, expected_n_units) -> _Recording:
    """Everything the loader needs from the file, read into memory before it closes."""
    pynwb = _import_pynwb()
    try:
        io = pynwb.NWBHDF5IO(str(file), "r")
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"{str(file)!r} could not be opened as an NWB (HDF5) file: {exc}"
        ) from exc
    with io:
        nwbfile = io.read()
        units = _read_units(nwbfile, file, options.unit_order, expected_n_units)
        trials = _read_trials(nwbfile, file, options.align, options.split)
        series = {name: _read_timeseries(nwbfile, name) for name in options.series_names}
        hand_pos = series.get("hand_pos")
        if hand_pos is None and "target_pos" in nwbfile.trials.colnames:
            if _find_timeseries(nwbfile, "hand_pos") is not None:
                hand_pos = _read_timeseries(nwbfile, "hand_pos")
        direction, reference = _direction(
            nwbfile.trials, trials.rows, hand_pos, trials.align
        )
        trials_frame = nwbfile.trials.to_dataframe(index=True).iloc[trials.rows]
    return _Recording(units, trials, series, direction, reference, trials_frame)


def _select(recording: _Recording, options: _Options) -> _Selection:
    """The trials that can be cut (or an error naming those that cannot), and their
    binned behaviour; trials without behaviour samples in some bin cannot be cut."""
    import pandas as pd  # a dependency of pynwb

    trials, frame = recording.trials, options.frame
    reasons = _unusable_trials(
        trials, recording.units, frame, options.align, options.bounds
    )
    a = trials.align
    binned = {}
    for name, values in recording.series.items():
        edges = a[:, None] + (frame.edges[None, :] + frame.lag) * frame.to_seconds
        binned[name], empty = _bin_series(values, np.where(np.isfinite(edges), edges, 0.0))
        for k in np.flatnonzero(empty & np.isfinite(a)):
            reasons.setdefault(k, f"{name} has no samples in some bins of the window")

    bad = np.array(sorted(reasons), dtype=np.int64)
    message = _invalid_message(trials.ids[bad], [reasons[k] for k in bad]) if bad.size else ""
    if bad.size and options.on_invalid == "raise":
        raise ValueError(
            message + " Pass on_invalid='drop' to skip them (they are then listed in "
            "`dropped_trials`)."
        )
    keep = np.setdiff1d(np.arange(a.size), bad)
    if keep.size == 0:
        raise ValueError(message + " No trial is left to load.")
    direction = recording.direction
    return _Selection(
        keep=keep,
        trials=trials.take(keep),
        behavior={name: values[keep] for name, values in binned.items()},
        direction=None if direction is None else direction[keep],
        dropped=pd.DataFrame({"trial_id": trials.ids[bad], "reason": [reasons[k] for k in bad]}),
    )


def _bin(selected: _Selection, recording: _Recording, options: _Options, file: Path) -> Bunch:
    """Neo segments and counts of the selected trials, with everything else as a Bunch."""
    units, trials, frame = recording.units, selected.trials, options.frame
    align, bin_size, velocity = options.align, options.bin_size, options.velocity
    segments = _cut_segments(trials, units, frame, align, file)
    counts = np.asarray(spiketrains_to_counts(segments, bin_size))
    expected = (len(segments), frame.n_bins, len(units.ids))
    if counts.shape != expected:  # guards the alignment contract
        raise RuntimeError(f"Binning gave counts of shape {counts.shape}, expected {expected}.")
    binned = selected.behavior
    for name, values in binned.items():
        n_nan = int(np.any(np.isnan(values), axis=(1, 2)).sum())
        if n_nan:
            warnings.warn(
                f"{name} contains NaN samples inside the window of {n_nan} trial(s); the "
                "affected bins are NaN (nothing was interpolated).",
                UserWarning,
                stacklevel=4,
            )

    series = recording.series
    window_q = pq.Quantity([frame.w0, frame.w1], frame.units)
    return Bunch(
        spiketrains=segments,
        counts=counts,
        velocity=binned.get(velocity) if velocity is not None else None,
        behavior=binned,
        behavior_columns={name: s.columns for name, s in series.items()},
        behavior_units={name: s.unit for name, s in series.items()},
        direction=selected.direction,
        direction_reference=recording.direction_reference,
        trials=recording.trials_frame.iloc[selected.keep],
        split=trials.split,
        units=units.frame,
        unit_ids=units.ids,
        heldout=units.heldout,
        dropped_trials=selected.dropped,
        align=align,
        window=window_q,
        bin_size=bin_size.rescale(frame.units),
        behavior_lag=options.lag.rescale(frame.units),
        bin_edges=pq.Quantity(frame.edges, frame.units),
        DESCR=(
            f"{len(segments)} trials of {len(units.ids)} units from {file.name}, aligned "
            f"to {align}, window {window_q}, {frame.n_bins} bins of "
            f"{bin_size.rescale(frame.units)}."
        ),
    )


_ON_INVALID = [StrOptions({"raise", "drop"})]


@validate_params(
    {
        "path": "no_validation",  # checked by _check_file, which names what is wrong
        "align": [str],
        "window": "no_validation",  # checked by _check_window, with clearer messages
        "bin_size": "no_validation",
        "velocity": [str, None],
        "behavior": [str, list, tuple],
        "behavior_lag": "no_validation",
        "split": [str, list, tuple, None],
        "bounds": [StrOptions({"trial", "recording"})],
        "on_invalid": _ON_INVALID,
        "unit_order": [StrOptions({"file", "heldin_first"})],
    },
    prefer_skip_nested_validation=True,
)
def load_nwb_trials(
    path,
    *,
    align="move_onset_time",
    window=(-250, 450) * pq.ms,
    bin_size=5 * pq.ms,
    velocity="hand_vel",
    behavior=(),
    behavior_lag=0 * pq.ms,
    split=None,
    bounds="trial",
    on_invalid="raise",
    unit_order="file",
):
    """Cut aligned trials of spikes and binned behaviour from a local NWB file.

    Spike times come from the Units table (``spike_times``), alignment events and trial
    bounds from the trials table, behaviour from ``TimeSeries`` found by name in
    ``processing/`` or ``acquisition/`` (e.g. ``processing['behavior']['hand_vel']``).
    Needs the optional ``pynwb`` (``pip install 'ldns-sklearn[nwb]'``). Nothing is
    downloaded.

    Parameters
    ----------
    path : str or pathlib.Path
        Local ``.nwb`` file.
    align : str, default="move_onset_time"
        Trials-table column holding the alignment event (seconds).
    window : Quantity of shape (2,), default=(-250, 450) * pq.ms
        Trial window ``[start, stop)`` relative to the alignment event; a whole number of
        bins.
    bin_size : Quantity, default=5 * pq.ms
        Bin width of ``counts`` and of the binned behaviour.
    velocity : str or None, default="hand_vel"
        TimeSeries returned as ``velocity``; ``None`` loads spikes only.
    behavior : sequence of str, default=()
        Further TimeSeries to bin (e.g. ``("hand_pos",)``); all binned series, velocity
        included, are in ``behavior``.
    behavior_lag : Quantity, default=0 * pq.ms
        Behaviour is taken from ``window + behavior_lag`` (NLB lags MC_Maze velocity by
        80 ms so that it follows the neural activity that drives it).
    split : str or sequence of str, optional
        Keep only trials whose ``split`` column is one of these (e.g. ``("train", "val")``).
    bounds : {"trial", "recording"}, default="trial"
        ``"trial"``: the window must lie inside the trial's ``[start_time, stop_time]``.
        ``"recording"``: it only has to lie inside the units' ``obs_intervals`` (as the
        NLB tools do). The ``obs_intervals`` are checked in both cases when present.
    on_invalid : {"raise", "drop"}, default="raise"
        What to do with trials that cannot be cut (NaN alignment time, window outside the
        bounds, behaviour without samples): raise a ``ValueError`` naming them, or drop
        them and list them in ``dropped_trials``.
    unit_order : {"file", "heldin_first"}, default="file"
        Order of the units: as in the file, or held-in units first then held-out ones
        (the order of the NLB tensors; needs a ``heldout`` column).

    Returns
    -------
    data : sklearn.utils.Bunch
        - ``spiketrains``: list of ``neo.Segment``, one per trial, each with one
          ``neo.SpikeTrain`` per unit. Times are relative to the alignment event, so all
          trials share ``t_start = window[0]`` and ``t_stop = window[1]``; absolute times
          are kept in the segment annotations ``align_time``, ``start_time``,
          ``stop_time`` (seconds, file clock), with ``trial_id`` and ``split``.
        - ``counts``: int array ``(n_trials, n_bins, n_units)``, the spike trains binned by
          :class:`~ldns_sklearn.preprocessing.SpikeTrainBinner`. Bin ``k`` covers
          ``[window[0] + k * bin_size, window[0] + (k + 1) * bin_size)`` relative to the
          event, so a spike exactly at the event lands in bin ``-window[0] / bin_size``
          (bin 50 for the defaults).
        - ``velocity``: float array ``(n_trials, n_bins, n_columns)`` (``(…, 2)`` for
          ``hand_vel``): the mean of the samples inside each bin (5 samples per 5 ms bin
          at 1 kHz). Samples are averaged as stored (``behavior_units`` gives the unit);
          NaN samples make their bin NaN, with a warning. ``None`` if ``velocity=None``.
        - ``behavior``: dict name → binned array, for every loaded TimeSeries.
        - ``behavior_columns``, ``behavior_units``: dicts of column names (from NLB's
          ``comments="columns=[x,y]"``) and units per series.
        - ``direction``: float array ``(n_trials,)``, reach angle in radians
          (``arctan2(dy, dx)``) from the hand position at the alignment event (or the
          origin if there is no ``hand_pos`` series) to the active target
          (``target_pos[active_target]``); NaN where a trial has no (unambiguous) target;
          ``None`` if the trials table has no ``target_pos``. ``direction_reference``
          says which reference was used.
        - ``trials``: ``pandas.DataFrame`` of the loaded trials' rows of the trials table
          (index: trial id).
        - ``split``: array of the trials' ``split`` values, or ``None``.
        - ``units``: ``pandas.DataFrame`` of the Units table without the spike times;
          ``unit_ids``, ``heldout`` (or ``None``) in the order of the neurons axis.
        - ``dropped_trials``: ``pandas.DataFrame`` (``trial_id``, ``reason``) of the trials
          skipped with ``on_invalid="drop"``; empty otherwise.
        - ``align``, ``window``, ``bin_size``, ``behavior_lag``, ``bin_edges`` (relative,
          ``n_bins + 1``), ``DESCR``.

    Raises
    ------
    ImportError
        If pynwb is not installed.
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not NWB, lacks a required table, column or TimeSeries (named in
        the message), or (with ``on_invalid="raise"``) has trials that cannot be cut.

    See Also
    --------
    load_mc_maze : The paper's MC_Maze settings.

    Notes
    -----
    Bins are placed relative to each trial's own alignment time. The NLB tools instead bin
    on the file's global 5 ms clock and take the bins nearest to the window, so the two
    can differ by a fraction of a bin per trial; NLB also low-pass filters behaviour before
    downsampling, where this function averages the samples of each bin.

    Examples
    --------
    ``example_nwb`` is a tiny file in the MC_Maze layout that the test suite writes (five
    trials, four units); pass the path of your own ``.nwb`` file instead.

    >>> data = load_nwb_trials(example_nwb)
    >>> data.counts.shape, data.velocity.shape
    ((5, 140, 4), (5, 140, 2))
    >>> seg = data.spiketrains[0]
    >>> seg.spiketrains[0].t_start, seg.spiketrains[0].t_stop
    (array(-250.) * ms, array(450.) * ms)
    >>> int(data.counts[0, 50, 0])  # unit 0 fires once exactly at movement onset
    1
    """
    return _load(
        path,
        align=align,
        window=window,
        bin_size=bin_size,
        velocity=velocity,
        behavior=behavior,
        behavior_lag=behavior_lag,
        split=split,
        bounds=bounds,
        on_invalid=on_invalid,
        unit_order=unit_order,
    )


@validate_params(
    {
        "path": "no_validation",
        "split": [str, list, tuple, None],
        "n_neurons": [Interval(Integral, 1, None, closed="left"), None],
        "on_invalid": _ON_INVALID,
    },
    prefer_skip_nested_validation=True,
)
def load_mc_maze(path, *, split=("train", "val"), n_neurons=182, on_invalid="raise"):
    """Load NLB MC_Maze (DANDI 000128) from a local NWB file with the paper's settings.

    The LDNS paper (via the NLB tools) uses: trials aligned to ``move_onset_time``,
    140 bins of 5 ms from -250 ms to +450 ms, all 182 units (137 held-in then 45
    held-out), hand velocity lagged by 80 ms, trials of the ``train`` and ``val`` splits.

    Parameters
    ----------
    path : str or pathlib.Path
        Local copy of ``sub-Jenkins_ses-full_desc-train_behavior+ecephys.nwb``. This
        function never downloads; get the file with the DANDI client (``pip install
        dandi``, then ``dandi download DANDI:000128/0.220113.0400``).
        ``examples/mc_maze.py`` goes from that file to a fitted, velocity-conditioned
        model.
    split : str or sequence of str or None, default=("train", "val")
        Trial splits to load; ``None`` loads every trial.
    n_neurons : int or None, default=182
        Expected number of units, checked so that a wrong file (e.g. the *test* file, which
        has only the 137 held-in units) fails clearly; ``None`` skips the check.
    on_invalid : {"raise", "drop"}, default="raise"
        See :func:`load_nwb_trials`.

    Returns
    -------
    data : sklearn.utils.Bunch
        As :func:`load_nwb_trials`, with ``counts`` of shape ``(n_trials, 140, 182)``,
        ``velocity`` ``(n_trials, 140, 2)`` (``hand_vel``, lagged by 80 ms), also
        ``behavior["hand_pos"]``, and ``direction``.

    See Also
    --------
    load_nwb_trials : Any alignment, window or behaviour.

    Examples
    --------
    ``example_nwb`` is a tiny file in the MC_Maze layout that the test suite writes (4
    units, not 182; 4 of its 5 trials in the train and val splits); pass the path of your
    local copy instead.

    >>> data = load_mc_maze(example_nwb, n_neurons=None)
    >>> data.counts.shape, data.heldout.tolist()     # held-in units first
    ((4, 140, 4), [False, True, True, True])
    """
    return _load(
        path,
        align="move_onset_time",
        window=(-250, 450) * pq.ms,
        bin_size=5 * pq.ms,
        velocity="hand_vel",
        behavior=("hand_pos",),
        behavior_lag=80 * pq.ms,
        split=split,
        bounds="trial",
        on_invalid=on_invalid,
        unit_order="heldin_first",
        expected_n_units=n_neurons,
    )
