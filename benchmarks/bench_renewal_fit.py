"""Seconds to fit the default observation model, ``RenewalObservation()``.

Usage::

    python benchmarks/bench_renewal_fit.py                 # NumPy at its default threads
    python benchmarks/bench_renewal_fit.py --repeats 3 --data lorenz

``S4Autoencoder.fit`` fits its observation model on the rates it decodes, in NumPy on the
CPU whatever the device (on the CPU, 90 of 96 s of a profiled 400-trial Lorenz fit;
``docs/benchmarks.md``). Fits ``RenewalObservation()`` (every parameter at its default)
to two data sets of ``make_*_spikes`` with their true rates, 400 trials × 64 neurons:
Lorenz (Poisson counts, 64 bins; several spikes in a bin) and gamma renewal firing with
synchronous groups (100 bins; regular firing, shared events). Prints the fastest of
``--repeats`` fits and the history chosen. To compare two versions, run the script from
each checkout on the same machine, in turns.
"""

from __future__ import annotations

import argparse
import time

from ldns_sklearn.datasets import make_gamma_spikes, make_lorenz_spikes
from ldns_sklearn.observation import RenewalObservation


def _lorenz():
    data = make_lorenz_spikes(n_trials=400, n_neurons=64, n_bins=64, random_state=0,
                              return_spiketrains=False)
    return data.counts, data.rates


def _gamma():
    data = make_gamma_spikes(n_trials=400, random_state=0, return_spiketrains=False)
    # Its rates are in spikes per second; the model takes expected counts per bin.
    return data.counts, data.rates * float(data.bin_size.rescale("s").magnitude)


DATA = {"lorenz": _lorenz, "gamma": _gamma}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--data", nargs="+", choices=tuple(DATA), default=list(DATA))
    args = parser.parse_args()
    for name in args.data:
        counts, rates = DATA[name]()
        seconds = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            model = RenewalObservation(random_state=0).fit(counts, rates)
            seconds.append(time.perf_counter() - started)
        print(f"{name:7s} {counts.shape}: fit {min(seconds):6.1f} s "
              f"(history {model.history_}, {model.fluctuation_loadings_.shape[1]} factors)")


if __name__ == "__main__":
    main()
