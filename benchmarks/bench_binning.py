"""Wall time of SpikeTrainBinner against Elephant's BinnedSpikeTrain, trial by trial.

Data: ``--trials`` trials x ``--neurons`` Poisson neurons (``--rate`` Hz) of ``--duration``
seconds, built as ``neo.SpikeTrain`` objects in seconds, binned at ``--bin-ms``.

Printed figures (one run, same data):

* ``SpikeTrainBinner.transform`` (best of ``--repeats``) against the baseline written the
  way one bins Neo trials with Elephant: ``.rescale()`` of every train to one unit, then one
  ``elephant.conversion.BinnedSpikeTrain(trial, bin_size).to_array()`` per trial; the script
  checks that both give the same counts and prints the speed-up.
* ``SpikeTrainBinner.inverse_transform`` (counts -> Neo) against calling the
  ``neo.SpikeTrain`` constructor once per train on the same spike times, and the exactness
  of Neo -> counts -> Neo -> counts.

Run: ``python benchmarks/bench_binning.py`` (1000 x 128 x 1.28 s) or ``--small``.
"""

from __future__ import annotations

import argparse
import time

import neo
import numpy as np
import quantities as pq
from elephant.conversion import BinnedSpikeTrain

from ldns_sklearn.preprocessing import SpikeTrainBinner


def poisson_trials(rng, n_trials, n_neurons, duration, rate):
    """Trials of homogeneous Poisson spike trains in seconds, one constructor per train."""
    t_stop = duration * pq.s
    trials = []
    for _ in range(n_trials):
        n_spikes = rng.poisson(rate * duration, size=n_neurons)
        trials.append(
            [
                neo.SpikeTrain(np.sort(rng.uniform(0, duration, n)), units="s", t_stop=t_stop)
                for n in n_spikes
            ]
        )
    return trials


def elephant_counts(trials, bin_size):
    """Counts ``(n_trials, n_bins, n_neurons)`` with Elephant, one trial at a time."""
    counts = []
    for trial in trials:
        trains = [train.rescale(pq.s) for train in trial]
        counts.append(BinnedSpikeTrain(trains, bin_size=bin_size).to_array().T)
    return np.stack(counts)


def constructor_per_train(trials):
    """The same generated trains rebuilt with one ``neo.SpikeTrain`` call each."""
    return [
        [
            neo.SpikeTrain(
                train.magnitude, units=train.units, t_start=train.t_start, t_stop=train.t_stop
            )
            for train in trial
        ]
        for trial in trials
    ]


def best_of(repeats, function, *args):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function(*args)
        times.append(time.perf_counter() - start)
    return min(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--neurons", type=int, default=128)
    parser.add_argument("--duration", type=float, default=1.28, help="seconds per trial")
    parser.add_argument("--bin-ms", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=60.0, help="Poisson rate in Hz")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--small", action="store_true", help="50 trials x 32 neurons")
    args = parser.parse_args()
    if args.small:
        args.trials, args.neurons = 50, 32

    rng = np.random.default_rng(args.seed)
    bin_size = args.bin_ms * pq.ms
    start = time.perf_counter()
    trials = poisson_trials(rng, args.trials, args.neurons, args.duration, args.rate)
    build = time.perf_counter() - start
    n_spikes = sum(len(train) for trial in trials for train in trial)
    print(
        f"data: {args.trials} trials x {args.neurons} neurons x {args.duration} s, "
        f"{args.rate:g} Hz Poisson, {n_spikes} spikes, bin {bin_size}; "
        f"built with neo.SpikeTrain in {build:.2f} s"
    )

    binner = SpikeTrainBinner(bin_size=bin_size).fit(trials)
    ours, counts = best_of(args.repeats, binner.transform, trials)
    start = time.perf_counter()
    reference = elephant_counts(trials, bin_size)
    elephant = time.perf_counter() - start
    if not np.array_equal(counts, reference):
        raise SystemExit("MISMATCH: SpikeTrainBinner and Elephant disagree")
    print(f"transform  SpikeTrainBinner            {ours:8.3f} s   (best of {args.repeats})")
    print(f"transform  Elephant BinnedSpikeTrain   {elephant:8.3f} s   (rescale + 1 per trial)")
    print(f"           speed-up                    {elephant / ours:8.1f} x   (counts identical)")

    inverse, generated = best_of(args.repeats, binner.inverse_transform, counts)
    constructor, _ = best_of(1, constructor_per_train, generated)
    round_trip = np.array_equal(binner.transform(generated), counts)
    print(f"inverse    SpikeTrainBinner            {inverse:8.3f} s   (best of {args.repeats})")
    print(f"inverse    neo.SpikeTrain per train    {constructor:8.3f} s")
    print(f"           speed-up                    {constructor / inverse:8.1f} x")
    print(f"round trip Neo -> counts -> Neo -> counts exact: {round_trip}")
    if not round_trip:
        raise SystemExit("MISMATCH: round trip is not exact")


if __name__ == "__main__":
    main()
