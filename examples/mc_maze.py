"""
From a DANDI download to a fitted model: MC_Maze reaches, conditioned on hand velocity
======================================================================================

The paper's monkey-reach experiment on your own machine: load the Neural Latents
Benchmark's MC_Maze session (DANDI 000128) with :func:`~ldns_sklearn.datasets.load_mc_maze`,
fit LDNS conditioned on hand velocity, generate trials for the velocity traces of held-out
reaches, and compare them with the held-out reaches through the paper's spike statistics
and a velocity decoder.

The data are not shipped with the package and never downloaded by it. Download the file
once (about 600 MB) with the DANDI client, ``pip install dandi``::

    dandi download DANDI:000128/0.220113.0400

then run::

    python examples/mc_maze.py \
        000128/sub-Jenkins/sub-Jenkins_ses-full_desc-train_behavior+ecephys.nwb

Sizes (``--size``): ``cpu`` (the default) fits the estimators' default networks with fewer
epochs (autoencoder 40, diffusion 80) on all 182 units and the train and val trials:
about 21 minutes on the default single CPU thread with another CPU-bound process on the
machine (load 23 s, fit 18.0 min, sample 35 s; measured on a stand-in file of the real
size, ``docs/using_your_own_recordings.md``); ``paper`` the
paper's sizes (a GPU). Each step prints how long it took. The test suite runs this script
at ``--size smoke`` on a tiny file of the real layout that it writes itself.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.model_selection import train_test_split

from ldns_sklearn import make_ldns_pipeline
from ldns_sklearn.datasets import load_mc_maze
from ldns_sklearn.metrics import DISCREPANCIES, behaviour_decoding_r2, compare_spike_statistics

# The paper's five statistics, which DISCREPANCIES lists first (all nine are printed by
# ``ldns-sklearn evaluate``).
STATISTICS = DISCREPANCIES[:5]
SIZES = {
    # preset of make_ldns_pipeline, then overrides of the autoencoder and the diffusion.
    "cpu": ("cpu", {"max_epochs": 40}, {"max_epochs": 80}),
    "paper": ("paper", {}, {}),
    "smoke": (
        "cpu",
        {"hidden_channels": 8, "n_blocks": 1, "max_epochs": 2, "batch_size": 2},
        {"hidden_channels": 8, "n_blocks": 1, "max_epochs": 2, "batch_size": 2,
         "n_sampling_steps": 5},
    ),
}


def main(path, size: str = "cpu", n_latents: int = 16, random_state: int = 0,
         device: str = "auto") -> dict:
    """Load, fit, generate for held-out velocities, print and return the comparison."""
    started = time.perf_counter()
    data = load_mc_maze(path, n_neurons=None if size == "smoke" else 182)
    counts, velocity = data.counts, data.velocity
    print(f"Loaded {counts.shape[0]} trials x {counts.shape[1]} bins x {counts.shape[2]} "
          f"units in {time.perf_counter() - started:.0f} s")
    # Half of the held-out reaches condition the generated trials (set A); the other half
    # is a second real set: the floor that real data reaches against A.
    train, held_out = train_test_split(
        np.arange(len(counts)), test_size=0.25, random_state=random_state
    )
    set_a, set_b = held_out[0::2], held_out[1::2]

    preset, ae_params, dm_params = SIZES[size]
    pipe = make_ldns_pipeline(
        bin_size=None, n_latents=n_latents, preset=preset,
        autoencoder_params={"device": device, **ae_params},
        diffusion_params={"device": device, **dm_params},
        random_state=random_state, verbose=size != "smoke",
    )
    started = time.perf_counter()
    pipe.fit(counts[train], y=velocity[train])
    print(f"Fitted on {len(train)} trials in {time.perf_counter() - started:.0f} s")

    started = time.perf_counter()
    generated = np.asarray(pipe.sample(y=velocity[set_a], random_state=random_state))
    print(f"Generated {len(set_a)} trials for held-out velocities in "
          f"{time.perf_counter() - started:.0f} s")

    achieved = compare_spike_statistics(counts[set_a], generated)
    floor = compare_spike_statistics(counts[set_a], counts[set_b])
    print(f"\n{'statistic':28s}{'generated':>11s}{'real floor':>12s}{'ratio':>8s}")
    table = {}
    for name in STATISTICS:
        table[name] = (achieved[name], floor[name])
        print(f"{name:28s}{achieved[name]:11.4g}{floor[name]:12.4g}"
              f"{achieved[name] / floor[name]:7.2f}x")

    # The paper's behaviour check: a ridge decoder from (smoothed) spikes to hand velocity,
    # fitted on real training reaches, decodes the requested velocity from generated trials
    # about as well as from real reaches it was not fitted on (cross-validated).
    r2 = behaviour_decoding_r2(counts[train], velocity[train], generated, velocity[set_a])
    r2_real, r2_generated = r2["real"], r2["generated"]
    print(f"\nvelocity decoded from spikes, R²: real reaches (cross-validated) {r2_real:.3f}, "
          f"generated for held-out velocities {r2_generated:.3f}")
    return {"table": table, "r2_real": r2_real, "r2_generated": r2_generated,
            "generated": generated}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().partition("\n")[0])
    parser.add_argument("path", help="local MC_Maze NWB file (DANDI 000128)")
    parser.add_argument("--size", choices=sorted(SIZES), default="cpu",
                        help="model and training sizes (default: cpu)")
    parser.add_argument("--n-latents", type=int, default=16,
                        help="latent channels of the autoencoder (default: 16)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(args.path, args.size, args.n_latents, args.seed, args.device)
