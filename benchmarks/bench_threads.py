"""What ``n_threads`` costs on an idle machine and saves on a busy one.

Usage::

    python benchmarks/bench_threads.py                 # the quickstart's data, 2 epochs
    python benchmarks/bench_threads.py --epochs 3 --n-trials 240

Trains the default ``S4Autoencoder`` on the quickstart's data (Lorenz, ``--n-trials``
trials × 128 bins × 64 neurons) for ``--epochs`` epochs, in a fresh process for each
setting, with ``n_threads=1`` (the default) and ``n_threads=-1`` (torch's default, one
thread per core), first with the machine otherwise idle, then with one CPU-bound process
per core but one running beside it (a laptop with a browser, a compile, another fit).
Prints the wall time of each and its ratio to ``n_threads=1`` in the same conditions.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

_CHILD = """
import sys, time
from ldns_sklearn import S4Autoencoder
from ldns_sklearn.datasets import make_lorenz_spikes
n_trials, epochs, n_threads = (int(a) for a in sys.argv[1:])
data = make_lorenz_spikes(n_trials=n_trials, n_neurons=64, n_bins=128,
                          return_spiketrains=False, random_state=0)
ae = S4Autoencoder(max_epochs=epochs, observation="poisson", calibrate_rates=False,
                   n_threads=n_threads, random_state=0)
started = time.perf_counter()
ae.fit(data.counts)
print(time.perf_counter() - started)
"""


def fit_seconds(n_trials: int, epochs: int, n_threads: int) -> float:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(n_trials), str(epochs), str(n_threads)],
        check=True, capture_output=True, text=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-trials", type=int, default=480)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{cores} cores; {args.n_trials} trials, {args.epochs} epochs of the default "
          "S4Autoencoder; wall time of the fit")
    for busy in (0, max(1, cores - 1)):
        spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                    for _ in range(busy)]
        try:
            time.sleep(1.0 if busy else 0.0)
            one = fit_seconds(args.n_trials, args.epochs, 1)
            every = fit_seconds(args.n_trials, args.epochs, -1)
        finally:
            for spinner in spinners:
                spinner.kill()
        state = f"{busy} other busy process(es)" if busy else "idle"
        print(f"{state:<26} n_threads=1: {one:6.1f} s   n_threads=-1: {every:6.1f} s "
              f"({every / one:.2f}× n_threads=1)")


if __name__ == "__main__":
    main()
