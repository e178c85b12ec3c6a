"""Noise schedules, the two network parameterisations and the training objective.

The forward process is ``z_t = alpha_t z_0 + sigma_t eps`` with ``alpha_t = sqrt(abar_t)``,
``sigma_t = sqrt(1 - abar_t)`` and ``abar_t = prod_{s<=t} (1 - beta_s)`` over ``T`` discrete
time steps (indexed ``0 .. T-1`` here). Two schedules:

* ``"linear"`` — Ho et al. (2020): betas from 1e-4 to 0.02 for ``T = 1000`` (scaled by
  ``1000 / T`` otherwise). What the paper's code uses.
* ``"cosine"`` — Nichol & Dhariwal (2021): ``abar`` follows a squared cosine of ``t / T``.
  It is defined through ``t / T``, so every ``T`` (even 1) runs from almost clean data to
  pure noise (signal-to-noise ratio ~1e-9 at the end), and it spends more steps at the
  low-noise end, where the fine temporal structure of the latents is decided.

Two things the network may predict (Salimans & Ho 2022):

* ``"epsilon"`` — the noise ``eps`` (DDPM);
* ``"v"`` — the velocity ``v = alpha_t eps - sigma_t z_0``. Its scale is 1 at every noise
  level, and ``z_0 = alpha_t z_t - sigma_t v`` stays well conditioned where the
  epsilon-form ``z_0 = (z_t - sigma_t eps) / alpha_t`` divides by an ``alpha_t`` near 0.

Samplers only see the pair ``(z_0, eps)`` recovered from either (:meth:`split`). The
schedule is kept in float64: ``1 - abar_t`` near ``t = 0`` and ``abar_t`` near ``t = T-1``
are tiny and lose their digits in float32.
"""

from __future__ import annotations

import math

import torch

SCHEDULES = ("linear", "cosine")
PREDICTIONS = ("epsilon", "v")
LOSS_WEIGHTINGS = ("uniform", "high-noise")

# The DDPM paper's betas for T = 1000. For other T they are scaled by 1000 / T (as in
# "Improved DDPM", Nichol & Dhariwal 2021) so the total noise added stays about the same.
_BETA_START_1000 = 1e-4
_BETA_END_1000 = 0.02
# Offset of the cosine schedule (Nichol & Dhariwal): keeps the first steps from being
# vanishingly small.
_COSINE_OFFSET = 0.008
# A beta of 1 would leave nothing of the signal and make the posterior undefined.
_MAX_BETA = 0.999


def _linear_betas(n_steps: int) -> torch.Tensor:
    scale = 1000.0 / n_steps
    beta_end = min(_BETA_END_1000 * scale, _MAX_BETA)
    beta_start = min(_BETA_START_1000 * scale, beta_end)
    return torch.linspace(beta_start, beta_end, n_steps, dtype=torch.float64)


def _cosine_betas(n_steps: int) -> torch.Tensor:
    fraction = torch.arange(n_steps + 1, dtype=torch.float64) / n_steps
    f = torch.cos((fraction + _COSINE_OFFSET) / (1 + _COSINE_OFFSET) * math.pi / 2) ** 2
    return (1.0 - f[1:] / f[:-1]).clamp(max=_MAX_BETA)


class NoiseSchedule:
    """A discrete diffusion schedule with ``n_steps`` time steps.

    Parameters
    ----------
    n_steps : int
        Number of diffusion steps ``T``.
    kind : {"linear", "cosine"}
        Shape of the schedule (see the module docstring).

    Attributes
    ----------
    betas, alphas_cumprod : torch.Tensor of shape (n_steps,), float64
        ``beta_t`` and ``abar_t``.

    Examples
    --------
    >>> schedule = NoiseSchedule(1000)
    >>> round(float(schedule.betas[0]), 6), round(float(schedule.betas[-1]), 6)
    (0.0001, 0.02)
    >>> float(schedule.alphas_cumprod[-1]) < 1e-4   # z_{T-1} is almost pure noise
    True
    >>> float(NoiseSchedule(10, "cosine").alphas_cumprod[-1]) < 1e-4   # for any T
    True
    """

    def __init__(self, n_steps: int = 1000, kind: str = "linear"):
        if n_steps < 1:
            raise ValueError(f"n_steps must be >= 1, got {n_steps}.")
        if kind not in SCHEDULES:
            raise ValueError(f"kind={kind!r} is not one of {SCHEDULES}.")
        self.n_steps = n_steps
        self.kind = kind
        self.betas = _linear_betas(n_steps) if kind == "linear" else _cosine_betas(n_steps)
        self.alphas_cumprod = torch.cumprod(1.0 - self.betas, dim=0)

    def alpha_bar(self, t) -> torch.Tensor:
        """``abar_t`` for integer steps ``t``; ``t = -1`` means "clean data" (``abar = 1``)."""
        t = torch.as_tensor(t, dtype=torch.long)
        padded = torch.cat([torch.ones(1, dtype=torch.float64), self.alphas_cumprod])
        return padded[t + 1]

    def alpha_sigma(self, t: torch.Tensor, like: torch.Tensor):
        """``alpha_t`` and ``sigma_t`` shaped ``(batch, 1, 1)`` on ``like``'s device."""
        alpha_bar = self.alpha_bar(t.cpu())[:, None, None]
        alpha, sigma = alpha_bar.sqrt(), (1.0 - alpha_bar).sqrt()
        return alpha.to(like.device, torch.float32), sigma.to(like.device, torch.float32)

    def loss_weight(self, t: torch.Tensor, weighting: str, like: torch.Tensor):
        """Per-sample weight ``(batch, 1, 1)`` of the denoising error at steps ``t``.

        ``"uniform"``: 1 at every noise level. ``"high-noise"``: ``sigma_t^2`` over its
        mean over the schedule (so the weights average 1 and losses stay comparable); with
        ``prediction="v"`` this makes the loss the squared error of the clean latents the
        network implies, ``z_0 = alpha_t z_t - sigma_t v``, which weighs the high noise
        levels, where the overall spread of a sample is decided.

        Examples
        --------
        >>> import torch
        >>> schedule = NoiseSchedule(100, "cosine")
        >>> w = schedule.loss_weight(torch.arange(100), "high-noise", torch.zeros(1))
        >>> round(float(w.mean()), 6), bool(w[0] < w[-1])
        (1.0, True)
        """
        if weighting == "uniform":
            return torch.ones(len(t), 1, 1, device=like.device)
        if weighting != "high-noise":
            raise ValueError(f"weighting={weighting!r} is not one of {LOSS_WEIGHTINGS}.")
        noise_variance = 1.0 - self.alpha_bar(t.cpu())
        weight = noise_variance / (1.0 - self.alphas_cumprod).mean()
        return weight[:, None, None].to(like.device, torch.float32)

    def add_noise(self, z0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Sample ``z_t ~ q(z_t | z_0)`` for ``(batch, channels, length)`` tensors, ``t (batch,)``.

        Examples
        --------
        >>> import torch
        >>> schedule = NoiseSchedule(10)
        >>> z0, noise = torch.ones(2, 1, 3), torch.zeros(2, 1, 3)
        >>> zt = schedule.add_noise(z0, noise, torch.tensor([0, 9]))
        >>> bool(zt[0, 0, 0] > zt[1, 0, 0])   # later steps keep less of the signal
        True
        """
        alpha, sigma = self.alpha_sigma(t, z0)
        return alpha * z0 + sigma * noise

    def target(self, z0, noise, t, prediction: str) -> torch.Tensor:
        """What a network of the given parameterisation should output for ``z_t``."""
        if prediction == "epsilon":
            return noise
        alpha, sigma = self.alpha_sigma(t, z0)
        return alpha * noise - sigma * z0

    def split(self, output, z_t, t, prediction: str):
        """The clean-data and noise predictions ``(z_0, eps)`` from a network's output.

        Examples
        --------
        >>> import torch
        >>> schedule = NoiseSchedule(100, "cosine")
        >>> z0, noise, t = torch.randn(4, 2, 3), torch.randn(4, 2, 3), torch.tensor([0, 5, 50, 99])
        >>> zt = schedule.add_noise(z0, noise, t)
        >>> x0, eps = schedule.split(schedule.target(z0, noise, t, "v"), zt, t, "v")
        >>> bool(torch.allclose(x0, z0, atol=1e-5) and torch.allclose(eps, noise, atol=1e-5))
        True
        """
        alpha, sigma = self.alpha_sigma(t, z_t)
        if prediction == "epsilon":
            return (z_t - sigma * output) / alpha, output
        return alpha * z_t - sigma * output, sigma * z_t + alpha * output


def denoising_loss(
    model,
    schedule: NoiseSchedule,
    z0: torch.Tensor,
    mask: torch.Tensor | None,
    generator: torch.Generator,
    *,
    prediction: str = "epsilon",
    weighting: str = "uniform",
    t: torch.Tensor | None = None,
    noise: torch.Tensor | None = None,
    loss_mask: torch.Tensor | None = None,
    **conditions,
) -> torch.Tensor:
    """Mean squared error of the network's prediction over the valid bins.

    With ``prediction="epsilon"`` this is DDPM's "simple" loss on the noise; with ``"v"``
    the same on the velocity. ``weighting`` weighs each sample's error by its noise level
    (:meth:`NoiseSchedule.loss_weight`). ``z0`` is ``(batch, channels, length)``,
    ``mask`` ``(batch, 1, length)`` or None when every bin is valid; ``model(z_t, t, mask,
    **conditions)`` predicts the target. Time steps and noise are drawn from ``generator``
    (on the CPU, so the draws do not depend on the device) unless given. ``loss_mask``
    (like ``mask``) narrows the average to fewer bins (e.g. those an in-painting network
    was not shown); None: the valid bins.

    Examples
    --------
    >>> import torch
    >>> zero_model = lambda z, t, mask: torch.zeros_like(z)
    >>> z0 = torch.zeros(64, 2, 50)
    >>> loss = denoising_loss(zero_model, NoiseSchedule(10), z0, None, torch.Generator())
    >>> round(float(loss), 1)   # predicting 0 for unit-variance noise: MSE about 1
    1.0
    """
    batch = z0.shape[0]
    if t is None:
        t = torch.randint(0, schedule.n_steps, (batch,), generator=generator)
    if noise is None:
        noise = torch.randn(z0.shape, generator=generator)
    t, noise = t.to(z0.device), noise.to(z0.device)
    zt = schedule.add_noise(z0, noise, t)
    if mask is not None:
        zt = zt * mask
    target = schedule.target(z0, noise, t, prediction)
    squared_error = (model(zt, t, mask, **conditions).float() - target).pow(2)
    if weighting != "uniform":
        squared_error = squared_error * schedule.loss_weight(t, weighting, z0)
    if loss_mask is None:
        loss_mask = mask
    if loss_mask is None:
        return squared_error.mean()
    return (squared_error * loss_mask).sum() / (loss_mask.sum() * z0.shape[1]).clamp(min=1)
