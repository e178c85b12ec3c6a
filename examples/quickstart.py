"""
Quickstart: fit LDNS on the synthetic Lorenz data set and see what it learned
=============================================================================

Runs on a laptop CPU in minutes with the estimators' default sizes (about 16 minutes on 2
CPU cores with other work running; what it printed and how long it took is in
``docs/benchmarks.md``)::

    python examples/quickstart.py            # the default size
    python examples/quickstart.py --quick    # 300 smaller trials: about 2 minutes, and it learns
    python examples/quickstart.py --smoke    # seconds; checks the script still runs

It prints

1. how well the autoencoder's latents recover the true Lorenz state (R² of a linear map
   fitted on training trials, evaluated on held-out trials),
2. the autoencoder's held-out log-likelihood in bits/spike,
3. the sample-quality statistics of generated trials against held-out real trials (the
   paper's five and the temporal and across-trial ones), one row per statistic, next to a
   homogeneous Poisson baseline with the true per-neuron rates and next to the floor that
   real data reaches against itself (two disjoint real halves), and the ratio of LDNS to
   that floor (1 = as close to the data as real data is to itself),

and saves a figure (rasters, true against decoded rates, training curves, statistics) to
``examples/output/``. The one below was stored from a run at the default size, so that
the documentation shows it without running the example:

.. image:: /_static/quickstart.png
   :alt: the quickstart's figure at the default size
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import quantities as pq
from sklearn.linear_model import LinearRegression

from ldns_sklearn import make_ldns_pipeline
from ldns_sklearn.datasets import make_lorenz_spikes
from ldns_sklearn.metrics import DISCREPANCIES, compare_spike_statistics

SIZES = {
    # n_trials, n_neurons, n_bins, autoencoder, diffusion (the estimators' defaults)
    "default": dict(n_trials=600, n_neurons=64, n_bins=128, ae={}, dm={},
                    cost="about 16 minutes on 2 CPU cores with other work running"),
    # Between the two: learns the Lorenz latents and generates usable samples in a few
    # minutes (what it printed is in docs/benchmarks.md).
    "quick": dict(n_trials=300, n_neurons=32, n_bins=64, ae=dict(max_epochs=60),
                  dm=dict(max_epochs=120),
                  cost="about 2 minutes on 2 CPU cores with other work running"),
    "smoke": dict(cost="seconds",
        n_trials=40, n_neurons=8, n_bins=32,
        ae=dict(hidden_channels=8, n_blocks=1, max_epochs=2, batch_size=16),
        dm=dict(hidden_channels=8, n_blocks=1, max_epochs=2, batch_size=16),
    ),
}


def main(size: str = "default", output: Path | None = None, random_state: int = 0) -> dict:
    """Fit, evaluate, print a report and return the figures it printed."""
    config = SIZES[size]
    data = make_lorenz_spikes(
        n_trials=config["n_trials"], n_neurons=config["n_neurons"], n_bins=config["n_bins"],
        random_state=random_state,
    )
    n_train = int(0.8 * len(data.counts))
    train, test = slice(0, n_train), slice(n_train, None)

    pipe = make_ldns_pipeline(
        bin_size=5 * pq.ms, n_latents=8, autoencoder_params=config["ae"],
        diffusion_params=config["dm"], random_state=random_state,
        verbose=size != "smoke",  # progress bars per batch with an ETA, a line per step
    )
    print(f"Fitting LDNS on {n_train} Lorenz trials "
          f"({config['n_neurons']} neurons x {config['n_bins']} bins of 5 ms): expect "
          f"{config['cost']} (progress bars with an estimate of the time left follow) ...",
          flush=True)
    started = time.perf_counter()
    pipe.fit(data.spiketrains[train])
    print(f"fitted in {time.perf_counter() - started:.0f} s")
    ae = pipe.named_steps["ae"]

    # 1. Do the latents carry the Lorenz state? A linear read-out, fitted on training trials.
    def flat(array):
        return array.reshape(-1, array.shape[-1])

    readout = LinearRegression().fit(flat(ae.transform(data.counts[train])),
                                     flat(data.latents[train]))
    r2 = readout.score(flat(ae.transform(data.counts[test])), flat(data.latents[test]))
    bits = ae.score(data.counts[test])
    decoded_rates = ae.predict_rates(ae.transform(data.counts[test]))
    rates_r = np.corrcoef(decoded_rates.ravel(), data.rates[test].ravel())[0, 1]
    print(f"\nAutoencoder (held-out trials):  R²(latents -> Lorenz state) = {r2:.3f}   "
          f"{bits:.3f} bits/spike   r(rates, true rates) = {rates_r:.3f}")

    # 2. Generate as many trials as the test set holds and compare their statistics.
    n_test = len(data.counts[test])
    generated = pipe.named_steps["bin"].transform(pipe.sample(n_test, random_state=1))
    rng = np.random.default_rng(random_state)
    poisson = rng.poisson(np.broadcast_to(data.rates[test].mean(axis=(0, 1)),
                                          data.counts[test].shape))
    real_half_a, real_half_b = data.counts[train][: n_test], data.counts[test]
    rows = {
        "LDNS samples": compare_spike_statistics(data.counts[test], generated),
        "Poisson, true rates": compare_spike_statistics(data.counts[test], poisson),
        "real vs real": compare_spike_statistics(real_half_b, real_half_a),
    }
    ratios = {name: rows["LDNS samples"][name] / rows["real vs real"][name]
              for name in DISCREPANCIES}
    print("\nDiscrepancy to held-out real trials (lower is better):")
    header = "".join(f"{label:>22s}" for label in [*rows, "LDNS / real vs real"])
    print(f"{'':28s}{header}")
    for name in DISCREPANCIES:
        print(f"{name:28s}" + "".join(f"{row[name]:22.5f}" for row in rows.values())
              + f"{ratios[name]:21.2f}x")

    if output is not None:
        _save_figure(output, pipe, data.spiketrains[test][0], pipe.sample(1, random_state=2)[0],
                     data.counts[test], generated,
                     true_rates=data.rates[test][0], decoded_rates=decoded_rates[0])
    return {"r2": r2, "bits_per_spike": bits, "rates_r": rates_r, "table": rows,
            "ratios": ratios}


def _save_figure(output: Path, pipe, real_trial, generated_trial, real, generated, *,
                 true_rates, decoded_rates) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib is not installed: pip install ldns-sklearn[plot] for the figure)")
        return
    from ldns_sklearn.plotting import plot_raster, plot_spike_statistics, plot_training_history

    figure = plt.figure(figsize=(19, 9), layout="constrained")
    top, bottom = figure.subfigures(2, 1)
    raster_axes = top.subplots(1, 5)
    plot_raster(real_trial, ax=raster_axes[0], title="real trial")
    plot_raster(generated_trial, ax=raster_axes[1], title="generated trial", color="C3")
    # True against decoded rates of the real trial's three busiest neurons, in ms as the
    # rasters are.
    ax = raster_axes[2]
    time_ms = 5.0 * np.arange(len(true_rates))
    for color, neuron in zip(("C0", "C1", "C2"), np.argsort(true_rates.sum(axis=0))[-3:],
                             strict=True):
        ax.plot(time_ms, true_rates[:, neuron] / 0.005, color=color, ls="--", lw=1)
        ax.plot(time_ms, decoded_rates[:, neuron] / 0.005, color=color, lw=1.5,
                label=f"neuron {neuron}")
    ax.set(title="true (dashed) and decoded rates", xlabel="time (ms)",
           ylabel="rate (spikes/s)")
    ax.legend(frameon=False, fontsize="small", loc="upper right")
    plot_training_history(pipe.named_steps["ae"], ax=raster_axes[3])
    raster_axes[3].set_title("autoencoder training")
    plot_training_history(pipe.named_steps["diffusion"], ax=raster_axes[4])
    raster_axes[4].set_title("diffusion training")
    plot_spike_statistics(real, generated, bin_size=5 * pq.ms, axes=bottom.subplots(1, 5))
    output.mkdir(parents=True, exist_ok=True)
    path = output / "quickstart.png"
    figure.savefig(path, dpi=100)
    print(f"\nSaved {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().partition("\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true",
                      help="300 trials of 32 neurons: about 2 minutes, and it learns")
    size.add_argument("--smoke", action="store_true", help="tiny sizes: a few seconds")
    # Beside this script; sphinx-gallery runs it without __file__, from the examples folder.
    here = Path(__file__).parent if "__file__" in globals() else Path.cwd()
    parser.add_argument("--output", type=Path, default=here / "output")
    args = parser.parse_args()
    main("smoke" if args.smoke else "quick" if args.quick else "default", output=args.output)
