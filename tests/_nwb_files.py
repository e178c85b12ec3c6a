"""A tiny NWB file in the layout of NLB MC_Maze (DANDI 000128), written with pynwb.

Used by the loader tests and, through ``conftest.py``, by the loaders' doctests. It is
written with the field names of the real file, independently of the library: Units
``spike_times``, ``obs_intervals``, ``heldout``; the NLB trials columns;
``processing['behavior']`` time series at 1 kHz.
"""

from __future__ import annotations

import datetime

import numpy as np
import pynwb  # the [nwb] extra is part of the [test] extra

N_HELDIN, N_HELDOUT = 137, 45
# Movement onsets on the 1 ms clock (as in the NLB files) but not on the 5 ms one, plus a
# non-dyadic value so float round-off is exercised; trials are 1.5 s long, onset 0.7 s in.
TRIAL_STARTS = np.array([0.0, 1.6, 3.2, 4.8, 6.4])
ONSETS = TRIAL_STARTS + np.array([0.7, 0.713, 0.7, 0.701, 0.7])
SPLITS = ["train", "val", "train", "train", "none"]
DURATION = 8.0


def heldout_mask(n_units):
    # Interleaved, so that putting held-in units first is a real reordering.
    mask = np.zeros(n_units, dtype=bool)
    mask[np.linspace(1, n_units - 1, min(N_HELDOUT, n_units - 1)).astype(int)] = True
    return mask


def unit_spikes(n_units, seed=0):
    rng = np.random.default_rng(seed)
    spikes = [np.sort(rng.uniform(0, DURATION, rng.integers(5, 30))) for _ in range(n_units)]
    spikes[0] = np.sort(np.concatenate([spikes[0], ONSETS]))  # exactly at movement onset
    # Unit 1 fires 0.1 ms inside and outside both window edges and both edges of bin 50.
    offsets = np.array([-0.2501, -0.2499, 0.4499, 0.4501, -0.0001, 0.0049, 0.0051])
    spikes[1] = np.sort((ONSETS[:, None] + offsets).ravel())
    return spikes


def write_maze(
    path,
    *,
    n_units=N_HELDIN + N_HELDOUT,
    onsets=ONSETS,
    stops=None,
    with_behavior=True,
    with_split=True,
    with_trials=True,
    active=None,
    repeats=1,
):
    """Write the file; ``repeats`` copies of the 5-trial session follow each other in time
    (each with other spikes), for tests that need more trials than five."""
    nwbfile = pynwb.NWBFile(
        session_description="MC_Maze layout test file",
        identifier="test-maze",
        session_start_time=datetime.datetime(2021, 1, 1, tzinfo=datetime.timezone.utc),
    )
    heldout = heldout_mask(n_units)
    nwbfile.add_unit_column("heldout", "held-out unit")
    duration = repeats * DURATION
    shifts = DURATION * np.arange(repeats)
    spikes = zip(*(unit_spikes(n_units, seed=k) for k in range(repeats)), strict=True)
    for unit, times in enumerate(spikes):
        times = np.concatenate([t + shift for t, shift in zip(times, shifts, strict=True)])
        nwbfile.add_unit(
            spike_times=times, obs_intervals=[[0.0, duration]], heldout=bool(heldout[unit])
        )
    if with_trials:
        for name in ("move_onset_time", "target_on_time", "go_cue_time"):
            nwbfile.add_trial_column(name, name)
        nwbfile.add_trial_column("trial_type", "maze condition")
        nwbfile.add_trial_column("trial_version", "maze version")
        nwbfile.add_trial_column("target_pos", "target positions", index=True)
        nwbfile.add_trial_column("active_target", "index of the reached target")
        if with_split:
            nwbfile.add_trial_column("split", "NLB split")
        stops = TRIAL_STARTS + 1.5 if stops is None else stops
        starts, stops, onsets = (
            np.concatenate([np.asarray(times) + shift for shift in shifts])
            for times in (TRIAL_STARTS, stops, onsets)
        )
        for i, (start, stop, onset) in enumerate(zip(starts, stops, onsets, strict=True)):
            i_in_session = i % len(TRIAL_STARTS)
            up = [10.0, 95.0]
            row = dict(
                start_time=start,
                stop_time=stop,
                move_onset_time=onset,
                target_on_time=start + 0.1,
                go_cue_time=start + 0.4,
                trial_type=i,
                trial_version=0,
                # Hand rests at (10, -5); the active target (index 1) is straight up from it
                # on trial 0, straight left on the others.
                target_pos=[[500.0, 500.0], up if i_in_session == 0 else [-90.0, -5.0]],
                active_target=1 if active is None else active[i_in_session],
            )
            if with_split:
                row["split"] = SPLITS[i_in_session]
            nwbfile.add_trial(**row)
    if with_behavior:
        module = nwbfile.create_processing_module("behavior", "hand kinematics")
        n = int(duration * 1000)
        sample = np.arange(n, dtype=np.float64)
        velocity = np.stack([sample, -2.0 * sample], axis=1)  # value = sample index
        position = np.tile([10.0, -5.0], (n, 1))
        for name, data, unit in (("hand_vel", velocity, "mm/s"), ("hand_pos", position, "mm")):
            module.add(
                pynwb.TimeSeries(
                    name=name,
                    data=data,
                    unit=unit,
                    rate=1000.0,
                    starting_time=0.0,
                    comments="columns=[x,y]",
                    description=name,
                )
            )
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)
    return path
