"""Fast sampler (~50 steps) against 1000-step ancestral DDPM: wall time and sample statistics.

Usage::

    python benchmarks/bench_sampling.py                       # the paper's Lorenz denoiser size
    python benchmarks/bench_sampling.py --n-samples 200 --n-bins 128 --epochs 30   # what fits
    python benchmarks/bench_sampling.py --device cuda
    python benchmarks/bench_sampling.py --paper-code PATH  # + the paper's denoiser's cost

One :class:`~ldns_sklearn.LatentDiffusion` (default: the paper's Lorenz denoiser size,
hidden 64, 4 blocks, 8 latents, 256 bins) is trained on Lorenz latents (the three Lorenz
dimensions of :func:`~ldns_sklearn.datasets.make_lorenz_spikes` mapped to ``n_latents``
channels by a fixed orthonormal matrix), then sampled twice in the same run:
``sampler="ddpm"`` (all 1000 steps, as the paper) and the fast sampler (default
``"dpm-solver++-sde"`` with 50 steps). Printed:

* the cost of one denoiser evaluation at the sampling batch size, and from it the time the
  full-size run (1000 samples x 1000 DDPM steps) would take on this machine;
* wall time of both samplers and their ratio (same machine, same run);
* latent statistics per channel (mean, std, lag-1 and lag-10 autocorrelation) of the data,
  DDPM and fast samples, with z-scores of fast - DDPM against trial-bootstrap standard errors
  (|z| > 2 expected for ~5% of statistics when the two samplers are indistinguishable);
* spike statistics (:func:`ldns_sklearn.metrics.compare_spike_statistics`): latents are
  mapped back to the Lorenz dimensions and through the data set's readout to Poisson counts,
  compared with the real counts, and DDPM with fast.

With ``--paper-code PATH`` (a checkout of ``mackelab/LDNS``; needs ``einops``), the paper's
own ``Denoiser`` (its Lorenz configuration: same width, blocks and bins; imported from
there, nothing copied) is timed the same way, untrained (its cost does not depend on its
weights): the time of its 1000-step DDPM (one evaluation per step; the scheduler's update
is a few elementwise operations) is estimated from that per-evaluation cost, and set
against the measured wall time of our fast sampler.

On a small CPU the full size does not fit in minutes: pass smaller ``--n-samples``,
``--n-bins``, ``--n-train`` and ``--epochs``; the printed header says what ran.
"""

from __future__ import annotations

import argparse
import functools
import time

import numpy as np
import torch
from _common import add_run_options, apply_threads, paper_networks, seconds

from ldns_sklearn.datasets import make_lorenz_spikes
from ldns_sklearn.datasets._rates import softplus
from ldns_sklearn.diffusion import LatentDiffusion
from ldns_sklearn.metrics import compare_spike_statistics

LAGS = (1, 10)
SPIKE_KEYS = (
    "population_spike_count_kl",
    "pairwise_correlation_rmse",
    "mean_rate_rmse",
    "mean_isi_rmse",
    "std_isi_rmse",
    "mean_rate_pearson_r",
    "pairwise_correlation_pearson_r",
    "mean_isi_pearson_r",
    "std_isi_pearson_r",
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-train", type=int, default=1000, help="training trials")
    parser.add_argument("--n-bins", type=int, default=256)
    parser.add_argument("--n-latents", type=int, default=8)
    parser.add_argument("--n-neurons", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--blocks", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--n-samples", type=int, default=1000, help="samples per sampler")
    parser.add_argument("--sample-batch-size", type=int, default=250)
    parser.add_argument("--fast-sampler", default="dpm-solver++-sde",
                        choices=["ddim", "dpm-solver++", "dpm-solver++-sde"])
    parser.add_argument("--fast-steps", type=int, default=50)
    add_run_options(parser)
    parser.add_argument("--paper-code", default=None,
                        help="a checkout of mackelab/LDNS: also time its own denoiser")
    return parser.parse_args()


def lorenz_latents(args):
    data = make_lorenz_spikes(
        n_trials=args.n_train,
        n_neurons=args.n_neurons,
        n_bins=args.n_bins,
        return_spiketrains=False,
        random_state=args.seed,
    )
    rng = np.random.default_rng(args.seed)
    lift, _ = np.linalg.qr(rng.standard_normal((args.n_latents, 3)))  # orthonormal columns
    return data, data.latents @ lift.T, lift


def latent_statistics(Z):
    """Per-trial, per-channel statistics ``(n_trials, n_stats, n_channels)``."""
    mean = Z.mean(axis=1)
    centred = Z - mean[:, None]
    var = (centred**2).mean(axis=1)
    autocorr = [(centred[:, k:] * centred[:, :-k]).mean(axis=1) / var for k in LAGS]
    return np.stack([mean, np.sqrt(var), *autocorr], axis=1)


def bootstrap_se(per_trial, rng, n_boot=200):
    n = len(per_trial)
    means = [per_trial[rng.integers(0, n, n)].mean(axis=0) for _ in range(n_boot)]
    return np.std(means, axis=0)


def to_counts(Z, data, lift, rng):
    latents3 = Z @ lift  # back to the Lorenz dimensions (lift has orthonormal columns)
    rates = softplus(latents3 @ data.readout.T + data.bias, 2.0)
    return rng.poisson(rates)


def per_step_cost(model, batch, n_bins):
    """Seconds of one evaluation of our denoiser on ``batch`` trials."""
    return _evaluation_costs({"ours": _our_network(model)}, batch, model.n_latents_, n_bins)[
        "ours"
    ]


def _our_network(model):
    return model.model_.network.to("cpu" if model.device == "auto" else model.device)


def paper_network(args, n_bins):
    """The paper's own denoiser (from ``--paper-code``), untrained, on our device."""
    Denoiser = paper_networks(args.paper_code).Denoiser  # the paper's code, from its checkout

    torch.manual_seed(args.seed)
    # conf/diffusion_Lorenz.yaml of mackelab/LDNS: C_in latents, C wide, bidirectional.
    network = Denoiser(C_in=args.n_latents, C=args.hidden, L=n_bins, num_blocks=args.blocks,
                       bidirectional=True).eval()
    device = "cuda" if args.device in ("auto", "cuda") and torch.cuda.is_available() else "cpu"
    return network.to(device)


def _evaluation_costs(networks, batch, n_latents, n_bins, repeats=7):
    """Median seconds of ``network(z, t)`` for each network, timed in turns (so that a
    machine that speeds up or slows down during the run affects them alike)."""
    times = {name: [] for name in networks}
    inputs = {}
    with torch.no_grad():
        for name, network in networks.items():
            device = next(network.parameters()).device
            inputs[name] = (torch.randn(batch, n_latents, n_bins, device=device),
                            torch.full((batch,), 500, device=device))
            network(*inputs[name])  # warm-up
        for _ in range(repeats):
            for name, network in networks.items():
                call = functools.partial(network, *inputs[name])
                times[name] += seconds(call, inputs[name][0].device, warm_up=False)
    return {name: float(np.median(values)) for name, values in times.items()}


def main():
    args = parse_args()
    apply_threads(args)
    print(
        f"config: n_train={args.n_train} n_bins={args.n_bins} n_latents={args.n_latents} "
        f"hidden={args.hidden} blocks={args.blocks} epochs={args.epochs} "
        f"n_samples={args.n_samples} fast={args.fast_sampler}/{args.fast_steps} "
        f"device={args.device} torch_threads={torch.get_num_threads()}"
    )
    data, Z, lift = lorenz_latents(args)
    model = LatentDiffusion(
        hidden_channels=args.hidden,
        n_blocks=args.blocks,
        max_epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        sample_batch_size=args.sample_batch_size,
        device=args.device,
        n_threads=None,  # the threads --threads gave torch
        random_state=args.seed,
    )
    start = time.perf_counter()
    model.fit(Z)
    print(
        f"fit: {time.perf_counter() - start:.1f} s, final train loss "
        f"{model.history_[-1]['train_loss']:.4f}"
    )

    batch = min(args.n_samples, args.sample_batch_size)
    step = per_step_cost(model, batch, args.n_bins)
    n_batches = -(-args.n_samples // batch)
    print(
        f"one denoiser evaluation, batch {batch} x {args.n_bins} bins: {step * 1e3:.1f} ms; "
        f"=> 1000 DDPM steps for {args.n_samples} samples ~ {step * 1000 * n_batches:.0f} s"
    )
    full = (
        per_step_cost(model, min(1000, args.sample_batch_size), 256)
        if args.n_bins != 256
        else step
    )
    print(
        f"   full size (1000 samples x 256 bins x 1000 steps) would take ~"
        f"{full * 1000 * -(-1000 // min(1000, args.sample_batch_size)) / 60:.0f} min here"
    )

    samples, seconds = {}, {}
    for name, params in (
        ("ddpm", dict(sampler="ddpm")),
        ("fast", dict(sampler=args.fast_sampler, n_sampling_steps=args.fast_steps)),
    ):
        model.set_params(**params)
        start = time.perf_counter()
        samples[name] = model.sample(args.n_samples, random_state=args.seed + 1)
        seconds[name] = time.perf_counter() - start
    print(f"\nwall time ddpm (1000 steps): {seconds['ddpm']:.1f} s")
    print(f"wall time {args.fast_sampler} ({args.fast_steps} steps): {seconds['fast']:.1f} s")
    print(f"speed-up: {seconds['ddpm'] / seconds['fast']:.1f}x")
    if args.paper_code is not None:
        costs = _evaluation_costs(
            {"ours": _our_network(model), "paper": paper_network(args, args.n_bins)},
            batch, args.n_latents, args.n_bins,
        )
        paper_ddpm = costs["paper"] * 1000 * n_batches
        print(f"one evaluation, timed in turns: paper's denoiser (its code) "
              f"{costs['paper'] * 1e3:.1f} ms, ours {costs['ours'] * 1e3:.1f} ms "
              f"(ratio {costs['paper'] / costs['ours']:.2f})")
        print(f"paper's 1000-step DDPM for {args.n_samples} samples ~ {paper_ddpm:.0f} s "
              "(estimated from that cost)")
        print(f"speed-up of our {args.fast_sampler} over the paper's DDPM: wall time "
              f"{paper_ddpm / seconds['fast']:.1f}x; in denoiser evaluations "
              f"{1000 * costs['paper'] / (args.fast_steps * costs['ours']):.1f}x")

    rng = np.random.default_rng(args.seed)
    stats = {"data": latent_statistics(Z)}
    stats.update({name: latent_statistics(s) for name, s in samples.items()})
    mean = {name: s.mean(axis=0) for name, s in stats.items()}
    se = {name: bootstrap_se(s, rng) for name, s in stats.items()}
    names = ["mean", "std", *(f"acf{k}" for k in LAGS)]
    print("\nlatent statistics (averaged over channels; |z| of fast - ddpm per channel)")
    print(f"{'stat':>6} {'data':>8} {'ddpm':>8} {'fast':>8}   max|z|  n(|z|>2)/channels")
    all_z = []
    for i, stat in enumerate(names):
        z = (mean["fast"][i] - mean["ddpm"][i]) / np.sqrt(se["fast"][i] ** 2 + se["ddpm"][i] ** 2)
        all_z.append(z)
        print(
            f"{stat:>6} {mean['data'][i].mean():8.3f} {mean['ddpm'][i].mean():8.3f} "
            f"{mean['fast'][i].mean():8.3f}   {np.abs(z).max():6.2f}  "
            f"{int((np.abs(z) > 2).sum())}/{len(z)}"
        )
    all_z = np.abs(np.concatenate(all_z))
    print(
        f"all {len(all_z)} statistics: {int((all_z > 2).sum())} with |z| > 2 "
        f"(~{0.05 * len(all_z):.1f} expected by chance), max |z| = {all_z.max():.2f}"
    )
    for reference in ("ddpm", "fast"):
        error = np.abs(mean[reference] - mean["data"]).mean(axis=1)
        print(
            f"mean |{reference} - data| per statistic: "
            + ", ".join(f"{n}={e:.3f}" for n, e in zip(names, error, strict=True))
        )

    n_real = min(args.n_samples, args.n_train)
    real = data.counts[:n_real]
    counts = {name: to_counts(s, data, lift, rng) for name, s in samples.items()}
    rows = {
        "data vs ddpm": compare_spike_statistics(real, counts["ddpm"]),
        "data vs fast": compare_spike_statistics(real, counts["fast"]),
        "ddpm vs fast": compare_spike_statistics(counts["ddpm"], counts["fast"]),
        "data vs data": compare_spike_statistics(real, to_counts(Z[:n_real], data, lift, rng)),
    }
    print("\nspike statistics (Poisson counts through the Lorenz readout)")
    print(f"{'':>14}" + "".join(f"{k[:16]:>18}" for k in SPIKE_KEYS))
    for label, result in rows.items():
        print(f"{label:>14}" + "".join(f"{result[k]:18.5f}" for k in SPIKE_KEYS))


if __name__ == "__main__":
    main()
