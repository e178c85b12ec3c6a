"""Tests of the behaviour checks (behaviour_decoding_r2, condition_decoding_accuracy)."""

import numpy as np
import pytest

from ldns_sklearn.datasets import make_reach_spikes
from ldns_sklearn.metrics import behaviour_decoding_r2, condition_decoding_accuracy


@pytest.fixture(scope="module")
def reaches():
    return make_reach_spikes(n_trials=160, n_neurons=48, n_directions=4,
                             return_spiketrains=False, random_state=0)


def test_held_out_real_trials_decode_as_well_as_cross_validation(reaches):
    train, test = slice(0, 120), slice(120, 160)
    r2 = behaviour_decoding_r2(reaches.counts[train], reaches.velocity[train],
                               reaches.counts[test], reaches.velocity[test])
    assert 0.5 < r2["real"] < 1
    assert abs(r2["generated"] - r2["real"]) < 0.1


def test_spikes_of_other_behaviour_or_without_tuning_decode_badly(reaches):
    train, test = slice(0, 120), slice(120, 160)
    shuffled = behaviour_decoding_r2(reaches.counts[train], reaches.velocity[train],
                                     reaches.counts[test], reaches.velocity[test][::-1])
    # Poisson spikes at each neuron's mean rate: no velocity in them at all
    rng = np.random.default_rng(0)
    flat = rng.poisson(reaches.rates[test].mean(axis=(0, 1)), size=reaches.counts[test].shape)
    untuned = behaviour_decoding_r2(reaches.counts[train], reaches.velocity[train],
                                    flat, reaches.velocity[test])
    assert shuffled["generated"] < 0.2 and untuned["generated"] < 0.05


def test_with_little_poisson_noise_decoding_is_almost_perfect(reaches):
    # 1000 times the spikes: the counts follow the rates closely, and the velocity is a
    # smooth function of the rates
    counts = np.random.default_rng(0).poisson(1000 * reaches.rates)
    r2 = behaviour_decoding_r2(counts[:120], reaches.velocity[:120], counts[120:],
                               reaches.velocity[120:], smoothing_bins=0)
    assert r2["real"] > 0.98 and r2["generated"] > 0.98


def test_lag_shifts_activity_before_behaviour():
    # behaviour is the activity of 5 bins earlier: decodable with lag=5, not with lag=0
    rng = np.random.default_rng(0)
    activity = rng.poisson(3.0, size=(30, 80, 4))
    behaviour = np.zeros((30, 80, 1))
    behaviour[:, 5:, 0] = activity[:, :-5, 0]
    behaviour[:, :5, 0] = activity[:, :1, 0]  # before the trial: its first activity
    fits = {lag: behaviour_decoding_r2(activity[:20], behaviour[:20], activity[20:],
                                       behaviour[20:], smoothing_bins=0, lag=lag)
            for lag in (0, 5)}
    assert fits[5]["generated"] > 0.95 and fits[0]["generated"] < 0.1


def test_ragged_trials_are_accepted(reaches):
    lengths = [140, 120, 100] * 40
    counts = [c[:n] for c, n in zip(reaches.counts, lengths, strict=False)]
    velocity = [v[:n] for v, n in zip(reaches.velocity, lengths, strict=False)]
    r2 = behaviour_decoding_r2(counts[:90], velocity[:90], counts[90:120], velocity[90:120])
    assert r2["real"] > 0.5 and r2["generated"] > 0.5


def test_returned_decoded_behaviour_is_what_the_generated_r2_scores(reaches):
    from sklearn.metrics import r2_score

    lengths = [140, 100] * 10
    generated = [c[:n] for c, n in zip(reaches.counts[120:140], lengths, strict=True)]
    requested = [v[:n] for v, n in zip(reaches.velocity[120:140], lengths, strict=True)]
    r2 = behaviour_decoding_r2(reaches.counts[:120], reaches.velocity[:120], generated,
                               requested, return_decoded=True)
    assert [d.shape for d in r2["decoded"]] == [(n, 2) for n in lengths]
    assert r2["generated"] == pytest.approx(
        r2_score(np.concatenate(requested), np.concatenate(r2["decoded"])))
    assert "decoded" not in behaviour_decoding_r2(reaches.counts[:120], reaches.velocity[:120],
                                                  generated, requested)


def test_condition_accuracy_real_generated_and_chance(reaches):
    train, test = slice(0, 120), slice(120, 160)
    accuracy = condition_decoding_accuracy(reaches.counts[train], reaches.target[train],
                                           reaches.counts[test], reaches.target[test])
    assert accuracy["real"] > 0.9 and accuracy["generated"] > 0.9
    assert accuracy["chance"] == pytest.approx(np.bincount(reaches.target[train]).max() / 120)
    wrong = condition_decoding_accuracy(reaches.counts[train], reaches.target[train],
                                        reaches.counts[test], (reaches.target[test] + 2) % 4)
    assert wrong["generated"] < 0.2


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda d: behaviour_decoding_r2(d.counts[:20], d.velocity[:19], d.counts[20:30],
                                         d.velocity[20:30]), ValueError, "real_behaviour"),
        (lambda d: behaviour_decoding_r2(d.counts[:20], d.velocity[:20, :100], d.counts[20:30],
                                         d.velocity[20:30]), ValueError, "bins"),
        (lambda d: behaviour_decoding_r2(d.counts[:20], d.direction[:20], d.counts[20:30],
                                         d.velocity[20:30]), ValueError, "time series"),
        (lambda d: behaviour_decoding_r2(d.counts[:20], np.where(d.velocity[:20] > 50, np.nan,
                                         d.velocity[:20]), d.counts[20:30], d.velocity[20:30]),
         ValueError, "NaN"),
        (lambda d: behaviour_decoding_r2(d.counts[:20], d.velocity[:20], d.counts[20:30],
                                         d.velocity[20:30, :, :1]), ValueError, "features"),
        (lambda d: behaviour_decoding_r2(d.counts[:20, :, :5], d.velocity[:20], d.counts[20:30],
                                         d.velocity[20:30]), ValueError, "neurons"),
        (lambda d: condition_decoding_accuracy(d.counts[:20], d.target[:19], d.counts[20:30],
                                               d.target[20:30]), ValueError, "one label"),
        (lambda d: condition_decoding_accuracy(d.counts[:20], d.target[:20], d.counts[20:30],
                                               d.target[20:30] + 9), ValueError, "never"),
        (lambda d: condition_decoding_accuracy(d.counts[:20], np.zeros(20), d.counts[20:30],
                                               np.zeros(10)), ValueError, "one class"),
        (lambda d: condition_decoding_accuracy(d.counts[:20], d.direction[:20] * np.nan,
                                               d.counts[20:30], d.target[20:30]),
         ValueError, "NaN"),
    ],
)
def test_bad_input_raises_clear_errors(reaches, call, error, match):
    with pytest.raises(error, match=match):
        call(reaches)
