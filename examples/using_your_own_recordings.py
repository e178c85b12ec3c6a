"""
Using your own recordings: NWB, any Neo-readable format, or plain NumPy counts
==============================================================================

LDNS needs trials: either Neo spike trains that share ``t_start``/``t_stop`` within a
trial, or binned counts ``(n_trials, n_bins, n_neurons)`` (a list of 2-D arrays if the
trials differ in length). This script shows three ways to get there from local files.
No real recording is downloaded: each section first writes a tiny stand-in file, which
you replace by the path of your own data.

Run it with ``python examples/using_your_own_recordings.py`` (a few seconds on a CPU).
See ``docs/using_your_own_recordings.md`` for the details.
"""

from __future__ import annotations

import datetime
import shutil
import tempfile
from pathlib import Path

import neo
import numpy as np
import pynwb
import quantities as pq
from neo.utils import add_epoch, cut_segment_by_epoch, get_events

from ldns_sklearn.autoencoder import S4Autoencoder
from ldns_sklearn.datasets import load_nwb_trials
from ldns_sklearn.diffusion import LatentDiffusion
from ldns_sklearn.pipeline import LDNSPipeline
from ldns_sklearn.preprocessing import SpikeTrainBinner

rng = np.random.default_rng(0)
workdir = Path(tempfile.mkdtemp())
onsets = np.array([1.0, 3.0, 5.0, 7.0])  # movement onsets (s), stand-in for your events
n_neurons, duration = 6, 8.0
spike_times = [np.sort(rng.uniform(0, duration, 60)) for _ in range(n_neurons)]


# %% 1. An NWB file ------------------------------------------------------------------------
# With the MC_Maze file from DANDI 000128 this section is simply::
#
#     from ldns_sklearn.datasets import load_mc_maze
#     data = load_mc_maze("sub-Jenkins/sub-Jenkins_ses-full_desc-train_behavior+ecephys.nwb")
#
# Here we write a tiny file with the same layout: spike times in the Units table, events in
# the trials table, hand velocity as a 1 kHz TimeSeries in processing["behavior"].
nwbfile = pynwb.NWBFile(
    session_description="stand-in for your recording",
    identifier="example",
    session_start_time=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
)
for times in spike_times:
    nwbfile.add_unit(spike_times=times, obs_intervals=[[0.0, duration]])
nwbfile.add_trial_column("move_onset_time", "movement onset (s)")
for onset in onsets:
    nwbfile.add_trial(start_time=onset - 0.9, stop_time=onset + 0.9, move_onset_time=onset)
t = np.arange(int(duration * 1000)) / 1000.0
behavior = nwbfile.create_processing_module("behavior", "hand kinematics")
behavior.add(
    pynwb.TimeSeries(
        name="hand_vel",
        data=np.stack([np.cos(t), np.sin(t)], axis=1),
        unit="mm/s",
        rate=1000.0,
        starting_time=0.0,
        comments="columns=[x,y]",
        description="hand velocity",
    )
)
nwb_path = workdir / "recording.nwb"
with pynwb.NWBHDF5IO(str(nwb_path), "w") as io:
    io.write(nwbfile)

data = load_nwb_trials(nwb_path, align="move_onset_time", window=(-250, 450) * pq.ms)
print("NWB:", data.DESCR)
print("  counts", data.counts.shape, "velocity", data.velocity.shape)
print("  trial 0 trains start at", data.spiketrains[0].spiketrains[0].t_start)


# %% 2. Any format Neo can read ------------------------------------------------------------
# neo.io reads Blackrock, Plexon, Spike2, Open Ephys, NIX, ... into a Block. Here a Block is
# written with NeoMatlabIO as a stand-in; use neo.io.get_io(your_path) for your own file.
segment = neo.Segment()
for i, times in enumerate(spike_times):
    segment.spiketrains.append(
        neo.SpikeTrain(times, units="s", t_stop=duration * pq.s, name=f"unit {i}")
    )
segment.events.append(neo.Event(onsets * pq.s, name="move_onset"))
block = neo.Block()
block.segments.append(segment)
neo_path = workdir / "recording.mat"
neo.io.NeoMatlabIO(str(neo_path)).write_block(block)

recording = neo.io.NeoMatlabIO(str(neo_path)).read_block().segments[0]
event = get_events(recording, name="move_onset")[0]
epochs = add_epoch(recording, event, pre=-250 * pq.ms, post=450 * pq.ms, attach_result=False)
# reset_time=True puts every trial on the same clock (t_start = 0), as LDNS expects.
trials = cut_segment_by_epoch(recording, epochs, reset_time=True)
counts = SpikeTrainBinner(bin_size=5 * pq.ms).fit_transform(trials)
print("Neo:", len(trials), "trials ->", np.asarray(counts).shape)


# %% 3. Plain NumPy counts -----------------------------------------------------------------
# Already-binned data goes straight to the autoencoder: a 3-D array (n_trials, n_bins,
# n_neurons), or a list of 2-D arrays when trials differ in length (e.g. speech sentences,
# see ldns_sklearn.datasets.load_speech_bci).
ragged = [rng.poisson(0.2, (n_bins, n_neurons)) for n_bins in (40, 56, 48, 64)]
pipe = LDNSPipeline(
    [
        (
            "ae",
            S4Autoencoder(
                n_latents=2, hidden_channels=8, n_blocks=1, max_epochs=2, random_state=0
            ),
        ),
        (
            "diffusion",
            LatentDiffusion(
                hidden_channels=8, n_blocks=1, max_epochs=2, n_sampling_steps=5, random_state=0
            ),
        ),
    ]
)
pipe.fit(ragged)
samples = pipe.sample(2, n_bins=40, random_state=0)
print("NumPy: fitted on", len(ragged), "ragged trials; samples", np.asarray(samples).shape)

shutil.rmtree(workdir)  # the stand-in files are not needed any more
