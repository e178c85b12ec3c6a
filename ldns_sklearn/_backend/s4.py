"""Diagonal structured state-space (S4D) layer applied as a long convolution by FFT.

Follows the minimal S4D of the state-spaces project (Gu et al. 2022, "On the
Parameterization and Initialization of Diagonal State Space Models"): a diagonal complex
state matrix ``A`` initialised with S4D-Lin (``A_n = -1/2 + i*pi*n``, the diagonal
approximation of HiPPO-LegS), a learnable per-channel step size ``dt`` and output
projection ``C``, discretised with zero-order hold. The layer never runs the recurrence:
it materialises the length-L kernel ``K_l = 2 Re(sum_n C_n (exp(dt A_n) - 1)/A_n
exp(dt A_n l))`` and convolves with the input through ``torch.fft``, which costs
O(L log L) and makes the kernel defined for any length (so models trained on one trial
length run on longer ones).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

# Parameters of the state-space model are trained without weight decay (as in S4): decay
# would pull the poles towards the origin and shorten the memory the layer can hold.
NO_WEIGHT_DECAY = "_ldns_no_weight_decay"


def vandermonde(log_base: torch.Tensor, length: int) -> torch.Tensor:
    """Powers ``exp(l * log_base)`` for ``l = 0 .. length-1``, appended as the last axis.

    Computed by doubling: the known powers ``0 .. n-1`` times ``exp(n * log_base)`` give
    ``n .. 2n-1``, so only ``log2(length)`` exponentials of ``log_base``'s size are taken
    and the rest are complex multiplies. A complex ``exp`` over the whole ``(..., length)``
    block took a third of a denoiser training step on a CPU; this is several times faster
    and no less accurate (each power is a product of at most ``log2(length)`` exact-ish
    factors, where ``exp(l * log_base)`` loses digits of a large ``l * log_base``).

    Examples
    --------
    >>> import torch
    >>> log_base = torch.tensor([complex(-0.1, 0.5)])
    >>> direct = torch.exp(log_base[:, None] * torch.arange(100))
    >>> bool(torch.allclose(vandermonde(log_base, 100), direct, atol=1e-6))
    True
    """
    powers = torch.ones_like(log_base)[..., None]
    while powers.shape[-1] < length:
        n = powers.shape[-1]
        powers = torch.cat([powers, powers * torch.exp(n * log_base)[..., None]], dim=-1)
    return powers[..., :length]


class S4DKernel(nn.Module):
    """Per-channel convolution kernels of a diagonal state-space model.

    Parameters
    ----------
    channels : int
        Number of independent kernels (one per channel and direction).
    state_size : int
        Complex state dimension per kernel is ``state_size // 2`` (conjugate pairs).
    dt_min, dt_max : float
        Range of the log-uniform initial step sizes.
    """

    def __init__(self, channels: int, state_size: int = 64, dt_min=1e-3, dt_max=1e-1):
        super().__init__()
        half = max(state_size // 2, 1)
        log_dt = torch.rand(channels) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
        self.log_dt = nn.Parameter(log_dt)
        self.C = nn.Parameter(torch.view_as_real(torch.randn(channels, half, dtype=torch.cfloat)))
        self.log_A_real = nn.Parameter(torch.log(0.5 * torch.ones(channels, half)))
        self.A_imag = nn.Parameter(math.pi * torch.arange(half).float().repeat(channels, 1))
        for parameter in (self.log_dt, self.C, self.log_A_real, self.A_imag):
            setattr(parameter, NO_WEIGHT_DECAY, True)

    def forward(self, length: int) -> torch.Tensor:
        """Kernels of shape ``(channels, length)``."""
        dt = torch.exp(self.log_dt)
        A = torch.complex(-torch.exp(self.log_A_real), self.A_imag)
        dtA = A * dt[:, None]
        C = torch.view_as_complex(self.C) * (torch.exp(dtA) - 1.0) / A
        powers = vandermonde(dtA, length)  # (channels, half, length)
        return 2 * torch.einsum("hn,hnl->hl", C, powers).real


class S4D(nn.Module):
    """S4D time mixing: ``y = K * u + D u`` per channel, causal or bidirectional.

    Input and output are ``(batch, channels, length)``. Positions past a trial's end must be
    zero in the input (the caller masks): the bidirectional kernel then sees the trial as
    ending there.

    Parameters
    ----------
    channels : int
        Number of channels mixed independently along time.
    state_size : int
        State dimension of each diagonal SSM.
    bidirectional : bool
        If True, a second kernel reads the sequence backwards (sees the future), as the
        autoencoder's encoder and the denoiser need; if False the layer is causal.

    Examples
    --------
    >>> import torch
    >>> layer = S4D(channels=4, state_size=8, bidirectional=False)
    >>> u = torch.zeros(1, 4, 10)
    >>> u[..., 5] = 1.0
    >>> y = layer(u)
    >>> y.shape, bool(y[..., :5].abs().max() < 1e-5)   # causal: nothing before the impulse
    (torch.Size([1, 4, 10]), True)
    """

    def __init__(self, channels: int, state_size: int = 64, bidirectional: bool = True):
        super().__init__()
        self.bidirectional = bidirectional
        n_kernels = channels * (2 if bidirectional else 1)
        self.kernel = S4DKernel(n_kernels, state_size=state_size)
        self.D = nn.Parameter(torch.randn(channels))

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        length = u.shape[-1]
        # FFTs in reduced precision are inexact (and bf16 FFTs unsupported), so this layer
        # always runs in float32 even inside an autocast region.
        with torch.autocast(device_type=u.device.type, enabled=False):
            u32 = u.float()
            kernel = self.kernel(length)
            if self.bidirectional:
                forward_k, backward_k = kernel.chunk(2, dim=0)
                # Circular convolution of period 2L: the forward kernel fills lags 0..L-1, the
                # flipped backward kernel lags -1..-L, so y_t sees u_{t+1..} strictly ahead.
                kernel = F.pad(forward_k, (0, length)) + F.pad(backward_k.flip(-1), (length, 0))
            n_fft = 2 * length
            y = torch.fft.irfft(
                torch.fft.rfft(u32, n=n_fft) * torch.fft.rfft(kernel, n=n_fft), n=n_fft
            )[..., :length]
            y = y + u32 * self.D[:, None]
        return y.to(u.dtype)
