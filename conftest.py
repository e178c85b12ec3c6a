"""Test-session settings and fixtures shared by the test suite and the doctests."""

import os

import pytest
import torch

# pytest-xdist runs one worker per core; torch's own intra-op threads on top of that
# oversubscribe the CPU and slow every worker many times over.
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)


# --------------------------------------------------------------------------------------------
# Slow learning-quality tests: skipped by a plain local run, run by CI (README's command)
# --------------------------------------------------------------------------------------------


def pytest_addoption(parser):
    parser.addoption(
        "--run-slow",
        action="store_true",
        help="also run the tests marked slow (learning quality; CI runs them)",
    )


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow learning-quality test: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


# --------------------------------------------------------------------------------------------
# Doctest fixtures: files the examples of the loaders read (the library writes no test data)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def example_nwb(tmp_path_factory):
    """Path of a tiny NWB file in the MC_Maze layout (see :func:`write_example_nwb`)."""
    return write_example_nwb(tmp_path_factory.mktemp("nwb") / "maze.nwb")


@pytest.fixture(autouse=True)
def _doctest_files(request, doctest_namespace):
    # Only the NWB loaders' doctests need the file; writing it costs pynwb's import.
    if request.node.name.startswith("ldns_sklearn.datasets._nwb."):
        doctest_namespace["example_nwb"] = request.getfixturevalue("example_nwb")


def write_example_nwb(path, *, n_trials=3):
    """Write a tiny file in the MC_Maze layout (for the doctests; not a real recording).

    Four units (the last held out), ``n_trials`` 2-s trials with movement onset 1 s after
    the trial start, hand position/velocity at 1 kHz, the first trial in the ``val``
    split and the others in ``train``. Unit 0 fires exactly at every movement onset.
    """
    import datetime

    import numpy as np
    import pynwb

    rng = np.random.default_rng(0)
    nwbfile = pynwb.NWBFile(
        session_description="tiny MC_Maze-layout example",
        identifier="ldns-sklearn-example",
        session_start_time=datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc),
    )
    duration = 2.0 * n_trials
    onsets = 1.0 + 2.0 * np.arange(n_trials)
    nwbfile.add_unit_column("heldout", "whether the unit is held out (NLB)")
    for unit in range(4):
        times = np.sort(rng.uniform(0, duration, 40))
        if unit == 0:
            times = np.sort(np.concatenate([times, onsets]))
        nwbfile.add_unit(
            spike_times=times, obs_intervals=[[0.0, duration]], heldout=bool(unit == 3)
        )
    for name in ("move_onset_time", "target_on_time", "go_cue_time"):
        nwbfile.add_trial_column(name, name)
    nwbfile.add_trial_column("target_pos", "target positions (x, y)", index=True)
    nwbfile.add_trial_column("active_target", "index of the reached target")
    nwbfile.add_trial_column("split", "NLB split")
    for i, onset in enumerate(onsets):
        nwbfile.add_trial(
            start_time=2.0 * i,
            stop_time=2.0 * i + 2.0,
            move_onset_time=onset,
            target_on_time=onset - 0.6,
            go_cue_time=onset - 0.3,
            target_pos=[[100.0, 0.0], [0.0, 100.0]],
            active_target=i % 2,
            split="val" if i == 0 else "train",
        )
    behavior = nwbfile.create_processing_module("behavior", "hand kinematics")
    t = np.arange(int(duration * 1000)) / 1000.0
    position = np.stack([np.cos(t), np.sin(t)], axis=1)
    for name, data in (("hand_pos", position), ("hand_vel", np.gradient(position, t, axis=0))):
        behavior.add(
            pynwb.TimeSeries(
                name=name,
                data=data,
                unit="mm" if name == "hand_pos" else "mm/s",
                rate=1000.0,
                starting_time=0.0,
                comments="columns=[x,y]",
                description=name,
            )
        )
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)
    return path
