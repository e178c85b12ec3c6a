"""DDPM noise schedule and the noise-prediction training objective.

Ho et al. (2020): ``T`` linearly spaced variances ``beta_t`` define the forward process
``z_t = sqrt(abar_t) z_0 + sqrt(1 - abar_t) eps`` with ``abar_t = prod_{s<=t} (1 - beta_s)``
(time steps are indexed ``0 .. T-1`` here). The denoiser is trained to predict ``eps``.
The schedule is kept in float64: ``1 - abar_t`` near ``t = 0`` and ``abar_t`` near
``t = T-1`` are tiny and lose their digits in float32.
"""

from __future__ import annotations

import torch

# The DDPM paper's betas for T = 1000. For other T they are scaled by 1000 / T (as in
# "Improved DDPM", Nichol & Dhariwal 2021) so the total noise added stays about the same.
_BETA_START_1000 = 1e-4
_BETA_END_1000 = 0.02


class NoiseSchedule:
    """Linear-beta DDPM schedule with ``n_steps`` time steps.

    Parameters
    ----------
    n_steps : int
        Number of diffusion steps ``T``.

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
    """

    def __init__(self, n_steps: int = 1000):
        if n_steps < 1:
            raise ValueError(f"n_steps must be >= 1, got {n_steps}.")
        self.n_steps = n_steps
        scale = 1000.0 / n_steps
        # A beta of 1 would leave nothing of the signal and make the posterior undefined.
        beta_end = min(_BETA_END_1000 * scale, 0.999)
        beta_start = min(_BETA_START_1000 * scale, beta_end)
        self.betas = torch.linspace(beta_start, beta_end, n_steps, dtype=torch.float64)
        self.alphas_cumprod = torch.cumprod(1.0 - self.betas, dim=0)

    def alpha_bar(self, t) -> torch.Tensor:
        """``abar_t`` for integer steps ``t``; ``t = -1`` means "clean data" (``abar = 1``)."""
        t = torch.as_tensor(t, dtype=torch.long)
        padded = torch.cat([torch.ones(1, dtype=torch.float64), self.alphas_cumprod])
        return padded[t + 1]

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
        alpha_bar = self.alpha_bar(t.cpu()).to(device=z0.device, dtype=torch.float32)
        alpha_bar = alpha_bar[:, None, None]
        return alpha_bar.sqrt() * z0 + (1.0 - alpha_bar).sqrt() * noise


def denoising_loss(
    model,
    schedule: NoiseSchedule,
    z0: torch.Tensor,
    mask: torch.Tensor | None,
    generator: torch.Generator,
    *,
    t: torch.Tensor | None = None,
    noise: torch.Tensor | None = None,
    **conditions,
) -> torch.Tensor:
    """Mean squared error of the predicted noise over the valid bins (DDPM's "simple" loss).

    ``z0`` is ``(batch, channels, length)``, ``mask`` ``(batch, 1, length)`` or None when
    every bin is valid; ``model(z_t, t, mask, **conditions)`` predicts the noise. Time steps
    and noise are drawn from ``generator`` (on the CPU, so the draws do not depend on the
    device) unless given.

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
    squared_error = (model(zt, t, mask, **conditions).float() - noise).pow(2)
    if mask is None:
        return squared_error.mean()
    return (squared_error * mask).sum() / (mask.sum() * z0.shape[1])
