"""Latents and conditions standardised per channel for a latent diffusion model, and the
conditions ``y`` checked against the kind it was fitted with."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from sklearn.preprocessing import StandardScaler

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


class LatentStandardisation(NamedTuple):
    """Per-channel mean and scale of latents, the range their clipped values span (in data
    units) and the share of values beyond ``CLIP`` standard deviations."""

    mean: np.ndarray
    scale: np.ndarray
    range: np.ndarray
    clipped_fraction: float

    @classmethod
    def of(cls, Z) -> LatentStandardisation:
        """Learn it from checked latents (a 3-D array or a list of trials)."""
        bins = stacked_bins(Z)
        scaler = StandardScaler().fit(bins)
        standardised = scaler.transform(bins)
        clipped = np.clip(standardised, -CLIP, CLIP)
        span = scaler.inverse_transform(np.stack([clipped.min(axis=0), clipped.max(axis=0)]))
        return cls(scaler.mean_, scaler.scale_, span,
                   float(np.mean(np.abs(standardised) > CLIP)))


def fixed_scaler(mean, scale) -> StandardScaler:
    """A fitted ``StandardScaler`` of the given per-channel mean and scale."""
    scaler = StandardScaler()
    scaler.mean_, scaler.scale_ = mean, scale
    scaler.n_features_in_ = len(mean)
    return scaler
