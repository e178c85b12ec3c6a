"""The observation masks an in-painting denoiser is trained on.

An in-painting network (``Denoiser(inpainting=True)``) learns ``p(z_missing | z_observed)``
by seeing, for a fraction of each training batch, the clean latents of some bins next to
the noisy trial. Which bins are observed at sampling time is the user's choice, so training
covers the shapes experimenters ask for, each with a quarter of the masked trials:

* a prefix observed, the rest hidden (forecasting a trial's continuation);
* a suffix observed (what led up to it);
* one interior stretch hidden (a dropped stretch of recording);
* bins hidden independently, each with a probability drawn per trial (scattered gaps).

Hidden stretches are 1 to ``length - 1`` bins long, uniformly, so such a trial always keeps
at least one observed bin. The remaining trials see no observation at all, so the one network
also stays the model that ``sample`` uses.
"""

from __future__ import annotations

import torch

MASK_KINDS = 4  # prefix observed, suffix observed, interior gap, scattered bins


def training_observations(
    valid: torch.Tensor, fraction: float, generator: torch.Generator
) -> torch.Tensor:
    """Random 0/1 observation masks ``(batch, 1, length)`` for one training batch.

    ``valid`` ``(batch, 1, length)`` marks each trial's own bins. A ``fraction`` of the
    trials get one of the mask shapes above (inside their own bins); the others all zeros.
    Draws come from the CPU ``generator``.

    Examples
    --------
    >>> import torch
    >>> valid = torch.ones(4, 1, 10)
    >>> masks = training_observations(valid, 1.0, torch.Generator().manual_seed(0))
    >>> masks.shape, bool(((masks == 0) | (masks == 1)).all())
    (torch.Size([4, 1, 10]), True)
    """
    valid = valid.detach().cpu()
    batch, _, n_bins = valid.shape
    lengths = valid[:, 0].sum(dim=1)

    def uniform():
        return torch.rand(batch, generator=generator)

    chosen = uniform() < fraction
    kind = torch.randint(0, MASK_KINDS, (batch,), generator=generator)
    # Hidden stretch length in 1 .. length - 1, and an interior start that fits it.
    hidden_length = 1 + torch.floor(uniform() * (lengths - 1).clamp(min=0))
    interior_start = torch.floor(uniform() * (lengths - hidden_length + 1))
    start = torch.where(
        kind == 0,
        lengths - hidden_length,  # prefix observed: the end is hidden
        torch.where(kind == 1, torch.zeros_like(lengths), interior_start),
    )
    bins = torch.arange(n_bins, dtype=valid.dtype)[None, :]
    in_stretch = (bins >= start[:, None]) & (bins < (start + hidden_length)[:, None])
    scattered = torch.rand(batch, n_bins, generator=generator) < uniform()[:, None]
    hidden = torch.where((kind == 3)[:, None], scattered, in_stretch)
    observed = valid[:, 0].bool() & ~hidden & (lengths > 1)[:, None] & chosen[:, None]
    return observed.to(valid.dtype)[:, None, :]
