"""Data sets: synthetic generators and loaders for recordings in local files."""

from ._lorenz import make_lorenz_spikes
from ._nwb import load_mc_maze, load_nwb_trials
from ._nwb_write import save_nwb_trials
from ._reach import make_reach_spikes
from ._speech import load_speech_bci
from ._spiking import make_balanced_network_spikes, make_gamma_spikes, make_lif_spikes

__all__ = [
    "load_mc_maze",
    "load_nwb_trials",
    "load_speech_bci",
    "make_balanced_network_spikes",
    "make_gamma_spikes",
    "make_lif_spikes",
    "make_lorenz_spikes",
    "make_reach_spikes",
    "save_nwb_trials",
]
