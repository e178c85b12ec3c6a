"""Latents and conditions standardised per channel for a latent diffusion model, and the
conditions ``y`` checked against the kind it was fitted with."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from sklearn.preprocessing import StandardScaler

from ._trials import Trials
from ._validation import check_condition, pad_trials

# Standardised latents are clipped at ±CLIP standard deviations before training, as in the
# paper's code: a few extreme bins would otherwise dominate the squared-error loss.
CLIP = 5.0


def stacked_bins(trials) -> np.ndarray:
    """All valid bins of all trials as rows ``(n_valid_bins, n_channels)``."""
    if isinstance(trials, np.ndarray):
        return trials.reshape(-1, trials.shape[2])
    return np.concatenate(trials, axis=0)


def scale_trials(trials, scaler: StandardScaler, clip: float | None = None):
    """Apply a per-channel scaler to every bin of every trial (keeping the trial form)."""

    def one(array):
        flat = scaler.transform(array.reshape(-1, array.shape[-1]))
        if clip is not None:
            flat = np.clip(flat, -clip, clip)
        return flat.reshape(array.shape)

    return one(trials) if isinstance(trials, np.ndarray) else [one(t) for t in trials]


def check_fitted_condition(y, n_trials, lengths, what, *, kind, n_features,
                           unconditional_ok=False, asked_unconditional=False):
    """``(kind, values)`` of a condition ``y``, checked against the fitted ``kind`` and
    ``n_features``; ``(None, None)`` for no condition.

    ``unconditional_ok``: a missing ``y`` is fine for a conditional model that also
    learned the unconditional one (``condition_dropout > 0``); ``asked_unconditional``:
    the caller would accept that (so the error can say what would).
    """
    if y is None:
        if kind is not None and not unconditional_ok:
            hint = (
                " Unconditional samples need a model fitted with condition_dropout > 0."
                if asked_unconditional
                else ""
            )
            raise ValueError(
                f"This LatentDiffusion was fitted with a {kind} condition y; pass y "
                f"(one per trial of {what}).{hint}"
            )
        return None, None
    if kind is None:
        raise ValueError(
            "y was given but this LatentDiffusion was fitted without a condition "
            "(unconditional model); refit with fit(Z, y) to condition on y."
        )
    given_kind, values = check_condition(y, n_trials, lengths)
    if given_kind != kind:
        raise ValueError(
            f"y is a {given_kind} condition but the model was fitted with a {kind} "
            "condition (per-trial: (n_trials, n_features); series: (n_trials, n_bins, "
            "n_features))."
        )
    given = values.shape[1] if kind == "trial" else stacked_bins(values).shape[1]
    if given != n_features:
        raise ValueError(
            f"y has {given} features but the model was fitted with {n_features}."
        )
    return kind, values


def scaled_conditions(kind, values, scaler):
    """Standardised ``(trial, series)`` conditions (series padded) of checked values."""
    if kind is None:
        return None, None
    scaled = scale_trials(values, scaler)
    if kind == "trial":
        return scaled, None
    return None, pad_trials(scaled)[0]


def standardised_latents(latents: Trials, mean, scale) -> tuple[np.ndarray, float]:
    """Latents in standard units clipped to ±``CLIP``, padded (zero past each trial's
    end), made in one copy and standardised in place (as ``StandardScaler.transform``
    computes); and the share of the trials' own values that were clipped."""
    z = latents[:]
    z -= mean
    z /= scale
    magnitudes = np.abs(z[latents.valid] if latents.ragged else z)
    clipped_fraction = float(np.mean(magnitudes > CLIP))
    np.clip(z, -CLIP, CLIP, out=z)
    if latents.ragged:
        z[~latents.valid] = 0.0
    return z, clipped_fraction


class LatentStandardisation(NamedTuple):
    """Per-channel mean and scale of latents, the range their clipped values span (in data
    units) and the share of values beyond ``CLIP`` standard deviations."""

    mean: np.ndarray
    scale: np.ndarray
    range: np.ndarray
    clipped_fraction: float

    @classmethod
    def learn(cls, latents: Trials) -> tuple[LatentStandardisation, np.ndarray]:
        """Learn it from checked latents, and give them standardised
        (:func:`standardised_latents`): the one copy of them that training reads."""
        scaler = StandardScaler().fit(stacked_bins(latents.trials))
        z, clipped_fraction = standardised_latents(latents, scaler.mean_, scaler.scale_)
        inside = z[latents.valid] if latents.ragged else z.reshape(-1, z.shape[2])
        span = scaler.inverse_transform(np.stack([inside.min(axis=0), inside.max(axis=0)]))
        return cls(scaler.mean_, scaler.scale_, span, clipped_fraction), z
