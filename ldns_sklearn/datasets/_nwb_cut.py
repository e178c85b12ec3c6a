"""Cutting read recordings into trials: the window around each trial's alignment, which
trials are usable, and the spike trains and behaviour of each."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import neo
import numpy as np
import quantities as pq

from .._neo.reading import check_time_quantity
from .._neo.trains import trains_of_trial
from ._nwb_read import Series, TrialTable, Units, _column, _ragged

# Times are compared in seconds; 1 ns absorbs float round-off of ``align + offset`` without
# ever moving a real sample or spike across a bin edge (samples are >= 1 ms apart).
_TOL_S = 1e-9


_MAX_LISTED = 5


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


def _bin_series(series: Series, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the samples inside each bin ``[edges[k], edges[k+1])``, per trial.

    ``edges`` is ``(n_trials, n_bins + 1)`` in absolute seconds. Returns the binned values
    ``(n_trials, n_bins, n_columns)`` and a mask of trials with an empty bin.
    """
    positions = np.searchsorted(series.times, edges - _TOL_S, side="left")
    n_samples = np.diff(positions, axis=1)
    empty = np.any(n_samples == 0, axis=1)
    n_trials, n_bins = n_samples.shape
    binned = np.full((n_trials, n_bins, series.data.shape[1]), np.nan)
    for i in np.flatnonzero(~empty):
        first, last = positions[i, 0], positions[i, -1]
        sums = np.add.reduceat(series.data[first:last], positions[i, :-1] - first, axis=0)
        binned[i] = sums / n_samples[i][:, None]
    return binned, empty


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
    if hand_pos is not None and hand_pos.data.shape[1] >= 2:
        index = np.searchsorted(hand_pos.times, align_times - _TOL_S)
        index = np.clip(index, 0, len(hand_pos.times) - 1)
        start = hand_pos.data[index, :2]
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


def _unusable_trials(
    trials: TrialTable, units: Units, frame: _Frame, align: str, bounds: str
) -> dict[int, str]:
    """Why each trial (by position) cannot be cut, if it cannot."""
    reasons: dict[int, str] = {}
    a = trials.align
    finite = np.isfinite(a)
    for k in np.flatnonzero(~finite):
        reasons[k] = f"{align} is NaN"
    lo, hi = a + frame.w0 * frame.to_seconds, a + frame.w1 * frame.to_seconds
    if bounds == "trial":
        outside = (lo < trials.start - _TOL_S) | (hi > trials.stop + _TOL_S)
        for k in np.flatnonzero(outside & finite):
            reasons.setdefault(
                k,
                f"window [{lo[k]:.4f}, {hi[k]:.4f}) s is not inside the trial "
                f"[{trials.start[k]:.4f}, {trials.stop[k]:.4f}] s",
            )
    for unit, intervals in enumerate(units.obs or []):
        if intervals.size == 0:
            continue
        sort = np.argsort(intervals[:, 0])
        starts, ends = intervals[sort, 0], intervals[sort, 1]
        j = np.searchsorted(starts, lo + _TOL_S, side="right") - 1
        inside = (j >= 0) & (ends[np.clip(j, 0, None)] >= hi - _TOL_S)
        for k in np.flatnonzero(~inside & finite):
            reasons.setdefault(k, f"window is outside the obs_intervals of unit index {unit}")
    return reasons


def _cut_segments(
    trials: TrialTable, units: Units, frame: _Frame, align: str, file: Path
) -> list[neo.Segment]:
    """One Segment per trial, spike times relative to the alignment event."""
    a = trials.align
    candidates = []
    for times in units.spike_times:
        if np.any(np.diff(times) < 0):
            times = np.sort(times)  # NWB does not promise sorted spike times
        first = np.searchsorted(times, a + frame.w0 * frame.to_seconds - _TOL_S, side="left")
        last = np.searchsorted(times, a + frame.w1 * frame.to_seconds + _TOL_S, side="right")
        candidates.append((times, first, last))
    annotations = [
        {"unit_id": int(uid), **saved}
        for uid, saved in zip(units.ids, units.annotations, strict=True)
    ]
    names = units.names or [f"unit {uid}" for uid in units.ids]
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
            name=f"trial {trials.ids[k]}",
            index=k,
            trial_id=int(trials.ids[k]),
            align=align,
            align_time=pq.Quantity(a[k], pq.s),
            start_time=pq.Quantity(trials.start[k], pq.s),
            stop_time=pq.Quantity(trials.stop[k], pq.s),
            file=str(file),
        )
        if trials.split is not None:
            segment.annotate(split=str(trials.split[k]))
        segment.spiketrains.extend(trains_of_trial(
            np.concatenate(pieces), [len(p) for p in pieces], *bounds, names, annotations
        ))
        segments.append(segment)
    return segments
