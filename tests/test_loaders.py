"""Loaders for local recordings: NLB MC_Maze NWB (DANDI 000128) and speech-BCI competitionData.

The files are written by the tests, with the field names of the real files: an NWB file
built with pynwb (``_nwb_files.py``) and ``.mat`` files with the competitionData fields.
"""

from __future__ import annotations

import sys

import neo
import numpy as np
import pytest
import quantities as pq
import scipy.io
from _nwb_files import (
    N_HELDIN,
    N_HELDOUT,
    ONSETS,
    SPLITS,
    TRIAL_STARTS,
    heldout_mask,
    unit_spikes,
    write_maze,
)

from ldns_sklearn.autoencoder import S4Autoencoder
from ldns_sklearn.datasets import load_mc_maze, load_nwb_trials, load_speech_bci
from ldns_sklearn.diffusion import LatentDiffusion
from ldns_sklearn.pipeline import LDNSPipeline
from ldns_sklearn.preprocessing import SpikeTrainBinner

# --------------------------------------------------------------------------- NWB layout

@pytest.fixture(scope="module")
def maze_path(tmp_path_factory):
    return write_maze(tmp_path_factory.mktemp("maze") / "maze.nwb")


def _expected_counts(spikes, onsets, w0=-0.25, n_bins=140, width=0.005):
    """Independent count: histogram of spike - onset on the relative bin edges."""
    edges = w0 + width * np.arange(n_bins + 1)
    return np.stack(
        [np.stack([np.histogram(s - a, edges)[0] for s in spikes], axis=1) for a in onsets]
    )


def test_nwb_trials_count_bins_and_alignment(maze_path):
    data = load_nwb_trials(maze_path, split=["train", "val"])
    n_units = N_HELDIN + N_HELDOUT
    assert data.counts.shape == (4, 140, n_units)
    assert np.issubdtype(data.counts.dtype, np.integer)
    # A spike exactly at movement onset lands in bin 50 = 250 ms / 5 ms.
    assert data.counts[:, 50, 0].min() >= 1
    # Unit 1 straddles edges by 0.1 ms: first bin, last bin, bins 49/50/51, none outside.
    assert data.counts[:, 0, 1].tolist() == [1] * 4
    assert data.counts[:, 139, 1].tolist() == [1] * 4
    assert data.counts[:, 49, 1].tolist() == [1] * 4
    assert data.counts[:, 50, 1].tolist() == [1] * 4
    assert data.counts[:, 51, 1].tolist() == [1] * 4
    assert data.counts[:, :, 1].sum() == 4 * 5
    spikes = unit_spikes(n_units)
    np.testing.assert_array_equal(data.counts, _expected_counts(spikes, ONSETS[:4]))


def test_nwb_trials_are_neo_segments_in_the_event_frame(maze_path):
    data = load_nwb_trials(maze_path, split=["train", "val"])
    assert len(data.spiketrains) == 4
    for segment, onset in zip(data.spiketrains, ONSETS[:4], strict=True):
        assert isinstance(segment, neo.Segment)
        assert len(segment.spiketrains) == N_HELDIN + N_HELDOUT
        train = segment.spiketrains[0]
        assert train.t_start == -250 * pq.ms and train.t_stop == 450 * pq.ms
        assert float(segment.annotations["align_time"].rescale(pq.s)) == pytest.approx(onset)
        # The spike at onset sits at relative time 0.
        assert np.any(np.asarray(train.rescale(pq.ms)) == 0.0)
    assert [s.annotations["trial_id"] for s in data.spiketrains] == [0, 1, 2, 3]
    trains = data.spiketrains[2].spiketrains
    assert [t.annotations["unit_id"] for t in trains] == list(range(N_HELDIN + N_HELDOUT))
    assert trains[7].name == "unit 7"
    assert [s.annotations["split"] for s in data.spiketrains] == SPLITS[:4]
    # The binner reproduces counts from the returned Neo trials.
    again = SpikeTrainBinner(bin_size=5 * pq.ms).fit_transform(data.spiketrains)
    np.testing.assert_array_equal(np.asarray(again), data.counts)


def test_nwb_metadata_split_and_direction(maze_path):
    data = load_nwb_trials(maze_path, split="train")
    assert data.split.tolist() == ["train"] * 3
    assert data.trials.index.tolist() == [0, 2, 3]
    assert data.trials["trial_type"].tolist() == [0, 2, 3]
    assert data.units.shape[0] == N_HELDIN + N_HELDOUT
    assert data.dropped_trials.empty
    # From the hand at (10, -5) to the active target: up on trial 0, left on the others.
    np.testing.assert_allclose(data.direction, [np.pi / 2, np.pi, np.pi])
    assert data.direction_reference.startswith("hand_pos")
    with pytest.raises(ValueError, match="split"):
        load_nwb_trials(maze_path, split="test")


def test_direction_is_nan_without_a_valid_active_target(tmp_path):
    path = write_maze(tmp_path / "targets.nwb", n_units=2, active=[1, 7, 0, 1, 1])
    data = load_nwb_trials(path, split=["train", "val"])
    # Trial 1 names target 7 of 2: no direction; trial 2 reaches target 0 at (500, 500).
    assert np.isnan(data.direction[1])
    np.testing.assert_allclose(data.direction[[0, 2, 3]], [np.pi / 2, np.arctan2(505, 490), np.pi])


def test_velocity_is_averaged_within_bins(maze_path):
    data = load_nwb_trials(maze_path, split=["train", "val"], behavior=("hand_pos",))
    assert data.velocity.shape == (4, 140, 2)
    assert data.behavior_columns["hand_vel"] == ["x", "y"]
    # hand_vel x = sample index at 1 kHz; bin k of a trial with onset A ms holds samples
    # A - 250 + 5k ... A - 246 + 5k, whose mean is A - 248 + 5k.
    onset_ms = np.round(ONSETS[:4] * 1000)
    expected = onset_ms[:, None] - 248 + 5 * np.arange(140)[None, :]
    np.testing.assert_allclose(data.velocity[:, :, 0], expected)
    np.testing.assert_allclose(data.velocity[:, :, 1], -2 * expected)
    np.testing.assert_allclose(
        data.behavior["hand_pos"], np.broadcast_to([10.0, -5.0], (4, 140, 2))
    )
    lagged = load_nwb_trials(maze_path, split=["train", "val"], behavior_lag=80 * pq.ms)
    np.testing.assert_allclose(lagged.velocity[:, :, 0], expected + 80)
    np.testing.assert_array_equal(lagged.counts, data.counts)  # the lag moves behaviour only


def test_velocity_bins_off_the_sample_clock(tmp_path):
    onsets = ONSETS + 0.0004  # 0.4 ms past a sample: each bin still holds 5 samples
    path = write_maze(tmp_path / "offgrid.nwb", n_units=3, onsets=onsets)
    data = load_nwb_trials(path, split="val")
    first_sample = np.ceil(onsets[1] * 1000 - 250)
    np.testing.assert_allclose(data.velocity[0, :, 0], first_sample + 2 + 5 * np.arange(140))


def test_load_mc_maze_uses_the_paper_settings(maze_path):
    data = load_mc_maze(maze_path)
    assert data.counts.shape == (4, 140, 182)
    assert data.velocity.shape == (4, 140, 2)
    # Held-in units first, then held-out, each group in file order (the NLB tensor order).
    heldout = heldout_mask(182)
    expected_ids = np.concatenate([np.flatnonzero(~heldout), np.flatnonzero(heldout)])
    np.testing.assert_array_equal(data.unit_ids, expected_ids)
    assert data.heldout.tolist() == [False] * 137 + [True] * 45
    plain = load_nwb_trials(maze_path, split=["train", "val"])
    np.testing.assert_array_equal(data.counts, plain.counts[:, :, expected_ids])
    # Velocity lagged by 80 ms as in the NLB tensors the paper used.
    np.testing.assert_allclose(data.velocity, plain.velocity + np.array([80.0, -160.0]))
    assert data.bin_size == 5 * pq.ms
    assert data.window[0] == -250 * pq.ms and data.window[1] == 450 * pq.ms


def test_load_mc_maze_checks_the_number_of_units(tmp_path):
    path = write_maze(tmp_path / "test_file.nwb", n_units=137)
    with pytest.raises(ValueError, match=r"137 units.*182"):
        load_mc_maze(path)
    assert load_mc_maze(path, n_neurons=None).counts.shape[2] == 137


def test_trials_shorter_than_the_window_fail_or_are_dropped(tmp_path):
    stops = TRIAL_STARTS + 1.5
    stops[2] = ONSETS[2] + 0.3  # ends 150 ms before the window does
    path = write_maze(tmp_path / "short.nwb", n_units=3, stops=stops)
    with pytest.raises(ValueError, match=r"trial 2: window .* not inside the trial"):
        load_nwb_trials(path, split=["train", "val"])
    data = load_nwb_trials(path, split=["train", "val"], on_invalid="drop")
    assert data.trials.index.tolist() == [0, 1, 3]
    assert data.dropped_trials["trial_id"].tolist() == [2]
    assert "not inside the trial" in data.dropped_trials["reason"].iloc[0]
    # bounds="recording" only asks for the window to be observed (obs_intervals).
    assert load_nwb_trials(path, split=["train", "val"], bounds="recording").counts.shape[0] == 4


def test_nan_alignment_and_missing_behaviour_samples(tmp_path):
    onsets = ONSETS.copy()
    onsets[1] = np.nan
    onsets[3] = 7.85  # window ends past the end of hand_vel (8 s) and of the trial
    path = write_maze(tmp_path / "nan.nwb", n_units=3, onsets=onsets)
    with pytest.raises(ValueError, match="trial 1: move_onset_time is NaN"):
        load_nwb_trials(path, split=["train", "val"])
    data = load_nwb_trials(path, split=["train", "val"], on_invalid="drop", bounds="recording")
    assert data.dropped_trials["trial_id"].tolist() == [1, 3]


def test_written_trials_come_back_with_their_units_names_and_annotations(tmp_path):
    """save_nwb_trials keeps the identities of the units (issue 27): names, unit ids,
    annotations NWB columns can hold, the generated mark; load_nwb_trials puts them back."""
    from ldns_sklearn.datasets import save_nwb_trials

    rng = np.random.default_rng(0)
    trials = [
        [neo.SpikeTrain(np.sort(rng.uniform(0, 0.1, 4)), units="s", t_stop=0.1,
                        name=f"elec{u}#1", unit_id=10 + u, channel=2 * u, quality="good",
                        generated=True, waveform_ms=[0.1, 0.2], spike_times="sorted")
         for u in range(3)]
        for _ in range(2)
    ]
    path = tmp_path / "generated.nwb"
    save_nwb_trials(trials, path)
    back = load_nwb_trials(path, align="align_time", window=(0, 100) * pq.ms, velocity=None)
    trains = back.spiketrains[1].spiketrains
    assert [train.name for train in trains] == ["elec0#1", "elec1#1", "elec2#1"]
    # A list value has no NWB column of one type per row, and the Units table reserves
    # spike_times: both are left out.
    assert [train.annotations for train in trains] == [
        {"unit_id": 10 + u, "channel": 2 * u, "quality": "good", "generated": True}
        for u in range(3)
    ]
    assert back.unit_ids.tolist() == [10, 11, 12]


def test_written_trials_without_identities_get_the_loaders_names(tmp_path):
    from ldns_sklearn.datasets import save_nwb_trials

    trials = [[neo.SpikeTrain([0.01], units="s", t_stop=0.1) for _ in range(2)]]
    path = tmp_path / "plain.nwb"
    save_nwb_trials(trials, path)
    back = load_nwb_trials(path, align="align_time", window=(0, 100) * pq.ms, velocity=None)
    trains = back.spiketrains[0].spiketrains
    assert [train.name for train in trains] == ["unit 0", "unit 1"]
    assert [train.annotations for train in trains] == [{"unit_id": 0}, {"unit_id": 1}]


def test_nwb_layout_errors_name_the_missing_field(tmp_path):
    missing = tmp_path / "nowhere.nwb"
    with pytest.raises(FileNotFoundError, match="never downloads"):
        load_nwb_trials(missing)
    with pytest.raises(ValueError, match="directory"):
        load_nwb_trials(tmp_path)
    not_nwb = tmp_path / "text.nwb"
    not_nwb.write_text("not an HDF5 file")
    with pytest.raises(ValueError, match="NWB"):
        load_nwb_trials(not_nwb)
    no_trials = write_maze(tmp_path / "no_trials.nwb", n_units=2, with_trials=False)
    with pytest.raises(ValueError, match="trials table"):
        load_nwb_trials(no_trials)
    no_behavior = write_maze(tmp_path / "no_beh.nwb", n_units=2, with_behavior=False)
    with pytest.raises(ValueError, match="'hand_vel'"):
        load_nwb_trials(no_behavior)
    assert load_nwb_trials(no_behavior, velocity=None).velocity is None
    with pytest.raises(ValueError, match="'go_time'"):
        load_nwb_trials(no_behavior, align="go_time", velocity=None)
    no_split = write_maze(tmp_path / "no_split.nwb", n_units=2, with_split=False)
    with pytest.raises(ValueError, match="'split'"):
        load_nwb_trials(no_split, split="train")


def test_nwb_parameter_errors(maze_path):
    with pytest.raises(ValueError, match="whole number of bins"):
        load_nwb_trials(maze_path, bin_size=3 * pq.ms)
    with pytest.raises(TypeError, match="window must be a time quantity"):
        load_nwb_trials(maze_path, window=(-250, 450))
    with pytest.raises(TypeError, match="bin_size must be a time quantity"):
        load_nwb_trials(maze_path, bin_size=5 * pq.mV)
    with pytest.raises(ValueError, match="start < stop"):
        load_nwb_trials(maze_path, window=(450, -250) * pq.ms)
    with pytest.raises(ValueError, match="on_invalid"):
        load_nwb_trials(maze_path, on_invalid="ignore")
    for name, value in (("bounds", "session"), ("unit_order", "random"), ("align", 3),
                        ("velocity", 3)):
        with pytest.raises(ValueError, match=f"'{name}' parameter of load_nwb_trials"):
            load_nwb_trials(maze_path, **{name: value})
    with pytest.raises(ValueError, match="'n_neurons' parameter of load_mc_maze"):
        load_mc_maze(maze_path, n_neurons=0)


def test_missing_pynwb_names_the_extra(maze_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynwb", None)
    with pytest.raises(ImportError, match=r"ldns-sklearn\[nwb\]"):
        load_nwb_trials(maze_path)


# --------------------------------------------------------------------------- speech layout

LENGTHS = (9, 4, 13)


def _write_competition_mat(path, *, lengths=LENGTHS, seed=0, drop=None, n_channels=256):
    """A session file with the competitionData fields, as scipy.io.savemat writes them."""
    rng = np.random.default_rng(seed)
    n = len(lengths)
    fields = {}
    for name in ("tx1", "tx2", "tx3", "tx4", "spikePow"):
        cells = np.empty((1, n), dtype=object)  # MATLAB cell array, one T x 256 per sentence
        for i, length in enumerate(lengths):
            if name == "spikePow":
                cells[0, i] = rng.gamma(2.0, 40.0, (length, n_channels))
            else:
                cells[0, i] = rng.poisson(0.5, (length, n_channels)).astype(np.float64)
        fields[name] = cells
    texts = (["Hello world.", "Yes", "It is a good day"] + [f"sentence {i}" for i in range(n)])[:n]
    width = max(map(len, texts))
    fields["sentenceText"] = np.array([t.ljust(width) for t in texts])  # S x C char matrix
    fields["blockIdx"] = np.array([[2], [2]] + [[3]] * n)[:n].astype(np.float64)
    if drop is not None:
        del fields[drop]
    scipy.io.savemat(str(path), fields)
    return fields


def test_speech_bci_ragged_counts_and_metadata(tmp_path):
    fields = _write_competition_mat(tmp_path / "t12.2022.05.05.mat")
    data = load_speech_bci(tmp_path / "t12.2022.05.05.mat")
    assert isinstance(data.counts, list)
    assert [c.shape for c in data.counts] == [(n, 128) for n in LENGTHS]
    for i, trial in enumerate(data.counts):
        np.testing.assert_array_equal(trial, fields["tx1"][0, i][:, :128])
        assert np.issubdtype(trial.dtype, np.integer)
    assert data.sentence_text == ["Hello world.", "Yes", "It is a good day"]
    assert data.block.tolist() == [2, 2, 3]
    assert data.lengths.tolist() == list(LENGTHS)
    assert data.session.tolist() == ["t12.2022.05.05"] * 3
    assert data.trials["n_bins"].tolist() == list(LENGTHS)
    np.testing.assert_array_equal(data.channels, np.arange(128))


def test_speech_bci_neo_trials_round_trip(tmp_path):
    _write_competition_mat(tmp_path / "s.mat", lengths=(3, 5))
    data = load_speech_bci(tmp_path / "s.mat", channels=[0, 5, 200])
    assert len(data.spiketrains) == 2
    for segment, counts in zip(data.spiketrains, data.counts, strict=True):
        assert isinstance(segment, neo.Segment)
        assert len(segment.spiketrains) == 3
        assert segment.spiketrains[0].t_start == 0 * pq.s
        assert segment.spiketrains[0].t_stop.rescale(pq.ms) == counts.shape[0] * 20 * pq.ms
        rebinned = SpikeTrainBinner(bin_size=20 * pq.ms).fit_transform([segment])
        np.testing.assert_array_equal(np.asarray(rebinned[0]), counts)
    assert data.spiketrains[1].annotations["sentence_text"] == "Yes"
    assert load_speech_bci(tmp_path / "s.mat", as_neo=False).spiketrains is None


def test_speech_bci_folder_partition_and_channel_blocks(tmp_path):
    root = tmp_path / "competitionData"
    (root / "train").mkdir(parents=True)
    (root / "test").mkdir()
    a = _write_competition_mat(root / "train" / "t12.2022.04.28.mat", lengths=(5, 6), seed=1)
    b = _write_competition_mat(root / "train" / "t12.2022.05.05.mat", lengths=(7,), seed=2)
    _write_competition_mat(root / "test" / "t12.2022.04.28.mat", lengths=(8,), seed=3)
    data = load_speech_bci(root, partition="train", channels="44", feature="tx2")
    assert data.session.tolist() == ["t12.2022.04.28"] * 2 + ["t12.2022.05.05"]
    np.testing.assert_array_equal(data.counts[1], a["tx2"][0, 1][:, 128:])
    np.testing.assert_array_equal(data.counts[2], b["tx2"][0, 0][:, 128:])
    assert [c.shape[0] for c in load_speech_bci(root / "test").counts] == [8]
    assert load_speech_bci(root, partition="train", channels="all").counts[0].shape == (5, 256)
    with pytest.raises(FileNotFoundError, match="partition"):
        load_speech_bci(root)
    with pytest.raises(FileNotFoundError, match="competitionHoldOut"):
        load_speech_bci(root, partition="competitionHoldOut")


def test_speech_bci_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="never downloads"):
        load_speech_bci(tmp_path / "missing.mat")
    _write_competition_mat(tmp_path / "no_tx1.mat", drop="tx1")
    with pytest.raises(ValueError, match="no field 'tx1'"):
        load_speech_bci(tmp_path / "no_tx1.mat")
    _write_competition_mat(tmp_path / "no_text.mat", drop="sentenceText")
    with pytest.raises(ValueError, match="'sentenceText'"):
        load_speech_bci(tmp_path / "no_text.mat")
    (tmp_path / "junk.mat").write_bytes(b"\x00" * 10)
    with pytest.raises(ValueError, match=r"junk\.mat"):
        load_speech_bci(tmp_path / "junk.mat")
    _write_competition_mat(tmp_path / "ok.mat")
    with pytest.raises(ValueError, match="spike-band power"):
        load_speech_bci(tmp_path / "ok.mat", feature="spikePow")
    with pytest.raises(ValueError, match="channels"):
        load_speech_bci(tmp_path / "ok.mat", channels=[0, 999])
    with pytest.raises(ValueError, match="partition"):
        load_speech_bci(tmp_path / "ok.mat", partition="train")


def test_speech_bci_refuses_non_counts_and_empty_sentences(tmp_path):
    cells = np.empty((1, 2), dtype=object)
    cells[0, 0] = np.full((3, 256), 0.5)
    cells[0, 1] = np.zeros((2, 256))
    common = {"sentenceText": np.array(["ab", "cd"]), "blockIdx": np.ones((2, 1))}
    scipy.io.savemat(str(tmp_path / "frac.mat"), {"tx1": cells, **common})
    with pytest.raises(ValueError, match=r"sentence 0.*non-integer"):
        load_speech_bci(tmp_path / "frac.mat")
    cells[0, 0] = np.zeros((0, 256))
    scipy.io.savemat(str(tmp_path / "empty.mat"), {"tx1": cells, **common})
    with pytest.raises(ValueError, match="sentence 0 has 0 time bins"):
        load_speech_bci(tmp_path / "empty.mat")


def test_speech_bci_refuses_matlab_v73(tmp_path):
    # scipy reads the version from the 128-byte header: major version 2 means v7.3 (HDF5).
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(124) + b"\x00\x02IM"
    (tmp_path / "v73.mat").write_bytes(header + b"\x00" * 512)
    with pytest.raises(ValueError, match=r"v7\.3"):
        load_speech_bci(tmp_path / "v73.mat")


# --------------------------------------------------------------------------- LDNS on the result


def _tiny_pipeline(*steps):
    return LDNSPipeline(
        [
            *steps,
            (
                "ae",
                S4Autoencoder(
                    n_latents=2, hidden_channels=8, n_blocks=1, max_epochs=1, random_state=0
                ),
            ),
            (
                "diffusion",
                LatentDiffusion(
                    hidden_channels=8,
                    n_blocks=1,
                    max_epochs=1,
                    n_sampling_steps=2,
                    random_state=0,
                ),
            ),
        ]
    )


def test_ldns_pipeline_fits_on_loaded_mc_maze(maze_path):
    data = load_mc_maze(maze_path)
    pipe = _tiny_pipeline(("bin", SpikeTrainBinner(bin_size=5 * pq.ms)))
    pipe.fit(data.spiketrains)
    samples = pipe.sample(2, random_state=0)
    assert len(samples) == 2 and len(samples[0].spiketrains) == 182
    # Generated trials come out in the event's frame, like the loaded ones.
    train = samples[0].spiketrains[0]
    assert train.t_start == -250 * pq.ms and train.t_stop == 450 * pq.ms


def test_ldns_pipeline_fits_on_loaded_speech_trials(tmp_path):
    _write_competition_mat(tmp_path / "s.mat", lengths=(12, 16, 10, 14))
    data = load_speech_bci(tmp_path / "s.mat", channels=slice(0, 6), as_neo=False)
    pipe = _tiny_pipeline().fit(data.counts)
    samples = pipe.sample(2, n_bins=12, random_state=0)
    assert np.asarray(samples).shape == (2, 12, 6)
