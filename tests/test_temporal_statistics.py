"""Temporal and across-trial statistics: auto/cross-correlation over lags, Fano factor, PSTH."""

import elephant.statistics
import neo
import numpy as np
import pytest
import quantities as pq

from ldns_sklearn.metrics import (
    _blocks,
    auto_correlation_rmse,
    compare_spike_statistics,
    cross_correlation_rmse,
    generation_score,
    psth_rmse,
    spike_statistics,
)


def biased_lags(a, b, max_lag):
    """``np.correlate(a, b, "full")`` over the trial's length at lags -max_lag..max_lag."""
    n_bins = len(a)
    padded = np.pad(np.correlate(a, b, "full") / n_bins, max_lag)
    zero = n_bins - 1 + max_lag  # where lag 0 sits in the padded result
    return padded[zero - max_lag : zero + max_lag + 1]


def paper_temporal_correlations(trials, groups, max_lag):
    """The paper's ``get_temp_corr_summary(mode="biased")``, written from its definition.

    Per trial: counts centred on their mean over the trial, ``np.correlate(a, b, "full")``
    divided by the trial's length; auto-correlations per neuron, cross-correlations of the
    pairs i < j of each group; averaged over trials (and pairs). Returns per-neuron
    auto-correlations at lags 0..max_lag and, per group, the cross-correlation at lags
    -max_lag..max_lag.
    """
    n_neurons = trials[0].shape[1]
    auto = np.zeros((n_neurons, max_lag + 1))
    cross = np.zeros((len(groups), 2 * max_lag + 1))
    for trial in trials:
        centred = trial - trial.mean(axis=0)
        for n in range(n_neurons):
            auto[n] += biased_lags(centred[:, n], centred[:, n], max_lag)[max_lag:]
        for g, members in enumerate(groups):
            pairs = [(i, j) for a, i in enumerate(members) for j in members[a + 1 :]]
            curves = [biased_lags(centred[:, i], centred[:, j], max_lag) for i, j in pairs]
            cross[g] += np.mean(curves, axis=0)
    return auto / len(trials), cross / len(trials)


def paper_groups(counts, n_groups):
    """The paper's ``group_neurons_temp_corr``: sort by summed squared correlation."""
    correlation = np.corrcoef(np.concatenate(list(counts)).T)
    np.fill_diagonal(correlation, 0)
    order = np.argsort(-np.sum(correlation**2, axis=0), kind="stable")
    size = len(order) // n_groups
    groups = [order[i : i + size] for i in range(0, len(order), size)]
    if len(groups) > n_groups:
        groups[-2] = np.concatenate(groups[-2:])
        del groups[-1]
    return groups


@pytest.fixture(scope="module")
def correlated_counts():
    rng = np.random.default_rng(3)
    shared = rng.poisson(0.6, size=(60, 30, 3))
    mixing = rng.integers(0, 2, size=(3, 10))
    counts = shared @ mixing + rng.poisson(rng.uniform(0.1, 1.0, 10), size=(60, 30, 10))
    return counts


@pytest.mark.parametrize("ragged", [False, True])
def test_temporal_correlations_match_the_papers_definition(correlated_counts, ragged):
    rng = np.random.default_rng(0)
    counts = correlated_counts
    trials = [c[: rng.integers(8, 31)] for c in counts] if ragged else counts
    stats = spike_statistics(trials, max_lag=6, n_groups=3)
    groups = paper_groups(counts if not ragged else trials, 3)
    assert [list(g) for g in stats["correlation_groups"]] == [list(g) for g in groups]

    auto, cross = paper_temporal_correlations(list(trials), groups, 6)
    np.testing.assert_allclose(stats["auto_correlation"], auto, rtol=1e-9, atol=1e-12)
    # Ours enters each pair in both directions: the symmetric part of the paper's curve.
    symmetric = (cross[:, 6:] + cross[:, 6::-1]) / 2
    np.testing.assert_allclose(stats["cross_correlation"], symmetric, rtol=1e-9, atol=1e-12)


def test_float64_fallback_and_small_blocks_give_the_same_lags(monkeypatch, correlated_counts):
    ragged = [c[: 10 + i % 20] for i, c in enumerate(correlated_counts)]
    expected = spike_statistics(ragged, max_lag=5)
    monkeypatch.setattr(_blocks, "BLOCK", 150)
    monkeypatch.setattr(_blocks, "FLOAT32_EXACT", 0)
    streamed = spike_statistics(ragged, max_lag=5)
    for key in ("auto_correlation", "cross_correlation", "fano_factor", "psth"):
        np.testing.assert_allclose(streamed[key], expected[key], rtol=1e-12, atol=1e-12)


def test_fano_factor_is_elephants(correlated_counts):
    bin_size = 5 * pq.ms
    stats = spike_statistics(correlated_counts, bin_size=bin_size)
    for neuron in (0, 7):
        # Each trial's spike count of the neuron is what elephant counts per train.
        trains = [
            neo.SpikeTrain(
                np.repeat(np.arange(30), trial[:, neuron]) * 5.0 + 2.5,
                units="ms",
                t_stop=150.0,
            )
            for trial in correlated_counts
        ]
        assert stats["fano_factor"][neuron] == pytest.approx(
            elephant.statistics.fanofactor(trains), rel=1e-12
        )


def test_psth_of_ragged_trials_averages_the_trials_that_reach_each_bin():
    trials = [np.array([[1], [3], [2]]), np.array([[3], [1]])]
    stats = spike_statistics(trials, bin_size=0.5 * pq.s)
    np.testing.assert_allclose(stats["psth"][:, 0], [4.0, 4.0, 4.0])  # (1+3)/2/0.5, ...
    assert psth_rmse(trials, [np.array([[2], [2], [2]])]) == pytest.approx(0.0)


def test_refractory_and_bursty_spiking_have_opposite_lag_one_signs():
    rng = np.random.default_rng(1)
    regular = np.zeros((100, 40, 2), dtype=int)
    regular[:, ::2] = rng.poisson(1.0, size=(100, 20, 2)) > 0  # never two bins in a row
    bursty = np.repeat(rng.poisson(0.4, size=(100, 20, 2)), 2, axis=1)  # always two
    assert (spike_statistics(regular)["auto_correlation"][:, 1] < 0).all()
    assert (spike_statistics(bursty)["auto_correlation"][:, 1] > 0).all()
    assert auto_correlation_rmse(regular, bursty) > 10 * auto_correlation_rmse(
        regular, regular[::-1]
    )


def test_lagged_coupling_is_seen_by_the_cross_correlation_only_at_its_lag():
    rng = np.random.default_rng(2)
    drive = rng.poisson(0.5, size=(300, 30, 1))
    leader_follower = np.concatenate([drive, np.roll(drive, 3, axis=1)], axis=2)
    curve = spike_statistics(leader_follower, max_lag=5)["cross_correlation"][0]
    assert np.argmax(curve[1:]) + 1 == 3
    independent = rng.poisson(0.5, size=(300, 30, 2))
    assert cross_correlation_rmse(leader_follower, independent, max_lag=5) > 0.05


def test_temporal_statistics_enter_the_score_with_their_floor():
    rng = np.random.default_rng(4)
    real = np.repeat(rng.poisson(0.4, size=(120, 15, 6)), 2, axis=1)  # bursts of two
    same = np.repeat(rng.poisson(0.4, size=(120, 15, 6)), 2, axis=1)
    # Same rates, same spike counts per trial on average, but no bursts.
    unbursty = rng.poisson(0.4, size=(120, 30, 6))
    results = compare_spike_statistics(real, unbursty)
    assert results["auto_correlation_rmse"] > 5 * compare_spike_statistics(real, same)[
        "auto_correlation_rmse"
    ]
    assert generation_score(real, same) > generation_score(real, unbursty)


def test_max_lag_defaults_to_what_the_trials_allow_and_refuses_more():
    short = np.ones((4, 3, 2), dtype=int)
    assert spike_statistics(short)["auto_correlation"].shape == (2, 3)
    one_bin = np.ones((4, 1, 2), dtype=int)
    assert np.isnan(compare_spike_statistics(one_bin, one_bin)["auto_correlation_rmse"])
    with pytest.raises(ValueError, match=r"max_lag=3 reaches beyond the trials.*3 bins"):
        auto_correlation_rmse(short, short, max_lag=3)
    ragged = [np.ones((2, 2), dtype=int), np.ones((5, 2), dtype=int)]
    assert spike_statistics(ragged, max_lag=4)["auto_correlation"].shape == (2, 5)


def test_few_neurons_make_fewer_groups():
    counts = np.random.default_rng(0).poisson(1.0, size=(10, 8, 5))
    assert [len(g) for g in spike_statistics(counts)["correlation_groups"]] == [2, 3]
    single = counts[:, :, :1]
    assert spike_statistics(single)["cross_correlation"].shape == (0, 8)
    assert np.isnan(cross_correlation_rmse(single, single))
