"""How to read ``LDNSPipeline.score``: its values for models trained more and less.

Usage::

    python benchmarks/bench_score_scale.py
    python benchmarks/bench_score_scale.py --budgets 1:1 10:20 60:150 --n-trials 400

Lorenz spiking data, split into training trials and two held-out sets A and B of equal
size. For each training budget (``AE_EPOCHS:DIFFUSION_EPOCHS``, default CPU model sizes)
one pipeline is fitted and scored on A through ``pipe.real_and_generated_counts`` (the
route of ``pipe.score`` and of ``make_generation_scorer``). Printed per budget: each
statistic's discrepancy as a ratio to its sampling-noise floor (the terms the score
averages), the score (``generation_score``), the score of the paper's five statistics
alone (the score before the temporal statistics joined it), and, as the baseline in the
same run, the formula used before issue 10 (raw KL ratio, floor = even against odd trials
without the size correction, the five statistics), which grid searches reported as
-385 ... -743. The row "real B" scores a second real data set (a perfect model) the same
way.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np
from _common import add_run_options, apply_threads

from ldns_sklearn import make_ldns_pipeline
from ldns_sklearn.datasets import make_lorenz_spikes
from ldns_sklearn.metrics import DISCREPANCIES, compare_spike_statistics, generation_score
from ldns_sklearn.metrics._score import statistics_report

SHORT = {"population_spike_count_kl": "KL", "pairwise_correlation_rmse": "corr",
         "mean_rate_rmse": "rate", "mean_isi_rmse": "mISI", "std_isi_rmse": "sISI",
         "auto_correlation_rmse": "auto", "cross_correlation_rmse": "cross",
         "fano_factor_rmse": "Fano", "psth_rmse": "PSTH"}
PAPER = DISCREPANCIES[:5]


def report(label, real, generated):
    measured = statistics_report(real, generated)
    score, ratios = measured.score, measured.ratios
    assert score == generation_score(real, generated)
    floor = compare_spike_statistics(real[0::2], real[1::2])
    achieved = compare_spike_statistics(real, generated)
    old = -np.mean([achieved[k] / floor[k] for k in PAPER])
    paper_only = -np.mean([ratios[k] for k in PAPER if k in ratios])
    cells = "  ".join(f"{SHORT[n]} {ratios.get(n, math.nan):6.2f}" for n in DISCREPANCIES)
    print(f"  {label:<16} {cells}   score {score:7.2f}   five {paper_only:7.2f}"
          f"   old formula {old:8.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budgets", nargs="+", default=["1:1", "10:20", "60:150"])
    parser.add_argument("--n-trials", type=int, default=500)
    parser.add_argument("--n-test", type=int, default=100)
    parser.add_argument("--n-neurons", type=int, default=32)
    parser.add_argument("--n-bins", type=int, default=64)
    add_run_options(parser, device=None)
    args = parser.parse_args()
    apply_threads(args)
    warnings.simplefilter("ignore", UserWarning)  # one-sided ISI entries of untrained models
    counts = make_lorenz_spikes(
        n_trials=args.n_trials + 2 * args.n_test, n_neurons=args.n_neurons,
        n_bins=args.n_bins, return_spiketrains=False, random_state=args.seed,
    ).counts
    train = counts[: args.n_trials]
    test_a = counts[args.n_trials : args.n_trials + args.n_test]
    test_b = counts[args.n_trials + args.n_test :]
    print(f"bench_score_scale: Lorenz {args.n_trials} training trials, held-out sets of "
          f"{args.n_test}, {args.n_neurons} neurons x {args.n_bins} bins; ratios to the "
          "floor per statistic (KL as its square root)")
    report("real B", test_a, test_b)
    for budget in args.budgets:
        ae_epochs, dm_epochs = (int(v) for v in budget.split(":"))
        started = time.perf_counter()
        pipe = make_ldns_pipeline(
            bin_size=None, random_state=args.seed,
            # n_threads=None: the estimators compute on the threads --threads gave torch.
            autoencoder_params={"max_epochs": ae_epochs, "n_threads": None},
            diffusion_params={"max_epochs": dm_epochs, "n_threads": None},
        ).fit(train)
        real, generated = pipe.real_and_generated_counts(test_a)
        assert pipe.score(test_a) == generation_score(real, generated)
        report(f"epochs {ae_epochs}:{dm_epochs}", real, generated)
        print(f"  {'':<18} (fit {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
