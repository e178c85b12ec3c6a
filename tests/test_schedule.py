"""Noise schedule, training loss and samplers: the diffusion maths, checked without training.

The samplers are checked with the *exact* noise predictor of Gaussian data, which is known in
closed form: for ``z_0 ~ N(m, s^2)``, ``E[eps | z_t] = sqrt(1 - abar) (z_t - sqrt(abar) m) /
(abar s^2 + 1 - abar)``. A correct sampler fed that predictor must return ``N(m, s^2)``.
"""

import numpy as np
import pytest
import torch

from ldns_sklearn._backend.denoiser import Denoiser
from ldns_sklearn._backend.device import make_generator, seeded
from ldns_sklearn._backend.samplers import SAMPLERS, sample, sampling_timesteps
from ldns_sklearn._backend.schedule import NoiseSchedule, denoising_loss

pytestmark = pytest.mark.usefixtures("one_torch_thread_per_module")

CPU = torch.device("cpu")


def gaussian_oracle(schedule, mean, std):
    """Exact eps-prediction for i.i.d. N(mean, std^2) data."""
    alpha_bar = schedule.alphas_cumprod.float()

    def model_fn(z, t):
        a = alpha_bar[t][:, None, None]
        return (1 - a).sqrt() * (z - a.sqrt() * mean) / (a * std**2 + 1 - a)

    return model_fn


def test_schedule_is_the_ddpm_linear_schedule():
    schedule = NoiseSchedule(1000)
    betas = schedule.betas.numpy()
    np.testing.assert_allclose(betas[[0, -1]], [1e-4, 0.02])
    np.testing.assert_allclose(np.diff(betas), np.diff(betas)[0])  # linear
    alpha_bar = schedule.alphas_cumprod.numpy()
    np.testing.assert_allclose(alpha_bar, np.cumprod(1 - betas))
    assert np.all(np.diff(alpha_bar) < 0)
    # At t = T-1 almost no signal is left, so sampling can start from N(0, I).
    assert alpha_bar[-1] < 1e-4
    assert float(schedule.alpha_bar(-1)) == 1.0


@pytest.mark.parametrize("n_steps", [1, 10, 100, 4000])
def test_schedule_for_other_lengths_stays_valid(n_steps):
    schedule = NoiseSchedule(n_steps)
    assert schedule.betas.shape == (n_steps,)
    assert torch.all((schedule.betas > 0) & (schedule.betas < 1))
    if n_steps >= 10:
        # Scaled betas keep the end point nearly pure noise.
        assert float(schedule.alphas_cumprod[-1]) < 1e-3


def test_schedule_rejects_zero_steps():
    with pytest.raises(ValueError, match="n_steps"):
        NoiseSchedule(0)
    with pytest.raises(ValueError, match="kind"):
        NoiseSchedule(10, "quadratic")


@pytest.mark.parametrize("n_steps", [1, 2, 20, 1000])
def test_cosine_schedule_runs_from_clean_to_noise_for_any_length(n_steps):
    """The linear schedule scaled to few steps explodes; the cosine one stays sound."""
    alpha_bar = NoiseSchedule(n_steps, "cosine").alphas_cumprod.numpy()
    assert np.all(np.diff(alpha_bar) < 0)
    # The last step is (almost) pure noise: at most 3% signal amplitude (the largest beta
    # is capped at 0.999), far less from 20 steps on; the first step is (almost) clean.
    assert alpha_bar[-1] <= 1e-3 + 1e-12
    if n_steps >= 20:
        assert alpha_bar[-1] < 1e-5
        assert alpha_bar[0] > 0.99


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_v_and_epsilon_targets_recover_the_same_clean_data(kind):
    schedule = NoiseSchedule(100, kind)
    generator = make_generator(0)
    z0, noise = (torch.randn(6, 2, 5, generator=generator) for _ in range(2))
    t = torch.tensor([0, 1, 30, 60, 98, 99])
    zt = schedule.add_noise(z0, noise, t)
    for prediction in ("epsilon", "v"):
        target = schedule.target(z0, noise, t, prediction)
        x0, eps = schedule.split(target, zt, t, prediction)
        # epsilon cannot give z_0 back at the noisiest step (alpha ~ 0); v can.
        rows = slice(None) if prediction == "v" else slice(0, 5)
        torch.testing.assert_close(x0[rows], z0[rows], atol=1e-3, rtol=1e-3)
        torch.testing.assert_close(eps, noise, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("t", [0, 250, 999])
def test_forward_noising_has_the_right_marginals(t):
    schedule = NoiseSchedule(1000)
    n = 200_000
    z0 = torch.full((n, 1, 1), 2.0)
    noise = torch.randn(z0.shape, generator=make_generator(0))
    zt = schedule.add_noise(z0, noise, torch.full((n,), t))
    alpha_bar = float(schedule.alphas_cumprod[t])
    assert abs(float(zt.mean()) - 2.0 * alpha_bar**0.5) < 0.01
    assert abs(float(zt.var()) - (1 - alpha_bar)) < 0.01 * max(1 - alpha_bar, 0.01)


@pytest.mark.parametrize("spacing", ["time", "logsnr"])
@pytest.mark.parametrize("n", [1, 2, 7, 50, 999, 1000])
def test_sampling_timesteps_are_distinct_and_span_the_schedule(spacing, n):
    steps = sampling_timesteps(NoiseSchedule(1000), n, spacing)
    assert len(steps) == n
    assert steps[0] == 999
    assert np.all(np.diff(steps) < 0)
    if n > 1:
        assert steps[-1] == 0


def test_sampling_timesteps_bad_requests():
    schedule = NoiseSchedule(100)
    with pytest.raises(ValueError, match="n_sampling_steps=101"):
        sampling_timesteps(schedule, 101)
    with pytest.raises(ValueError, match="n_sampling_steps=0"):
        sampling_timesteps(schedule, 0)
    with pytest.raises(ValueError, match="spacing"):
        sampling_timesteps(schedule, 5, "quadratic")
    with pytest.raises(ValueError, match="sampler"):
        sample(
            lambda z, t: z,
            schedule,
            (1, 1, 1),
            generator=make_generator(0),
            device=CPU,
            sampler="euler",
        )


def _nonlinear_model(schedule):
    """A fixed, t-dependent, nonlinear stand-in for a trained denoiser."""
    weight = torch.randn(3, 3, generator=make_generator(5)) * 0.3

    def model_fn(z, t):
        scale = (t.float() / schedule.n_steps)[:, None, None]
        return torch.tanh(torch.einsum("ij,bjl->bil", weight, z)) * scale + 0.1 * z

    return model_fn


def test_ddim_with_eta_one_on_all_steps_is_ddpm():
    schedule = NoiseSchedule(100)
    model_fn = _nonlinear_model(schedule)
    kwargs = dict(device=CPU, n_steps=100)
    ddpm = sample(
        model_fn, schedule, (64, 3, 8), generator=make_generator(3), sampler="ddpm", **kwargs
    )
    ddim = sample(
        model_fn,
        schedule,
        (64, 3, 8),
        generator=make_generator(3),
        sampler="ddim",
        eta=1.0,
        **kwargs,
    )
    torch.testing.assert_close(ddim, ddpm, atol=1e-4, rtol=1e-4)
    # ...and eta matters: deterministic DDIM on the same noise is a different draw.
    ddim0 = sample(
        model_fn,
        schedule,
        (64, 3, 8),
        generator=make_generator(3),
        sampler="ddim",
        eta=0.0,
        **kwargs,
    )
    assert not torch.allclose(ddim0, ddpm, atol=1e-2)


@pytest.mark.parametrize(
    ("sampler", "n_steps", "n_diffusion_steps", "tolerance"),
    [
        ("ddpm", None, 1000, 0.02),
        ("ddim", 1000, 1000, 0.02),  # fine DDIM: the probability-flow ODE
        ("dpm-solver++", 50, 1000, 0.02),
        ("dpm-solver++", 20, 1000, 0.03),
        ("dpm-solver++-sde", 50, 1000, 0.03),
    ],
)
@pytest.mark.parametrize(("mean", "std"), [(0.0, 1.0), (2.0, 0.3)])
def test_samplers_with_the_exact_predictor_reproduce_gaussian_data(
    sampler, n_steps, n_diffusion_steps, tolerance, mean, std
):
    schedule = NoiseSchedule(n_diffusion_steps)
    z = sample(
        gaussian_oracle(schedule, mean, std),
        schedule,
        (20_000, 1, 1),
        generator=make_generator(0),
        device=CPU,
        sampler=sampler,
        n_steps=n_steps or 1,
    )
    assert abs(float(z.mean()) - mean) < 0.03 * max(std, 0.3)
    assert abs(float(z.std()) / std - 1) < tolerance


def test_fast_ddim_loses_variance_that_logsnr_dpm_solver_keeps():
    """Why dpm-solver++ is the default fast sampler (documented in LatentDiffusion)."""
    schedule = NoiseSchedule(1000)
    oracle = gaussian_oracle(schedule, 0.0, 0.3)
    stds = {}
    for sampler in ("ddim", "dpm-solver++"):
        z = sample(
            oracle,
            schedule,
            (20_000, 1, 1),
            generator=make_generator(0),
            device=CPU,
            sampler=sampler,
            n_steps=50,
        )
        stds[sampler] = float(z.std()) / 0.3
    assert abs(stds["dpm-solver++"] - 1) < abs(stds["ddim"] - 1)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_samplers_are_seeded_and_keep_padding_at_zero(sampler):
    schedule = NoiseSchedule(20)
    model_fn = _nonlinear_model(schedule)
    mask = torch.ones(2, 1, 6)
    mask[1, :, 4:] = 0
    draws = [
        sample(
            model_fn,
            schedule,
            (2, 3, 6),
            generator=make_generator(seed),
            device=CPU,
            sampler=sampler,
            n_steps=5,
            eta=0.5,
            mask=mask,
        )
        for seed in (1, 1, 2)
    ]
    torch.testing.assert_close(draws[0], draws[1], rtol=0, atol=0)
    assert not torch.allclose(draws[0], draws[2])
    assert torch.all(draws[0][1, :, 4:] == 0)
    assert torch.all(draws[0][:, :, :4] != 0)


def test_denoising_loss_counts_only_valid_bins():
    schedule = NoiseSchedule(50)
    with seeded(0):
        net = Denoiser(2, 8, 2, state_size=4)
    # Non-zero modulation so that the blocks are not the identity.
    with torch.no_grad():
        for block in net.blocks:
            block.modulation[-1].weight.normal_(0, 0.3, generator=make_generator(1))
    z0 = torch.randn(3, 2, 10, generator=make_generator(2))
    noise = torch.randn(3, 2, 10, generator=make_generator(3))
    t = torch.tensor([3, 20, 45])
    mask = torch.ones(3, 1, 10)
    mask[..., 7:] = 0
    padded = denoising_loss(net, schedule, z0, mask, None, t=t, noise=noise)
    garbage = z0.clone()
    garbage[..., 7:] = 1e3  # whatever lies past the end must not matter
    padded_garbage = denoising_loss(net, schedule, garbage, mask, None, t=t, noise=noise)
    truncated = denoising_loss(
        net, schedule, z0[..., :7].contiguous(), None, None, t=t, noise=noise[..., :7]
    )
    torch.testing.assert_close(padded, truncated, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(padded_garbage, truncated, rtol=1e-4, atol=1e-6)


def test_denoising_loss_is_zero_for_a_perfect_predictor():
    schedule = NoiseSchedule(50)
    noise = torch.randn(4, 2, 5, generator=make_generator(0))
    z0 = torch.zeros(4, 2, 5)
    t = torch.tensor([0, 10, 30, 49])

    def oracle(zt, t_, mask):  # z0 = 0, so z_t = sqrt(1 - abar) eps
        return zt / (1 - schedule.alpha_bar(t_).float())[:, None, None].sqrt()

    assert float(denoising_loss(oracle, schedule, z0, None, None, t=t, noise=noise)) < 1e-10


def test_high_noise_weighting_of_the_v_loss_is_the_clean_latent_error():
    # sigma_t^2 |v_hat - v|^2 = |z0_hat - z0|^2, since z0 = alpha_t z_t - sigma_t v.
    schedule = NoiseSchedule(100, "cosine")
    z0 = torch.randn(6, 2, 8, generator=make_generator(0))
    noise = torch.randn(6, 2, 8, generator=make_generator(1))
    t = torch.tensor([0, 5, 30, 60, 90, 99])
    guess = torch.randn(6, 2, 8, generator=make_generator(2))

    def model(zt, t_, mask):
        return guess

    weighted = denoising_loss(model, schedule, z0, None, None, prediction="v",
                              weighting="high-noise", t=t, noise=noise)
    zt = schedule.add_noise(z0, noise, t)
    clean_estimate, _ = schedule.split(guess, zt, t, "v")
    mean_noise_variance = float((1 - schedule.alphas_cumprod).mean())
    expected = (clean_estimate - z0).pow(2).mean() / mean_noise_variance
    torch.testing.assert_close(weighted, expected, rtol=1e-5, atol=1e-7)
    uniform = denoising_loss(model, schedule, z0, None, None, prediction="v", t=t, noise=noise)
    assert not torch.isclose(weighted, uniform)
    with pytest.raises(ValueError, match="weighting='snr'"):
        denoising_loss(model, schedule, z0, None, None, weighting="snr", t=t, noise=noise)


# A Gaussian process over 16 bins: smooth in time, with an exact denoiser in closed form,
# E[z_0 | z_t] = alpha Sigma (alpha^2 Sigma + sigma^2 I)^-1 z_t. Variance and temporal
# roughness var(z_t+1 - z_t) / var(z) of the samples are then known.
GP_BINS = 16
_lags = np.arange(GP_BINS)
GP_COVARIANCE = np.exp(-0.5 * (_lags[:, None] - _lags[None]) ** 2 / 3.0**2) + 1e-4 * np.eye(
    GP_BINS
)


def gp_denoiser(schedule, prediction, shrink=0.0):
    """Exact denoiser of the GP; ``shrink > 0`` makes it over-shrink at middle noise levels.

    The biased version stands in for a trained denoiser, which is never exact.
    """
    eigenvalues, eigenvectors = (torch.tensor(a, dtype=torch.float32)
                                 for a in np.linalg.eigh(GP_COVARIANCE))
    alpha_bar = schedule.alphas_cumprod.float()

    def model_fn(z, t):
        alpha = alpha_bar[t].sqrt()[:, None, None]
        sigma = (1 - alpha_bar[t]).sqrt()[:, None, None]
        gain = alpha * eigenvalues / (alpha**2 * eigenvalues + sigma**2)
        x0 = (gain * (z @ eigenvectors)) @ eigenvectors.T
        x0 = x0 * (1 - shrink * 4 * alpha**2 * sigma**2)
        eps = (z - alpha * x0) / sigma
        return eps if prediction == "epsilon" else alpha * eps - sigma * x0

    return model_fn


def _spread_and_roughness(z):
    z = z[:, 0].numpy()
    return z.std(), np.var(np.diff(z, axis=1)) / np.var(z)


def _gp_samples(sampler, schedule, model_fn, n_steps=50):
    return _spread_and_roughness(sample(
        model_fn, schedule, (4000, 1, GP_BINS), generator=make_generator(0), device=CPU,
        sampler=sampler, n_steps=n_steps, prediction=model_fn.prediction,
    ))


@pytest.fixture(params=[("linear", "epsilon"), ("cosine", "v")], ids=str)
def gp_setup(request):
    kind, prediction = request.param
    schedule = NoiseSchedule(1000, kind)

    def make(shrink):
        model_fn = gp_denoiser(schedule, prediction, shrink)
        model_fn.prediction = prediction
        return model_fn

    return schedule, make


def test_every_sampler_reproduces_a_gaussian_process_with_the_exact_denoiser(gp_setup):
    schedule, make = gp_setup
    eigenvalues = np.linalg.eigvalsh(GP_COVARIANCE)
    true_std = np.sqrt(eigenvalues.sum() / GP_BINS)
    difference = np.eye(GP_BINS)[1:] - np.eye(GP_BINS)[:-1]
    true_roughness = np.trace(difference @ GP_COVARIANCE @ difference.T) / (GP_BINS - 1) / (
        true_std**2
    )
    for sampler in ("ddpm", "dpm-solver++", "dpm-solver++-sde"):
        spread, roughness = _gp_samples(sampler, schedule, make(0.0))
        assert spread == pytest.approx(true_std, rel=0.03), sampler
        assert roughness == pytest.approx(true_roughness, rel=0.05), sampler


def test_default_sampler_agrees_with_ddpm_when_the_denoiser_is_wrong(gp_setup):
    """The stochastic solver follows DDPM; the deterministic one drifts away from it.

    A learned denoiser is never exact; how a fast sampler reacts to its errors decides
    whether it matches DDPM. Here the denoiser over-shrinks by up to 30% at middle noise.
    """
    schedule, make = gp_setup
    biased = make(0.3)
    ddpm = _gp_samples("ddpm", schedule, biased)
    sde = _gp_samples("dpm-solver++-sde", schedule, biased)
    ode = _gp_samples("dpm-solver++", schedule, biased)
    assert sde[0] == pytest.approx(ddpm[0], rel=0.03)
    assert sde[1] == pytest.approx(ddpm[1], rel=0.05)
    # Why the ODE solver is not the default: it disagrees with DDPM by far more.
    assert abs(ode[0] / ddpm[0] - 1) > 0.1


def test_samples_stay_inside_the_clip_range():
    schedule = NoiseSchedule(100, "cosine")
    model_fn = gp_denoiser(schedule, "v")
    low, high = torch.full((1,), -0.5), torch.full((1,), 0.8)
    for sampler in SAMPLERS:
        z = sample(model_fn, schedule, (200, 1, GP_BINS), generator=make_generator(0),
                   device=CPU, sampler=sampler, n_steps=20, prediction="v",
                   clip_range=(low, high))
        assert float(z.min()) >= -0.5 - 1e-6 and float(z.max()) <= 0.8 + 1e-6, sampler
        assert float(z.min()) < -0.45 and float(z.max()) > 0.75  # bounded, not squashed
