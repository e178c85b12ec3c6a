"""In-painting: missing bins drawn given recorded ones, missing neurons from the rest."""

import warnings

import _tiny
import neo
import numpy as np
import pytest
import quantities as pq
import torch
from sklearn.preprocessing import FunctionTransformer
from test_schedule import GP_BINS, GP_COVARIANCE, gp_denoiser

from ldns_sklearn import (
    AutoregressiveObservation,
    LatentDiffusion,
    LDNSPipeline,
    PoissonObservation,
    RenewalObservation,
    S4Autoencoder,
    make_ldns_pipeline,
)
from ldns_sklearn._backend.device import make_generator
from ldns_sklearn._backend.inpainting import training_observations
from ldns_sklearn._backend.samplers import SAMPLERS, sample
from ldns_sklearn._backend.schedule import NoiseSchedule
from ldns_sklearn._trials import Trials
from ldns_sklearn.datasets import make_lorenz_spikes
from ldns_sklearn.persistence import load_model, save_model

pytestmark = pytest.mark.usefixtures("one_torch_thread_per_module")

TINY_DM = dict(_tiny.TINY_DM, state_size=4, max_epochs=1, n_sampling_steps=3,
               n_diffusion_steps=50, device="cpu")
TINY_AE = dict(_tiny.TINY_AE, state_size=4, max_epochs=1, device="cpu")


def tiny_diffusion(**params):
    return LatentDiffusion(**{**TINY_DM, "inpaint_fraction": 0.5, "random_state": 0, **params})


def latents(n_trials=16, n_bins=12, seed=0):
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.normal(size=(n_trials, n_bins, 2)), axis=1) * 0.3


# ------------------------------------------------------------------- training masks


def test_training_masks_cover_forecast_backcast_gap_and_scattered_bins():
    valid = torch.ones(4000, 1, 10)
    valid[:50, :, 6:] = 0  # shorter trials: their padding is never observed
    valid[50:60, :, 1:] = 0  # one-bin trials: nothing to hide, so nothing is observed
    observed = training_observations(valid, 0.5, make_generator(0))[:, 0].bool()
    assert not (observed & ~valid[:, 0].bool()).any()
    assert not observed[50:60].any()
    masked = observed[60:][observed[60:].any(dim=1)]
    assert 0.4 < len(masked) / 3940 < 0.55  # about half the trials (scattered: some hide all)
    rows = masked.int()
    prefix = rows[:, 0].bool() & (rows.diff(dim=1) <= 0).all(dim=1) & ~rows[:, -1].bool()
    suffix = ~rows[:, 0].bool() & (rows.diff(dim=1) >= 0).all(dim=1) & rows[:, -1].bool()
    gap = rows[:, 0].bool() & rows[:, -1].bool() & ((rows.diff(dim=1) != 0).sum(dim=1) == 2)
    for kind in (prefix, suffix, gap):
        assert kind.float().mean() > 0.15
    assert not training_observations(valid, 0.0, make_generator(0)).any()


def test_sampler_returns_known_bins_exactly_and_fills_the_rest():
    schedule = NoiseSchedule(1000, "cosine")
    model_fn = gp_denoiser(schedule, "v")
    truth = torch.as_tensor(
        np.random.default_rng(0).multivariate_normal(np.zeros(GP_BINS), GP_COVARIANCE),
        dtype=torch.float32,
    )
    values = truth.expand(200, 1, GP_BINS).clone()
    where = torch.ones(200, 1, GP_BINS)
    where[..., 6:11] = 0
    for name in SAMPLERS:
        z = sample(model_fn, schedule, (200, 1, GP_BINS), generator=make_generator(0),
                   device=torch.device("cpu"), sampler=name, n_steps=20, prediction="v",
                   known=(values, where))
        assert torch.equal(z[where.bool()], values[where.bool()])
        assert torch.isfinite(z).all() and z[..., 6:11].std(dim=0).min() > 0


# ----------------------------------------------------------------- LatentDiffusion


def test_inpaint_keeps_observed_bins_exactly_and_is_reproducible():
    Z = latents()
    model = tiny_diffusion().fit(Z)
    observed = np.arange(12) < 7
    query = Z[:4].copy()
    query[0, 0, 0] = 1e3  # far outside the clipping range of the training latents
    query[:, ~observed] = np.nan  # a recording has no value there
    before = query.copy()
    filled = model.inpaint(query, observed, random_state=3)
    np.testing.assert_array_equal(query, before)  # the input is not changed
    np.testing.assert_array_equal(filled[:, observed], query[:, observed])
    assert np.isfinite(filled).all()
    np.testing.assert_array_equal(filled, model.inpaint(query, observed, random_state=3))
    assert not np.array_equal(filled, model.inpaint(query, observed, random_state=4))


def test_inpaint_of_ragged_trials_and_per_trial_masks():
    Z = [latents(n_bins=n, seed=n)[0] for n in (8, 12, 10)]
    model = tiny_diffusion().fit(latents())
    masks = [np.arange(8) >= 3, np.arange(12) % 3 != 0, np.arange(10) < 9]
    filled = model.inpaint(Z, masks, random_state=0)
    assert [trial.shape for trial in filled] == [trial.shape for trial in Z]
    for trial, given, mask in zip(filled, Z, masks, strict=True):
        np.testing.assert_array_equal(trial[mask], given[mask])
    padded_mask = np.zeros((3, 12), dtype=bool)
    for i, mask in enumerate(masks):
        padded_mask[i, : len(mask)] = mask
    again = model.inpaint(Z, padded_mask, random_state=0)
    for a, b in zip(filled, again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_inpaint_survives_a_save_and_load(tmp_path):
    model = tiny_diffusion().fit(latents())
    save_model(model, tmp_path / "dm.ldns")
    loaded = load_model(tmp_path / "dm.ldns")
    observed = np.arange(12) < 6
    np.testing.assert_array_equal(
        model.inpaint(latents()[:3], observed, random_state=0),
        loaded.inpaint(latents()[:3], observed, random_state=0),
    )


def test_inpaint_with_a_condition_and_guidance():
    Z, rng = latents(), np.random.default_rng(1)
    y = rng.normal(size=(16, 2))
    model = tiny_diffusion(condition_dropout=0.2, guidance_scale=2.0).fit(Z, y)
    observed = np.arange(12) < 6
    filled = model.inpaint(Z[:3], observed, y=y[:3], random_state=0)
    np.testing.assert_array_equal(filled[:, :6], Z[:3, :6])
    assert model.inpaint(Z[:3], observed, random_state=0).shape == (3, 12, 2)  # without y
    with pytest.raises(ValueError, match="rows"):
        model.inpaint(Z[:3], observed, y=y[:2])
    with pytest.raises(ValueError, match="NaN"):
        model.inpaint(Z[:3], observed, y=np.full((3, 2), np.nan))


def test_inpaint_errors_name_the_problem():
    Z = latents()
    model = tiny_diffusion().fit(Z)
    observed = np.arange(12) < 6
    with pytest.raises(ValueError, match="inpaint_fraction"):
        tiny_diffusion(inpaint_fraction=0.0).fit(Z).inpaint(Z, observed)
    with pytest.raises(ValueError, match=r"shape \(10,\); expected \(12,\)"):
        model.inpaint(Z, np.ones(10, dtype=bool))
    with pytest.raises(ValueError, match="hides every bin of trial 2"):
        mask = np.ones((16, 12), dtype=bool)
        mask[2] = False
        model.inpaint(Z, mask)
    with pytest.raises(ValueError, match="boolean mask"):
        model.inpaint(Z, np.arange(6))  # indices, not a mask
    with pytest.raises(ValueError, match="NaN"):
        bad = Z.copy()
        bad[0, 0, 0] = np.nan  # an observed bin
        model.inpaint(bad, observed)
    with pytest.raises(ValueError, match="channels"):
        model.inpaint(Z[..., :1], observed)
    with pytest.raises(ValueError, match="inpaint_fraction"):
        tiny_diffusion(inpaint_fraction=1.0).fit(Z)


@pytest.mark.slow
def test_inpainted_gap_follows_the_recorded_bins_of_a_gaussian_process():
    # Known answer: for a Gaussian process the missing bins given the observed ones are
    # Gaussian with a closed-form mean. The filled bins must be much nearer that mean
    # than what a model that ignores the recording gives (the prior mean, 0), and with
    # nothing observed the same network still samples the prior (unit variance).
    rng = np.random.default_rng(1)
    Z = rng.multivariate_normal(np.zeros(GP_BINS), GP_COVARIANCE, size=2000)[..., None]
    model = LatentDiffusion(hidden_channels=32, n_blocks=2, max_epochs=40, batch_size=64,
                            inpaint_fraction=0.5, device="cpu", random_state=0).fit(Z)
    missing = np.r_[5:11]
    known = np.setdiff1d(np.arange(GP_BINS), missing)
    observed = np.isin(np.arange(GP_BINS), known)
    recorded = np.random.default_rng(0).multivariate_normal(
        np.zeros(GP_BINS), GP_COVARIANCE, size=50)
    conditional_mean = recorded[:, known] @ np.linalg.solve(
        GP_COVARIANCE[np.ix_(known, known)], GP_COVARIANCE[np.ix_(known, missing)])
    repeated = np.repeat(recorded, 20, axis=0)[..., None]
    filled = model.inpaint(repeated, observed, random_state=1)[..., 0]
    filled_mean = filled.reshape(50, 20, GP_BINS)[:, :, missing].mean(axis=1)
    error = np.sqrt(np.mean((filled_mean - conditional_mean) ** 2))
    error_ignoring_the_recording = np.sqrt(np.mean(conditional_mean**2))
    assert error < 0.7 * error_ignoring_the_recording
    unconditional = model.sample(1000, random_state=2)[..., 0]
    assert 0.8 < unconditional.std(axis=0).min() and unconditional.std(axis=0).max() < 1.2


# ------------------------------------------------------------------ autoencoder


def test_encoder_ignores_missing_bins_as_coordinated_dropout_taught_it():
    X = np.random.default_rng(0).poisson(1.0, size=(6, 16, 5))
    ae = S4Autoencoder(**TINY_AE, random_state=0).fit(X)
    observed = (np.arange(16) < 5) | (np.arange(16) >= 9)
    Z = ae.transform(X, observed_bins=observed)
    assert np.isfinite(Z).all() and not np.allclose(Z, ae.transform(X))
    changed = X.copy()
    changed[:, 5:9] = 7  # what a missing stretch holds does not matter
    np.testing.assert_array_equal(Z, ae.transform(changed, observed_bins=observed))
    # the recorded entries are read as coordinated dropout presents them in training
    hidden_as_in_training = X * observed[None, :, None] / (1 - ae.mask_prob)
    np.testing.assert_allclose(
        Z, ae.model_.encode(hidden_as_in_training, None, batch_size=8, device="cpu"))


def test_encoder_ignores_missing_neurons_and_needs_coordinated_dropout():
    X = np.random.default_rng(0).poisson(1.0, size=(6, 16, 5))
    ae = S4Autoencoder(**TINY_AE, random_state=0).fit(X)
    neurons = np.array([True, True, False, True, False])
    changed = X.copy()
    changed[..., ~neurons] = 9
    Z = ae.transform(X, observed_neurons=neurons)
    np.testing.assert_array_equal(Z, ae.transform(changed, observed_neurons=neurons))
    assert not np.allclose(Z, ae.transform(X))
    plain = S4Autoencoder(**TINY_AE, mask_prob=0.0, random_state=0).fit(X)
    for missing in ({"observed_neurons": neurons}, {"observed_bins": np.arange(16) < 9}):
        with pytest.raises(ValueError, match="mask_prob=0"):
            plain.transform(X, **missing)
    with pytest.raises(ValueError, match="hides every neuron of trial 0"):
        ae.transform(X, observed_neurons=np.zeros(5, dtype=bool))
    with pytest.raises(ValueError, match=r"expected \(5,\) or \(6, 5\)"):
        ae.transform(X, observed_neurons=np.ones(4, dtype=bool))


# ----------------------------------------------------------------- observation models


def test_observation_models_keep_recorded_counts():
    rng = np.random.default_rng(0)
    counts = rng.poisson(2.0, size=(50, 20, 3))
    rates = np.full(counts.shape, 2.0)
    keep = np.zeros(counts.shape, dtype=bool)
    keep[:, :10] = True
    keep[..., 0] = True
    for model in (PoissonObservation(), AutoregressiveObservation(history=3),
                  RenewalObservation(history=3, random_state=0)):
        model.fit(counts, rates)
        drawn = model._sample_trials(Trials(rates), 0, counts, keep).padded
        np.testing.assert_array_equal(drawn[keep], counts[keep])
        assert not np.array_equal(drawn[~keep], counts[~keep])
        # The deprecated public keywords draw the same, and say what replaces them.
        with pytest.warns(FutureWarning, match=r"sample\(counts=, observed=\) is deprecated"
                          ".*LDNSPipeline.inpaint"):
            np.testing.assert_array_equal(
                model.sample(rates, 0, counts=counts, observed=keep), drawn)
        with pytest.warns(FutureWarning):
            with pytest.raises(ValueError, match="give both or neither"):
                model.sample(rates, 0, counts=counts)
            # 0/1 numbers are read as a mask, as everywhere a mask is taken; others not.
            np.testing.assert_array_equal(
                model.sample(rates, 0, counts=counts, observed=keep.astype(int)), drawn
            )
            with pytest.raises(ValueError, match="boolean"):
                model.sample(rates, 0, counts=counts, observed=2 * keep.astype(int))
            with pytest.raises(ValueError, match="shape"):
                model.sample(rates, 0, counts=counts, observed=keep[:, :5])


def test_spike_history_hears_the_recorded_spikes():
    # A strongly refractory neuron: right after a recorded burst it stays nearly silent.
    counts = np.random.default_rng(0).poisson(1.0, size=(40, 30, 1))
    rates = np.ones(counts.shape)
    model = AutoregressiveObservation(history=2).fit(counts, rates)
    model.history_weights_ = np.full((1, 2), -3.0)
    recorded = np.zeros((2000, 30, 1), dtype=np.int64)
    keep = np.zeros(recorded.shape, dtype=bool)
    keep[:, :10] = True
    ones = Trials(np.ones(recorded.shape))
    silent_before = model._sample_trials(ones, 0, recorded.copy(), keep).padded
    recorded[:, 8:10] = 3
    burst_before = model._sample_trials(ones, 0, recorded, keep).padded
    assert burst_before[:, 10].mean() < 0.2 * silent_before[:, 10].mean()


def test_the_drawing_steps_in_painting_keywords_are_deprecated_and_draw_the_same():
    X = np.random.default_rng(0).poisson(1.0, size=(16, 12, 4))
    trials = [[neo.SpikeTrain(np.flatnonzero(trial[:, j]) * 5.0 + 1.0, t_stop=60.0,
                              units="ms") for j in range(4)] for trial in X]
    pipe = _pipeline().fit(trials)
    binner, ae = pipe[0], pipe[1]
    counts = binner.transform(trials[:3])
    Z = ae.transform(counts)
    keep = np.zeros(counts.shape, dtype=bool)
    keep[:, :8] = True
    drawn = ae._inverse_trials(Trials(Z), 0, counts, keep)
    with pytest.warns(FutureWarning, match=r"S4Autoencoder.inverse_transform\(counts=, "
                      r"observed=\) is deprecated.*LDNSPipeline.inpaint"):
        np.testing.assert_array_equal(
            ae.inverse_transform(Z, random_state=0, counts=counts, observed=keep), drawn.padded)
    kept_trains = binner._inverse_trials(drawn, 0, trials[:3], keep)
    with pytest.warns(FutureWarning, match=r"SpikeTrainBinner.inverse_transform\(recorded=, "
                      r"observed=\) is deprecated"):
        public = binner.inverse_transform(drawn.padded, 0, recorded=trials[:3], observed=keep)
    for ours, theirs in zip(public, kept_trains, strict=True):
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(a.times, b.times)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the contract's own forms say nothing
        ae.inverse_transform(Z, random_state=0)
        binner.inverse_transform(drawn.padded, 0)
        ae.observation_.sample(ae.predict_rates(Z), 0)


# ------------------------------------------------------------------------ pipeline


def _pipeline(**diffusion):
    return make_ldns_pipeline(
        bin_size=5 * pq.ms, n_latents=2, random_state=0,
        autoencoder_params={k: v for k, v in TINY_AE.items() if k != "n_latents"},
        diffusion_params={**TINY_DM, "inpaint_fraction": 0.5, **diffusion},
    )


def test_pipeline_inpaints_counts_keeping_what_was_recorded():
    X = np.random.default_rng(0).poisson(1.0, size=(16, 12, 4))
    pipe = _pipeline().set_params(steps=_pipeline().steps[1:]).fit(X)
    observed_bins = np.arange(12) < 8
    observed_neurons = np.array([True, True, False, True])
    filled = pipe.inpaint(X[:3], observed_bins, observed_neurons, random_state=0)
    entries = observed_bins[:, None] & observed_neurons[None, :]
    np.testing.assert_array_equal(filled[:, entries], X[:3, entries])
    assert filled.dtype == np.int64 and filled.shape == (3, 12, 4)
    np.testing.assert_array_equal(
        filled, pipe.inpaint(X[:3], observed_bins, observed_neurons, random_state=0))
    with pytest.raises(ValueError, match="observed_bins and/or observed_neurons"):
        pipe.inpaint(X[:3])
    with pytest.raises(ValueError, match="hides every bin"):
        pipe.inpaint(X[:3], observed_bins=np.zeros(12, dtype=bool))
    with pytest.raises(ValueError, match="shape"):
        pipe.inpaint(X[:3], observed_neurons=np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="n_passes"):
        pipe.inpaint(X[:3], observed_bins, n_passes=0)
    once = pipe.inpaint(X[:3], observed_bins, observed_neurons, n_passes=1, random_state=0)
    np.testing.assert_array_equal(once[:, entries], X[:3, entries])
    assert not np.array_equal(once, filled)


def test_pipeline_inpaint_names_the_pipelines_it_supports():
    X = np.random.default_rng(0).poisson(1.0, size=(16, 12, 4))
    steps = _pipeline().steps[1:]
    pipe = LDNSPipeline([("identity", FunctionTransformer()), *steps]).fit(X)
    with pytest.raises(TypeError, match="optional SpikeTrainBinner"):
        pipe.inpaint(X[:2], observed_bins=np.arange(12) < 6)

    class Smoothing(S4Autoencoder):
        def transform(self, X, **masks):  # a user's override, which in-painting would skip
            return super().transform(X, **masks)

    encoder = Smoothing(**steps[0][1].get_params())
    pipe = LDNSPipeline([("ae", encoder), steps[1]]).fit(X)
    with pytest.raises(TypeError, match="keep their transform, inverse_transform"):
        pipe.inpaint(X[:2], observed_bins=np.arange(12) < 6)


def test_pipeline_inpaints_ragged_counts():
    X = [np.random.default_rng(n).poisson(1.0, size=(n, 4)) for n in (10, 12, 9)] * 4
    pipe = _pipeline().set_params(steps=_pipeline().steps[1:]).fit(X)
    masks = [np.arange(len(trial)) < 6 for trial in X[:3]]
    filled = pipe.inpaint(X[:3], masks, random_state=0)
    assert [trial.shape for trial in filled] == [trial.shape for trial in X[:3]]
    for trial, given in zip(filled, X[:3], strict=True):
        np.testing.assert_array_equal(trial[:6], given[:6])


def _segments(n_trials=16, n_neurons=3, seed=0):
    rng = np.random.default_rng(seed)
    segments = []
    for _ in range(n_trials):
        segment = neo.Segment()
        for j in range(n_neurons):
            times = np.sort(rng.uniform(0, 60, size=rng.poisson(12)))  # in ms, 12 bins
            train = neo.SpikeTrain(times * pq.ms, t_start=0 * pq.ms, t_stop=60 * pq.ms,
                                   name=f"unit {j}")
            segment.spiketrains.append(train)
        segments.append(segment)
    return segments


def test_pipeline_inpaints_neo_keeping_the_recorded_spike_times():
    segments = _segments()
    pipe = _pipeline().fit(segments)
    observed_bins = np.arange(12) < 8  # bins of 5 ms: the first 40 ms were recorded
    filled = pipe.inpaint(segments[:3], observed_bins=observed_bins, random_state=0)
    assert len(filled) == 3 and isinstance(filled[0], neo.Segment)
    for original, new in zip(segments[:3], filled, strict=True):
        for old_train, new_train in zip(original.spiketrains, new.spiketrains, strict=True):
            assert new_train.units == pq.ms and new_train.t_stop == old_train.t_stop
            assert new_train.name == old_train.name and new_train.annotations["inpainted"]
            recorded = old_train.magnitude[old_train.magnitude < 40]
            np.testing.assert_array_equal(new_train.magnitude[new_train.magnitude < 40],
                                          recorded)
    binned = pipe.named_steps["bin"].transform(filled)
    assert binned[:, 8:].sum() > 0  # the missing bins were filled with spikes
    neurons = pipe.inpaint(segments[:2], observed_neurons=[True, False, True],
                           random_state=0)
    for original, new in zip(segments[:2], neurons, strict=True):
        for j in (0, 2):
            np.testing.assert_array_equal(new.spiketrains[j].magnitude,
                                          original.spiketrains[j].magnitude)
    # Counts given to the same (Neo-fitted) pipeline come back as counts, as fit and
    # score accept them (was a TypeError about recorded[0] after all the work).
    counts = pipe.named_steps["bin"].transform(segments[:3])
    filled_counts = pipe.inpaint(counts, observed_bins=observed_bins, random_state=0)
    assert filled_counts.shape == counts.shape
    np.testing.assert_array_equal(filled_counts[:, :8], counts[:, :8])


@pytest.mark.slow
def test_missing_neurons_are_inferred_from_the_recorded_ones():
    # Known answer: the true rates of Lorenz data. Rates decoded from three quarters of
    # the neurons must predict the missing quarter's true rates far better than each
    # neuron's mean rate does (what a model that ignores the recording can offer).
    data = make_lorenz_spikes(n_trials=200, n_neurons=32, n_bins=64, return_spiketrains=False,
                              random_state=0)
    ae = S4Autoencoder(n_latents=4, hidden_channels=32, max_epochs=60, learning_rate=4e-3,
                       device="cpu", random_state=0).fit(data.counts[:150])
    neurons = np.ones(32, dtype=bool)
    neurons[::4] = False
    test, truth = data.counts[150:], data.rates[150:]
    rates = ae.predict_rates(ae.transform(test, observed_neurons=neurons))
    error = np.sqrt(np.mean((rates - truth)[..., ~neurons] ** 2))
    mean_rate = data.counts[:150].mean(axis=(0, 1))
    baseline = np.sqrt(np.mean((mean_rate - truth)[..., ~neurons] ** 2))
    assert error < 0.6 * baseline
