"""LatentDiffusion: the denoiser network, the estimator contract, conditioning and learning."""

import pickle

import numpy as np
import pytest
import torch
from _sklearn_checks import expected_failures, tagged_as_2d
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import estimator_checks
from sklearn.utils.estimator_checks import parametrize_with_checks

from ldns_sklearn._backend.denoiser import Denoiser
from ldns_sklearn._backend.device import make_generator, seeded
from ldns_sklearn.diffusion import LatentDiffusion

pytestmark = pytest.mark.usefixtures("one_torch_thread_per_module")

TINY = dict(
    hidden_channels=8,
    n_blocks=1,
    state_size=4,
    max_epochs=1,
    n_sampling_steps=3,
    n_diffusion_steps=50,
    batch_size=8,
    device="cpu",
)


def tiny(**params):
    return LatentDiffusion(**{**TINY, "random_state": 0, **params})


def smooth_latents(n_trials=24, n_bins=16, n_latents=2, seed=0):
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.normal(size=(n_trials, n_bins, n_latents)), axis=1) * 0.3 + 1.0


# ------------------------------------------------------------------------ network


def _perturbed_denoiser(**kwargs):
    """A denoiser whose adaLN-zero layers are non-zero, so its blocks are not the identity."""
    with seeded(0):
        net = Denoiser(3, 8, 2, state_size=4, **kwargs)
    with torch.no_grad():
        for block in net.blocks:
            block.modulation[-1].weight.normal_(0, 0.5, generator=make_generator(1))
            block.modulation[-1].bias.normal_(0, 0.5, generator=make_generator(2))
    return net.eval()


def test_denoiser_blocks_start_as_identity():
    with seeded(0):
        net = Denoiser(3, 8, 2, state_size=4)
    z = torch.randn(2, 3, 12, generator=make_generator(0))
    with torch.no_grad():
        expected = net.conv_out(net.conv_in(z))
        torch.testing.assert_close(net(z, torch.tensor([1, 700])), expected)


def test_denoiser_uses_the_time_step_once_trained():
    net = _perturbed_denoiser()
    z = torch.randn(1, 3, 12, generator=make_generator(0)).repeat(2, 1, 1)
    with torch.no_grad():
        out = net(z, torch.tensor([1, 700]))
    assert not torch.allclose(out[0], out[1], atol=1e-3)


def test_padded_trial_gives_the_same_output_as_the_trial_alone():
    net = _perturbed_denoiser()
    short = torch.randn(1, 3, 9, generator=make_generator(3))
    padded = torch.cat([short, torch.full((1, 3, 6), 50.0)], dim=-1)
    mask = torch.ones(1, 1, 15)
    mask[..., 9:] = 0
    t = torch.tensor([300])
    with torch.no_grad():
        alone = net(short, t)
        in_batch = net(padded, t, mask)
    torch.testing.assert_close(in_batch[..., :9], alone, rtol=1e-4, atol=1e-5)
    assert torch.all(in_batch[..., 9:] == 0)


def test_denoiser_conditions_change_the_output():
    net = _perturbed_denoiser(n_trial_features=2, n_series_features=1)
    z = torch.randn(1, 3, 10, generator=make_generator(0)).repeat(2, 1, 1)
    t = torch.tensor([100, 100])
    series = torch.zeros(2, 1, 10)
    with torch.no_grad():
        by_trial = net(z, t, None, torch.tensor([[1.0, 0.0], [-1.0, 2.0]]), series)
        series[1] = 1.0
        by_series = net(z, t, None, torch.zeros(2, 2), series)
    assert not torch.allclose(by_trial[0], by_trial[1], atol=1e-3)
    assert not torch.allclose(by_series[0], by_series[1], atol=1e-3)


# ---------------------------------------------------------------- sklearn contract

@parametrize_with_checks(
    [tagged_as_2d(LatentDiffusion)(**tiny().get_params())],
    expected_failed_checks=lambda est: expected_failures(),
)
def test_sklearn_checks(estimator, check):
    check(estimator)


def test_parameter_constraints_are_enforced():
    # Not in the battery above (sklearn runs it for its own estimators only).
    estimator_checks.check_param_validation("LatentDiffusion", tiny())


def test_tags_declare_3d_input():
    tags = tiny().__sklearn_tags__()
    assert tags.input_tags.three_d_array and not tags.input_tags.two_d_array
    assert not tags.target_tags.required


def test_fit_returns_self_and_does_not_change_params():
    model = tiny()
    params = model.get_params()
    Z = smooth_latents()
    Z_copy = Z.copy()
    assert model.fit(Z) is model
    assert model.get_params() == params
    np.testing.assert_array_equal(Z, Z_copy)
    assert model.n_latents_ == 2 and model.n_iter_ == 1 and len(model.history_) == 1


def test_fit_is_deterministic_on_cpu():
    Z = smooth_latents()
    first, second = tiny().fit(Z), tiny().fit(Z)
    for name, value in first.model_.network.state_dict().items():
        torch.testing.assert_close(value, second.model_.network.state_dict()[name], rtol=0, atol=0)
    np.testing.assert_array_equal(
        first.sample(3, random_state=1), second.sample(3, random_state=1)
    )
    assert first.score(Z) == second.score(Z)
    other = tiny(random_state=1).fit(Z)
    assert not np.array_equal(first.sample(3, random_state=1), other.sample(3, random_state=1))


@pytest.mark.parametrize("sampler", ["ddpm", "ddim", "dpm-solver++", "dpm-solver++-sde"])
def test_sampling_is_reproducible_and_seeded(sampler):
    model = tiny(sampler=sampler, eta=1.0).fit(smooth_latents())
    a, b = model.sample(4, random_state=7), model.sample(4, random_state=7)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, model.sample(4, random_state=8))
    assert a.shape == (4, 16, 2) and np.all(np.isfinite(a))


def test_pickle_roundtrip_keeps_only_arrays_and_gives_same_samples():
    model = tiny().fit(smooth_latents())
    state = model.__getstate__()
    assert all(isinstance(w, np.ndarray) for w in state["model_"]["weights"].values())
    assert all(isinstance(v, (int, float, str)) for v in state["model_"]["spec"].values())
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(
        restored.sample(3, random_state=0), model.sample(3, random_state=0)
    )
    assert restored.score(smooth_latents()) == model.score(smooth_latents())


def test_longer_trials_than_in_training():
    model = tiny().fit(smooth_latents(n_bins=16))
    long = model.sample(2, n_bins=64, random_state=0)
    assert long.shape == (2, 64, 2) and np.all(np.isfinite(long))


def test_sample_batch_size_bounds_batches_not_results_shape():
    model = tiny(sample_batch_size=2).fit(smooth_latents())
    assert model.sample(5, random_state=0).shape == (5, 16, 2)


def test_ema_none_and_early_stopping():
    Z = smooth_latents()
    assert np.isfinite(tiny(ema_decay=None).fit(Z).score(Z))
    model = tiny(early_stopping=True, validation_fraction=0.25, max_epochs=3).fit(Z)
    assert "val_loss" in model.history_[0] and model.best_epoch_ is not None
    # "auto" holds out trials only where at least 20 would be held out.
    assert "val_loss" not in tiny(early_stopping="auto").fit(Z).history_[0]
    auto = tiny(early_stopping="auto", validation_fraction=0.9).fit(Z)  # 21 of 24
    assert "val_loss" in auto.history_[0]


def test_scaling_is_stored_and_clipping_is_reported():
    Z = smooth_latents()
    Z[0, 0, 0] = 1e3  # one extreme bin
    model = tiny().fit(Z)
    flat = Z.reshape(-1, 2)
    np.testing.assert_allclose(model.latent_mean_, flat.mean(0))
    np.testing.assert_allclose(model.latent_scale_, flat.std(0))
    assert model.clipped_fraction_ == pytest.approx(1 / flat.size)


# ------------------------------------------------------------------ ragged trials


def test_ragged_latents():
    rng = np.random.default_rng(0)
    Z = [rng.normal(size=(n, 2)) for n in (8, 12, 8, 12, 10, 8)]
    model = tiny().fit(Z)
    np.testing.assert_array_equal(model.train_lengths_, [8, 12, 8, 12, 10, 8])
    samples = model.sample(20, random_state=0)
    assert isinstance(samples, list) and len(samples) == 20
    assert {s.shape[0] for s in samples} <= {8, 10, 12}
    assert len({s.shape[0] for s in samples}) > 1
    assert all(s.shape[1] == 2 and np.all(np.isfinite(s)) for s in samples)
    assert model.sample(3, n_bins=9, random_state=0).shape == (3, 9, 2)
    assert np.isfinite(model.score(Z))
    assert model.score(Z) == model.score(Z)


# ------------------------------------------------------------------------ bad input


def test_unfitted_model_raises_not_fitted():
    with pytest.raises(NotFittedError):
        tiny().sample(2)
    with pytest.raises(NotFittedError):
        tiny().score(smooth_latents())


@pytest.fixture(scope="module")
def fitted():
    return tiny().fit(smooth_latents())


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(n_samples=0), ValueError, "n_samples must be >= 1"),
        (dict(n_samples=-3), ValueError, "n_samples must be >= 1"),
        (dict(n_samples=2.5), TypeError, "n_samples must be an int"),
        (dict(n_samples=True), TypeError, "n_samples must be an int"),
        (dict(n_samples=None), ValueError, "n_samples is required"),
        (dict(n_samples=2, n_bins=0), ValueError, "n_bins must be >= 1"),
        (dict(n_samples=2, y=np.zeros((2, 1))), ValueError, "fitted without a condition"),
    ],
)
def test_bad_sample_requests(fitted, kwargs, error, match):
    with pytest.raises(error, match=match):
        fitted.sample(**kwargs)


def test_sampling_steps_beyond_the_schedule_are_refused_before_training(fitted):
    model = clone(fitted).set_params(n_sampling_steps=100, max_epochs=10**6)
    with pytest.raises(ValueError, match="n_sampling_steps=100 exceeds n_diffusion_steps=50"):
        model.fit(smooth_latents())  # at once: a million epochs would never end
    assert not hasattr(model, "model_")
    # Raised after fitting too, when the parameter is changed on a fitted model.
    refitted = clone(fitted).fit(smooth_latents()).set_params(n_sampling_steps=100)
    with pytest.raises(ValueError, match="n_sampling_steps=100"):
        refitted.sample(2)
    # DDPM ignores n_sampling_steps (it always takes all steps).
    ddpm = clone(fitted).set_params(sampler="ddpm", n_sampling_steps=100).fit(smooth_latents())
    assert ddpm.sample(1).shape == (1, 16, 2)


@pytest.mark.parametrize("sampler", ["ddpm", "dpm-solver++", "dpm-solver++-sde"])
def test_samples_stay_in_the_training_range(sampler):
    """A barely trained model's samples are bounded by the latents it was trained on."""
    Z = smooth_latents()
    model = tiny(sampler=sampler, learning_rate=1e-9).fit(Z)
    np.testing.assert_allclose(model.latent_range_, [Z.min(axis=(0, 1)), Z.max(axis=(0, 1))])
    samples = model.sample(64, random_state=0)
    low, high = model.latent_range_
    slack = 1e-5 * (high - low)
    assert np.all(samples >= low - slack) and np.all(samples <= high + slack)


@pytest.mark.parametrize(
    ("noise_schedule", "prediction"),
    [("linear", "epsilon"), ("cosine", "v"), ("cosine", "epsilon")],
)
def test_every_schedule_and_parameterisation_fits_and_samples(noise_schedule, prediction):
    model = tiny(
        noise_schedule=noise_schedule, prediction=prediction, n_diffusion_steps=100
    ).fit(smooth_latents())
    assert model.model_.spec.noise_schedule == noise_schedule
    assert model.model_.spec.prediction == prediction
    assert np.all(np.isfinite(model.sample(3, random_state=0)))
    assert np.isfinite(model.score(smooth_latents()))


@pytest.mark.parametrize("prediction", ["v", "epsilon"])
def test_high_noise_loss_weighting_trains_another_model_scored_on_the_same_scale(prediction):
    Z = smooth_latents()
    uniform = tiny(prediction=prediction, max_epochs=3).fit(Z)
    weighted = tiny(prediction=prediction, max_epochs=3, loss_weighting="high-noise").fit(Z)
    assert not np.allclose(weighted.sample(3, random_state=0), uniform.sample(3, random_state=0))
    assert np.all(np.isfinite(weighted.sample(3, random_state=0)))
    # score is the uniform denoising MSE whatever the training weighting: the parameter does
    # not change the score of a fitted model
    for model, other in ((weighted, "uniform"), (uniform, "high-noise")):
        before = model.score(Z)
        assert model.set_params(loss_weighting=other).score(Z) == before


def test_bad_latents():
    Z = smooth_latents()
    Z[1, 3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        tiny().fit(Z)
    with pytest.raises(ValueError, match="3-D array"):
        tiny().fit(np.zeros((10, 3)))
    with pytest.raises(ValueError, match="sampler"):
        tiny(sampler="bad_sampler").fit(smooth_latents())


def test_wrong_latent_count_in_score(fitted):
    with pytest.raises(ValueError, match="3 channels but the estimator was fitted with 2"):
        fitted.score(smooth_latents(n_latents=3))
    with pytest.raises(ValueError, match="fitted without a condition"):
        fitted.score(smooth_latents(), np.zeros(24))


# ----------------------------------------------------------------------- learning


def _statistics(Z, lags=(1, 4)):
    """Per-channel mean, std and lag-k autocorrelation across trials and bins."""
    centred = Z - Z.mean(axis=(0, 1))
    var = (centred**2).mean(axis=(0, 1))
    autocorr = [(centred[:, k:] * centred[:, :-k]).mean(axis=(0, 1)) / var for k in lags]
    return np.concatenate([Z.mean(axis=(0, 1)), Z.std(axis=(0, 1)), *autocorr])


@pytest.mark.slow
def test_learns_a_known_latent_distribution():
    """Two sinusoids with random phase and amplitude: samples of the trained model match the
    data's per-channel mean, std and autocorrelation far better than the untrained one."""
    rng = np.random.default_rng(0)
    n_trials, n_bins = 256, 24
    t = np.arange(n_bins)

    def sinusoids(period, low, high):
        phase = rng.uniform(0, 2 * np.pi, size=(n_trials, 1))
        amplitude = rng.uniform(low, high, size=(n_trials, 1))
        return amplitude * np.sin(2 * np.pi * t / period + phase)

    Z = np.stack([sinusoids(12, 1.0, 2.0) + 3.0, sinusoids(6, 0.2, 0.6) - 1.0], axis=-1)
    reference = _statistics(Z)

    params = dict(
        hidden_channels=32,
        n_blocks=2,
        state_size=16,
        n_diffusion_steps=200,
        batch_size=32,
        learning_rate=3e-3,
        ema_decay=0.98,
        n_sampling_steps=25,
        device="cpu",
        random_state=0,
    )
    trained = LatentDiffusion(max_epochs=60, **params).fit(Z)
    untrained = LatentDiffusion(max_epochs=1, **{**params, "learning_rate": 1e-9}).fit(Z)
    error_trained = np.abs(_statistics(trained.sample(256, random_state=1)) - reference)
    error_untrained = np.abs(_statistics(untrained.sample(256, random_state=1)) - reference)
    assert error_trained.mean() < 0.1 * error_untrained.mean()
    # Each statistic is close in absolute terms: means and stds in latent units (the stds are
    # 1.1 and 0.3), autocorrelations in [-1, 1].
    assert np.all(error_trained < 0.15), error_trained
    # The held-out denoising score improves with training too.
    held_out = Z[:32]
    assert trained.score(held_out) > untrained.score(held_out) + 0.1


def test_per_trial_condition_is_used():
    rng = np.random.default_rng(1)
    n_trials, n_bins = 128, 12
    label = np.repeat([0.0, 1.0], n_trials // 2)
    phase = rng.uniform(0, 2 * np.pi, size=(n_trials, 1))
    angle = 2 * np.pi * np.arange(n_bins) / 6 + phase
    Z = 0.3 * np.stack([np.sin(angle), np.cos(angle)], axis=-1)
    Z[..., 0] += np.where(label == 1, 2.0, -2.0)[:, None]
    model = LatentDiffusion(
        hidden_channels=16,
        n_blocks=1,
        state_size=8,
        max_epochs=60,
        n_diffusion_steps=100,
        batch_size=16,
        learning_rate=3e-3,
        ema_decay=0.95,
        n_sampling_steps=20,
        device="cpu",
        random_state=0,
    ).fit(Z, label)
    assert model.condition_kind_ == "trial" and model.n_condition_features_ == 1
    zeros = model.sample(y=np.zeros(40), random_state=0)
    ones = model.sample(y=np.ones(40), random_state=0)
    assert abs(zeros[..., 0].mean() + 2.0) < 0.5
    assert abs(ones[..., 0].mean() - 2.0) < 0.5
    # The unconditioned channel stays as it was in both classes.
    assert abs(zeros[..., 1].mean()) < 0.3 and abs(ones[..., 1].mean()) < 0.3
    with pytest.raises(ValueError, match="pass y"):
        model.sample(3)
    with pytest.raises(ValueError, match="n_samples=3 but y holds conditions for 40"):
        model.sample(3, y=np.ones(40))
    with pytest.raises(ValueError, match="2 features but the model was fitted with 1"):
        model.sample(y=np.ones((4, 2)))
    with pytest.raises(ValueError, match="series condition but the model was fitted with a"):
        model.sample(y=np.ones((4, 12, 1)))


def test_time_series_condition_is_used():
    rng = np.random.default_rng(2)
    n_trials, n_bins = 96, 16
    series = np.cumsum(rng.normal(size=(n_trials, n_bins, 1)), axis=1) * 0.5
    Z = np.concatenate([2.0 * series, rng.normal(scale=0.2, size=series.shape)], axis=-1)
    Z += rng.normal(scale=0.05, size=Z.shape)
    model = LatentDiffusion(
        hidden_channels=16,
        n_blocks=1,
        state_size=8,
        max_epochs=60,
        n_diffusion_steps=100,
        batch_size=16,
        learning_rate=3e-3,
        ema_decay=0.95,
        n_sampling_steps=20,
        device="cpu",
        random_state=0,
    ).fit(Z, series)
    assert model.condition_kind_ == "series"
    new_series = np.cumsum(rng.normal(size=(20, 24, 1)), axis=1) * 0.5  # longer, unseen
    samples = model.sample(y=new_series, random_state=0)
    assert samples.shape == (20, 24, 2)
    correlation = np.corrcoef(samples[..., 0].ravel(), new_series[..., 0].ravel())[0, 1]
    assert correlation > 0.9
    with pytest.raises(ValueError, match="n_bins=5 disagrees"):
        model.sample(y=new_series, n_bins=5)
    # Ragged series give ragged samples with the series' own lengths.
    ragged = [new_series[0, :10], new_series[1]]
    out = model.sample(y=ragged, random_state=0)
    assert [o.shape for o in out] == [(10, 2), (24, 2)]


def test_models_saved_before_v_prediction_load_as_the_ddpm_they_were():
    """An exported spec without schedule/prediction fields (the first release's format)."""
    model = tiny(noise_schedule="linear", prediction="epsilon", n_diffusion_steps=100)
    model.fit(smooth_latents())
    exported = model.model_.export()
    for field in ("noise_schedule", "prediction"):
        del exported["spec"][field]
    state = {**model.__getstate__(), "model_": exported}
    restored = LatentDiffusion.__new__(LatentDiffusion)
    restored.__setstate__(state)
    assert restored.model_.spec.noise_schedule == "linear"
    assert restored.model_.spec.prediction == "epsilon"
    np.testing.assert_array_equal(
        restored.sample(3, random_state=0), model.sample(3, random_state=0)
    )


# ------------------------------------------------------------ classifier-free guidance


@pytest.mark.slow
def test_condition_dropout_learns_the_unconditional_model_and_guidance_sharpens():
    # Channel 0 of a trial is its condition y ~ N(0, 1) plus a per-trial offset of std 0.7:
    # given y its trial means are N(y, 0.49); without y, N(0, 1.49).
    rng = np.random.default_rng(3)
    n_trials, n_bins = 256, 12
    y = rng.normal(size=n_trials)
    Z = rng.normal(scale=0.1, size=(n_trials, n_bins, 2))
    Z[..., 0] += (y + 0.7 * rng.normal(size=n_trials))[:, None]
    model = LatentDiffusion(
        hidden_channels=16, n_blocks=1, state_size=8, max_epochs=150, n_diffusion_steps=100,
        batch_size=16, learning_rate=3e-3, ema_decay=0.95, n_sampling_steps=20,
        condition_dropout=0.3, device="cpu", random_state=0,
    ).fit(Z, y)

    def trial_means(**kwargs):
        return model.sample(random_state=1, **kwargs)[..., 0].mean(axis=1)

    unconditional = trial_means(n_samples=300)
    # Bounds around the known answers, each far from the other distribution's value.
    assert abs(unconditional.mean()) < 0.25
    assert 1.0 < unconditional.std() < 1.45  # sqrt(1.49) = 1.22, not the conditional 0.7
    conditional = trial_means(y=np.ones(300))
    assert abs(conditional.mean() - 1.0) < 0.25 and 0.5 < conditional.std() < 0.9
    # Guidance pushes samples further towards the condition and narrows them (its target,
    # which it approximates, is p(z|y)^s p(z)^(1-s): mean 1.28 and std 0.46 at s=3).
    model.set_params(guidance_scale=3.0)
    guided = trial_means(y=np.ones(300))
    assert guided.mean() > conditional.mean() + 0.1
    assert guided.std() < 0.85 * conditional.std()


def test_guidance_and_unconditional_sampling_of_a_series_condition():
    Z = smooth_latents()
    series = Z[..., :1] * 2.0
    model = tiny(condition_dropout=0.2).fit(Z, series)
    assert model.model_.spec.null_condition
    assert model.sample(5, n_bins=20, random_state=0).shape == (5, 20, 2)  # unconditional
    model.set_params(guidance_scale=2.0)
    guided = model.sample(y=series[:4], random_state=0)
    assert guided.shape == (4, 16, 2) and np.all(np.isfinite(guided))
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.sample(y=series[:4], random_state=0), guided)


def test_guidance_needs_condition_dropout_and_dropout_needs_a_condition():
    Z = smooth_latents()
    with pytest.raises(ValueError, match=r"condition_dropout=0\.1 .* fit got no y"):
        tiny(condition_dropout=0.1).fit(Z)
    model = tiny().fit(Z, np.arange(len(Z)) % 2)
    model.set_params(guidance_scale=2.0)
    with pytest.raises(ValueError, match=r"guidance_scale=2\.0 needs the unconditional model"):
        model.sample(y=np.ones(3))
    with pytest.raises(ValueError, match="Unconditional samples need a model fitted with"):
        model.sample(3)
    with pytest.raises(ValueError, match="condition_dropout"):
        tiny(condition_dropout=1.0).fit(Z, np.arange(len(Z)) % 2)
