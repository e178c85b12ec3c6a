"""Simulated non-Poisson spiking: integrate-and-fire, balanced network, gamma + synchrony;
and a learning test on it whose thresholds come from the real-vs-real floor."""

import numpy as np
import pytest
import quantities as pq

from ldns_sklearn import PoissonObservation, S4Autoencoder
from ldns_sklearn.datasets import (
    make_balanced_network_spikes,
    make_gamma_spikes,
    make_lif_spikes,
)
from ldns_sklearn.metrics import auto_correlation_rmse, classifier_two_sample_test
from ldns_sklearn.preprocessing import SpikeTrainBinner


def _isis(trains):
    return np.concatenate([np.diff(train.rescale(pq.s).magnitude) for train in trains])


def test_lif_neurons_are_refractory_and_share_their_inputs():
    data = make_lif_spikes(n_trials=30, n_neurons=10, n_bins=60, random_state=0)
    assert data.counts.shape == (30, 60, 10) and data.latents.shape == (30, 60, 2)
    intervals = np.concatenate([_isis(trial) for trial in data.spiketrains])
    assert intervals.min() >= 0.003 - 1e-9  # the refractory period
    assert 0.4 < intervals.std() / intervals.mean() < 1.2  # irregular, not Poisson-like
    # The trains are the counts, exactly.
    binned = SpikeTrainBinner(bin_size=5 * pq.ms).fit_transform(data.spiketrains)
    np.testing.assert_array_equal(binned, data.counts)
    assert data.spiketrains[0][0].annotations["simulated"]
    again = make_lif_spikes(n_trials=30, n_neurons=10, n_bins=60, random_state=0,
                            return_spiketrains=False)
    np.testing.assert_array_equal(again.counts, data.counts)
    assert again.spiketrains is None


def test_balanced_network_is_irregular_and_synchronous():
    data = make_balanced_network_spikes(n_trials=12, n_neurons=20, n_bins=60,
                                        n_excitatory=400, n_runs=4, random_state=0)
    rate = data.counts.mean() / 0.005
    assert 2 < rate < 60
    population = data.counts.sum(axis=2)
    assert population.var() > population.mean()  # neurons fire together
    assert len(set(data.neurons)) == 20
    with pytest.raises(ValueError, match="only n_excitatory"):
        make_balanced_network_spikes(n_neurons=10, n_excitatory=8)
    with pytest.raises(TypeError, match="voltage"):
        make_balanced_network_spikes(n_trials=2, synaptic_weight=0.5)


def test_gamma_neurons_are_regular_and_groups_fire_together():
    data = make_gamma_spikes(n_trials=60, n_neurons=16, n_bins=100, shape=6.0, n_groups=1,
                             latent_strength=0.0, synchrony_rate=0 * pq.Hz, random_state=0)
    intervals = np.concatenate([_isis(trial) for trial in data.spiketrains])
    assert intervals.std() / intervals.mean() < 0.6  # gamma(6): CV about 0.4
    assert data.counts.mean() / 0.005 == pytest.approx(15.0, rel=0.1)
    synchronous = make_gamma_spikes(n_trials=60, n_neurons=16, n_bins=100, n_groups=1,
                                    random_state=0)
    correlation = np.corrcoef(synchronous.counts.reshape(-1, 16).T)
    group = synchronous.groups[0]
    others = np.setdiff1d(np.arange(16), group)
    inside = correlation[np.ix_(group, group)][np.triu_indices(len(group), 1)].mean()
    outside = correlation[np.ix_(others, others)][np.triu_indices(len(others), 1)].mean()
    assert inside > outside + 0.05
    with pytest.raises(ValueError, match="n_groups"):
        make_gamma_spikes(n_neurons=10, n_groups=2, group_size=8)


@pytest.mark.slow
def test_refractory_spiking_is_learnt_to_the_floor():
    """Held-out LIF trials through a small autoencoder and its default observation model
    (what a perfect diffusion model would generate): single-neuron dynamics within reach
    of the real-vs-real floor, where Poisson draws of the same rates are far off."""
    data = make_lif_spikes(n_trials=600, n_neurons=16, n_bins=60, return_spiketrains=False,
                           random_state=0)
    train, reference, encoded = data.counts[:200], data.counts[200:280], data.counts[280:360]
    others = [data.counts[360 + 80 * k: 440 + 80 * k] for k in range(3)]
    ae = S4Autoencoder(n_latents=4, hidden_channels=16, n_blocks=1, max_epochs=20,
                       batch_size=32, device="cpu", random_state=0).fit(train)
    latents = ae.transform(encoded)
    drawn = ae.inverse_transform(latents, random_state=1)
    poisson = PoissonObservation().fit(train).sample(ae.predict_rates(latents),
                                                     random_state=1)
    # The floor: other real sets of the same size against the reference set.
    floor = np.mean([auto_correlation_rmse(reference, other) for other in others])
    # Measured over seeds 0-2: ours 1.08-1.27x the floor, Poisson draws 2.9-3.3x.
    assert auto_correlation_rmse(reference, drawn) < 1.6 * floor
    assert auto_correlation_rmse(reference, poisson) > 2.2 * floor
    assert drawn.max() == 1 and poisson.max() > 1
    # A classifier on single trials tells Poisson draws apart, ours far less often.
    ours = classifier_two_sample_test(reference, drawn, random_state=0).accuracy
    theirs = classifier_two_sample_test(reference, poisson, random_state=0).accuracy
    assert theirs > 0.9 and ours < theirs - 0.15
