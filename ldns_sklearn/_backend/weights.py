"""Network weights as plain NumPy arrays: what saved models and pickles hold."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def export_weights(network: nn.Module) -> dict[str, np.ndarray]:
    """The network's ``state_dict`` as NumPy arrays (copies; safe to store without pickle)."""
    return {
        name: value.detach().cpu().numpy().copy() for name, value in network.state_dict().items()
    }


def as_tensors(weights: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """:func:`export_weights` output back as a ``state_dict`` of (CPU) tensors."""
    return {name: torch.from_numpy(np.array(w)) for name, w in weights.items()}


def load_weights(network: nn.Module, weights: dict[str, np.ndarray]) -> None:
    """Load :func:`export_weights` output into ``network`` (strict: names and shapes match)."""
    network.load_state_dict(as_tensors(weights))
