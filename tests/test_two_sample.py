"""The checks of single trials: classifier two-sample test and memorisation check."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from ldns_sklearn.metrics import (
    classifier_two_sample_test,
    generation_report,
    memorisation_check,
    trial_features,
)
from ldns_sklearn.metrics._two_sample import feature_names


@pytest.fixture(scope="module")
def poisson_sets():
    rng = np.random.default_rng(0)
    rates = rng.uniform(0.05, 0.4, size=12)
    return [rng.poisson(rates, size=(150, 40, 12)) for _ in range(3)], rates


def test_two_samples_of_one_distribution_score_near_chance(poisson_sets):
    (real, other, _), _ = poisson_sets
    result = classifier_two_sample_test(real, other, random_state=0)
    # At chance the balanced accuracy of 300 trials has a standard error of about 0.03.
    assert abs(result.accuracy - 0.5) < 0.1
    assert result.chance == 0.5 and result.p_value > 0.01
    assert result.interval[0] < 0.5 < result.interval[1] + 0.05


def test_clearly_different_samples_score_near_one(poisson_sets):
    (real, _, _), rates = poisson_sets
    rng = np.random.default_rng(1)
    # The same mean rates, but refractory: never two spikes in a bin or in adjacent bins.
    refractory = (rng.random(real.shape) < rates).astype(int)
    refractory[:, 1:] *= 1 - refractory[:, :-1]
    result = classifier_two_sample_test(real, refractory, random_state=0)
    assert result.accuracy > 0.95 and result.p_value < 1e-6
    assert result.interval[0] > 0.85
    # What gives it away is named: Poisson bins hold two spikes, refractory ones never.
    assert dict(result.most_telling).get("entries with >= 2 spikes", 0.5) < 0.1


def test_the_permutation_p_value_is_available(poisson_sets):
    (real, other, _), _ = poisson_sets
    result = classifier_two_sample_test(real[:40], other[:40], n_permutations=9,
                                        classifier=LogisticRegression(), random_state=0)
    # With 9 permutations the smallest p-value is 0.1.
    assert 0.1 <= result.p_value <= 1.0


def test_trial_features_are_what_their_names_say():
    counts = np.zeros((1, 4, 2), dtype=int)
    counts[0, 0] = [1, 1]
    counts[0, 2, 0] = 2
    features = trial_features(counts, max_population_count=2, n_segments=2)[0]
    named = dict(zip(feature_names(2, 2, 2), features, strict=True))
    assert named["rate of neuron 0"] == 0.75 and named["rate of neuron 1"] == 0.25
    assert named["bins with population count 0"] == 0.5
    assert named["bins with population count >= 2"] == 0.5
    assert named["entries with >= 2 spikes"] == 1 / 8
    assert named["population rate in part 1 of 2"] == 1.0


def test_two_sample_input_errors(poisson_sets):
    (real, other, _), _ = poisson_sets
    with pytest.raises(ValueError, match="at least cv=5"):
        classifier_two_sample_test(real[:3], other)
    with pytest.raises(ValueError, match="neurons"):
        classifier_two_sample_test(real, other[..., :5])


def test_a_model_returning_training_trials_fails_the_memorisation_check(poisson_sets):
    (training, held_out, generated), _ = poisson_sets
    honest = memorisation_check(training, held_out[:60], generated[:60])
    assert honest.passed and 0.5 < honest.distance_ratio < 1.5
    copies = memorisation_check(training, held_out[:60], training[:60])
    assert not copies.passed and copies.fraction_closer == 1.0 and copies.p_value < 1e-10
    # Copies with a few spikes moved are still caught.
    rng = np.random.default_rng(2)
    noisy = training[:60] + (rng.random(training[:60].shape) < 0.01)
    assert not memorisation_check(training, held_out[:60], noisy).passed


def test_memorisation_check_fails_honest_models_at_most_at_its_level():
    """Generated trials drawn like the held-out ones fail it at most ``alpha`` of the time
    (a threshold from the held-out distances alone failed such sets far more often)."""
    rng = np.random.default_rng(5)
    training = rng.poisson(0.4, (100, 20, 5))
    failures = 0
    for _ in range(100):
        held_out, generated = rng.poisson(0.4, (2, 50, 20, 5))
        failures += not memorisation_check(training, held_out, generated, alpha=0.05).passed
    # At most 5 expected; more than 11 has probability below 0.5 % if the level holds.
    assert failures <= 11


def test_memorisation_compares_the_bins_all_trials_share(poisson_sets):
    (training, held_out, generated), _ = poisson_sets
    ragged = [trial[: 30 + i % 10] for i, trial in enumerate(generated[:40])]
    result = memorisation_check(training, held_out[:40], ragged)
    assert result.generated_distances.shape == (40,)
    with pytest.raises(ValueError, match="same neurons"):
        memorisation_check(training, held_out, generated[..., :3])


def test_the_report_holds_all_three_views(poisson_sets):
    (training, held_out, generated), _ = poisson_sets
    report = generation_report(held_out, generated, training=training, random_state=0)
    assert report.two_sample.accuracy < 0.7 and report.memorisation.passed
    assert set(report.ratios) <= set(report.results)
    without = generation_report(held_out, generated, two_sample=False)
    assert without.two_sample is None and without.memorisation is None
    assert without.score == report.score
