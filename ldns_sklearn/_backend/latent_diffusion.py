"""The torch side of ``LatentDiffusion``: NumPy in, NumPy out.

Builds the :class:`~ldns_sklearn._backend.denoiser.Denoiser`, trains it with the shared
loop (:func:`~ldns_sklearn._backend.training.train`) on the noise-prediction loss, samples
with the chosen sampler in batches of bounded size, scores held-out latents, and exports
its weights as NumPy arrays for pickling (nothing but arrays and plain numbers is stored,
so a saved model never needs to unpickle code).

Array layout at this boundary: latents ``(n_trials, n_bins, n_channels)`` padded (the
estimator's layout) with each trial's length, as the autoencoder's model takes them; inside,
torch works on ``(batch, channels, length)``, with a 0/1 mask of the bins a trial has
(:func:`_valid_mask`, the one place it is made).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from .denoiser import Denoiser
from .device import autocast, make_generator, placed, resolve_device, seeded
from .inpainting import training_observations
from .samplers import sample
from .schedule import NoiseSchedule, denoising_loss
from .training import Checkpointing, TrainingConfig, TrainingResult, evaluate, train
from .weights import check_weights, export_weights, load_weights

# Time steps at which ``score`` evaluates the denoising loss: evenly spread over the
# schedule (centres of SCORE_TIMESTEPS equal bins), so the score weighs all noise levels
# as the training loss does on average, without its randomness.
SCORE_TIMESTEPS = 10


@dataclass(frozen=True)
class DenoiserSpec:
    """Everything needed to rebuild the network and its schedule."""

    n_latents: int
    hidden_channels: int
    n_blocks: int
    state_size: int
    n_diffusion_steps: int
    n_trial_features: int = 0
    n_series_features: int = 0
    # The defaults are the first release's (DDPM); files saved then carry no such field.
    noise_schedule: str = "linear"
    prediction: str = "epsilon"
    # Trained with condition dropout, so it also models the data without its condition.
    null_condition: bool = False
    # Trained with some bins observed, so it can fill in the rest (``inpaint``).
    inpainting: bool = False


# Longest noise schedule a saved model may declare: 1000 times the paper's. (Its arrays
# are the only part of a model whose size no stored weight shows.)
MAX_DIFFUSION_STEPS = 10**6


def _denoiser(spec: DenoiserSpec) -> Denoiser:
    return Denoiser(
        spec.n_latents,
        spec.hidden_channels,
        spec.n_blocks,
        n_trial_features=spec.n_trial_features,
        n_series_features=spec.n_series_features,
        state_size=spec.state_size,
        null_condition=spec.null_condition,
        inpainting=spec.inpainting,
    )


def _to_channels_first(array: np.ndarray) -> torch.Tensor:
    # Converted while transposed: one float32 copy, no float64 one in between.
    return torch.from_numpy(np.swapaxes(array, 1, 2).astype(np.float32, order="C"))


def _mask_tensor(mask: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(mask, dtype=torch.float32)[:, None, :]


def _valid_mask(lengths: np.ndarray, n_bins: int) -> torch.Tensor:
    """``(n, 1, n_bins)`` float: 1 on each trial's own bins, 0 on its padding."""
    return _mask_tensor(np.arange(n_bins)[None, :] < np.asarray(lengths)[:, None])


class LatentDiffusionModel:
    """A denoiser, its noise schedule and the operations the estimator needs."""

    def __init__(self, spec: DenoiserSpec, seed: int = 0):
        self.spec = spec
        self.schedule = NoiseSchedule(spec.n_diffusion_steps, spec.noise_schedule)
        with seeded(seed):
            self.network = _denoiser(spec)
        self.network.eval()

    # --- data -------------------------------------------------------------------------
    def _tensors(self, z, lengths, trial_condition, series_condition):
        tensors = [_to_channels_first(z), _valid_mask(lengths, z.shape[1])]
        if self.spec.n_trial_features:
            tensors.append(torch.as_tensor(trial_condition, dtype=torch.float32))
        if self.spec.n_series_features:
            tensors.append(_to_channels_first(series_condition))
        return tensors

    def _conditions(self, batch) -> dict:
        rest = list(batch[2:])
        conditions = {}
        if self.spec.n_trial_features:
            conditions["trial_condition"] = rest.pop(0)
        if self.spec.n_series_features:
            conditions["series_condition"] = rest.pop(0)
        return conditions

    def _loss_fn(
        self,
        t_fixed: int | None = None,
        condition_dropout: float = 0.0,
        weighting: str = "uniform",
        inpaint_fraction: float = 0.0,
    ):
        def loss_fn(model, batch, generator, training):
            z0, mask = batch[0], batch[1]
            # All-valid batches skip the mask: it costs full-size multiplies in every block.
            if bool(mask.min() == 1):
                mask = None
            t = None
            if t_fixed is not None:
                t = torch.full((z0.shape[0],), t_fixed, dtype=torch.long)
            conditions = self._conditions(batch)
            if training and condition_dropout > 0:
                # Classifier-free guidance: this fraction of trials is trained without
                # its condition, so the one network also learns the unconditional model.
                dropped = torch.rand(z0.shape[0], generator=generator) < condition_dropout
                conditions["condition_present"] = (~dropped).float().to(z0.device)
            loss_mask = None
            if training and inpaint_fraction > 0:
                observed = training_observations(batch[1], inpaint_fraction, generator)
                observed = observed.to(z0.device)
                conditions.update(observed=observed, observed_latents=z0)
                # Observed bins are given, not learned: the loss is on the missing ones.
                loss_mask = batch[1] * (1 - observed)
            return denoising_loss(
                model,
                self.schedule,
                z0,
                mask,
                generator,
                prediction=self.spec.prediction,
                weighting=weighting,
                t=t,
                loss_mask=loss_mask,
                **conditions,
            )

        return loss_fn

    # --- operations -------------------------------------------------------------------
    def fit(
        self,
        z: np.ndarray,
        lengths: np.ndarray,
        trial_condition: np.ndarray | None,
        series_condition: np.ndarray | None,
        config: TrainingConfig,
        *,
        device: str,
        seed: int,
        condition_dropout: float = 0.0,
        loss_weighting: str = "uniform",
        inpaint_fraction: float = 0.0,
        checkpointing: Checkpointing | None = None,
    ) -> TrainingResult:
        """Train on standardised latents; afterwards the network holds the EMA weights.

        ``condition_dropout`` (only for a ``null_condition`` spec) is the fraction of
        trials of each batch trained without their condition; ``inpaint_fraction`` (only
        for an ``inpainting`` spec) the fraction trained with part of their bins observed
        (:func:`~.inpainting.training_observations`); ``loss_weighting`` weighs the error
        of each noise level (:meth:`NoiseSchedule.loss_weight`). Validation losses (early
        stopping) use the same weighting, without observations; :meth:`score` the uniform one.
        """
        resolved = resolve_device(device)
        tensors = self._tensors(z, lengths, trial_condition, series_condition)
        result = train(
            self.network,
            self._loss_fn(
                condition_dropout=condition_dropout,
                weighting=loss_weighting,
                inpaint_fraction=inpaint_fraction,
            ),
            tensors,
            config,
            device=resolved,
            generator=make_generator(seed),
            checkpointing=checkpointing,
        )
        if result.ema_state is not None:
            # Sampling and scoring use the averaged weights (as DDPM and the paper do).
            self.network.load_state_dict(result.ema_state)
        self.network.eval()
        return result

    def score(
        self, z, lengths, trial_condition, series_condition, *, batch_size: int, device: str
    ) -> float:
        """Mean denoising MSE at fixed time steps with fixed (seeded) noise."""
        resolved = placed(self.network, device)
        tensors = self._tensors(z, lengths, trial_condition, series_condition)
        n_steps = self.spec.n_diffusion_steps
        timesteps = ((np.arange(SCORE_TIMESTEPS) + 0.5) * n_steps / SCORE_TIMESTEPS).astype(int)
        losses = [
            evaluate(
                self.network,
                self._loss_fn(int(t)),
                tensors,
                batch_size,
                resolved,
                make_generator(index),
            )
            for index, t in enumerate(timesteps)
        ]
        return float(np.mean(losses))

    def sample(
        self,
        lengths: np.ndarray,
        trial_condition: np.ndarray | None,
        series_condition: np.ndarray | None,
        *,
        sampler: str,
        n_steps: int,
        eta: float,
        clip_range: np.ndarray | None,
        batch_size: int,
        device: str,
        seed: int,
        guidance_scale: float = 1.0,
        observed: np.ndarray | None = None,
        observed_latents: np.ndarray | None = None,
        progress: bool = False,
    ) -> np.ndarray:
        """Latents ``(len(lengths), max(lengths), n_latents)``, zero past each length.

        Trials are sampled in batches of at most ``batch_size`` (bounded memory), sorted by
        length so a batch is padded only to its own longest trial. ``clip_range`` ``(2,
        n_latents)`` bounds the clean-data prediction of every step (None: unbounded).

        For a ``null_condition`` network, conditions of None (on a conditional spec) draw
        unconditional samples, and ``guidance_scale`` ``s`` mixes the conditional and the
        unconditional output as ``uncond + s (cond - uncond)`` (1: plain conditional).

        In-painting (an ``inpainting`` spec): ``observed`` ``(n, max(lengths))`` of 0/1
        marks the bins whose standardised latents ``observed_latents`` (like the output)
        are known. The network sees them, and every step's clean-latent estimate takes
        their values there, so they come back exactly and the rest is drawn given them.
        """
        resolved = placed(self.network, device)
        bounds = None
        if clip_range is not None:
            bounds = tuple(torch.as_tensor(b, dtype=torch.float32) for b in clip_range)
        generator = make_generator(seed)
        n_samples, max_length = len(lengths), int(lengths.max())
        out = np.zeros((n_samples, max_length, self.spec.n_latents), dtype=np.float64)
        order = np.argsort(-lengths, kind="stable")
        for start in range(0, n_samples, batch_size):
            index = order[start : start + batch_size]
            batch_lengths = lengths[index]
            length = int(batch_lengths.max())
            mask = None
            if batch_lengths.min() < length:
                mask = _valid_mask(batch_lengths, length).to(resolved)
            conditions = self._batch_conditions(
                trial_condition, series_condition, index, length, resolved
            )
            known = None
            if observed is not None:
                where = _mask_tensor(observed[index, :length]).to(resolved)
                values = _to_channels_first(observed_latents[index, :length]).to(resolved)
                conditions.update(observed=where, observed_latents=values)
                known = (values, where)
            model = self._guided_network(conditions, mask, guidance_scale)

            with torch.no_grad(), autocast(resolved):
                z = sample(
                    model,
                    self.schedule,
                    (len(index), self.spec.n_latents, length),
                    generator=generator,
                    device=resolved,
                    sampler=sampler,
                    n_steps=n_steps,
                    eta=eta,
                    prediction=self.spec.prediction,
                    clip_range=bounds,
                    mask=mask,
                    known=known,
                    progress=progress,
                )
            out[index, :length] = np.swapaxes(z.float().cpu().numpy(), 1, 2)
        return out

    def _batch_conditions(self, trial_condition, series_condition, index, length, device):
        """The network's condition arguments for the trials ``index`` of a sampling batch.

        A conditional spec given no condition (unconditional sampling of a
        ``null_condition`` network) gets zeros marked absent.
        """
        spec, n = self.spec, len(index)
        if not (spec.n_trial_features or spec.n_series_features):
            return {}
        conditions = {}
        if spec.n_trial_features:
            values = (
                np.zeros((n, spec.n_trial_features))
                if trial_condition is None
                else trial_condition[index]
            )
            conditions["trial_condition"] = torch.as_tensor(values, dtype=torch.float32)
        if spec.n_series_features:
            values = (
                np.zeros((n, length, spec.n_series_features))
                if series_condition is None
                else series_condition[index, :length]
            )
            conditions["series_condition"] = _to_channels_first(values)
        if spec.null_condition:
            given = trial_condition is not None or series_condition is not None
            conditions["condition_present"] = torch.full((n,), float(given))
        return {key: value.to(device) for key, value in conditions.items()}

    def _guided_network(self, conditions: dict, mask, guidance_scale: float):
        """``model(z, t)`` for the samplers: the network, with classifier-free guidance
        when ``guidance_scale != 1`` (conditional and unconditional outputs from one
        doubled batch)."""
        present = conditions.get("condition_present")
        if guidance_scale == 1.0 or present is None or not bool(present.all()):
            return lambda z, t: self.network(z, t, mask, **conditions)
        doubled = {key: torch.cat([value, value]) for key, value in conditions.items()}
        doubled["condition_present"] = torch.cat([present, torch.zeros_like(present)])
        doubled_mask = None if mask is None else torch.cat([mask, mask])

        def guided(z, t):
            both = self.network(torch.cat([z, z]), torch.cat([t, t]), doubled_mask, **doubled)
            conditional, unconditional = both.chunk(2)
            return unconditional + guidance_scale * (conditional - unconditional)

        return guided

    # --- persistence ------------------------------------------------------------------
    def export(self) -> dict:
        """Plain numbers and NumPy arrays only: safe to store and to load without pickle."""
        return {"spec": asdict(self.spec), "weights": export_weights(self.network)}

    @classmethod
    def from_export(cls, exported: dict) -> LatentDiffusionModel:
        """Rebuild a model from :meth:`export` (on the CPU)."""
        spec = DenoiserSpec(**exported["spec"])
        if not 1 <= spec.n_diffusion_steps <= MAX_DIFFUSION_STEPS:
            # The one size of the spec that no weight shows: the schedule's length.
            raise ValueError(
                f"n_diffusion_steps={spec.n_diffusion_steps!r} is not between 1 and "
                f"{MAX_DIFFUSION_STEPS}."
            )
        check_weights(lambda: _denoiser(spec), exported["weights"])
        model = cls(spec)
        load_weights(model.network, exported["weights"])
        model.network.eval()
        return model
