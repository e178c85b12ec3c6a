"""How the generation score of a weak and of a perfect model depends on the trial count.

Usage::

    python benchmarks/bench_score_trials.py

Real data: Poisson counts of 32 neurons × 64 bins whose rates share a slow oscillation of
random phase. "perfect": a second draw of the same process. "weak": rates up to 30 % off
per neuron (a fixed factor drawn from U(0.7, 1.3)) and the shared oscillation at 30 % of
its strength. For each number of real trials (as many generated), prints the mean and
standard deviation of ``generation_score`` over 6 draws. The floor shrinks as one over
the square root of the trial count while the weak model's errors do not, so its score
falls with more trials: few held-out trials make a lenient score
(``ldns_sklearn.metrics._score.FEW_TRIALS`` warns below 50).
"""

from __future__ import annotations

import warnings

import numpy as np

from ldns_sklearn.metrics import generation_score

N_NEURONS, N_BINS, DRAWS = 32, 64, 6


def main() -> None:
    warnings.simplefilter("ignore")  # the few-trials warning itself, on purpose here
    rng = np.random.default_rng(0)
    rates = rng.uniform(0.05, 0.6, N_NEURONS)
    weak_rates = rates * rng.uniform(0.7, 1.3, N_NEURONS)

    def draw(n, strength=1.0, per_neuron=rates):
        phase = rng.uniform(0, 2 * np.pi, (n, 1, 1))
        time = np.arange(N_BINS)[None, :, None]
        shared = 1 + 0.5 * strength * np.sin(2 * np.pi * time / 32 + phase)
        return rng.poisson(per_neuron[None, None, :] * shared)

    print(f"score over {DRAWS} draws (mean ± sd); about -1: as close as real data")
    for n in (10, 20, 40, 80, 160):
        perfect = [generation_score(draw(n), draw(n)) for _ in range(DRAWS)]
        weak = [generation_score(draw(n), draw(n, 0.3, weak_rates)) for _ in range(DRAWS)]
        print(f"{n:4d} trials   perfect {np.mean(perfect):6.2f} ± {np.std(perfect):.2f}   "
              f"weak {np.mean(weak):6.2f} ± {np.std(weak):.2f}")


if __name__ == "__main__":
    main()
