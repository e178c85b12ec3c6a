"""Which in-painting method: four candidates against a known answer.

Usage::

    python benchmarks/bench_inpainting_methods.py
    python benchmarks/bench_inpainting_methods.py --n-trials 2000 --epochs 40 --threads 2

Data: a Gaussian process over 16 bins (squared-exponential, length scale 3 bins), where
the missing bins given the observed ones are Gaussian with a closed-form mean and
covariance. 50 recorded trials have bins 5-10 missing (a gap); each is filled 20 times.
Printed, for every method: the RMS error of the filled bins' mean against the true
conditional mean, divided by that of a model ignoring the recording (the prior mean,
0; 1.0 = learned nothing from it), and the filled bins' standard deviation divided by
the true conditional one (1.0 = right spread).

The methods, on one network: a ``LatentDiffusion`` fitted with ``inpaint_fraction=0.5``,
whose unconditional path (nothing observed) stands in for a model trained without masks:

* ``trained with masks``: :meth:`LatentDiffusion.inpaint` (the network sees the observed
  latents; its clean estimate takes their values there). With the default sampler and
  with DDPM.
* ``replacement`` (Song et al. 2021): DDPM on the unconditional path, the clean estimate
  replaced by the known values at every step.
* ``RePaint`` (Lugmayr et al. 2022): replacement, with every step redone ``U = 5`` times
  after going back one noise level.
* ``reconstruction guidance`` (Ho et al. 2022, video diffusion): replacement, and the
  clean estimate of the missing bins moved along ``-w alpha_t / 2`` times the gradient of
  its squared error on the known bins, for several ``w``.

Each runs with the learned network and with the GP's exact denoiser (the method's own
error, with learning taken out).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch
from _common import add_run_options, apply_threads

from ldns_sklearn import LatentDiffusion
from ldns_sklearn._backend.schedule import NoiseSchedule

N_BINS, MISSING = 16, np.r_[5:11]
LAGS = np.arange(N_BINS)
COVARIANCE = np.exp(-0.5 * (LAGS[:, None] - LAGS[None]) ** 2 / 3.0**2) + 1e-4 * np.eye(N_BINS)


def exact_x0(schedule):
    """E[z_0 | z_t] of the GP: alpha Sigma (alpha^2 Sigma + sigma^2 I)^-1 z_t."""
    eigenvalues, eigenvectors = (torch.tensor(a, dtype=torch.float32)
                                 for a in np.linalg.eigh(COVARIANCE))

    def x0_fn(z, t):
        alpha, sigma = _alpha_sigma(schedule, t)
        gain = alpha * eigenvalues / (alpha**2 * eigenvalues + sigma**2)
        return (gain * (z @ eigenvectors)) @ eigenvectors.T

    return x0_fn


def _alpha_sigma(schedule, t):
    alpha_bar = float(schedule.alpha_bar([t])[0])
    return math.sqrt(alpha_bar), math.sqrt(1.0 - alpha_bar)


def learned_x0(model, schedule):
    """E[z_0 | z_t] from the fitted network's unconditional path (nothing observed)."""
    network, prediction = model.model_.network, model.model_.spec.prediction

    def x0_fn(z, t):
        t_batch = torch.full((z.shape[0],), t, dtype=torch.long)
        x0, _ = schedule.split(network(z, t_batch), z, t_batch, prediction)
        return x0

    return x0_fn


def ddpm_fill(x0_fn, schedule, known, where, generator, resample=1, guidance=0.0):
    """Ancestral DDPM with the clean estimate replaced at known bins (plus RePaint / guidance)."""
    z = torch.randn(known.shape, generator=generator)
    for t in range(schedule.n_steps - 1, -1, -1):
        alpha, _ = _alpha_sigma(schedule, t)
        for repeat in range(resample):
            if guidance:
                z_grad = z.detach().requires_grad_(True)
                x0 = x0_fn(z_grad, t)
                error = ((x0 - known) ** 2 * where).sum()
                (gradient,) = torch.autograd.grad(error, z_grad)
                x0 = x0.detach() - guidance * alpha / 2 * gradient * (1 - where)
            else:
                with torch.no_grad():
                    x0 = x0_fn(z, t)
            x0 = torch.where(where.bool(), known, x0)
            if t == 0:
                return x0
            alpha_bar, alpha_bar_prev = (float(a) for a in schedule.alpha_bar([t, t - 1]))
            beta = float(schedule.betas[t])
            mean = (math.sqrt(alpha_bar_prev) * beta / (1 - alpha_bar) * x0
                    + math.sqrt(1 - beta) * (1 - alpha_bar_prev) / (1 - alpha_bar) * z)
            variance = beta * (1 - alpha_bar_prev) / (1 - alpha_bar)
            z_prev = mean + math.sqrt(variance) * torch.randn(z.shape, generator=generator)
            if repeat < resample - 1:  # RePaint: back to noise level t, and again
                noise = torch.randn(z.shape, generator=generator)
                z = math.sqrt(1 - beta) * z_prev + math.sqrt(beta) * noise
            else:
                z = z_prev
    return z


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-trials", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--diffusion-steps", type=int, default=250,
                        help="T of the (cosine) schedule: DDPM runs all of them")
    parser.add_argument("--guidance", type=float, nargs="+", default=[5.0, 20.0, 50.0])
    add_run_options(parser, device=None)
    args = parser.parse_args()
    apply_threads(args)
    rng = np.random.default_rng(args.seed)
    train = rng.multivariate_normal(np.zeros(N_BINS), COVARIANCE, size=args.n_trials)
    started = time.perf_counter()
    model = LatentDiffusion(hidden_channels=32, n_blocks=2, max_epochs=args.epochs,
                            batch_size=64, n_diffusion_steps=args.diffusion_steps,
                            inpaint_fraction=0.5, device="cpu", n_threads=None,
                            random_state=args.seed).fit(train[..., None])
    print(f"bench_inpainting_methods: GP of {N_BINS} bins, bins {MISSING[0]}-{MISSING[-1]} "
          f"missing; network 32 wide x 2 blocks, T={args.diffusion_steps}, fitted on "
          f"{args.n_trials} trials for {args.epochs} epochs in "
          f"{time.perf_counter() - started:.0f} s")

    known_bins = np.setdiff1d(LAGS, MISSING)
    observed = np.isin(LAGS, known_bins)
    recorded = rng.multivariate_normal(np.zeros(N_BINS), COVARIANCE, size=50)
    gain = np.linalg.solve(COVARIANCE[np.ix_(known_bins, known_bins)],
                           COVARIANCE[np.ix_(known_bins, MISSING)])
    conditional_mean = recorded[:, known_bins] @ gain
    conditional_sd = np.sqrt(np.diag(
        COVARIANCE[np.ix_(MISSING, MISSING)] - COVARIANCE[np.ix_(MISSING, known_bins)] @ gain))
    baseline = np.sqrt(np.mean(conditional_mean**2))
    repeated = np.repeat(recorded, args.repeats, axis=0)

    def report(name, filled):
        filled = filled.reshape(50, args.repeats, N_BINS)[:, :, MISSING]
        error = np.sqrt(np.mean((filled.mean(axis=1) - conditional_mean) ** 2)) / baseline
        spread = np.mean(filled.std(axis=1) / conditional_sd)
        print(f"  {name:44s} mean error {error:6.3f}   sd ratio {spread:6.2f}", flush=True)

    print(f"  (conditional sd {conditional_sd.min():.3f}-{conditional_sd.max():.3f}; "
          "mean error 1.0 = ignores the recording)")
    for sampler in ("dpm-solver++-sde", "ddpm"):
        model.set_params(sampler=sampler)
        report(f"trained with masks ({sampler})",
               model.inpaint(repeated[..., None], observed, random_state=1)[..., 0])
    # The network works in standardised units; the exact denoiser in the data's own.
    scale, mean = float(model.latent_scale_[0]), float(model.latent_mean_[0])
    where = torch.as_tensor(observed, dtype=torch.float32)[None, None, :]
    schedule = model.model_.schedule
    methods = [("replacement", {}), ("RePaint U=5", {"resample": 5})] + [
        (f"reconstruction guidance w={w:g}", {"guidance": w}) for w in args.guidance]
    for denoiser, x0_fn, shift, unit in (
        ("learned", learned_x0(model, schedule), mean, scale),
        ("exact", exact_x0(NoiseSchedule(schedule.n_steps, model.noise_schedule)), 0.0, 1.0),
    ):
        known = torch.as_tensor((repeated - shift) / unit, dtype=torch.float32)[:, None, :]
        for name, options in methods:
            filled = ddpm_fill(x0_fn, schedule, known, where,
                               torch.Generator().manual_seed(1), **options)
            report(f"{name} ({denoiser})", filled[:, 0].numpy() * unit + shift)
    print(f"  total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
