"""
Conditional generation: spikes for a requested reach direction or hand trajectory
=================================================================================

The LDNS paper's most useful result for experimenters, offline: "give me spiking data for
this reach, or for this unseen hand trajectory". On synthetic centre-out reaches
(:func:`ldns_sklearn.datasets.make_reach_spikes`) one autoencoder is fitted, then two latent
diffusion models on its latents:

1. conditioned on the reach **direction** (one vector ``(cos, sin)`` per trial), with one
   of the eight targets left out of training, so its trials are generated for a direction
   the model never saw;
2. conditioned on the hand **velocity** (a time series per bin), generating trials for
   the velocity traces of held-out reaches. It is also trained with
   ``inpaint_fraction=0.5``, so it can **in-paint**: given the first half of a held-out
   reach's spikes (and its velocity), generate the second half.

Both are trained with ``condition_dropout=0.1`` (classifier-free guidance), so the same
model also samples unconditionally and ``guidance_scale`` can strengthen the condition.
The checks are those of :mod:`ldns_sklearn.metrics`: a classifier fitted on real trials
recovers the requested target from generated ones
(:func:`~ldns_sklearn.metrics.condition_decoding_accuracy`), and a ridge decoder fitted on
real trials reads the requested velocity from generated ones
(:func:`~ldns_sklearn.metrics.behaviour_decoding_r2`), each next to its cross-validated
score on real trials, for several guidance scales. The in-painted halves are compared with
the true rates of those reaches, next to trials generated without the recording::

    python examples/conditional_reaches.py            # about 16 minutes on a busy 2-core machine
    python examples/conditional_reaches.py --smoke    # seconds; checks the script runs

A figure (rasters of a real and a generated reach to the unseen target and of an
in-painted reach; decoded against requested velocity) is saved to ``examples/output/``.
What it printed is in ``docs/benchmarks.md``. The figure below was stored from a run at
the default size (on 2 CPU cores with other work running), so that the documentation
shows it without running the example:

.. image:: /_static/conditional_reaches.png
   :alt: the conditional-reaches example's figure at the default size
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ldns_sklearn import LatentDiffusion, LDNSPipeline, S4Autoencoder
from ldns_sklearn.datasets import make_reach_spikes
from ldns_sklearn.metrics import (
    DISCREPANCIES,
    behaviour_decoding_r2,
    compare_spike_statistics,
    condition_decoding_accuracy,
)

SIZES = {
    "default": dict(
        n_trials=800, n_neurons=64,
        # A higher learning rate than the autoencoder's default (1e-3): at 1e-3 its
        # reconstructions of held-out reaches carried a velocity R² of 0.31 against 0.69
        # for the real spikes, at 4e-3 0.64 (docs/benchmarks.md).
        ae=dict(n_latents=8, learning_rate=4e-3),
        dm=dict(max_epochs=150, condition_dropout=0.1),
        guidance_scales=(1.0, 2.0, 4.0), cv=5,
    ),
    "smoke": dict(
        n_trials=160, n_neurons=8,
        ae=dict(n_latents=4, hidden_channels=8, n_blocks=1, max_epochs=2, batch_size=16),
        dm=dict(hidden_channels=8, n_blocks=1, max_epochs=2, batch_size=16,
                n_sampling_steps=5, condition_dropout=0.1),
        guidance_scales=(1.0, 2.0), cv=2,
    ),
}
# The paper's five statistics, which DISCREPANCIES lists first.
STATISTICS = DISCREPANCIES[:5]
# The target no training trial goes to: its trials are generated for an unseen direction.
UNSEEN_TARGET = 3


def _unit_vector(direction):
    return np.stack([np.cos(direction), np.sin(direction)], axis=-1)


def main(size: str = "default", output: Path | None = None, random_state: int = 0) -> dict:
    """Fit, generate, check; print a report and return its figures."""
    config = SIZES[size]
    data = make_reach_spikes(n_trials=config["n_trials"], n_neurons=config["n_neurons"],
                             return_spiketrains=False, random_state=random_state)
    n_train = int(0.75 * len(data.counts))
    train, test = np.arange(n_train), np.arange(n_train, len(data.counts))
    seen = train[data.target[train] != UNSEEN_TARGET]
    print(f"{len(seen)} training reaches to 7 of 8 targets; {len(test)} held-out reaches "
          f"to all 8 ({config['n_neurons']} neurons x {data.counts.shape[1]} bins of 5 ms)")

    started = time.perf_counter()
    ae = S4Autoencoder(**config["ae"], random_state=random_state).fit(data.counts[seen])
    latents = ae.transform(data.counts[seen])
    by_direction = LatentDiffusion(**config["dm"], random_state=random_state).fit(
        latents, _unit_vector(data.direction[seen]))
    by_velocity = LatentDiffusion(**config["dm"], inpaint_fraction=0.5,
                                  random_state=random_state).fit(latents, data.velocity[seen])
    print(f"fitted the autoencoder and two diffusion models in "
          f"{time.perf_counter() - started:.0f} s")

    report = {"accuracy": {}, "r2": {}}
    requested_targets = data.target[test]
    for scale in config["guidance_scales"]:
        by_direction.set_params(guidance_scale=scale)
        by_velocity.set_params(guidance_scale=scale)
        for_targets = ae.inverse_transform(
            by_direction.sample(y=_unit_vector(data.direction[test]), random_state=1),
            random_state=2)
        for_velocity = ae.inverse_transform(
            by_velocity.sample(y=data.velocity[test], random_state=1), random_state=2)
        # The classifier learns all 8 targets from all real reaches (its real score is
        # cross-validated there); the velocity decoder is fitted on the training reaches.
        report["accuracy"][scale] = condition_decoding_accuracy(
            data.counts, data.target, for_targets, requested_targets, cv=config["cv"])
        unseen = requested_targets == UNSEEN_TARGET
        report["accuracy"][scale]["generated, unseen target"] = condition_decoding_accuracy(
            data.counts, data.target, for_targets[unseen], requested_targets[unseen],
            cv=config["cv"])["generated"]
        r2 = behaviour_decoding_r2(
            data.counts[seen], data.velocity[seen], for_velocity, data.velocity[test],
            cv=config["cv"], return_decoded=True)
        if scale == 1.0:  # for the figure
            report["generated_for_targets"], report["decoded_velocity"] = (
                for_targets, r2["decoded"])
        report["r2"][scale] = {"real": r2["real"], "generated": r2["generated"]}

    # Without y, the same model samples the unconditional distribution: its statistics
    # against held-out reaches, as ratios to what real reaches reach against each other.
    unconditional = ae.inverse_transform(by_direction.sample(len(test), random_state=3),
                                         random_state=4)
    floor = compare_spike_statistics(data.counts[test], data.counts[seen[: len(test)]])
    achieved = compare_spike_statistics(data.counts[test], unconditional)
    report["unconditional_ratios"] = {name: achieved[name] / floor[name]
                                      for name in STATISTICS}
    print("\nunconditional samples (no y), discrepancy / real-vs-real floor: " + ", ".join(
        f"{name.split('_rmse')[0].split('_kl')[0]} {ratio:.2f}x"
        for name, ratio in report["unconditional_ratios"].items()))

    report["inpainting"] = _inpaint_second_halves(ae, by_velocity, data, test)

    print("\nreach target recovered by a classifier (chance "
          f"{report['accuracy'][1.0]['chance']:.2f}):")
    print(f"{'guidance_scale':>16s}{'real (CV)':>12s}{'generated':>12s}{'unseen target':>15s}")
    for scale, accuracy in report["accuracy"].items():
        print(f"{scale:16.1f}{accuracy['real']:12.3f}{accuracy['generated']:12.3f}"
              f"{accuracy['generated, unseen target']:15.3f}")
    print("\nvelocity decoded from spikes, R² (held-out trajectories):")
    print(f"{'guidance_scale':>16s}{'real (CV)':>12s}{'generated':>12s}")
    for scale, r2 in report["r2"].items():
        print(f"{scale:16.1f}{r2['real']:12.3f}{r2['generated']:12.3f}")

    print("\nsecond half of held-out reaches, RMSE of smoothed spikes against the true "
          "rates (spikes/bin):")
    for name, error in report["inpainting"]["rate_rmse"].items():
        print(f"{name:>44s}{error:10.4f}")

    if output is not None:
        _save_figure(output, data, test, report)
    return report


def _inpaint_second_halves(ae, by_velocity, data, test) -> dict:
    """In-paint the second half of each held-out reach from its first half (and velocity).

    Spikes are smoothed (Gaussian, 4 bins) and compared with the true rates over the
    filled half: real spikes set the floor (their own noise), trials generated for the
    same velocity without the recording show what the recording adds.
    """
    by_velocity.set_params(guidance_scale=1.0)  # the guidance loop above left it at its last
    pipe = LDNSPipeline([("ae", ae), ("diffusion", by_velocity)])
    n_bins = data.counts.shape[1]
    first_half = np.arange(n_bins) < n_bins // 2
    inpainted = pipe.inpaint(data.counts[test], observed_bins=first_half,
                             y=data.velocity[test], random_state=5)
    without_recording = pipe.sample(y=data.velocity[test], random_state=6)
    truth = data.rates[test][:, ~first_half]

    def rmse(counts):
        smoothed = gaussian_filter1d(counts.astype(float), 4.0, axis=1)[:, ~first_half]
        return float(np.sqrt(np.mean((smoothed - truth) ** 2)))

    return {
        "inpainted": inpainted,
        "first_half": first_half,
        "rate_rmse": {
            "real spikes (floor)": rmse(data.counts[test]),
            "in-painted from the first half and velocity": rmse(inpainted),
            "generated for the velocity alone": rmse(without_recording),
        },
    }


def _save_figure(output: Path, data, test, report) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib is not installed: pip install ldns-sklearn[plot] for the figure)")
        return
    from ldns_sklearn.plotting import plot_raster

    figure, axes = plt.subplots(1, 5, figsize=(21, 4), layout="constrained")
    index = int(np.flatnonzero(data.target[test] == UNSEEN_TARGET)[0])
    plot_raster(data.counts[test][index], ax=axes[0], title="real reach, unseen target")
    plot_raster(report["generated_for_targets"][index], ax=axes[1], color="C3",
                title="generated for that target")
    plot_raster(report["inpainting"]["inpainted"][index], ax=axes[2], color="C2",
                title="its second half in-painted")
    axes[2].axvline(np.flatnonzero(report["inpainting"]["first_half"])[-1] + 1, color="k",
                    linestyle="--")
    # The velocity the metric's decoder read from the trial generated for this velocity.
    decoded = report["decoded_velocity"][index]
    for axis, component in zip(axes[3:], "xy", strict=True):
        column = "xy".index(component)
        axis.plot(data.velocity[test][index, :, column], color="k", label="requested")
        axis.plot(decoded[:, column], color="C3", label="decoded from generated spikes")
        axis.set(xlabel="bin", ylabel=f"hand velocity {component} (cm/s)")
        axis.legend(frameon=False)
    output.mkdir(parents=True, exist_ok=True)
    path = output / "conditional_reaches.png"
    figure.savefig(path, dpi=100)
    print(f"\nSaved {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().partition("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: a few seconds")
    # Beside this script; sphinx-gallery runs it without __file__, from the examples folder.
    here = Path(__file__).parent if "__file__" in globals() else Path.cwd()
    parser.add_argument("--output", type=Path, default=here / "output")
    args = parser.parse_args()
    main("smoke" if args.smoke else "default", output=args.output)
