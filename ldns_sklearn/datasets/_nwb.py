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
from pathlib import Path

import neo
import numpy as np
import quantities as pq
from sklearn.utils import Bunch

from .._neo.binning import spiketrains_to_counts
from .._neo.reading import check_time_quantity
from .._validation import check_count

__all__ = ["load_mc_maze", "load_nwb_trials"]

_INSTALL_HINT = "pip install 'ldns-sklearn[nwb]'"
_NO_DOWNLOAD = (
    "ldns_sklearn never downloads data; fetch the file yourself (for MC_Maze: "
    "`dandi download DANDI:000128`) and pass its local path."
)
# Times are compared in seconds; 1 ns absorbs float round-off of ``align + offset`` without
# ever moving a real sample or spike across a bin edge (samples are >= 1 ms apart).
_TOL_S = 1e-9
_MAX_LISTED = 5


def _import_pynwb():
    try:
        import pynwb
    except ImportError as exc:
        raise ImportError(
            f"Reading NWB files needs pynwb, an optional dependency: {_INSTALL_HINT}"
        ) from exc
    return pynwb


def _check_window(window, bin_size) -> tuple[pq.Quantity, pq.Quantity, int]:
    """Validate the window and bin size; return them and the number of bins."""
    if not isinstance(window, pq.Quantity) or window.size != 2:
        raise TypeError(
            "window must be a time quantity of two values (start, stop), such as "
            f"(-250, 450) * pq.ms, got {window!r}."
        )
    start = check_time_quantity(window.ravel()[0], "window[0]")
    stop = check_time_quantity(window.ravel()[1], "window[1]").rescale(start.units)
    bin_size = check_time_quantity(bin_size, "bin_size", positive=True)
    if stop <= start:
        raise ValueError(f"window must be (start, stop) with start < stop, got {window}.")
    n_bins = float((stop - start) / bin_size.rescale(start.units))
    if abs(n_bins - round(n_bins)) > 1e-6:
        raise ValueError(
            f"window {window} is not a whole number of bins of {bin_size} ({n_bins:.4g} bins)."
        )
    return pq.Quantity([start.item(), stop.item()], start.units), bin_size, round(n_bins)


def _check_file(path) -> Path:
    if not isinstance(path, (str, Path)):
        raise TypeError(f"path must be a str or pathlib.Path, got {type(path).__name__}.")
    file = Path(path).expanduser()
    if not file.exists():
        raise FileNotFoundError(f"No NWB file at {str(file)!r}. {_NO_DOWNLOAD}")
    if file.is_dir():
        raise ValueError(
            f"{str(file)!r} is a directory; pass the .nwb file itself (for DANDI 000128: "
            "sub-Jenkins/sub-Jenkins_ses-full_desc-train_behavior+ecephys.nwb)."
        )
    return file


def _ragged(table, name: str) -> list[np.ndarray]:
    """Rows of a (possibly ragged) DynamicTable column as a list of arrays, read in bulk."""
    column = table[name]
    if hasattr(column, "target"):  # a VectorIndex: flat data plus row ends
        flat = np.asarray(column.target.data[:])
        ends = np.asarray(column.data[:], dtype=np.int64)
        starts = np.concatenate([[0], ends[:-1]])
        return [flat[s:e] for s, e in zip(starts, ends, strict=True)]
    return list(np.asarray(column.data[:]))


def _column(table, name: str, where: str) -> np.ndarray:
    if name not in table.colnames and name not in ("start_time", "stop_time", "id"):
        raise ValueError(
            f"The {where} table has no column {name!r} (it has {list(table.colnames)})."
        )
    data = np.asarray(table[name].data[:])
    if data.dtype.kind in "SO":  # NWB text columns may come back as bytes
        data = np.array([v.decode() if isinstance(v, bytes) else v for v in data])
    return data


def _find_timeseries(nwbfile, name: str):
    """The TimeSeries called ``name`` in ``processing/*`` (also inside containers such as
    ``Position``) or ``acquisition``, as NLB's ``find_timeseries`` searches."""
    pynwb = _import_pynwb()

    def search(container):
        for child in container.children:
            if isinstance(child, pynwb.TimeSeries) and child.name == name:
                return child
            if not isinstance(child, pynwb.TimeSeries) and hasattr(child, "children"):
                found = search(child)
                if found is not None:
                    return found
        return None

    for module in nwbfile.processing.values():
        found = search(module)
        if found is not None:
            return found
    for child in nwbfile.acquisition.values():
        if isinstance(child, pynwb.TimeSeries) and child.name == name:
            return child
        if hasattr(child, "children"):
            found = search(child)
            if found is not None:
                return found
    return None


def _read_timeseries(nwbfile, name: str) -> dict:
    series = _find_timeseries(nwbfile, name)
    if series is None:
        raise ValueError(
            f"The file has no TimeSeries named {name!r} in processing/ or acquisition/ "
            "(MC_Maze files keep hand_vel and hand_pos in processing['behavior']). "
            "Pass velocity=None to load spikes without behaviour."
        )
    data = np.asarray(series.data[:], dtype=np.float64)
    if data.ndim == 1:
        data = data[:, None]
    if series.timestamps is not None:
        times = np.asarray(series.timestamps[:], dtype=np.float64)
    else:
        times = series.starting_time + np.arange(data.shape[0]) / series.rate
    comments = series.comments or ""
    columns = None
    if "columns=" in comments:  # NLB convention, e.g. comments="columns=[x,y]"
        columns = comments.split("[")[-1].split("]")[0].split(",")
    return {"data": data, "times": times, "unit": series.unit, "columns": columns}


def _bin_series(series: dict, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the samples inside each bin ``[edges[k], edges[k+1])``, per trial.

    ``edges`` is ``(n_trials, n_bins + 1)`` in absolute seconds. Returns the binned values
    ``(n_trials, n_bins, n_columns)`` and a mask of trials with an empty bin.
    """
    positions = np.searchsorted(series["times"], edges - _TOL_S, side="left")
    n_samples = np.diff(positions, axis=1)
    empty = np.any(n_samples == 0, axis=1)
    n_trials, n_bins = n_samples.shape
    binned = np.full((n_trials, n_bins, series["data"].shape[1]), np.nan)
    for i in np.flatnonzero(~empty):
        first, last = positions[i, 0], positions[i, -1]
        sums = np.add.reduceat(series["data"][first:last], positions[i, :-1] - first, axis=0)
        binned[i] = sums / n_samples[i][:, None]
    return binned, empty


def _trains_of_trial(pieces, window, names, annotations) -> list[neo.SpikeTrain]:
    """One SpikeTrain per unit on ``window = (t_start, t_stop)`` (two scalar quantities),
    built as slices of one trial-wide train.

    Neo's constructor costs ~100 µs (its range check compares quantities) and MC_Maze has
    ~4 * 10^5 unit-trials; a slice costs ~10 µs. Slices are ordinary SpikeTrains; each gets
    its own annotations and bounds so that editing one train leaves the others alone.
    """
    t_start, t_stop = window
    whole = neo.SpikeTrain(
        np.concatenate(pieces), units=t_start.units, t_start=t_start, t_stop=t_stop
    )
    edges = np.concatenate([[0], np.cumsum([len(p) for p in pieces])]).tolist()
    trains = []
    for unit, name in enumerate(names):
        train = whole[edges[unit] : edges[unit + 1]]
        train.name = name
        train.annotations = dict(annotations[unit])
        train.t_start = t_start.copy()
        train.t_stop = t_stop.copy()
        trains.append(train)
    return trains


def _invalid_message(ids, reasons) -> str:
    pairs = list(zip(ids, reasons, strict=True))[:_MAX_LISTED]
    listed = "; ".join(f"trial {i}: {r}" for i, r in pairs)
    more = f" (and {len(ids) - _MAX_LISTED} more)" if len(ids) > _MAX_LISTED else ""
    return f"{len(ids)} trial(s) cannot be cut: {listed}{more}."


def _direction(trials_table, rows, hand_pos, align_times) -> tuple[np.ndarray | None, str | None]:
    """Reach angle (radians) from the hand at the alignment event to the active target."""
    if "target_pos" not in trials_table.colnames:
        return None, None
    targets = [np.asarray(t, dtype=np.float64) for t in _ragged(trials_table, "target_pos")]
    active = (
        _column(trials_table, "active_target", "trials")
        if "active_target" in trials_table.colnames
        else None
    )
    start = np.zeros((len(rows), 2))
    reference = "origin"
    if hand_pos is not None and hand_pos["data"].shape[1] >= 2:
        index = np.searchsorted(hand_pos["times"], align_times - _TOL_S)
        index = np.clip(index, 0, len(hand_pos["times"]) - 1)
        start = hand_pos["data"][index, :2]
        reference = "hand_pos at the alignment event"
    direction = np.full(len(rows), np.nan)
    for k, row in enumerate(rows):
        target = np.atleast_2d(targets[row])  # (n_targets, 2); a fixed column gives (1, 2)
        if target.shape[0] == 0 or target.shape[1] < 2:
            continue  # no target on this trial: direction stays NaN
        if active is not None:
            if not np.isfinite(active[row]) or not 0 <= active[row] < target.shape[0]:
                continue  # no (valid) active target recorded: NaN
            pick = int(active[row])
        elif target.shape[0] == 1:
            pick = 0
        else:
            continue  # several targets and no active_target column: ambiguous, NaN
        delta = target[pick, :2] - start[k]
        direction[k] = np.arctan2(delta[1], delta[0])
    return direction, reference


@dataclass(frozen=True)
class _Frame:
    """The trial window in the trains' units, with the conversions to and from seconds."""

    units: pq.Quantity
    w0: float
    w1: float
    step: float
    lag: float
    n_bins: int

    @property
    def to_seconds(self) -> float:
        return float(pq.Quantity(1.0, self.units).rescale(pq.s).magnitude)

    @property
    def per_second(self) -> float:
        return float(pq.Quantity(1.0, pq.s).rescale(self.units).magnitude)

    @property
    def edges(self) -> np.ndarray:
        return self.w0 + self.step * np.arange(self.n_bins + 1)


# The Units column holding each unit's name, and the description that marks a column as
# an annotation of the unit's spike trains (written by save_nwb_trials; read back onto the
# trains by load_nwb_trials).
UNIT_NAME_COLUMN = "unit_name"
ANNOTATION_DESCRIPTION = "Neo annotation of the unit's spike trains"


def _unit_identities(table, order) -> tuple[list[str] | None, list[dict]]:
    """Names (None without a name column) and annotation columns of the units, in
    ``order``."""
    names = None
    if UNIT_NAME_COLUMN in table.colnames:
        names = [str(name) for name in _column(table, UNIT_NAME_COLUMN, "Units")[order]]
    annotated = [
        name for name in table.colnames
        if getattr(table[name], "description", None) == ANNOTATION_DESCRIPTION
    ]
    values = {name: _column(table, name, "Units")[order] for name in annotated}
    annotations = [
        {name: values[name][u].item() for name in annotated} for u in range(len(order))
    ]
    if "generated" in table.colnames:  # as save_nwb_trials marks a model's trains
        for saved, generated in zip(annotations, _column(table, "generated", "Units")[order],
                                    strict=True):
            if generated:
                saved["generated"] = True
    return names, annotations


def _read_units(nwbfile, file: Path, unit_order: str, expected_n_units) -> dict:
    if nwbfile.units is None:
        raise ValueError(f"{file.name} has no Units table (nwbfile.units); no spikes to load.")
    table = nwbfile.units
    if "spike_times" not in table.colnames:
        raise ValueError(f"The Units table of {file.name} has no 'spike_times' column.")
    spike_times = [np.asarray(t, dtype=np.float64) for t in _ragged(table, "spike_times")]
    obs = None
    if "obs_intervals" in table.colnames:
        obs = [
            np.asarray(o, dtype=np.float64).reshape(-1, 2) for o in _ragged(table, "obs_intervals")
        ]
    heldout = (
        _column(table, "heldout", "Units").astype(bool) if "heldout" in table.colnames else None
    )
    n_units = len(spike_times)
    if expected_n_units is not None and n_units != expected_n_units:
        raise ValueError(
            f"{file.name} has {n_units} units; MC_Maze (DANDI 000128, the *train* file) "
            f"has {expected_n_units} (137 held-in + 45 held-out). Pass n_neurons=None to "
            "load another number of units."
        )
    if unit_order == "heldin_first":
        if heldout is None:
            raise ValueError(
                "unit_order='heldin_first' needs a 'heldout' column in the Units table, "
                f"which {file.name} does not have."
            )
        order = np.argsort(heldout, kind="stable")  # held-in (False) first, as NLB does
    else:
        order = np.arange(n_units)
    exclude = {"spike_times", "obs_intervals"} & set(table.colnames)
    names, annotations = _unit_identities(table, order)
    return {
        "names": names,
        "annotations": annotations,
        "spike_times": [spike_times[u] for u in order],
        "obs": obs,
        "heldout": None if heldout is None else heldout[order],
        "ids": np.asarray(table.id.data[:])[order],
        "frame": table.to_dataframe(exclude=exclude, index=True).iloc[order],
    }


def _read_trials(nwbfile, file: Path, align: str, split) -> dict:
    if nwbfile.trials is None:
        raise ValueError(f"{file.name} has no trials table (nwbfile.trials).")
    table = nwbfile.trials
    align_all = _column(table, align, "trials").astype(np.float64)
    split_all = _column(table, "split", "trials") if "split" in table.colnames else None
    rows = np.arange(len(align_all))
    if split is not None:
        if split_all is None:
            raise ValueError(
                f"split={split!r} was given but the trials table of {file.name} has no "
                "'split' column."
            )
        rows = rows[np.isin(split_all, list(split))]
        if rows.size == 0:
            raise ValueError(
                f"No trial of {file.name} has split in {list(split)}; the file has "
                f"{sorted(set(split_all.tolist()))}."
            )
    return {
        "rows": rows,
        "align": align_all[rows],
        "start": _column(table, "start_time", "trials").astype(np.float64)[rows],
        "stop": _column(table, "stop_time", "trials").astype(np.float64)[rows],
        "ids": np.asarray(table.id.data[:])[rows],
        "split": None if split_all is None else split_all[rows].astype(str),
    }


def _unusable_trials(trials, units, frame: _Frame, align: str, bounds: str) -> dict[int, str]:
    """Why each trial (by position) cannot be cut, if it cannot."""
    reasons: dict[int, str] = {}
    a = trials["align"]
    finite = np.isfinite(a)
    for k in np.flatnonzero(~finite):
        reasons[k] = f"{align} is NaN"
    lo, hi = a + frame.w0 * frame.to_seconds, a + frame.w1 * frame.to_seconds
    if bounds == "trial":
        outside = (lo < trials["start"] - _TOL_S) | (hi > trials["stop"] + _TOL_S)
        for k in np.flatnonzero(outside & finite):
            reasons.setdefault(
                k,
                f"window [{lo[k]:.4f}, {hi[k]:.4f}) s is not inside the trial "
                f"[{trials['start'][k]:.4f}, {trials['stop'][k]:.4f}] s",
            )
    for unit, intervals in enumerate(units["obs"] or []):
        if intervals.size == 0:
            continue
        sort = np.argsort(intervals[:, 0])
        starts, ends = intervals[sort, 0], intervals[sort, 1]
        j = np.searchsorted(starts, lo + _TOL_S, side="right") - 1
        inside = (j >= 0) & (ends[np.clip(j, 0, None)] >= hi - _TOL_S)
        for k in np.flatnonzero(~inside & finite):
            reasons.setdefault(k, f"window is outside the obs_intervals of unit index {unit}")
    return reasons


def _cut_segments(trials, units, frame: _Frame, align: str, file: Path) -> list[neo.Segment]:
    """One Segment per trial, spike times relative to the alignment event."""
    a = trials["align"]
    candidates = []
    for times in units["spike_times"]:
        if np.any(np.diff(times) < 0):
            times = np.sort(times)  # NWB does not promise sorted spike times
        first = np.searchsorted(times, a + frame.w0 * frame.to_seconds - _TOL_S, side="left")
        last = np.searchsorted(times, a + frame.w1 * frame.to_seconds + _TOL_S, side="right")
        candidates.append((times, first, last))
    annotations = [
        {"unit_id": int(uid), **saved}
        for uid, saved in zip(units["ids"], units["annotations"], strict=True)
    ]
    names = units["names"] or [f"unit {uid}" for uid in units["ids"]]
    bounds = (pq.Quantity(frame.w0, frame.units), pq.Quantity(frame.w1, frame.units))
    per_second = frame.per_second
    segments = []
    for k in range(len(a)):
        pieces = []
        for times, first, last in candidates:
            # Relative times are rounded to 1 ns before the window test so that a spike
            # lying exactly on a window edge (e.g. both on the 1 ms clock) is judged by its
            # true value, not by the round-off of ``spike - align``; the test is done in
            # the trains' own units, so no spike falls outside [t_start, t_stop).
            rel = np.round(times[first[k] : last[k]] - a[k], 9) * per_second
            pieces.append(rel[(rel >= frame.w0) & (rel < frame.w1)])
        segment = neo.Segment(
            name=f"trial {trials['ids'][k]}",
            index=k,
            trial_id=int(trials["ids"][k]),
            align=align,
            align_time=pq.Quantity(a[k], pq.s),
            start_time=pq.Quantity(trials["start"][k], pq.s),
            stop_time=pq.Quantity(trials["stop"][k], pq.s),
            file=str(file),
        )
        if trials["split"] is not None:
            segment.annotate(split=str(trials["split"][k]))
        segment.spiketrains.extend(_trains_of_trial(pieces, bounds, names, annotations))
        segments.append(segment)
    return segments


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
) -> dict:
    """Validated loader options, with the window as a :class:`_Frame`."""
    if not isinstance(align, str):
        raise TypeError(f"align must be a trials-table column name, got {type(align).__name__}.")
    if bounds not in ("trial", "recording"):
        raise ValueError(f"bounds must be 'trial' or 'recording', got {bounds!r}.")
    if on_invalid not in ("raise", "drop"):
        raise ValueError(f"on_invalid must be 'raise' or 'drop', got {on_invalid!r}.")
    if unit_order not in ("file", "heldin_first"):
        raise ValueError(f"unit_order must be 'file' or 'heldin_first', got {unit_order!r}.")
    if velocity is not None and not isinstance(velocity, str):
        raise TypeError(f"velocity must be a TimeSeries name or None, got {velocity!r}.")
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
    return {
        "align": align,
        "split": (split,) if isinstance(split, str) else split,
        "bounds": bounds,
        "on_invalid": on_invalid,
        "unit_order": unit_order,
        "velocity": velocity,
        "series_names": names + [b for b in behavior if b not in names],
        "bin_size": bin_size,
        "lag": lag,
        "frame": frame,
    }


def _read(file: Path, options: dict, expected_n_units) -> dict:
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
        units = _read_units(nwbfile, file, options["unit_order"], expected_n_units)
        trials = _read_trials(nwbfile, file, options["align"], options["split"])
        series = {name: _read_timeseries(nwbfile, name) for name in options["series_names"]}
        hand_pos = series.get("hand_pos")
        if hand_pos is None and "target_pos" in nwbfile.trials.colnames:
            if _find_timeseries(nwbfile, "hand_pos") is not None:
                hand_pos = _read_timeseries(nwbfile, "hand_pos")
        direction, reference = _direction(
            nwbfile.trials, trials["rows"], hand_pos, trials["align"]
        )
        trials_frame = nwbfile.trials.to_dataframe(index=True).iloc[trials["rows"]]
    return {
        "units": units,
        "trials": trials,
        "series": series,
        "direction": direction,
        "direction_reference": reference,
        "trials_frame": trials_frame,
    }


def _select(recording: dict, options: dict) -> dict:
    """The trials that can be cut (or an error naming those that cannot), and their
    binned behaviour; trials without behaviour samples in some bin cannot be cut."""
    import pandas as pd  # a dependency of pynwb

    trials, frame = recording["trials"], options["frame"]
    reasons = _unusable_trials(
        trials, recording["units"], frame, options["align"], options["bounds"]
    )
    a = trials["align"]
    binned = {}
    for name, values in recording["series"].items():
        edges = a[:, None] + (frame.edges[None, :] + frame.lag) * frame.to_seconds
        binned[name], empty = _bin_series(values, np.where(np.isfinite(edges), edges, 0.0))
        for k in np.flatnonzero(empty & np.isfinite(a)):
            reasons.setdefault(k, f"{name} has no samples in some bins of the window")

    bad = np.array(sorted(reasons), dtype=np.int64)
    message = _invalid_message(trials["ids"][bad], [reasons[k] for k in bad]) if bad.size else ""
    if bad.size and options["on_invalid"] == "raise":
        raise ValueError(
            message + " Pass on_invalid='drop' to skip them (they are then listed in "
            "`dropped_trials`)."
        )
    keep = np.setdiff1d(np.arange(a.size), bad)
    if keep.size == 0:
        raise ValueError(message + " No trial is left to load.")
    direction = recording["direction"]
    return {
        "keep": keep,
        "trials": {key: None if v is None else v[keep] for key, v in trials.items()},
        "behavior": {name: values[keep] for name, values in binned.items()},
        "direction": None if direction is None else direction[keep],
        "dropped": pd.DataFrame(
            {"trial_id": trials["ids"][bad], "reason": [reasons[k] for k in bad]}
        ),
    }


def _bin(selected: dict, recording: dict, options: dict, file: Path) -> Bunch:
    """Neo segments and counts of the selected trials, with everything else as a Bunch."""
    units, trials, frame = recording["units"], selected["trials"], options["frame"]
    align, bin_size, velocity = options["align"], options["bin_size"], options["velocity"]
    segments = _cut_segments(trials, units, frame, align, file)
    counts = np.asarray(spiketrains_to_counts(segments, bin_size))
    expected = (len(segments), frame.n_bins, len(units["ids"]))
    if counts.shape != expected:  # guards the alignment contract
        raise RuntimeError(f"Binning gave counts of shape {counts.shape}, expected {expected}.")
    binned = selected["behavior"]
    for name, values in binned.items():
        n_nan = int(np.any(np.isnan(values), axis=(1, 2)).sum())
        if n_nan:
            warnings.warn(
                f"{name} contains NaN samples inside the window of {n_nan} trial(s); the "
                "affected bins are NaN (nothing was interpolated).",
                UserWarning,
                stacklevel=4,
            )

    series = recording["series"]
    window_q = pq.Quantity([frame.w0, frame.w1], frame.units)
    return Bunch(
        spiketrains=segments,
        counts=counts,
        velocity=binned.get(velocity) if velocity is not None else None,
        behavior=binned,
        behavior_columns={name: s["columns"] for name, s in series.items()},
        behavior_units={name: s["unit"] for name, s in series.items()},
        direction=selected["direction"],
        direction_reference=recording["direction_reference"],
        trials=recording["trials_frame"].iloc[selected["keep"]],
        split=trials["split"],
        units=units["frame"],
        unit_ids=units["ids"],
        heldout=units["heldout"],
        dropped_trials=selected["dropped"],
        align=align,
        window=window_q,
        bin_size=bin_size.rescale(frame.units),
        behavior_lag=options["lag"].rescale(frame.units),
        bin_edges=pq.Quantity(frame.edges, frame.units),
        DESCR=(
            f"{len(segments)} trials of {len(units['ids'])} units from {file.name}, aligned "
            f"to {align}, window {window_q}, {frame.n_bins} bins of "
            f"{bin_size.rescale(frame.units)}."
        ),
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
    if n_neurons is not None:
        n_neurons = check_count(n_neurons, "n_neurons")
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
