"""Tests of ldns_sklearn.metrics: spike statistics, discrepancies, score and scorers."""

import inspect
import pickle
import warnings

import neo
import numpy as np
import pytest
import quantities as pq
from scipy.stats import gaussian_kde
from sklearn.base import BaseEstimator
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

import ldns_sklearn.metrics
from ldns_sklearn.datasets import make_lorenz_spikes
from ldns_sklearn.metrics import (
    DISCREPANCIES,
    PEARSON_RS,
    _blocks,
    auto_correlation_rmse,
    classifier_two_sample_test,
    compare_spike_statistics,
    cross_correlation_rmse,
    fano_factor_rmse,
    generation_score,
    make_generation_scorer,
    mean_isi_rmse,
    mean_rate_rmse,
    pairwise_correlation_rmse,
    population_spike_count_kl,
    psth_rmse,
    spike_statistics,
    std_isi_rmse,
)
from ldns_sklearn.metrics._discrepancy import _count_density


def reference_isis(trials, bin_size=1.0):
    """Intervals per neuron the paper's way: linspace spike times, np.diff per trial."""
    n_neurons = trials[0].shape[1]
    isis = [[] for _ in range(n_neurons)]
    for trial in trials:
        for neuron in range(n_neurons):
            times = []
            for b, k in enumerate(trial[:, neuron]):
                if k > 0:
                    times.extend(np.linspace(b * bin_size, (b + 1) * bin_size, int(k) + 2)[1:-1])
            isis[neuron].extend(np.diff(times))
    return [np.asarray(values) for values in isis]


@pytest.fixture(scope="module")
def lorenz():
    data = make_lorenz_spikes(
        n_trials=240, n_neurons=24, n_bins=64, return_spiketrains=False, random_state=0
    )
    return data.counts


@pytest.fixture(scope="module")
def poisson_pair():
    rng = np.random.default_rng(0)
    rates = rng.uniform(0.1, 1.2, size=9)
    return rng.poisson(rates, size=(50, 30, 9)), rng.poisson(rates, size=(40, 25, 9))


# --------------------------------------------------------------------------------------------
# spike_statistics
# --------------------------------------------------------------------------------------------


def test_isi_of_known_spike_pattern_in_seconds():
    # Bin 1 holds 2 spikes (at 1 1/3 and 1 2/3 bins), bin 3 one (at 3 1/2): intervals 1/3 and
    # 1 5/6 bins.
    counts = np.array([[[0], [2], [0], [1]]])
    stats = spike_statistics(counts, bin_size=5 * pq.ms)
    intervals = np.array([1 / 3, 11 / 6]) * 0.005
    np.testing.assert_allclose(stats["mean_isi"], [intervals.mean()], rtol=1e-12)
    np.testing.assert_allclose(stats["std_isi"], [intervals.std()], rtol=1e-12)
    np.testing.assert_array_equal(stats["n_isis"], [2])
    np.testing.assert_allclose(stats["mean_rate"], [3 / 4 / 0.005])


def test_intervals_are_taken_within_trials_only():
    one_spike_each = np.array([[[0], [1]], [[1], [0]]])  # two trials, one spike each
    stats = spike_statistics(one_spike_each, min_isis=1)
    assert stats["n_isis"][0] == 0 and np.isnan(stats["mean_isi"][0])
    joined = one_spike_each.reshape(1, 4, 1)  # the same spikes in one trial: one interval
    stats = spike_statistics(joined, min_isis=1)
    assert stats["n_isis"][0] == 1
    assert stats["mean_isi"][0] == pytest.approx(1.0)


def test_min_isis_sets_undefined_neurons_to_nan():
    counts = np.array([[[1, 1], [1, 0], [1, 1]]])  # 2 intervals for neuron 0, 1 for neuron 1
    stats = spike_statistics(counts, min_isis=2)
    assert np.isfinite(stats["mean_isi"][0]) and np.isnan(stats["mean_isi"][1])
    assert np.isnan(stats["std_isi"][1])
    stats = spike_statistics(counts, min_isis=1)
    assert stats["mean_isi"][1] == pytest.approx(2.0) and stats["std_isi"][1] == 0.0


@pytest.mark.parametrize("ragged", [False, True])
def test_statistics_match_reference_computations(ragged):
    rng = np.random.default_rng(1)
    counts = rng.poisson(rng.uniform(0.05, 1.5, size=6), size=(15, 20, 6))
    counts[:, :, 4] = 0  # a silent neuron
    trials = [c[: rng.integers(1, 21)] for c in counts] if ragged else counts
    stats = spike_statistics(trials, bin_size=2.0 * pq.s)

    isis = reference_isis(trials, bin_size=2.0)
    np.testing.assert_array_equal(stats["n_isis"], [len(v) for v in isis])
    expected_mean = [v.mean() if len(v) >= 2 else np.nan for v in isis]
    expected_std = [v.std() if len(v) >= 2 else np.nan for v in isis]
    np.testing.assert_allclose(stats["mean_isi"], expected_mean, rtol=1e-12)
    np.testing.assert_allclose(stats["std_isi"], expected_std, rtol=1e-9, atol=1e-12)

    bins = np.concatenate(list(trials))
    np.testing.assert_allclose(stats["mean_rate"], bins.mean(axis=0) / 2.0)
    np.testing.assert_array_equal(stats["population_counts"], bins.sum(axis=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy warns on the silent neuron
        expected_corr = np.corrcoef(bins.T)
    np.testing.assert_allclose(stats["correlation"], expected_corr, atol=1e-12)
    assert np.isnan(stats["correlation"][4]).all()


def assert_same_statistics(actual, expected, **tolerance):
    assert actual.keys() == expected.keys()
    for key in expected:
        if key == "correlation_groups":
            assert [list(g) for g in actual[key]] == [list(g) for g in expected[key]]
        else:
            np.testing.assert_allclose(actual[key], expected[key], **tolerance)


def test_ragged_list_of_equal_trials_matches_array(poisson_pair):
    counts = poisson_pair[0]
    assert_same_statistics(spike_statistics(list(counts)), spike_statistics(counts), rtol=1e-12)


def test_streaming_blocks_and_float64_gram_give_the_same_statistics(monkeypatch, poisson_pair):
    counts = poisson_pair[0]
    ragged = [c[: 10 + i % 20] for i, c in enumerate(counts)]
    expected = [spike_statistics(counts), spike_statistics(ragged)]
    # Tiny blocks split the data into many pieces; a zero limit forces the float64 Gram path.
    monkeypatch.setattr(_blocks, "BLOCK", 200)
    monkeypatch.setattr(_blocks, "FLOAT32_EXACT", 0)
    for data, reference in zip((counts, ragged), expected, strict=True):
        assert_same_statistics(spike_statistics(data), reference, rtol=1e-12, atol=1e-12)


def test_small_integer_and_bool_dtypes_are_accepted(poisson_pair):
    counts = poisson_pair[0]
    reference = spike_statistics(counts)
    assert_same_statistics(spike_statistics(counts.astype(np.uint8)), reference)
    binary = counts > 0
    np.testing.assert_allclose(spike_statistics(binary)["mean_rate"], binary.mean(axis=(0, 1)))


# --------------------------------------------------------------------------------------------
# Discrepancies
# --------------------------------------------------------------------------------------------


def test_identical_inputs_have_zero_discrepancy(poisson_pair):
    counts = poisson_pair[0]
    results = compare_spike_statistics(counts, counts)
    assert set(results) == set(DISCREPANCIES) | set(PEARSON_RS)
    for name in DISCREPANCIES:
        assert results[name] == pytest.approx(0.0, abs=1e-12), name
    for name in PEARSON_RS:
        assert results[name] == pytest.approx(1.0), name


def test_individual_functions_agree_with_compare(poisson_pair):
    real, generated = poisson_pair
    results = compare_spike_statistics(real, generated, bin_size=10 * pq.ms)
    assert population_spike_count_kl(real, generated) == pytest.approx(
        results["population_spike_count_kl"]
    )
    assert pairwise_correlation_rmse(real, generated) == pytest.approx(
        results["pairwise_correlation_rmse"]
    )
    bin_size = 10 * pq.ms
    assert mean_rate_rmse(real, generated, bin_size=bin_size) == pytest.approx(
        results["mean_rate_rmse"]
    )
    assert mean_isi_rmse(real, generated, bin_size=bin_size) == pytest.approx(
        results["mean_isi_rmse"]
    )
    assert std_isi_rmse(real, generated, bin_size=bin_size) == pytest.approx(
        results["std_isi_rmse"]
    )
    assert auto_correlation_rmse(real, generated, bin_size=bin_size) == pytest.approx(
        results["auto_correlation_rmse"]
    )
    assert cross_correlation_rmse(real, generated, bin_size=bin_size) == pytest.approx(
        results["cross_correlation_rmse"]
    )
    assert fano_factor_rmse(real, generated) == pytest.approx(results["fano_factor_rmse"])
    assert psth_rmse(real, generated, bin_size=bin_size) == pytest.approx(results["psth_rmse"])


def test_bin_size_quantity_is_expressed_in_seconds(poisson_pair):
    real, generated = poisson_pair
    in_bins = mean_isi_rmse(real, generated)
    assert mean_isi_rmse(real, generated, bin_size=20 * pq.ms) == pytest.approx(0.02 * in_bins)
    assert mean_isi_rmse(real, generated, bin_size=0.02 * pq.s) == pytest.approx(0.02 * in_bins)
    rate = mean_rate_rmse(real, generated)
    assert mean_rate_rmse(real, generated, bin_size=20 * pq.ms) == pytest.approx(rate / 0.02)


@pytest.mark.parametrize("function", [spike_statistics, mean_rate_rmse, mean_isi_rmse])
def test_a_bare_number_is_not_a_bin_size(function, poisson_pair):
    real, generated = poisson_pair
    args = (real,) if function is spike_statistics else (real, generated)
    with pytest.raises(InvalidParameterError, match="bin_size"):
        function(*args, bin_size=0.005)


def test_mean_rate_rmse_by_hand():
    real = np.zeros((2, 5, 3))
    real[:, :, 0] = 1  # rates 1, 0, 0
    generated = np.zeros((1, 4, 3))
    generated[0, :2, 1] = 2  # rates 0, 1, 0
    assert mean_rate_rmse(real, generated) == pytest.approx(np.sqrt(2 / 3))


def test_population_density_matches_scipy_gaussian_kde():
    rng = np.random.default_rng(2)
    samples = rng.poisson(7.0, size=500)
    n_grid = samples.max() + 1
    for rule in ("scott", "silverman"):
        ours = _count_density(samples, n_grid, rule)
        scipy_density = gaussian_kde(samples, bw_method=rule)(np.arange(n_grid))
        np.testing.assert_allclose(ours, scipy_density / scipy_density.sum(), atol=1e-14)


def test_population_kl_grows_with_the_difference_and_stays_finite():
    rng = np.random.default_rng(3)
    real = rng.poisson(0.3, size=(100, 20, 10))
    near = rng.poisson(0.35, size=(100, 20, 10))
    far = rng.poisson(0.6, size=(100, 20, 10))
    kl_near, kl_far = population_spike_count_kl(real, near), population_spike_count_kl(real, far)
    assert 0 < kl_near < kl_far
    # Generated counts that never come near the real ones: large, but finite thanks to eps.
    disjoint = np.full((5, 20, 10), 9)
    kl_disjoint = population_spike_count_kl(real, disjoint)
    assert np.isfinite(kl_disjoint) and kl_disjoint > 10 * kl_far
    # A fixed bandwidth in spikes is accepted and changes the smoothing.
    assert population_spike_count_kl(real, far, bandwidth=3.0) != pytest.approx(kl_far)


def test_correlation_rmse_of_shuffled_data_exceeds_a_resample(lorenz):
    first, second = lorenz[:120], lorenz[120:]
    rng = np.random.default_rng(4)
    bins = first.reshape(-1, first.shape[2]).copy()
    for neuron in range(bins.shape[1]):  # destroy correlations, keep each neuron's counts
        rng.shuffle(bins[:, neuron])
    shuffled = bins.reshape(first.shape)
    resample_rmse = pairwise_correlation_rmse(first, second)
    shuffled_rmse = pairwise_correlation_rmse(first, shuffled)
    assert shuffled_rmse > 3 * resample_rmse
    assert mean_rate_rmse(first, shuffled) == pytest.approx(0.0, abs=1e-12)


def test_matched_homogeneous_poisson_is_worse_than_a_real_split_half(lorenz):
    first, second = lorenz[0::2], lorenz[1::2]
    rng = np.random.default_rng(5)
    rates = first.mean(axis=(0, 1))  # per-neuron rates matched to the real data
    poisson = rng.poisson(rates, size=second.shape)
    real_vs_real = compare_spike_statistics(first, second)
    real_vs_poisson = compare_spike_statistics(first, poisson)
    for name in ("population_spike_count_kl", "pairwise_correlation_rmse", "std_isi_rmse"):
        assert real_vs_poisson[name] > 2 * real_vs_real[name], name
    assert real_vs_poisson["pairwise_correlation_pearson_r"] < 0.5
    assert real_vs_real["pairwise_correlation_pearson_r"] > 0.9
    assert generation_score(first, second) > generation_score(first, poisson)


def test_silent_neurons_are_left_out_without_runtime_warnings():
    rng = np.random.default_rng(6)
    real = rng.poisson(0.5, size=(30, 20, 5))
    generated = rng.poisson(0.5, size=(30, 20, 5))
    real[:, :, 0] = 0
    generated[:, :, 0] = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither RuntimeWarning nor one-sided UserWarning
        results = compare_spike_statistics(real, generated)
    assert all(np.isfinite(results[name]) for name in DISCREPANCIES)
    # Leaving neuron 0 out in both is the same as comparing neurons 1..4 only.
    assert results["pairwise_correlation_rmse"] == pytest.approx(
        pairwise_correlation_rmse(real[:, :, 1:], generated[:, :, 1:])
    )
    assert results["mean_isi_rmse"] == pytest.approx(
        mean_isi_rmse(real[:, :, 1:], generated[:, :, 1:])
    )


def test_one_sided_undefined_isi_statistics_warn():
    rng = np.random.default_rng(7)
    real = rng.poisson(0.5, size=(30, 20, 4))
    generated = rng.poisson(0.5, size=(30, 20, 4))
    generated[:, :, 2] = 0  # defined in real, not in generated
    with pytest.warns(UserWarning, match="only one of real and generated"):
        value = mean_isi_rmse(real, generated)
    assert np.isfinite(value)


def test_all_undefined_isi_statistics_give_nan():
    sparse = np.zeros((3, 4, 2), dtype=int)
    sparse[0, 0, :] = 1  # a single spike per neuron: no interval anywhere
    assert np.isnan(mean_isi_rmse(sparse, sparse))
    assert np.isnan(std_isi_rmse(sparse, sparse))


# --------------------------------------------------------------------------------------------
# generation_score
# --------------------------------------------------------------------------------------------


def test_generation_score_orders_models_and_is_zero_for_the_data_itself(lorenz):
    real = lorenz[:120]
    assert generation_score(real, real) == pytest.approx(0.0, abs=1e-9)
    rng = np.random.default_rng(8)
    rates = real.mean(axis=(0, 1))
    matched = rng.poisson(rates, size=real.shape)
    mismatched = rng.poisson(rates[::-1], size=real.shape)
    held_out = generation_score(real, lorenz[120:])
    assert held_out > generation_score(real, matched) > generation_score(real, mismatched)
    # Scale-free: near -1 for a second data set of the same process and size.
    assert -2 < held_out < -0.5


def test_generation_score_refuses_data_without_a_reference_instead_of_minus_inf():
    constant = np.ones((4, 6, 3), dtype=int)  # identical trials: every reference is 0
    for generated in (constant, 2 * constant):  # was 0.0 and -inf: a search ranks by it
        with pytest.raises(ValueError, match="no statistic can be scored"):
            generation_score(constant, generated)


# --------------------------------------------------------------------------------------------
# Scorers
# --------------------------------------------------------------------------------------------


class PoissonModel(BaseEstimator):
    """Toy generative estimator: per-neuron constant rates scaled by `scale`."""

    def __init__(self, scale=1.0, n_bins=20):
        self.scale = scale
        self.n_bins = n_bins

    def fit(self, X, y=None):
        self.rates_ = np.asarray(X).mean(axis=(0, 1))
        return self

    def sample(self, n_samples, y=None, random_state=None):
        rng = np.random.default_rng(random_state)
        self.last_y_ = y
        return rng.poisson(
            self.scale * self.rates_, size=(n_samples, self.n_bins, len(self.rates_))
        )


@pytest.fixture(scope="module")
def poisson_trials():
    rng = np.random.default_rng(9)
    return rng.poisson(rng.uniform(0.2, 1.0, size=5), size=(40, 20, 5))


def test_scorer_negates_discrepancies_and_keeps_pearson_r(poisson_trials):
    model = PoissonModel().fit(poisson_trials)
    rmse = make_generation_scorer("mean_rate_rmse", random_state=0)(model, poisson_trials)
    generated = model.sample(len(poisson_trials), random_state=0)
    assert rmse == pytest.approx(-mean_rate_rmse(poisson_trials, generated))
    r = make_generation_scorer("mean_rate_pearson_r", random_state=0)(model, poisson_trials)
    assert 0.5 < r <= 1.0
    score = make_generation_scorer(random_state=0)(model, poisson_trials)
    assert score == pytest.approx(generation_score(poisson_trials, generated))


def test_scorer_n_samples_and_conditions(poisson_trials):
    model = PoissonModel().fit(poisson_trials)
    scorer = make_generation_scorer("mean_rate_rmse", n_samples=7)
    scorer(model, poisson_trials)
    condition = np.arange(len(poisson_trials))
    make_generation_scorer("mean_rate_rmse")(model, poisson_trials, condition)
    np.testing.assert_array_equal(model.last_y_, condition)


def test_scorer_selects_the_right_model_in_grid_search(poisson_trials):
    search = GridSearchCV(
        PoissonModel(),
        {"scale": [0.5, 1.0, 2.0]},
        scoring=make_generation_scorer(),
        cv=2,
    ).fit(poisson_trials)
    assert search.best_params_ == {"scale": 1.0}


def test_scorer_pickles(poisson_trials):
    scorer = make_generation_scorer("std_isi_rmse", n_samples=10, random_state=3)
    restored = pickle.loads(pickle.dumps(scorer))
    model = PoissonModel().fit(poisson_trials)
    assert restored(model, poisson_trials) == scorer(model, poisson_trials)
    assert "std_isi_rmse" in repr(restored)


def test_scorer_refuses_neo_trials_for_an_estimator_that_cannot_bin_them(poisson_trials):
    model = PoissonModel().fit(poisson_trials)
    trains = [
        [neo.SpikeTrain([0.5] * pq.s, t_stop=20 * pq.s) for _ in range(trial.shape[1])]
        for trial in poisson_trials
    ]
    with pytest.raises(TypeError, match="not an LDNSPipeline that could bin them"):
        make_generation_scorer()(model, trains)


def test_multimetric_scorer_samples_once_and_warns_once(poisson_trials):
    model = PoissonModel().fit(poisson_trials)
    real = poisson_trials.copy()
    real[:, :, 0] = 0  # silent in real, firing in generated: one-sided ISI statistics
    calls = []
    original = model.sample

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    model.sample = counting
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        values = make_generation_scorer("all", random_state=0)(model, real)
    assert len(calls) == 1
    one_sided = [w for w in caught if "only one of real and generated" in str(w.message)]
    assert len(one_sided) == 1
    assert "mean ISI" in str(one_sided[0].message)
    assert "ISI standard deviation" in str(one_sided[0].message)
    assert list(values) == ["generation_score", *DISCREPANCIES, "two_sample_accuracy"]
    generated = original(len(real), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert values["generation_score"] == generation_score(real, generated)
        assert values["mean_rate_rmse"] == -mean_rate_rmse(real, generated)
        assert values["two_sample_accuracy"] == -classifier_two_sample_test(
            real, generated, random_state=0
        ).accuracy


def test_multimetric_scorer_fills_grid_search_results(poisson_trials):
    search = GridSearchCV(
        PoissonModel(),
        {"scale": [0.5, 1.0]},
        scoring=make_generation_scorer(["generation_score", "mean_rate_rmse"], random_state=0),
        refit="generation_score",
        cv=3,
    ).fit(poisson_trials)
    assert search.best_params_ == {"scale": 1.0}
    results = search.cv_results_
    assert np.all(results["mean_test_mean_rate_rmse"] < 0)
    assert results["mean_test_generation_score"][1] > results["mean_test_generation_score"][0]
    with pytest.raises(ValueError, match="metric must be"):
        make_generation_scorer(["generation_score", "no_such_statistic"])


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("generated", "error", "match"),
    [
        (np.ones((3, 4, 5)), ValueError, "neurons"),
        (-np.ones((3, 4, 2)), ValueError, "negative"),
        (np.full((3, 4, 2), 0.5), ValueError, "non-integer"),
        (np.full((3, 4, 2), np.nan), ValueError, "NaN"),
        (np.ones((4, 2)), ValueError, "dimension"),
        ([np.ones((4, 2)), np.ones((3, 3))], ValueError, "channels"),
        ("counts", TypeError, "array"),
    ],
)
def test_bad_counts_raise_clear_errors(generated, error, match):
    real = np.ones((3, 4, 2))
    with pytest.raises(error, match=match):
        compare_spike_statistics(real, generated)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"bin_size": -1.0}, ValueError, "bin_size"),
        ({"bin_size": -1.0 * pq.ms}, ValueError, "positive"),
        ({"bin_size": 5 * pq.mV}, TypeError, "time"),
        ({"min_isis": 0}, ValueError, "min_isis"),
        ({"bandwidth": "wide"}, ValueError, "bandwidth"),
        ({"eps": 0.0}, ValueError, "eps"),
        ({"max_lag": -1}, ValueError, "max_lag"),
        ({"max_lag": 4}, ValueError, "max_lag=4 reaches beyond the trials"),
        ({"n_groups": 0}, ValueError, "n_groups"),
    ],
)
def test_bad_parameters_raise(kwargs, error, match):
    counts = np.ones((3, 4, 2))
    with pytest.raises(error, match=match):
        compare_spike_statistics(counts, counts, **kwargs)


def test_generation_score_needs_two_real_trials():
    with pytest.raises(ValueError, match="at least 2 real trials"):
        generation_score(np.ones((1, 4, 2)), np.ones((3, 4, 2)))


def test_unknown_scorer_metric_raises():
    with pytest.raises(ValueError, match="metric"):
        make_generation_scorer("accuracy")


# --------------------------------------------------------------------------------------------
# Neo trials, as LDNSPipeline.sample returns them
# --------------------------------------------------------------------------------------------


def test_metrics_take_neo_trials_with_their_recorded_or_a_given_bin_size(poisson_pair):
    from ldns_sklearn import counts_to_spiketrains

    real, generated = poisson_pair
    bin_size = 5 * pq.ms
    real_neo = counts_to_spiketrains(real, bin_size)
    generated_neo = counts_to_spiketrains(generated, bin_size)
    expected = compare_spike_statistics(real, generated, bin_size=bin_size)
    # Generated trains record their bin size; it applies to both sides.
    assert compare_spike_statistics(real_neo, generated_neo) == pytest.approx(expected)
    assert compare_spike_statistics(real, generated_neo) == pytest.approx(expected)
    assert generation_score(real_neo, generated_neo) == generation_score(real, generated)
    assert pairwise_correlation_rmse(real_neo, generated_neo) == pytest.approx(
        pairwise_correlation_rmse(real, generated)
    )
    stats = spike_statistics(generated_neo)
    np.testing.assert_allclose(stats["mean_rate"], generated.mean(axis=(0, 1)) / 0.005)
    # A recording's own trains record no bin size: it must be given.
    recorded = [[neo.SpikeTrain(t.magnitude, units=t.units, t_stop=t.t_stop) for t in trial]
                for trial in real_neo]
    with pytest.raises(TypeError, match="pass bin_size="):
        mean_rate_rmse(recorded, real)
    assert mean_rate_rmse(recorded, real, bin_size=bin_size) == pytest.approx(0.0)


def test_a_statistic_with_a_zero_floor_is_left_out_with_a_warning_not_minus_inf():
    rng = np.random.default_rng(0)
    real, generated = rng.poisson(0.3, (2, 20, 5)), rng.poisson(0.3, (2, 20, 5))
    # One trial per half: the Fano factor's spread across trials is 0 in both halves.
    with pytest.warns(UserWarning, match="fano_factor_rmse: .* floor of 0 on 2 trials"):
        score = generation_score(real, generated)
    assert np.isfinite(score) and score < 0
    with pytest.raises(ValueError, match="no statistic can be scored on these 10 real trials"):
        generation_score(np.zeros((10, 20, 5), dtype=int), generated)


def test_a_score_from_few_trials_warns_that_it_is_lenient():
    rng = np.random.default_rng(0)
    with pytest.warns(UserWarning, match="from 20 real trials is lenient.*at least 50"):
        generation_score(rng.poisson(0.3, (20, 30, 5)), rng.poisson(0.3, (20, 30, 5)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        generation_score(rng.poisson(0.3, (60, 30, 5)), rng.poisson(0.3, (60, 30, 5)))


def test_the_report_gives_the_score_range_over_other_half_splits():
    from ldns_sklearn.metrics import generation_report

    rng = np.random.default_rng(0)
    rates = rng.uniform(0.05, 0.6, 12)
    real, generated = rng.poisson(rates, (60, 32, 12)), rng.poisson(rates, (60, 32, 12))
    report = generation_report(real, generated, two_sample=False, random_state=0)
    low, high = report.score_range
    assert np.isfinite(low) and low < high < 0
    assert low - 0.5 < report.score < high + 0.5  # the even/odd split is one of them
    again = generation_report(real, generated, two_sample=False, random_state=0)
    other = generation_report(real, generated, two_sample=False, random_state=1)
    assert again.score_range == report.score_range != other.score_range


@pytest.mark.parametrize("name", DISCREPANCIES)
def test_each_public_statistic_is_its_compare_spike_statistics_entry(name):
    rng = np.random.default_rng(3)
    real = [rng.poisson(0.4, size=(20 + i % 7, 9)) for i in range(30)]
    generated = [rng.poisson(rng.uniform(0.1, 0.9, 9), size=(18 + i % 5, 9)) for i in range(25)]
    for trial in generated:
        trial[:, 2] = 0  # silent in one data set only: its entries are one-sided
    options = dict(bin_size=5 * pq.ms, max_lag=4, n_groups=2, min_isis=3, bandwidth=0.7,
                   eps=1e-8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = compare_spike_statistics(real, generated, **options)[name]
    function = getattr(ldns_sklearn.metrics, name)
    accepted = inspect.signature(function).parameters
    own = {key: value for key, value in options.items() if key in accepted}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = function(real, generated, **own)
    assert value == expected and np.isfinite(value)
