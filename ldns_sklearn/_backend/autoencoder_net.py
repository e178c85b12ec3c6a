"""The S4 autoencoder of LDNS and its training objective (torch only).

Architecture (Kapoor, Schulz et al. 2024, Fig. 1 and their ``AutoEncoder``): a 1×1 linear
map from neurons to ``hidden`` channels, residual blocks of *norm → S4 time mixing → GELU →
per-channel scale* and *norm → channel MLP*, a 1×1 bottleneck to ``n_latents`` channels,
and a decoder (1×1 back to ``hidden``, optional residual blocks, 1×1 to neurons) whose
output passes through a softplus to give firing rates.

Tensors here are ``(batch, bins, channels)``: every layer except the S4 layer acts on each
bin independently, so keeping channels last lets them run as single matrix products. The
S4 layer wants ``(batch, channels, bins)`` and gets a transposed view.

Two deliberate differences from the paper's code: the norms are a ``LayerNorm`` over
channels (per bin) instead of an ``InstanceNorm`` over time, so that padded bins of ragged
trials never enter any statistic and a model applies unchanged to trials of another length;
and the S4 layer is the diagonal S4D of :mod:`ldns_sklearn._backend.s4` instead of the
DPLR (Cauchy-kernel) S4, which gives the same kind of long convolution more cheaply.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .s4 import S4D

__all__ = [
    "AutoencoderBlock",
    "S4AutoencoderNet",
    "autoencoder_loss",
    "coordinated_dropout",
    "hide",
    "length_mask",
]


def length_mask(lengths: torch.Tensor | None, n_bins: int, device) -> torch.Tensor | None:
    """``(batch, bins, 1)`` float mask, 1 inside each trial and 0 on its padding.

    ``None`` (all trials full length) is passed through so the common case costs nothing.

    Examples
    --------
    >>> import torch
    >>> length_mask(torch.tensor([2, 3]), 3, "cpu")[..., 0]
    tensor([[1., 1., 0.],
            [1., 1., 1.]])
    """
    if lengths is None:
        return None
    steps = torch.arange(n_bins, device=device)
    return (steps[None, :] < lengths.to(device)[:, None]).unsqueeze(-1).float()


class AutoencoderBlock(nn.Module):
    """Residual block: ``x + scale ⊙ GELU(S4(norm(x)))`` then ``x + MLP(norm(x))``.

    Parameters
    ----------
    channels : int
        Width of the residual stream.
    bidirectional : bool
        Whether the S4 layer sees the future of each bin (encoder of an autoencoder) or
        only its past.
    state_size : int
        State size of each S4D kernel.

    Examples
    --------
    >>> import torch
    >>> block = AutoencoderBlock(channels=4, state_size=8)
    >>> block(torch.randn(2, 10, 4)).shape
    torch.Size([2, 10, 4])
    """

    def __init__(self, channels: int, bidirectional: bool = True, state_size: int = 64):
        super().__init__()
        self.time_norm = nn.LayerNorm(channels)
        self.time_mixer = S4D(channels, state_size=state_size, bidirectional=bidirectional)
        # Per-channel affine after the S4 output (the paper's grouped 1×1 ``post_tm_scale``).
        self.time_scale = nn.Parameter(torch.ones(channels))
        self.time_bias = nn.Parameter(torch.zeros(channels))
        self.channel_norm = nn.LayerNorm(channels)
        # Bias-free expansion MLP as in the paper (``num_lin_per_mlp=2``).
        self.channel_mixer = nn.Sequential(
            nn.Linear(channels, 2 * channels, bias=False),
            nn.GELU(),
            nn.Linear(2 * channels, channels, bias=False),
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        y = self.time_norm(x)
        if mask is not None:
            # The S4 convolution would carry padding into real bins: zero it first.
            y = y * mask
        y = self.time_mixer(y.transpose(1, 2)).transpose(1, 2)
        x = x + F.gelu(y) * self.time_scale + self.time_bias
        x = x + self.channel_mixer(self.channel_norm(x))
        if mask is not None:
            x = x * mask
        return x


class S4AutoencoderNet(nn.Module):
    """Counts ``(batch, bins, neurons)`` → latents ``(batch, bins, n_latents)`` → rates.

    Parameters
    ----------
    n_neurons, n_latents, hidden_channels : int
        Input/output width, bottleneck width and width of the residual stream.
    n_blocks : int
        Residual blocks in the encoder.
    n_decoder_blocks : int
        Residual blocks in the decoder. With 0 (the paper's Lorenz setting) the decoder is
        ``Linear → GELU → Linear`` applied to each bin on its own, so the latent of a bin
        alone determines its rates.
    bidirectional : bool
        Whether the S4 layers look at both past and future bins.
    state_size : int
        State size of each S4D kernel.

    Examples
    --------
    >>> import torch
    >>> net = S4AutoencoderNet(n_neurons=5, n_latents=2, hidden_channels=8, n_blocks=1)
    >>> rates, z = net(torch.ones(3, 12, 5))
    >>> rates.shape, z.shape, bool((rates > 0).all())
    (torch.Size([3, 12, 5]), torch.Size([3, 12, 2]), True)
    """

    def __init__(
        self,
        n_neurons: int,
        n_latents: int,
        hidden_channels: int = 256,
        n_blocks: int = 4,
        n_decoder_blocks: int = 0,
        bidirectional: bool = True,
        state_size: int = 64,
    ):
        super().__init__()
        self.encoder_in = nn.Linear(n_neurons, hidden_channels)
        self.encoder = nn.ModuleList(
            AutoencoderBlock(hidden_channels, bidirectional, state_size) for _ in range(n_blocks)
        )
        self.bottleneck = nn.Linear(hidden_channels, n_latents)
        self.unbottleneck = nn.Linear(n_latents, hidden_channels)
        self.decoder = nn.ModuleList(
            AutoencoderBlock(hidden_channels, bidirectional, state_size)
            for _ in range(n_decoder_blocks)
        )
        self.decoder_out = nn.Linear(hidden_channels, n_neurons)

    def encode(self, counts: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Latents of ``counts``; bins past each trial's length come out as zeros."""
        mask = length_mask(lengths, counts.shape[1], counts.device)
        h = self.encoder_in(counts)
        if mask is not None:
            h = h * mask
        for block in self.encoder:
            h = block(h, mask)
        z = self.bottleneck(h)
        return z if mask is None else z * mask

    def decode_logits(self, z: torch.Tensor, lengths: torch.Tensor | None = None):
        """Pre-softplus decoder output (float32, also under autocast)."""
        mask = length_mask(lengths, z.shape[1], z.device)
        h = self.unbottleneck(z)
        if len(self.decoder) == 0:
            h = F.gelu(h)
        else:
            if mask is not None:
                h = h * mask
            for block in self.decoder:
                h = block(h, mask)
        # Rates feed a log in the loss: leave reduced precision before the softplus.
        return self.decoder_out(h).float()

    def decode(self, z: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Firing rates (per bin, > 0) for latents ``z``."""
        return F.softplus(self.decode_logits(z, lengths))

    def forward(self, counts: torch.Tensor, lengths: torch.Tensor | None = None):
        z = self.encode(counts, lengths)
        return self.decode(z, lengths), z


def _poisson_nll(rates: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    # Up to the log(k!) term, which does not depend on the model. The epsilon matches
    # torch's PoissonNLLLoss (used by the paper) and keeps log finite where a rate is ~0.
    return rates - counts * torch.log(rates + 1e-8)


def coordinated_dropout(
    counts: torch.Tensor, mask_prob: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Hide each entry with probability ``mask_prob``: ``(encoder input, hidden 0/1 mask)``.

    Hidden entries are set to 0 and the kept ones scaled by ``1 / (1 - mask_prob)``, so the
    input keeps its expected value. The training loss and the held-out score both hide
    entries this way, so the score measures what training optimises. ``generator`` lives on
    the device of ``counts``.

    Examples
    --------
    >>> import torch
    >>> counts = torch.ones(1, 4, 2)
    >>> inputs, hidden = coordinated_dropout(counts, 0.5, torch.Generator().manual_seed(0))
    >>> bool(torch.equal(inputs, 2.0 * (1 - hidden)))
    True
    """
    hidden = (
        torch.rand(counts.shape, generator=generator, device=counts.device) < mask_prob
    ).to(counts.dtype)
    return hide(counts, hidden, mask_prob), hidden


def hide(counts: torch.Tensor, hidden: torch.Tensor, mask_prob: float) -> torch.Tensor:
    """Encoder input with the ``hidden`` (0/1) entries hidden as coordinated dropout hides
    them: 0 there, the other entries scaled by ``1 / (1 - mask_prob)``.

    Examples
    --------
    >>> import torch
    >>> hide(torch.tensor([2.0, 3.0]), torch.tensor([0.0, 1.0]), 0.5)
    tensor([4., 0.])
    """
    return counts * ((1.0 - hidden) / (1.0 - mask_prob))


def autoencoder_loss(
    model: S4AutoencoderNet,
    batch: tuple[torch.Tensor, ...],
    generator: torch.Generator,
    training: bool,
    *,
    mask_prob: float,
    l2_penalty: float,
    smoothness_penalty: float,
    smoothness_lags: int = 5,
    ragged: bool = False,
) -> torch.Tensor:
    """Coordinated-dropout Poisson loss plus latent penalties (the paper's objective).

    Each (bin, neuron) entry of the input is dropped with probability ``mask_prob`` and the
    kept ones are scaled by ``1 / (1 - mask_prob)``; the Poisson NLL is taken only on the
    dropped entries, so the network cannot lower it by copying its input through. The L2
    penalty acts on the latents, the smoothness penalty on ``z_t - z_{t+k}`` for
    ``k = 1..smoothness_lags`` with weight ``1 / (1 + k)``. As in the paper's code, every
    term is a sum divided by the number of (bin, neuron) entries, and padded bins of
    ragged trials enter none of them.

    The mask is drawn the same way with or without ``training``; the training loop passes
    a fixed-seed generator for validation, which makes validation losses comparable.

    ``batch`` is ``(counts, lengths)`` with counts ``(batch, bins, neurons)``.

    Examples
    --------
    >>> import torch
    >>> net = S4AutoencoderNet(n_neurons=4, n_latents=2, hidden_channels=8, n_blocks=1)
    >>> counts = torch.poisson(torch.ones(2, 6, 4), generator=torch.Generator().manual_seed(0))
    >>> loss = autoencoder_loss(net, (counts, torch.tensor([6, 6])), torch.Generator(), True,
    ...                         mask_prob=0.2, l2_penalty=0.01, smoothness_penalty=0.01)
    >>> loss.ndim, bool(torch.isfinite(loss))
    (0, True)
    """
    del training  # the objective is the same; only the generator differs
    counts, lengths = batch
    if ragged:
        # Drop the bins that are padding for every trial of this batch.
        counts = counts[:, : int(lengths.max())]
    else:
        lengths = None
    n_bins, n_neurons = counts.shape[1], counts.shape[2]
    mask = length_mask(lengths, n_bins, counts.device)
    n_entries = (mask.sum() if mask is not None else counts.shape[0] * n_bins) * n_neurons

    if mask_prob > 0:
        # A device-side generator seeded from the run's CPU generator: reproducible, and on
        # a GPU the mask is drawn there instead of being copied over every step.
        seed = int(torch.randint(2**62, (1,), generator=generator))
        device_generator = torch.Generator(device=counts.device).manual_seed(seed)
        inputs, weight = coordinated_dropout(counts, mask_prob, device_generator)
    else:
        inputs, weight = counts, None

    rates, z = model(inputs, lengths)
    nll = _poisson_nll(rates, counts)
    if weight is not None:
        nll = nll * weight
    if mask is not None:
        nll = nll * mask
    loss = nll.sum() / n_entries

    z = z.float()
    if l2_penalty > 0:
        # Padded latents are exactly zero (the network masks them), so no mask is needed.
        loss = loss + l2_penalty * z.square().sum() / n_entries
    if smoothness_penalty > 0:
        smooth = z.new_zeros(())
        for lag in range(1, min(smoothness_lags, n_bins - 1) + 1):
            diff = (z[:, :-lag] - z[:, lag:]).square()
            if mask is not None:
                diff = diff * (mask[:, :-lag] * mask[:, lag:])
            smooth = smooth + diff.sum() / (1 + lag)
        loss = loss + smoothness_penalty * smooth / n_entries
    return loss
