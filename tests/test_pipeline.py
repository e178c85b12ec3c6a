"""LDNSPipeline: sampling in the input's own form, scoring, grid search, errors."""

import sys

import elephant.statistics as es
import neo
import numpy as np
import pytest
import quantities as pq
from _tiny import TINY_AE, TINY_DM
from elephant.conversion import BinnedSpikeTrain
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline

from ldns_sklearn import (
    LatentDiffusion,
    LDNSPipeline,
    S4Autoencoder,
    SpikeTrainBinner,
    _validation,
    counts_to_spiketrains,
    load_model,
    make_ldns_pipeline,
    save_model,
)
from ldns_sklearn.datasets import make_lorenz_spikes
from ldns_sklearn.metrics import generation_score, make_generation_scorer
from ldns_sklearn.observation import AutoregressiveObservation, RenewalObservation


def tiny_pipeline(binner=True, random_state=0):
    steps = [
        ("ae", S4Autoencoder(**TINY_AE, random_state=random_state)),
        ("diffusion", LatentDiffusion(**TINY_DM, random_state=random_state)),
    ]
    if binner:
        steps.insert(0, ("bin", SpikeTrainBinner(bin_size=5 * pq.ms)))
    return LDNSPipeline(steps, random_state=random_state)


@pytest.fixture(scope="module")
def lorenz():
    return make_lorenz_spikes(n_trials=24, n_neurons=6, n_bins=20, random_state=0)


@pytest.fixture(scope="module")
def fitted_on_neo(lorenz):
    return tiny_pipeline().fit(lorenz.spiketrains)


def test_is_a_sklearn_pipeline_with_its_params(fitted_on_neo):
    assert isinstance(fitted_on_neo, Pipeline)
    params = fitted_on_neo.get_params()
    assert params["ae__n_latents"] == 2
    assert params["random_state"] == 0
    assert clone(fitted_on_neo).get_params()["diffusion__n_sampling_steps"] == 5


def test_neo_in_neo_out_and_elephant_accepts_it(fitted_on_neo):
    samples = fitted_on_neo.sample(4, random_state=1)
    assert len(samples) == 4
    for trial in samples:
        assert len(trial) == 6
        for train in trial:
            assert isinstance(train, neo.SpikeTrain)
            assert train.t_start == 0 * pq.s
            assert train.t_stop.rescale(pq.ms) == pytest.approx(100 * pq.ms)
            assert train.annotations["generated"] is True
    train = max((t for trial in samples for t in trial), key=len)
    assert es.mean_firing_rate(train).simplified.units == pq.Hz
    # Lorenz neurons fire tens of spikes per 100 ms trial at their peak.
    assert len(train) > 2
    assert np.all(es.isi(train) > 0)
    assert np.isfinite(es.cv(es.isi(train)))
    binned = BinnedSpikeTrain(samples[0], bin_size=5 * pq.ms)
    assert binned.to_array().shape == (6, 20)


def test_counts_in_counts_out(lorenz):
    pipe = tiny_pipeline(binner=False).fit(lorenz.counts)
    samples = pipe.sample(3, random_state=0)
    assert isinstance(samples, np.ndarray)
    assert samples.shape == (3, 20, 6)
    assert samples.dtype == np.int64


def test_sampling_is_reproducible_and_length_is_free(fitted_on_neo):
    binner = fitted_on_neo.named_steps["bin"]
    first = binner.transform(fitted_on_neo.sample(3, random_state=7))
    second = binner.transform(fitted_on_neo.sample(3, random_state=7))
    other = binner.transform(fitted_on_neo.sample(3, random_state=8))
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)
    longer = fitted_on_neo.sample(2, n_bins=50, random_state=0)
    assert longer[0][0].t_stop.rescale(pq.ms) == pytest.approx(250 * pq.ms)


def test_score_is_a_reproducible_generation_quality(fitted_on_neo, lorenz):
    score = fitted_on_neo.score(lorenz.spiketrains[:10])
    assert np.isfinite(score)
    assert score == fitted_on_neo.score(lorenz.spiketrains[:10])


@pytest.mark.parametrize("held_out", [slice(0, 10), slice(10, 24)])
def test_score_and_scorer_take_one_route(fitted_on_neo, lorenz, held_out):
    X = lorenz.spiketrains[held_out]
    scorer = make_generation_scorer()
    assert scorer(fitted_on_neo, X) == fitted_on_neo.score(X)
    real, generated = fitted_on_neo.real_and_generated_counts(X)
    assert fitted_on_neo.score(X) == generation_score(real, generated)
    np.testing.assert_array_equal(real, fitted_on_neo[0].transform(X))
    assert generated.shape == real.shape
    # An explicit seed in the scorer overrides the pipeline's.
    other = make_generation_scorer(random_state=5)(fitted_on_neo, X)
    real, generated = fitted_on_neo.real_and_generated_counts(X, random_state=5)
    assert other == generation_score(real, generated)


def test_grid_search_scores_are_the_pipeline_scores_of_each_split(lorenz):
    X = lorenz.spiketrains
    cv = KFold(3)
    search = GridSearchCV(tiny_pipeline(), {"ae__n_latents": [1, 3]}, cv=cv).fit(X)
    results = search.cv_results_
    assert search.best_index_ == int(np.argmax(results["mean_test_score"]))
    assert search.best_estimator_.named_steps["ae"].n_latents_ == search.best_params_[
        "ae__n_latents"
    ]
    # The recorded score of a split is what the candidate, fitted on that split's training
    # trials, scores on its test trials.
    train, test = next(cv.split(X))
    by_hand = tiny_pipeline().set_params(ae__n_latents=3).fit([X[i] for i in train])
    assert results["split0_test_score"][1] == by_hand.score([X[i] for i in test])
    # Readable scale: tiny, barely trained models are a few to tens of floors away.
    assert np.all((results["mean_test_score"] < -1) & (results["mean_test_score"] > -200))


def test_make_ldns_pipeline_builds_the_standard_steps():
    pipe = make_ldns_pipeline(
        bin_size=None, n_latents=3, autoencoder_params={"max_epochs": 1}, random_state=2
    )
    assert [name for name, _ in pipe.steps] == ["ae", "diffusion"]
    assert pipe.named_steps["ae"].get_params()["max_epochs"] == 1
    assert pipe.named_steps["diffusion"].random_state == 2
    with pytest.raises(TypeError, match="n_latents"):
        make_ldns_pipeline(n_latents=2.5)


def test_errors(lorenz):
    with pytest.raises(NotFittedError):
        tiny_pipeline().sample(2)
    no_sampler = LDNSPipeline([("bin", SpikeTrainBinner()), ("ae", S4Autoencoder(**TINY_AE))])
    no_sampler.fit(lorenz.spiketrains[:8])
    with pytest.raises(TypeError, match="no 'sample' method"):
        no_sampler.sample(2)
    only_sampler = LDNSPipeline([("diffusion", LatentDiffusion(**TINY_DM))])
    only_sampler.fit(np.random.default_rng(0).normal(size=(8, 10, 2)))
    with pytest.raises(TypeError, match="between the data and the sampling step"):
        only_sampler.score(np.zeros((2, 10, 2)))


def test_conditional_pipeline_samples_and_scores_for_given_conditions(lorenz):
    angle = np.linspace(0, 2 * np.pi, len(lorenz.counts), endpoint=False)
    y = np.column_stack([np.cos(angle), np.sin(angle)])
    pipe = tiny_pipeline().fit(lorenz.spiketrains, y)
    assert pipe.named_steps["diffusion"].condition_kind_ == "trial"
    samples = pipe.sample(y=y[:5], random_state=0)
    assert len(samples) == 5
    assert np.isfinite(pipe.score(lorenz.spiketrains[:6], y[:6]))
    with pytest.raises(ValueError, match="y"):
        pipe.sample(3, random_state=0)  # a conditional model needs its conditions
    # A plain list of one value per trial is a per-trial condition too.
    listed = tiny_pipeline().fit(lorenz.spiketrains, list(angle))
    assert listed.named_steps["diffusion"].n_condition_features_ == 1


def test_score_rejects_what_it_cannot_use(fitted_on_neo, lorenz):
    with pytest.raises(ValueError, match="sample_weight"):
        fitted_on_neo.score(lorenz.spiketrains[:4], sample_weight=np.ones(4))


def test_random_spike_placement_is_seeded_by_sample(lorenz):
    pipe = tiny_pipeline().set_params(bin__spike_placement="random").fit(lorenz.spiketrains)
    first = pipe.sample(2, random_state=3)
    again = pipe.sample(2, random_state=3)
    assert first[0][0].annotations["spike_placement"] == "random"
    for trial_a, trial_b in zip(first, again, strict=True):
        for a, b in zip(trial_a, trial_b, strict=True):
            np.testing.assert_array_equal(a.magnitude, b.magnitude)


def test_grid_search_over_the_spike_history_length(lorenz):
    pipe = tiny_pipeline().set_params(ae__observation=AutoregressiveObservation(history=1))
    search = GridSearchCV(pipe, {"ae__observation__history": [1, 3]}, cv=2)
    search.fit(lorenz.spiketrains)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    fitted = search.best_estimator_.named_steps["ae"].observation_
    assert fitted.history_weights_.shape[1] == search.best_params_["ae__observation__history"]
    # The search's candidates are clones: the estimator it was given stays unfitted.
    assert not hasattr(pipe.named_steps["ae"].observation, "history_weights_")


def test_verbose_pipeline_shows_every_steps_progress_per_batch(capsys):
    X = np.random.default_rng(0).poisson(0.5, size=(24, 16, 4))
    quiet = tiny_pipeline(binner=False).fit(X)
    assert capsys.readouterr().err == ""
    pipe = tiny_pipeline(binner=False).set_params(verbose=True).fit(X)
    printed = capsys.readouterr()
    for step in ("S4Autoencoder", "LatentDiffusion"):
        # Per batch (24 trials in batches of 8 over 2 epochs: 6 ticks), with the epoch.
        assert f"{step}: 100%" in printed.err and "6/6" in printed.err
        assert "epoch=2/2" in printed.err
    assert "Processing ae" in printed.out and "Processing diffusion" in printed.out
    # The steps' own parameters are left as the user set them.
    assert pipe.named_steps["ae"].verbose is False
    assert quiet.get_params()["ae__verbose"] is False


def test_the_observation_model_is_calibrated_on_generated_rates(lorenz, monkeypatch):
    calls = []
    original = RenewalObservation.calibrate

    def recording(self, counts, rates):
        calls.append((np.shape(counts), np.shape(rates)))
        return original(self, counts, rates)

    monkeypatch.setattr(RenewalObservation, "calibrate", recording)
    angle = np.linspace(0, 2 * np.pi, len(lorenz.counts), endpoint=False)
    y = np.column_stack([np.cos(angle), np.sin(angle)])
    tiny_pipeline().fit(lorenz.spiketrains, y)
    # The binned training trials against four generated trials per training condition.
    assert calls == [((24, 20, 6), (4 * 24, 20, 6))]
    calls.clear()
    poisson = tiny_pipeline().set_params(ae__observation="poisson").fit(lorenz.spiketrains)
    assert calls == [] and poisson.sample(2, random_state=0)


def test_seeded_steps_calibrate_the_same_without_a_pipeline_seed(lorenz):
    """The calibration draws latents: with the pipeline's random_state None they are
    seeded from the (seeded) autoencoder, so the same steps fit the same model."""
    fits = []
    for _ in range(2):
        pipe = tiny_pipeline().set_params(random_state=None).fit(lorenz.spiketrains)
        fits.append(pipe.named_steps["ae"].observation_.rate_gain_)
    np.testing.assert_array_equal(*fits)


def test_score_report_adds_single_trial_checks(fitted_on_neo, lorenz):
    X, training = lorenz.spiketrains[:10], lorenz.spiketrains[10:]
    report = fitted_on_neo.score_report(X, training=training)
    assert report.score == fitted_on_neo.score(X)
    assert report.two_sample.n_real == 10 and report.two_sample.n_generated == 10
    assert report.memorisation.generated_distances.shape == (10,)
    assert fitted_on_neo.score_report(X, two_sample=False).two_sample is None


# ---------------------------------------- requests that cannot fit, refused before work


def test_sampling_more_than_fits_in_memory_is_refused_at_once(fitted_on_neo, monkeypatch):
    drew = []
    monkeypatch.setattr(LatentDiffusion, "_draw", lambda *a, **k: drew.append(1))
    for kwargs, size in [({"n_samples": 10**9}, "10**9 trials"),
                         ({"n_samples": 1, "n_bins": 10**9}, "10**9 bins")]:
        with pytest.raises(MemoryError, match=r"needs about [\d.e+]+ GB of memory; this "
                           "machine has") as error:
            fitted_on_neo.sample(**kwargs)
        assert isinstance(error.value, ValueError), size  # what searches and the CLI report
    assert drew == []


def test_a_score_whose_pairwise_statistics_cannot_fit_is_refused_before_sampling(
    fitted_on_neo, lorenz, monkeypatch
):
    # 6 neurons' pairs (about 3.5 kB) in "3 kB" of memory stand for 10,000 neurons' (10 GB)
    # on a laptop; sampling the 24 trials would need 7.7 kB, so the order of checks shows.
    monkeypatch.setattr("ldns_sklearn._memory.available_memory", lambda: 3000)
    monkeypatch.setattr(LatentDiffusion, "_draw", lambda *a, **k: 1 / 0)
    with pytest.raises(MemoryError, match="pairwise correlations of 6 neurons"):
        fitted_on_neo.score(lorenz.spiketrains)
    with pytest.raises(MemoryError, match="a subset of the neurons"):
        generation_score(lorenz.counts, lorenz.counts)


@pytest.mark.parametrize("form", ["spiketrains", "segments", "block"])
def test_generated_trains_carry_the_name_and_annotations_of_their_unit(form, lorenz, tmp_path):
    trials = []
    for i, trial in enumerate(lorenz.spiketrains[:12]):
        named = []
        for k, train in enumerate(trial):
            train = train.copy()
            train.name = f"unit_{k}"
            # Identity (the same in every trial) and a per-trial note, which is not.
            train.annotations = {"unit_id": np.int64(100 + k), "channel": f"ch{k % 2}",
                                 "trial": i}
            named.append(train)
        trials.append(named)
    if form != "spiketrains":
        segments = []
        for trial in trials:
            segment = neo.Segment()
            segment.spiketrains.extend(trial)
            segments.append(segment)
        trials = segments
        if form == "block":
            block = neo.Block()
            block.segments.extend(segments)
            trials = block
    pipe = tiny_pipeline().fit(trials)
    save_model(pipe, tmp_path / "model.npz")
    samples = load_model(tmp_path / "model.npz").sample(2, random_state=0)
    generated = samples.segments if form == "block" else samples
    for trial in generated:
        trains = trial.spiketrains if form != "spiketrains" else trial
        for k, train in enumerate(trains):
            assert train.name == f"unit_{k}"
            assert train.annotations["unit_id"] == 100 + k
            assert train.annotations["channel"] == f"ch{k % 2}"
            assert "trial" not in train.annotations and train.annotations["generated"]


def test_sampling_trials_of_different_lengths_pads_once_unpads_once_and_checks_nothing(
    monkeypatch,
):
    rng = np.random.default_rng(0)
    counts = [rng.poisson(0.5, size=(12 + 4 * (i % 3), 3)) for i in range(24)]
    trials = counts_to_spiketrains(counts, 5 * pq.ms)
    pipe = tiny_pipeline().fit(trials)
    expected = pipe.sample(6, random_state=3)
    assert len({len(trial) for trial in pipe[0].transform(expected)}) > 1  # ragged

    calls = {"pad_trials": 0, "unpad_trials": 0, "check_trials": 0}
    for name in calls:
        original = getattr(_validation, name)

        def counting(*args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        for module in list(sys.modules.values()):
            if module.__name__.startswith("ldns_sklearn") and getattr(
                module, name, None
            ) is original:
                monkeypatch.setattr(module, name, counting)
    samples = pipe.sample(6, random_state=3)
    # The sampler draws padded latents; they pass down as one value, checked by nobody
    # (the library made them) and given back as trials of their own lengths once.
    assert calls["pad_trials"] <= 1
    assert calls["unpad_trials"] == 1
    assert calls["check_trials"] == 0
    for drawn, again in zip(samples, expected, strict=True):
        for a, b in zip(drawn, again, strict=True):
            np.testing.assert_array_equal(a.magnitude, b.magnitude)
            assert a.t_stop == b.t_stop
