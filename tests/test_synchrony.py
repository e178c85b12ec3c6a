"""Synchronous groups: found where events are injected, nowhere else."""

import numpy as np
import pytest

from ldns_sklearn._synchrony import (
    Synchrony,
    TrialsWithoutSynchrony,
    find_synchrony,
    synchronous_spikes,
)
from ldns_sklearn._trials import Trials
from ldns_sklearn.datasets import make_gamma_spikes, make_lif_spikes


def _everywhere(counts):
    return np.ones(counts.shape[:2], dtype=bool)


def _found_groups(synchrony):
    return sorted(sorted(np.flatnonzero(synchrony.groups == g).tolist())
                  for g in range(synchrony.n_groups))


def test_injected_groups_are_found_exactly():
    # Two groups of 6 among 24 regular neurons on shared latents (which correlate every
    # pair at all lags).
    data = make_gamma_spikes(n_trials=150, n_neurons=24, n_bins=60, n_groups=2, group_size=6,
                             latent_strength=1.0, return_spiketrains=False, random_state=0)
    found = find_synchrony(data.counts, _everywhere(data.counts))
    assert _found_groups(found) == sorted(sorted(g.tolist()) for g in data.groups)
    # Each event is one spike per member that joined it: 3 Hz events, 80 % of members
    # join, at 5 ms bins (1.2 % of member bins), a little fewer where too few joined.
    spikes = synchronous_spikes(data.counts, found)
    members = data.groups.ravel()
    assert 0.008 < spikes[..., members].mean() < 0.013
    assert spikes[..., np.setdiff1d(np.arange(24), members)].sum() == 0
    assert np.all(spikes <= data.counts)


@pytest.mark.parametrize("kind", ["slow shared input", "fast population rhythm", "no groups"])
def test_no_group_without_zero_lag_synchrony(kind):
    """Correlation that shows at neighbouring lags too (slow input, a rhythm shared by
    every neuron) is not synchrony of a group."""
    rng = np.random.default_rng(1)
    if kind == "slow shared input":
        counts = make_lif_spikes(n_trials=100, n_neurons=24, n_bins=60,
                                 return_spiketrains=False, random_state=0).counts
    elif kind == "fast population rhythm":
        phase = rng.uniform(0, 2 * np.pi, (150, 1, 1))
        rates = 0.1 * (1 + 0.9 * np.sin(2 * np.pi * np.arange(60)[None, :, None] / 4 + phase))
        counts = rng.poisson(np.broadcast_to(rates, (150, 60, 24)))
    else:
        counts = make_gamma_spikes(n_trials=150, n_neurons=24, n_bins=60, n_groups=0,
                                   latent_strength=1.0, return_spiketrains=False,
                                   random_state=0).counts
    found = find_synchrony(counts, _everywhere(counts))
    assert found.n_groups == 0 and np.all(found.groups == -1)


def test_padding_is_not_read():
    rng = np.random.default_rng(0)
    counts = rng.poisson(0.05, size=(200, 40, 10))
    events = rng.random((200, 40)) < 0.03
    counts[..., :4] += events[..., None]
    valid = np.ones((200, 40), dtype=bool)
    valid[::2, 25:] = False
    padded = np.where(valid[..., None], counts, 0)
    garbage = np.where(valid[..., None], counts, 7)
    assert _found_groups(find_synchrony(padded, valid)) == [[0, 1, 2, 3]]
    found = find_synchrony(garbage, valid)
    assert _found_groups(found) == [[0, 1, 2, 3]]
    assert np.array_equal(found.min_spikes, find_synchrony(padded, valid).min_spikes)


def test_min_spikes_leaves_chance_coincidences_alone():
    """A bin is an event only when more members spike than chance makes common: with
    members firing often, two of them together happen by chance in many bins."""
    rng = np.random.default_rng(0)
    counts = rng.poisson(0.3, size=(300, 50, 12))
    events = rng.random((300, 50)) < 0.03
    counts[..., :6] += events[..., None]
    found = find_synchrony(counts, _everywhere(counts))
    assert _found_groups(found) == [[0, 1, 2, 3, 4, 5]]
    spikes = synchronous_spikes(counts, found)
    # Nearly every event bin is found, and few other bins are taken for one.
    taken = spikes[..., :6].any(axis=-1)
    assert (taken & events).sum() > 0.95 * events.sum()
    assert (taken & ~events).sum() < 0.1 * events.sum()


def test_trials_without_synchrony_read_lazily_and_by_observed_entries():
    synchrony = Synchrony(np.array([0, 0, 0, -1]), np.array([2]))
    trials = [np.array([[1, 1, 0, 1], [2, 0, 0, 0]]), np.array([[0, 1, 1, 1]])]
    read = TrialsWithoutSynchrony(Trials(trials), synchrony)
    assert read.shape == (2, 2, 4) and read.ragged
    assert read[:].tolist() == [[[0, 0, 0, 1], [2, 0, 0, 0]], [[0, 0, 0, 1], [0, 0, 0, 0]]]
    assert read[1].tolist() == [[0, 0, 0, 1], [0, 0, 0, 0]]
    # Hiding neuron 1 leaves one member spiking in the first bins: no event there.
    observed = np.ones((2, 2, 4), dtype=bool)
    observed[..., 1] = False
    hidden = TrialsWithoutSynchrony(Trials(trials), synchrony, observed)
    assert hidden[:].tolist() == [[[1, 0, 0, 1], [2, 0, 0, 0]], [[0, 0, 1, 1], [0, 0, 0, 0]]]
