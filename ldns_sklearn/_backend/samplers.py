"""Samplers that turn noise into latents with a trained noise-prediction model.

* ``"ddpm"`` — ancestral sampling through all ``T`` steps (Ho et al. 2020), with the
  posterior variance ``beta~_t = beta_t (1 - abar_{t-1}) / (1 - abar_t)``. What the paper uses.
* ``"ddim"`` — DDIM (Song et al. 2021) on a subsequence of time steps; ``eta=0`` is
  deterministic, ``eta=1`` on all ``T`` steps is the DDPM sampler again.
* ``"dpm-solver++"`` — multistep second-order DPM-Solver++ (2M; Lu et al. 2022) in the
  data-prediction form, with a first-order first and last step, on steps evenly spaced in
  log-SNR. On Gaussian test data with the exact noise predictor it keeps the sample variance
  within about 1% at 50 steps where time-spaced DDIM loses 3-30% (tests/test_schedule.py).

All take ``model_fn(z, t) -> eps`` with ``z`` of shape ``(batch, channels, length)`` and
``t`` a long tensor of shape ``(batch,)``. Random draws come from a CPU ``generator`` so a
seed gives the same samples on any device. An optional ``mask`` ``(batch, 1, length)`` keeps
padded bins of shorter trials at zero throughout.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from .schedule import NoiseSchedule

SAMPLERS = ("ddpm", "ddim", "dpm-solver++")

ModelFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


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


def _call(model_fn: ModelFn, z: torch.Tensor, t: int) -> torch.Tensor:
    t_batch = torch.full((z.shape[0],), t, dtype=torch.long, device=z.device)
    return model_fn(z, t_batch).float()


def _steps(timesteps, progress: bool, description: str):
    return tqdm(timesteps, desc=description, disable=not progress, leave=False)


def ddpm_sample(model_fn, schedule: NoiseSchedule, z, generator, mask=None, progress=False):
    """Ancestral DDPM from ``z`` (pure noise at ``t = T-1``) down to ``t = 0``."""
    for t in _steps(range(schedule.n_steps - 1, -1, -1), progress, "sampling (ddpm)"):
        eps = _call(model_fn, z, t)
        alpha_bar, alpha_bar_prev = (float(a) for a in schedule.alpha_bar([t, t - 1]))
        beta = float(schedule.betas[t])
        mean = (z - beta / math.sqrt(1.0 - alpha_bar) * eps) / math.sqrt(1.0 - beta)
        if t > 0:
            variance = beta * (1.0 - alpha_bar_prev) / (1.0 - alpha_bar)
            mean = mean + math.sqrt(variance) * _noise_like(z, generator)
        z = _apply(mean, mask)
    return z


def ddim_sample(model_fn, schedule, z, generator, n_steps, eta=0.0, mask=None, progress=False):
    """DDIM on ``n_steps`` evenly spread time steps; ``eta`` scales the injected noise."""
    timesteps = sampling_timesteps(schedule, n_steps, "time")
    previous = [*timesteps[1:], -1]
    for t, t_prev in _steps(
        list(zip(timesteps, previous, strict=True)), progress, "sampling (ddim)"
    ):
        eps = _call(model_fn, z, t)
        alpha_bar, alpha_bar_prev = (float(a) for a in schedule.alpha_bar([t, t_prev]))
        z0 = (z - math.sqrt(1.0 - alpha_bar) * eps) / math.sqrt(alpha_bar)
        sigma = eta * math.sqrt(
            (1.0 - alpha_bar_prev) / (1.0 - alpha_bar) * (1.0 - alpha_bar / alpha_bar_prev)
        )
        z = math.sqrt(alpha_bar_prev) * z0 + math.sqrt(1.0 - alpha_bar_prev - sigma**2) * eps
        if sigma > 0:
            z = z + sigma * _noise_like(z, generator)
        z = _apply(z, mask)
    return z


def dpm_solver_pp_sample(model_fn, schedule, z, n_steps, mask=None, progress=False):
    """DPM-Solver++(2M) on ``n_steps`` log-SNR-spaced steps; deterministic given ``z``."""
    timesteps = sampling_timesteps(schedule, n_steps, "logsnr")
    alpha_bars = schedule.alpha_bar(timesteps)
    alphas = [math.sqrt(float(a)) for a in alpha_bars]
    sigmas = [math.sqrt(1.0 - float(a)) for a in alpha_bars]
    lambdas = [math.log(a / s) for a, s in zip(alphas, sigmas, strict=True)]
    previous_x0, previous_h = None, None
    for i, t in enumerate(_steps(timesteps, progress, "sampling (dpm-solver++)")):
        eps = _call(model_fn, z, t)
        x0 = (z - sigmas[i] * eps) / alphas[i]
        if i == len(timesteps) - 1:
            # Last step to sigma = 0: first order, i.e. the data prediction itself.
            z = _apply(x0, mask)
            break
        h = lambdas[i + 1] - lambdas[i]
        if previous_x0 is None:
            direction = x0
        else:
            r = previous_h / h
            direction = (1.0 + 0.5 / r) * x0 - (0.5 / r) * previous_x0
        z = (sigmas[i + 1] / sigmas[i]) * z - alphas[i + 1] * math.expm1(-h) * direction
        z = _apply(z, mask)
        previous_x0, previous_h = x0, h
    return z


def sample(
    model_fn: ModelFn,
    schedule: NoiseSchedule,
    shape: tuple[int, int, int],
    *,
    generator: torch.Generator,
    device: torch.device,
    sampler: str = "ddim",
    n_steps: int = 50,
    eta: float = 0.0,
    mask: torch.Tensor | None = None,
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
    ...            device=torch.device("cpu"), sampler="dpm-solver++", n_steps=20)
    >>> round(float(z.std()), 1)
    1.0
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler={sampler!r} is not one of {SAMPLERS}.")
    z = torch.randn(shape, generator=generator).to(device)
    if mask is not None:
        mask = mask.to(device)
        z = z * mask
    if sampler == "ddpm":
        return ddpm_sample(model_fn, schedule, z, generator, mask=mask, progress=progress)
    if sampler == "ddim":
        return ddim_sample(
            model_fn, schedule, z, generator, n_steps, eta=eta, mask=mask, progress=progress
        )
    return dpm_solver_pp_sample(model_fn, schedule, z, n_steps, mask=mask, progress=progress)
