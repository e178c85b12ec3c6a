"""Samplers that turn noise into latents with a trained denoiser.

* ``"ddpm"`` — ancestral sampling through all ``T`` steps (Ho et al. 2020), with the
  posterior variance ``beta~_t = beta_t (1 - abar_{t-1}) / (1 - abar_t)``. What the paper
  uses; the reference every fast sampler is measured against.
* ``"ddim"`` — DDIM (Song et al. 2021) on a subsequence of time steps; ``eta=0`` is
  deterministic, ``eta=1`` on all ``T`` steps is the DDPM sampler again.
* ``"dpm-solver++"`` — multistep second-order DPM-Solver++ (2M; Lu et al. 2022) for the
  probability-flow ODE, on steps evenly spaced in log-SNR; deterministic given the noise.
* ``"dpm-solver++-sde"`` — the same solver for the *reverse SDE* (Lu et al. 2022,
  "SDE-DPM-Solver++(2M)"): each step also forgets part of the sample and draws fresh noise,
  like DDPM. Its first-order step is exactly the DDPM posterior step over a longer
  interval, so at ~50 steps it approximates the same stochastic process DDPM simulates.

Why the stochastic solver is the default: a *trained* denoiser is never exact, and the two
families react differently to its errors. An ODE sampler carries every error of the
denoiser along its trajectory (measured in ``benchmarks/bench_fidelity.py`` on the first
release's model: latents 2x rougher in time than the data, half the trials leaving the
data's range), while the noise injected by DDPM and the SDE solver keeps
pulling the sample back towards the noise level it should be at, so errors do not
accumulate. With an *exact* denoiser all samplers agree; with a learned one, only the
stochastic ones agree with DDPM (``tests/test_schedule.py`` shows both on a Gaussian
process with a deliberately biased denoiser).

Every sampler takes ``model_fn(z, t) -> output`` with ``z`` of shape ``(batch, channels,
length)``, ``t`` a long tensor ``(batch,)`` and the output in the network's
parameterisation (``prediction``), which the schedule turns into the pair ``(z_0, eps)``.
``clip_range`` (per-channel low and high) bounds the clean-data prediction at every step
(``clip_sample`` of diffusers), so samples stay inside the range the model was trained on.
Random draws come from a CPU ``generator`` so a seed gives the same samples on any device.
An optional ``mask`` ``(batch, 1, length)`` keeps padded bins of shorter trials at zero.
An optional ``known`` pair ``(values, where)`` (in-painting) sets the clean-data prediction
to ``values`` wherever ``where`` is 1, at every step, so the known bins come back exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from .schedule import NoiseSchedule

ModelFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
# denoise(z, t) -> (clean-data prediction, noise prediction)
DenoiseFn = Callable[[torch.Tensor, int], tuple[torch.Tensor, torch.Tensor]]


def sampling_timesteps(
    schedule: NoiseSchedule, n_sampling_steps: int, spacing: str = "time"
) -> list[int]:
    """``n_sampling_steps`` distinct time steps from ``T-1`` down to ``0``.

    ``spacing="time"`` spreads them evenly in ``t`` (DDIM's choice); ``spacing="logsnr"``
    evenly in the log signal-to-noise ratio ``lambda_t = log(sqrt(abar_t / (1 - abar_t)))``,
    which DPM-Solver recommends: with a linear schedule, time-uniform steps are too coarse
    at low noise, where the last details (and the variance) of the samples are decided.
    Both ends are always included: starting below ``T-1`` would start from a noise level the
    initial ``N(0, I)`` draw does not match, and ending above 0 would leave noise.

    Examples
    --------
    >>> schedule = NoiseSchedule(1000)
    >>> sampling_timesteps(schedule, 5)
    [999, 749, 500, 250, 0]
    >>> sampling_timesteps(schedule, 5, spacing="logsnr")
    [999, 722, 302, 30, 0]
    """
    n_total = schedule.n_steps
    if not 1 <= n_sampling_steps <= n_total:
        raise ValueError(
            f"n_sampling_steps={n_sampling_steps} must be between 1 and the number of "
            f"diffusion steps ({n_total})."
        )
    if n_sampling_steps == 1:
        return [n_total - 1]
    if spacing == "time":
        steps = np.linspace(n_total - 1, 0, n_sampling_steps)
    elif spacing == "logsnr":
        alpha_bar = schedule.alphas_cumprod.numpy()
        log_snr = 0.5 * np.log(alpha_bar / (1.0 - alpha_bar))  # decreasing in t
        targets = np.linspace(log_snr[-1], log_snr[0], n_sampling_steps)
        # Interpolate the (continuous) t of each target on the increasing -lambda axis.
        steps = np.interp(-targets, -log_snr, np.arange(n_total))
    else:
        raise ValueError(f"spacing={spacing!r} is not 'time' or 'logsnr'.")
    steps = np.round(steps).astype(int)
    # Rounding can merge neighbours where lambda changes fast (near t = 0); push them apart
    # upwards from the low end, then cap them from the top, so there are exactly
    # n_sampling_steps distinct steps (possible because n_sampling_steps <= n_total).
    steps[-1], steps[0] = 0, n_total - 1
    for i in range(n_sampling_steps - 2, -1, -1):
        steps[i] = max(steps[i], steps[i + 1] + 1)
    steps[0] = n_total - 1
    for i in range(1, n_sampling_steps):
        steps[i] = min(steps[i], steps[i - 1] - 1)
    return [int(t) for t in steps]


def _noise_like(z: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return torch.randn(z.shape, generator=generator).to(z.device)


def _apply(z, mask):
    return z if mask is None else z * mask


def _steps(timesteps, progress: bool, description: str):
    return tqdm(timesteps, desc=description, disable=not progress, leave=False)


def make_denoiser(
    model_fn: ModelFn,
    schedule: NoiseSchedule,
    prediction: str = "epsilon",
    clip_range: tuple[torch.Tensor, torch.Tensor] | None = None,
    known: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> DenoiseFn:
    """``denoise(z, t) -> (z_0, eps)`` from a network's output, ``z_0`` clipped to range
    and set to the ``known`` values where they are known.

    After either, ``eps`` is recomputed from ``z_0`` so the pair stays consistent with
    ``z_t = alpha_t z_0 + sigma_t eps``.
    """

    def denoise(z: torch.Tensor, t: int):
        t_batch = torch.full((z.shape[0],), t, dtype=torch.long, device=z.device)
        x0, eps = schedule.split(model_fn(z, t_batch).float(), z, t_batch, prediction)
        if clip_range is None and known is None:
            return x0, eps
        if clip_range is not None:
            low, high = (bound.to(z.device)[None, :, None] for bound in clip_range)
            x0 = torch.maximum(torch.minimum(x0, high), low)
        if known is not None:
            values, where = known
            x0 = torch.where(where.bool(), values, x0)
        alpha, sigma = schedule.alpha_sigma(t_batch, z)
        return x0, (z - alpha * x0) / sigma

    return denoise


def ddpm_sample(denoise: DenoiseFn, schedule, z, generator, n_steps=None, eta=0.0, mask=None,
                progress=False):
    """Ancestral DDPM from ``z`` (pure noise at ``t = T-1``) down to ``t = 0``.

    Uses every step of the schedule; ``n_steps`` and ``eta`` are ignored.
    """
    del n_steps, eta
    for t in _steps(range(schedule.n_steps - 1, -1, -1), progress, "sampling (ddpm)"):
        x0, _ = denoise(z, t)
        if t == 0:
            return _apply(x0, mask)
        alpha_bar, alpha_bar_prev = (float(a) for a in schedule.alpha_bar([t, t - 1]))
        beta = float(schedule.betas[t])
        # Mean and variance of the posterior q(z_{t-1} | z_t, z_0).
        mean = (
            math.sqrt(alpha_bar_prev) * beta / (1.0 - alpha_bar) * x0
            + math.sqrt(1.0 - beta) * (1.0 - alpha_bar_prev) / (1.0 - alpha_bar) * z
        )
        variance = beta * (1.0 - alpha_bar_prev) / (1.0 - alpha_bar)
        z = _apply(mean + math.sqrt(variance) * _noise_like(z, generator), mask)
    return z


def ddim_sample(denoise: DenoiseFn, schedule, z, generator, n_steps, eta=0.0, mask=None,
                progress=False):
    """DDIM on ``n_steps`` evenly spread time steps; ``eta`` scales the injected noise."""
    timesteps = sampling_timesteps(schedule, n_steps, "time")
    previous = [*timesteps[1:], -1]
    for t, t_prev in _steps(
        list(zip(timesteps, previous, strict=True)), progress, "sampling (ddim)"
    ):
        x0, eps = denoise(z, t)
        alpha_bar, alpha_bar_prev = (float(a) for a in schedule.alpha_bar([t, t_prev]))
        sigma = eta * math.sqrt(
            (1.0 - alpha_bar_prev) / (1.0 - alpha_bar) * (1.0 - alpha_bar / alpha_bar_prev)
        )
        z = math.sqrt(alpha_bar_prev) * x0 + math.sqrt(1.0 - alpha_bar_prev - sigma**2) * eps
        if sigma > 0:
            z = z + sigma * _noise_like(z, generator)
        z = _apply(z, mask)
    return z


def _dpm_solver_pp(denoise: DenoiseFn, schedule, z, generator, n_steps, mask, progress,
                   stochastic: bool):
    """DPM-Solver++(2M), for the probability-flow ODE or (``stochastic``) the reverse SDE.

    Data-prediction form with the midpoint correction, a first-order first step, and a
    last step to sigma = 0 that returns the clean-data prediction itself.
    """
    timesteps = sampling_timesteps(schedule, n_steps, "logsnr")
    alpha_bars = schedule.alpha_bar(timesteps)
    alphas = [math.sqrt(float(a)) for a in alpha_bars]
    sigmas = [math.sqrt(1.0 - float(a)) for a in alpha_bars]
    lambdas = [math.log(a / s) for a, s in zip(alphas, sigmas, strict=True)]
    name = "dpm-solver++-sde" if stochastic else "dpm-solver++"
    previous_x0, previous_h = None, None
    for i, t in enumerate(_steps(timesteps, progress, f"sampling ({name})")):
        x0, _ = denoise(z, t)
        if i == len(timesteps) - 1:
            return _apply(x0, mask)
        h = lambdas[i + 1] - lambdas[i]
        if previous_x0 is None:
            direction = x0
        else:
            r = previous_h / h
            direction = (1.0 + 0.5 / r) * x0 - (0.5 / r) * previous_x0
        if stochastic:
            decay = math.exp(-h)
            z = (
                (sigmas[i + 1] / sigmas[i] * decay) * z
                - alphas[i + 1] * math.expm1(-2.0 * h) * direction
                + sigmas[i + 1] * math.sqrt(-math.expm1(-2.0 * h)) * _noise_like(z, generator)
            )
        else:
            z = (sigmas[i + 1] / sigmas[i]) * z - alphas[i + 1] * math.expm1(-h) * direction
        z = _apply(z, mask)
        previous_x0, previous_h = x0, h
    return z


def dpm_solver_pp_sample(denoise: DenoiseFn, schedule, z, generator, n_steps, eta=0.0,
                         mask=None, progress=False):
    """DPM-Solver++(2M) for the probability-flow ODE; deterministic given ``z``."""
    del eta
    return _dpm_solver_pp(denoise, schedule, z, generator, n_steps, mask, progress, False)


def dpm_solver_pp_sde_sample(denoise: DenoiseFn, schedule, z, generator, n_steps, eta=0.0,
                             mask=None, progress=False):
    """SDE-DPM-Solver++(2M): the reverse SDE, stochastic like DDPM, in ``n_steps`` calls."""
    del eta
    return _dpm_solver_pp(denoise, schedule, z, generator, n_steps, mask, progress, True)


# name -> sampler(denoise, schedule, z, generator, n_steps, eta=, mask=, progress=)
SAMPLERS = {
    "ddpm": ddpm_sample,
    "ddim": ddim_sample,
    "dpm-solver++": dpm_solver_pp_sample,
    "dpm-solver++-sde": dpm_solver_pp_sde_sample,
}


def sample(
    model_fn: ModelFn,
    schedule: NoiseSchedule,
    shape: tuple[int, int, int],
    *,
    generator: torch.Generator,
    device: torch.device,
    sampler: str = "dpm-solver++-sde",
    n_steps: int = 50,
    eta: float = 0.0,
    prediction: str = "epsilon",
    clip_range: tuple[torch.Tensor, torch.Tensor] | None = None,
    mask: torch.Tensor | None = None,
    known: tuple[torch.Tensor, torch.Tensor] | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """Draw latents of ``shape`` ``(batch, channels, length)`` with the chosen sampler.

    ``n_steps`` is ignored by ``"ddpm"`` (always all ``T`` steps); ``eta`` is used only by
    ``"ddim"``.

    Examples
    --------
    >>> import torch
    >>> # The exact noise predictor of N(0, 1) data is eps = sqrt(1 - abar) z_t.
    >>> schedule = NoiseSchedule(100)
    >>> abar = schedule.alphas_cumprod.float()
    >>> model_fn = lambda z, t: (1 - abar[t]).sqrt()[:, None, None] * z
    >>> z = sample(model_fn, schedule, (4000, 1, 1), generator=torch.Generator().manual_seed(0),
    ...            device=torch.device("cpu"), sampler="dpm-solver++-sde", n_steps=20)
    >>> round(float(z.std()), 1)
    1.0
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler={sampler!r} is not one of {tuple(SAMPLERS)}.")
    z = torch.randn(shape, generator=generator).to(device)
    if mask is not None:
        mask = mask.to(device)
        z = z * mask
    denoise = make_denoiser(model_fn, schedule, prediction, clip_range, known)
    return SAMPLERS[sampler](
        denoise, schedule, z, generator, n_steps, eta=eta, mask=mask, progress=progress
    )
