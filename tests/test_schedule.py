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


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    # Small tensors on a shared CPU: extra intra-op threads only contend (20x slower under
    # load, measured), and pytest-xdist already runs one worker per core.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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
