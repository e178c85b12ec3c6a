"""The torch side of ``S4Autoencoder``: NumPy in, NumPy out.

Builds the :class:`~ldns_sklearn._backend.autoencoder_net.S4AutoencoderNet`, trains it with
the shared loop (:func:`~ldns_sklearn._backend.training.train`) on the coordinated-dropout
objective, encodes and decodes in batches of bounded size, and exports its weights as NumPy
arrays (nothing but arrays and plain numbers is stored, so a saved model never needs to
unpickle code). The same shape as :class:`~ldns_sklearn._backend.latent_diffusion.
LatentDiffusionModel`: a frozen spec, and a model with fit / operations / export.

Array layout at this boundary: trials padded to ``(n_trials, n_bins, n_channels)`` and
their ``lengths`` (``None`` when no trial is padded). Counts may be anything indexed like
such an array (a ``numpy.memmap``, trials padded on demand): they are read in batches.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np
import torch

from .autoencoder_net import (
    S4AutoencoderNet,
    autoencoder_loss,
    coordinated_dropout,
    hide,
    length_mask,
)
from .device import autocast, make_generator, placed, resolve_device, seeded
from .training import ArrayRows, Checkpointing, TrainingConfig, TrainingResult, train
from .weights import check_weights, export_weights, load_weights


@dataclass(frozen=True)
class AutoencoderSpec:
    """Everything needed to rebuild the network (the arguments of ``S4AutoencoderNet``)."""

    n_neurons: int
    n_latents: int
    hidden_channels: int
    n_blocks: int
    n_decoder_blocks: int
    bidirectional: bool
    state_size: int


class AutoencoderModel:
    """An S4 autoencoder network and the operations the estimator needs.

    ``rate_gain`` (one factor per neuron, ones until :meth:`calibrate`) multiplies every
    rate :meth:`decode` returns; training never sees it.
    """

    def __init__(self, spec: AutoencoderSpec, seed: int = 0):
        self.spec = spec
        # Initialisation draws random numbers; keep them away from the caller's global RNG.
        with seeded(seed):
            self.network = S4AutoencoderNet(**asdict(spec))
        self.network.eval()
        self.rate_gain = np.ones(spec.n_neurons)

    # --- operations -------------------------------------------------------------------
    def fit(
        self,
        counts: np.ndarray,
        lengths: np.ndarray | None,
        config: TrainingConfig,
        *,
        device: str,
        seed: int,
        mask_prob: float,
        l2_penalty: float,
        smoothness_penalty: float,
        checkpointing: Checkpointing | None = None,
    ) -> TrainingResult:
        """Train on padded ``counts`` (``lengths=None``: no trial is padded).

        ``counts`` is read batch by batch (:class:`~ldns_sklearn._backend.training.
        ArrayRows`), so a ``numpy.memmap`` is never loaded whole. Training makes any
        earlier ``rate_gain`` stale: it is reset to ones (see :meth:`calibrate`).
        """
        self.rate_gain = np.ones(self.spec.n_neurons)
        n_bins = counts.shape[1]
        all_lengths = np.full(len(counts), n_bins) if lengths is None else lengths
        data = (ArrayRows(counts), torch.as_tensor(all_lengths, dtype=torch.int64))
        loss_fn = functools.partial(
            autoencoder_loss,
            ragged=lengths is not None,
            mask_prob=mask_prob,
            l2_penalty=l2_penalty,
            smoothness_penalty=smoothness_penalty,
        )
        result = train(
            self.network,
            loss_fn,
            data,
            config,
            device=resolve_device(device),
            generator=make_generator(seed),
            checkpointing=checkpointing,
        )
        self.network.eval()
        return result

    def encode(
        self, counts, lengths, *, batch_size: int, device: str, observed=None, mask_prob=0.0
    ) -> np.ndarray:
        """Latents ``(n_trials, n_bins, n_latents)``; zero past each length.

        With ``observed`` (boolean, like ``counts``) the other entries are hidden from the
        encoder as coordinated dropout with ``mask_prob`` hides them in training
        (:func:`~ldns_sklearn._backend.autoencoder_net.hide`).
        """
        if observed is None:
            return self._batched(self.network.encode, lengths, batch_size, device, counts)

        def encode_observed(x, seen, batch_lengths):
            return self.network.encode(hide(x, 1.0 - seen, mask_prob), batch_lengths)

        return self._batched(encode_observed, lengths, batch_size, device, counts, observed)

    def decode(self, latents, lengths, *, batch_size: int, device: str) -> np.ndarray:
        """Rates ``(n_trials, n_bins, n_neurons)`` of padded latents, times ``rate_gain``."""
        rates = self._batched(self.network.decode, lengths, batch_size, device, latents)
        rates *= self.rate_gain
        return rates

    def calibrate(self, counts, latents, lengths, *, batch_size: int, device: str) -> np.ndarray:
        """Set ``rate_gain`` so that each neuron's decoded rates sum to its spike count.

        The Poisson maximum-likelihood factor per neuron, ``sum(counts) / sum(rates)`` over
        the valid bins of the given trials, with ``latents`` encoded from ``counts`` with
        nothing hidden (as generation decodes them). Training predicts entries hidden by
        coordinated dropout through a softplus, so its rates on fully seen input are not
        unbiased by construction (on the benchmark data ~1% high on average). A
        neuron without spikes (or whose rates underflowed to 0) keeps the factor 1. Read in
        batches: nothing as large as the data is held. Returns each neuron's spike count,
        which says how well its factor is determined.
        """
        self.rate_gain = np.ones(self.spec.n_neurons)
        total_counts = np.zeros(self.spec.n_neurons)
        total_rates = np.zeros(self.spec.n_neurons)

        def decode_inside(z, batch_lengths):
            # Padded latents decode to rates; padded counts are zeros already.
            rates = self.network.decode(z, batch_lengths)
            mask = length_mask(batch_lengths, rates.shape[1], rates.device)
            return rates if mask is None else rates * mask

        for start in range(0, len(latents), batch_size):
            stop = start + batch_size
            batch_lengths = None if lengths is None else lengths[start:stop]
            rates = self._batched(decode_inside, batch_lengths, batch_size, device,
                                  latents[start:stop])
            total_counts += np.asarray(counts[start:stop], dtype=np.float64).sum(axis=(0, 1))
            total_rates += rates.sum(axis=(0, 1))
        # A rate that underflowed to 0 everywhere cannot be scaled to its count.
        known = (total_counts > 0) & (total_rates > 0)
        self.rate_gain[known] = total_counts[known] / total_rates[known]
        return total_counts

    def held_out_rates(
        self, counts, lengths, *, mask_prob: float, batch_size: int, device: str
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(hidden, rates)`` for ``ceil(1 / mask_prob)`` seeded coordinated-dropout masks.

        Each mask hides entries of ``counts`` as training does
        (:func:`~ldns_sklearn._backend.autoencoder_net.coordinated_dropout`); ``rates`` are
        decoded from what remains, so they predict the hidden entries without seeing them.
        The masks are drawn on the CPU from a fixed seed: the same counts always get the
        same masks, whatever the device or batch size.
        """
        generator = make_generator(0)
        counts_tensor = torch.as_tensor(counts, dtype=torch.float32)
        for _ in range(math.ceil(1 / mask_prob)):
            inputs, hidden = coordinated_dropout(counts_tensor, mask_prob, generator)
            rates = self.decode(
                self.encode(inputs.numpy(), lengths, batch_size=batch_size, device=device),
                lengths,
                batch_size=batch_size,
                device=device,
            )
            yield hidden.numpy().astype(bool), rates

    def _batched(self, function, lengths, batch_size, device, *arrays) -> np.ndarray:
        """Apply ``function(*batches, lengths)`` to batches of ``arrays`` (all indexed by
        trial) without gradients; float64 out.

        Each batch is written into one preallocated output: no list of batches to
        concatenate, whose small blocks would also fragment the heap between the large
        per-batch temporaries (on 20,000 trials that kept ~1 GB resident).
        """
        resolved = placed(self.network, device)
        output = None
        with torch.no_grad(), autocast(resolved):
            for start in range(0, len(arrays[0]), batch_size):
                batches = [
                    torch.as_tensor(array[start : start + batch_size], dtype=torch.float32)
                    .to(resolved)
                    for array in arrays
                ]
                batch_lengths = None
                if lengths is not None:
                    batch_lengths = torch.as_tensor(lengths[start : start + batch_size])
                    batch_lengths = batch_lengths.to(resolved)
                y = function(*batches, batch_lengths).float().cpu().numpy()
                if output is None:
                    output = np.empty((len(arrays[0]), *y.shape[1:]), dtype=np.float64)
                output[start : start + len(y)] = y
        return output

    # --- persistence ------------------------------------------------------------------
    def export(self) -> dict:
        """Plain numbers and NumPy arrays only: safe to store and to load without pickle."""
        return {
            "spec": asdict(self.spec),
            "weights": export_weights(self.network),
            "rate_gain": self.rate_gain.copy(),
        }

    @classmethod
    def from_export(cls, exported: dict) -> AutoencoderModel:
        """Rebuild a model from :meth:`export` (on the CPU).

        Exports from before rate calibration have no ``rate_gain``: their rates were used
        as decoded, i.e. with factor 1.
        """
        spec = AutoencoderSpec(**exported["spec"])
        check_weights(lambda: S4AutoencoderNet(**asdict(spec)), exported["weights"])
        model = cls(spec)
        load_weights(model.network, exported["weights"])
        model.network.eval()
        if "rate_gain" in exported:
            gain = np.asarray(exported["rate_gain"], dtype=np.float64)
            if gain.shape != (model.spec.n_neurons,):
                raise ValueError(
                    f"rate_gain must hold one factor per neuron ({model.spec.n_neurons}), "
                    f"got an array of shape {gain.shape}."
                )
            if not np.all(np.isfinite(gain) & (gain > 0)):
                raise ValueError("rate_gain must hold finite positive factors.")
            model.rate_gain = gain.copy()
        return model
