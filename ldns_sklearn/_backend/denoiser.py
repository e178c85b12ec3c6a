"""The LDNS denoiser: bidirectional S4 blocks with adaptive-norm time-step conditioning.

Follows the denoiser of the paper's code (Kapoor, Schulz et al. 2024): a 1×1 convolution
lifts the latents to ``hidden_channels``; each residual block normalises, applies a scale
and shift predicted from the diffusion time-step embedding, mixes along time with a
bidirectional S4D layer and along channels with a small MLP, and adds both back through
gates predicted from the same embedding. The layer that predicts scale/shift/gate starts at
zero ("adaLN-zero", Peebles & Xie 2023), so every block is the identity at initialisation
and training starts from a shallow network. A 1×1 convolution maps back to the latent
channels; the output is the predicted noise.

Conditions: a per-trial vector is embedded and added to the time-step embedding; a per-bin
time series is concatenated to the noisy latent as extra input channels. An in-painting
network also takes the observed part of the clean latents (zero elsewhere) and a 0/1
channel marking the observed bins, so that it predicts the missing bins given the rest.

One deliberate difference: the paper normalises each channel over *time* (instance norm);
here each bin is normalised over the *channels* (layer norm, as in DiT's adaLN). Instance
norm removes every per-trial offset and scale from the blocks' input, so the blocks cannot
respond to them (only the linear skip path carries them): measured on this code, latents
with per-trial offsets (an AR(1) channel, class-dependent means) were sampled with 2-5x the
true standard deviation after the same training, and with layer norm within a few percent.
(The paper's Lorenz latents are z-scored per trial, which hides the problem.) Layer norm
is also exact under padding: it never mixes bins.

Variable-length trials: a ``mask`` of shape ``(batch, 1, length)`` marks the valid bins.
The S4 input and the residual stream are zeroed past each trial's end in every block, so
the S4 layer sees every trial end where it really ends and a padded trial gives the same
output as the trial alone.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .s4 import S4D


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of (possibly fractional) time steps, shape ``(len(t), dim)``.

    The transformer/DDPM positional code: ``cos`` and ``sin`` of ``t`` at ``dim // 2``
    geometrically spaced frequencies from 1 down to ``1 / max_period``.

    Examples
    --------
    >>> import torch
    >>> timestep_embedding(torch.tensor([0, 10]), 4).shape
    torch.Size([2, 4])
    """
    half = dim // 2
    frequencies = torch.exp(
        -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half
    )
    arguments = t.float()[:, None] * frequencies[None]
    embedding = torch.cat([torch.cos(arguments), torch.sin(arguments)], dim=-1)
    if dim % 2:
        embedding = torch.cat([embedding, torch.zeros_like(embedding[:, :1])], dim=-1)
    return embedding


def channel_norm(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Layer norm over the channels of each bin of ``(batch, channels, length)``, no affine.

    Examples
    --------
    >>> import torch
    >>> channel_norm(torch.tensor([[[1.0], [3.0]]])).flatten()
    tensor([-1.,  1.])
    """
    # float32 even under bf16 autocast: a variance in bf16 is too coarse.
    normed = F.layer_norm(x.float().transpose(1, 2), (x.shape[1],), eps=eps)
    return normed.transpose(1, 2).to(x.dtype)


def _masked(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    # No mask means every bin is valid: skip a full-size multiply (sampling is memory-bound).
    return x if mask is None else x * mask


class DenoiserBlock(nn.Module):
    """One residual block: adaptive norm → S4 time mixing → adaptive norm → channel MLP.

    Parameters
    ----------
    channels : int
        Width of the residual stream.
    embedding_dim : int
        Size of the conditioning embedding (time step, plus condition if any).
    state_size : int
        State size of the S4D layer.
    """

    def __init__(self, channels: int, embedding_dim: int, state_size: int = 64):
        super().__init__()
        self.time_mixer = S4D(channels, state_size=state_size, bidirectional=True)
        self.channel_mixer = nn.Sequential(
            nn.Linear(channels, 2 * channels), nn.GELU(), nn.Linear(2 * channels, channels)
        )
        self.activation = nn.GELU()
        # shift, scale and gate for each of the two mixers.
        self.modulation = nn.Sequential(nn.GELU(), nn.Linear(embedding_dim, 6 * channels))
        # adaLN-zero: zero gates make the block the identity at initialisation.
        nn.init.zeros_(self.modulation[-1].weight)
        nn.init.zeros_(self.modulation[-1].bias)

    def forward(self, x: torch.Tensor, embedding: torch.Tensor, mask: torch.Tensor | None):
        modulation = self.modulation(embedding)[:, :, None]
        shift_t, scale_t, gate_t, shift_c, scale_c, gate_c = modulation.chunk(6, dim=1)
        # The shift would make padded bins non-zero; the S4 input must be zero there.
        h = _masked(channel_norm(x) * (1 + scale_t) + shift_t, mask)
        x = x + gate_t * self.activation(self.time_mixer(h))
        h = channel_norm(x) * (1 + scale_c) + shift_c
        h = self.channel_mixer(h.transpose(1, 2)).transpose(1, 2)
        return _masked(x + gate_c * h, mask)


class Denoiser(nn.Module):
    """Noise-prediction network ``eps(z_t, t, condition)`` on ``(batch, channels, length)``.

    Parameters
    ----------
    n_latents : int
        Number of latent channels (input and output).
    hidden_channels : int
        Width of the residual stream.
    n_blocks : int
        Number of :class:`DenoiserBlock`.
    n_trial_features : int
        Size of a per-trial condition vector (0: none).
    n_series_features : int
        Number of channels of a per-bin condition time series (0: none).
    state_size : int
        State size of the S4D layers.
    null_condition : bool
        Whether the network also models the data without its condition (classifier-free
        guidance, Ho & Salimans 2022): ``condition_present`` (0 or 1 per trial) then says
        whether the condition is given. A dropped trial condition adds no embedding; a
        dropped series is zeroed and an extra input channel carries the flag, so that a
        series of zeros (e.g. a hand at rest) is not mistaken for "no condition".
    inpainting : bool
        Whether the network takes observed clean latents (``observed_latents``, valid where
        ``observed`` is 1) as ``n_latents + 1`` more input channels: the observed values and
        the 0/1 mask, so a latent of zero is not mistaken for "missing".

    Examples
    --------
    >>> import torch
    >>> net = Denoiser(n_latents=3, hidden_channels=8, n_blocks=1, state_size=4)
    >>> net(torch.randn(2, 3, 10), torch.tensor([5, 900])).shape
    torch.Size([2, 3, 10])
    """

    def __init__(
        self,
        n_latents: int,
        hidden_channels: int,
        n_blocks: int,
        *,
        n_trial_features: int = 0,
        n_series_features: int = 0,
        state_size: int = 64,
        null_condition: bool = False,
        inpainting: bool = False,
    ):
        super().__init__()
        # The paper embeds time in C // 4 dimensions to keep the parameter count low; a
        # floor keeps the sinusoid informative for very narrow test networks.
        embedding_dim = max(hidden_channels // 4, 8)
        self.frequency_dim = 4 * embedding_dim
        self.n_series_features = n_series_features
        self.n_trial_features = n_trial_features
        self.null_condition = null_condition
        self.inpainting = inpainting
        # The presence flag of a series condition is one more input channel.
        flag_channels = int(null_condition and n_series_features > 0)
        observed_channels = (n_latents + 1) if inpainting else 0
        self.conv_in = nn.Conv1d(
            n_latents + n_series_features + flag_channels + observed_channels, hidden_channels, 1
        )
        self.time_embedding = nn.Sequential(
            nn.Linear(self.frequency_dim, embedding_dim),
            nn.SiLU(),
            nn.Linear(embedding_dim, embedding_dim),
        )
        self.condition_embedding = None
        if n_trial_features:
            self.condition_embedding = nn.Sequential(
                nn.Linear(n_trial_features, embedding_dim),
                nn.SiLU(),
                nn.Linear(embedding_dim, embedding_dim),
            )
        self.blocks = nn.ModuleList(
            DenoiserBlock(hidden_channels, embedding_dim, state_size) for _ in range(n_blocks)
        )
        self.conv_out = nn.Conv1d(hidden_channels, n_latents, 1)

    def forward(
        self,
        z: torch.Tensor,
        t: torch.Tensor,
        mask: torch.Tensor | None = None,
        trial_condition: torch.Tensor | None = None,
        series_condition: torch.Tensor | None = None,
        condition_present: torch.Tensor | None = None,
        observed: torch.Tensor | None = None,
        observed_latents: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Predicted noise for noisy latents ``z`` at integer time steps ``t``.

        ``mask`` ``(batch, 1, length)`` marks valid bins (None: all are valid).
        ``condition_present`` ``(batch,)`` of 0/1, only for a ``null_condition`` network
        (None: every condition is given). ``observed`` ``(batch, 1, length)`` of 0/1 and
        ``observed_latents`` (like ``z``), only for an ``inpainting`` network: the clean
        latents of the observed bins (None: nothing is observed).
        """
        inputs = [z]
        if self.inpainting:
            if observed is None:
                observed, observed_latents = torch.zeros_like(z[:, :1]), torch.zeros_like(z)
            inputs += [observed_latents * observed, observed]
        present = None
        if self.null_condition:
            present = (
                torch.ones(z.shape[0], device=z.device)
                if condition_present is None
                else condition_present.to(z.dtype)
            )
        if self.n_series_features:
            if present is None:
                inputs.append(series_condition)
            else:
                flag = present[:, None, None].expand(-1, 1, z.shape[2])
                inputs += [series_condition * flag, flag]
        embedding = self.time_embedding(timestep_embedding(t, self.frequency_dim))
        if self.condition_embedding is not None:
            condition = self.condition_embedding(trial_condition)
            if present is not None:
                condition = condition * present[:, None]
            embedding = embedding + condition
        h = _masked(self.conv_in(torch.cat(inputs, dim=1)), mask)
        for block in self.blocks:
            h = block(h, embedding, mask)
        return _masked(self.conv_out(h), mask)
