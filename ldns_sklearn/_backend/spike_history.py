"""Spike-history GLMs: Newton fits of all neurons at once.

Neuron ``n`` in bin ``t`` is Poisson with rate ``softplus(theta_n . d_{t,n})``, where the
design row ``d`` holds the neuron's rate drive, a 1 and its own last ``H`` counts. Neurons do
not interact, so each has a small convex problem (``H + 2`` parameters): Newton's method with
a backtracking line search solves them in a handful of steps, in chunks of neurons whose
design matrices are stacked for batched matrix products. Float32 keeps the design small and
the products fast; the objective is summed, and the Newton system solved, in float64.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

# Design entries per chunk of neurons (float32): about 64 MB for the design and as much for
# its weighted copy, whatever the data size.
_CHUNK_ELEMENTS = 1 << 24
# Stop a neuron when half its Newton decrement (the predicted decrease of the mean NLL, in
# nats per bin) is below this, or when no step along Newton's direction decreases it further
# (float32 round-off).
_TOLERANCE = 1e-9
_MAX_HALVINGS = 30


def _neuron_major(trials: np.ndarray) -> torch.Tensor:
    """``(n_trials, n_bins, n_neurons)`` as a float32 ``(n_neurons, n_trials, n_bins)`` copy."""
    return torch.from_numpy(trials).permute(2, 0, 1).to(torch.float32).contiguous()


def fit_spike_history(counts, drive, valid, history, alpha, max_iter):
    """Fit every neuron's GLM; returns ``(gain, bias, weights, n_iter)`` as NumPy arrays.

    ``counts`` and ``drive`` (``softplus⁻¹`` of the rates) are ``(n_trials, n_bins,
    n_neurons)`` (zero-padded), ``valid`` is ``(n_trials, n_bins)``. Each neuron minimises
    its mean NLL over valid bins plus ``alpha`` times the squared norm of its history
    weights, starting from the Poisson model (gain 1).
    """
    n_trials, n_bins, n_neurons = counts.shape
    n_params = history + 2
    chunk = min(n_neurons, max(1, _CHUNK_ELEMENTS // (n_params * n_trials * n_bins)))
    # None when every bin is valid (trials of equal length): nothing to mask.
    mask = None if valid.all() else torch.from_numpy(valid.astype(np.float32).reshape(-1))
    x, drive = _neuron_major(counts), _neuron_major(drive)
    # Allocated once and reused by every chunk: fresh pages of this size cost more to fault
    # in than the products computed on them.
    design = torch.empty((chunk, n_params, n_trials * n_bins), dtype=torch.float32)
    weighted = torch.empty_like(design)
    thetas, n_iter = [], 0
    for start in range(0, n_neurons, chunk):
        neurons = slice(start, start + chunk)
        c = len(x[neurons])
        _fill_design(design[:c], x[neurons], drive[neurons])
        targets = x[neurons].reshape(c, -1)
        theta, steps = _newton(design[:c], weighted[:c], targets, mask, alpha, max_iter)
        thetas.append(theta)
        n_iter = max(n_iter, steps)
    theta = torch.cat(thetas).numpy()
    return theta[:, 0], theta[:, 1], theta[:, 2:], n_iter


def _fill_design(design, x, drive):
    """Write the ``(c, H + 2, n_trials * n_bins)`` design of ``c`` neurons' counts ``x``
    and rate drives ``drive``, both ``(c, n_trials, n_bins)``."""
    c, n_trials, n_bins = x.shape
    design[:, 0] = drive.reshape(c, -1)
    design[:, 1] = 1.0
    for lag in range(1, design.shape[1] - 1):
        # The count `lag` bins back within the same trial (zero before the trial starts).
        column = design[:, 1 + lag].view(c, n_trials, n_bins)
        column[..., :lag] = 0.0
        column[..., lag:] = x[..., :-lag]


def _newton(design, weighted, targets, mask, alpha, max_iter):
    c, n_params, n_bins = design.shape
    n_valid = float(n_bins if mask is None else mask.sum())
    penalty = torch.full((n_params,), float(alpha), dtype=torch.float64)
    penalty[:2] = 0.0
    theta = torch.zeros((c, n_params), dtype=torch.float64)
    theta[:, 0] = 1.0  # the Poisson model
    ridge = torch.diag(2 * penalty) + 1e-10 * torch.eye(n_params, dtype=torch.float64)

    def masked(values):
        return values if mask is None else values.mul_(mask)

    def objective(theta):
        u = torch.bmm(theta[:, None, :].float(), design)[:, 0]
        rate = F.softplus(u)
        nll = masked(rate - torch.xlogy(targets, rate)).sum(1, dtype=torch.float64)
        return nll / n_valid + (penalty * theta**2).sum(1), u, rate

    value, u, rate = objective(theta)
    active = torch.ones(c, dtype=torch.bool)
    steps = 0
    for steps in range(1, max_iter + 1):  # noqa: B007 (the count is returned)
        # With s = sigmoid(u), r = softplus(u) and x the counts, the NLL r - x log r has
        # first derivative s (1 - x/r) and second s [(1 - s)(1 - x/r) + s x / r²] >= 0 in u.
        slope = torch.sigmoid(u)
        rate.clamp_min_(1e-30)
        ratio = targets / rate
        keep = torch.rsub(ratio, 1.0)
        first = masked(keep * slope)
        second = torch.rsub(slope, 1.0).mul_(keep)
        second.add_(ratio.mul_(slope).div_(rate))
        second = masked(second.mul_(slope))
        gradient = torch.bmm(design, first[..., None])[..., 0].double() / n_valid
        gradient += 2 * penalty * theta
        torch.mul(design, second[:, None, :], out=weighted)
        hessian = torch.bmm(weighted, design.transpose(1, 2)).double() / n_valid + ridge
        direction = torch.linalg.solve(hessian, gradient)
        decrement = (gradient * direction).sum(1)
        active &= decrement / 2 > _TOLERANCE
        if not active.any():
            break
        direction[~active] = 0.0
        step = torch.ones(c, dtype=torch.float64)
        for _ in range(_MAX_HALVINGS):
            trial, trial_u, trial_rate = objective(theta - step[:, None] * direction)
            decreased = trial <= value - 1e-4 * step * decrement
            if bool(decreased[active].all()):
                break
            step = torch.where(decreased, step, step / 2)
        # A neuron whose objective no step decreases is at its optimum to float32 precision.
        stuck = active & ~decreased
        if stuck.any():
            active &= ~stuck
            step[stuck] = 0.0
            trial, trial_u, trial_rate = objective(theta - step[:, None] * direction)
        theta = theta - step[:, None] * direction
        value, u, rate = trial, trial_u, trial_rate
    return theta, steps
