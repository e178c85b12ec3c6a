"""In-painted counts back to Neo: recorded spikes kept to the bit, drawn ones placed in bins.

In-painting returns a recording with its observed part unchanged. For Neo input that means
the recorded *spike times* (not just their counts per bin) of every observed (bin, neuron)
entry, on each trial's own time grid; only the entries that were missing get new spikes,
placed inside their bins as :class:`~ldns_sklearn.SpikeTrainBinner` places generated ones.
"""

from __future__ import annotations

import numpy as np
import quantities as pq
from sklearn.utils import check_random_state

from .reading import as_input_type, neo_trials
from .spike_times import spike_bins, spike_positions


def keep_recorded_spikes(recorded, counts, observed, bin_size, placement, random_state):
    """Trials of ``neo.SpikeTrain`` in the form of ``recorded``: its spikes where
    ``observed`` ``(n_trials, n_bins, n_neurons)`` is True, spikes for ``counts`` elsewhere.

    Each new train keeps its recorded train's units, ``t_start``, ``t_stop``, name,
    description, file origin and annotations, and is annotated ``inpainted=True``; drawn
    spikes are placed by ``placement`` ("even" or "random"). Waveforms and per-spike
    array annotations are not carried over (the drawn spikes have none).
    """
    import neo

    input_type, trials = neo_trials(recorded, name="recorded")
    if len(trials) != len(counts):
        raise ValueError(
            f"recorded holds {len(trials)} trials but the counts hold {len(counts)}."
        )
    rng = np.random.default_rng(check_random_state(random_state).randint(2**31))
    new_trials = []
    for trains, trial_counts, trial_observed in zip(trials, counts, observed, strict=True):
        n_bins = trial_counts.shape[0]
        drawn = np.where(trial_observed[:n_bins], 0, trial_counts)
        new_trains = []
        for neuron, train in enumerate(trains):
            units = train.units
            origin = trains[0].t_start.rescale(units).item()
            width = pq.Quantity(bin_size).rescale(units).item()
            times = train.magnitude
            bins = spike_bins(times, times.dtype.type(origin), times.dtype.type(1.0 / width))
            keep = trial_observed[np.minimum(bins, n_bins - 1), neuron]
            positions = spike_positions(drawn[:, neuron], n_bins, placement, rng)
            merged = np.sort(np.concatenate([times[keep], origin + width * positions]))
            new_train = neo.SpikeTrain(
                merged, units=units, t_start=train.t_start, t_stop=train.t_stop,
                name=train.name, description=train.description,
                file_origin=train.file_origin,
            )
            new_train.annotations = {**train.annotations, "inpainted": True}
            new_trains.append(new_train)
        new_trials.append(new_trains)
    return as_input_type(new_trials, input_type, inpainted=True)
