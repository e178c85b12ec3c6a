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


def check_weights(make_network, weights: dict[str, np.ndarray]) -> None:
    """Refuse ``weights`` unless they are exactly what ``make_network()`` holds.

    The network is built on torch's ``meta`` device, which allocates nothing: a spec that
    claims 10,000-wide layers costs nothing to check, and the real network is built only
    once its every parameter's name and shape matches an array of ``weights`` (whose sizes
    the file's own size bounds). Raises ValueError naming the first disagreement.
    """
    if not isinstance(weights, dict):
        raise ValueError("the weights are not a mapping of names to arrays.")
    with torch.device("meta"):
        skeleton = make_network()
    expected = {name: tuple(value.shape) for name, value in skeleton.state_dict().items()}
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"the weights do not fit the network the spec describes (missing {missing[:3]}, "
            f"unexpected {unexpected[:3]})."
        )
    for name, shape in expected.items():
        array = weights[name]
        if not isinstance(array, np.ndarray) or array.dtype.kind != "f":
            raise ValueError(f"weight {name!r} is not an array of floats.")
        if array.shape != shape:
            raise ValueError(
                f"weight {name!r} has shape {array.shape} but the spec's network needs "
                f"{shape}: the spec and the weights disagree."
            )


def load_weights(network: nn.Module, weights: dict[str, np.ndarray]) -> None:
    """Load :func:`export_weights` output into ``network`` (strict: names and shapes match)."""
    network.load_state_dict(as_tensors(weights))
