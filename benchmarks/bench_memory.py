"""Memory of fitting counts that live on disk (a ``numpy.memmap``) against counts in memory.

Usage::

    python benchmarks/bench_memory.py
    python benchmarks/bench_memory.py --n-trials 20000 --n-bins 256 --n-neurons 128

Writes random spike counts of ``--n-trials`` × ``--n-bins`` × ``--n-neurons`` as a
``uint8`` ``.npy`` file, then fits the same small autoencoder (``--epochs`` epochs) in a
fresh process for each way of giving the data, and prints each process's peak resident
memory (``ru_maxrss``) and time:

* ``floor``: the same fit on the first 64 trials only, in memory (what running torch and
  the model costs, whatever the data);
* ``memmap``: ``np.load(path, mmap_mode="r")``, read batch by batch;
* ``in memory``: the counts loaded as the ``int64`` array ``np.random.poisson`` gives;
* ``list of memmaps``: one file per trial (only with ``--per-trial``; many files).

With ``--step diffusion`` the same is measured for ``LatentDiffusion.fit`` on random
float64 latents (``--n-neurons`` is then the number of latents): ``floor``, ``in memory``
(one 3-D array) and ``ragged list`` (trials of ``n_bins // 2`` to ``n_bins`` bins); "×
data" is then over the latents' own size.

The column "above floor" subtracts the floor row. Pages of a mapped file count in
resident memory while they are cached, but the operating system can drop them under
pressure (they are re-read from the file); memory the process allocates it cannot. To
compare with an older release, run this script from a checkout of that release (the
fitting processes import ``ldns_sklearn`` from the current folder first), e.g.
``cd old-checkout && python /path/to/bench_memory.py``; the line "ldns_sklearn from" says
which was measured.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

_CHILD = """
import json, resource, sys, time
import numpy as np
import torch
torch.set_num_threads({threads})
import ldns_sklearn
from ldns_sklearn import LatentDiffusion, S4Autoencoder
mode, path = {mode!r}, {path!r}
if {step!r} == "diffusion":
    Z = np.load(path)
    if mode == "floor":
        Z = np.array(Z[:64])
    elif mode == "ragged list":
        half = Z.shape[1] // 2
        Z = [np.array(z[: half + i % half]) for i, z in enumerate(Z)]
    started = time.perf_counter()
    LatentDiffusion(hidden_channels=16, n_blocks=1, max_epochs={epochs}, batch_size=64,
                    device="cpu", n_threads=None, random_state=0).fit(Z)
    print(json.dumps({{"seconds": time.perf_counter() - started,
                      "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "package": ldns_sklearn.__file__}}))
    sys.exit()
if mode == "list of memmaps":
    X = [np.load(p, mmap_mode="r") for p in sorted(__import__("glob").glob(path + "/*.npy"))]
elif mode == "in memory":
    X = np.load(path).astype(np.int64)
elif mode == "floor":
    X = np.array(np.load(path, mmap_mode="r")[:64], dtype=np.int64)
else:
    X = np.load(path, mmap_mode="r")
started = time.perf_counter()
S4Autoencoder(n_latents=8, hidden_channels=16, n_blocks=1, max_epochs={epochs},
              batch_size=64, device="cpu", n_threads=None, random_state=0).fit(X)
print(json.dumps({{"seconds": time.perf_counter() - started,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "package": ldns_sklearn.__file__}}))
"""


def _run(mode, path, epochs, threads, step="autoencoder"):
    code = _CHILD.format(mode=mode, path=str(path), epochs=epochs, threads=threads, step=step)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{mode}: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-trials", type=int, default=8000)
    parser.add_argument("--n-bins", type=int, default=128)
    parser.add_argument("--n-neurons", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--per-trial", action="store_true", help="also one file per trial")
    parser.add_argument("--step", choices=["autoencoder", "diffusion"], default="autoencoder")
    args = parser.parse_args()
    if args.step == "diffusion":
        _diffusion(args)
        return

    shape = (args.n_trials, args.n_bins, args.n_neurons)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "counts.npy"
        rng = np.random.default_rng(0)
        # Written a block at a time, so this script's own memory stays small too.
        counts = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=shape)
        for start in range(0, shape[0], 1000):
            block = counts[start : start + 1000]
            block[:] = rng.poisson(0.3, size=block.shape)
        counts.flush()
        modes = ["floor", "memmap", "in memory"]
        if args.per_trial:
            trials = Path(folder) / "trials"
            trials.mkdir()
            for i in range(shape[0]):
                np.save(trials / f"{i:07d}.npy", counts[i])
            modes.append("list of memmaps")
        del counts
        entries = np.prod(shape)
        print(f"counts {shape}: {entries / 2**20:.0f} MiB as uint8 on disk, "
              f"{8 * entries / 2**20:.0f} MiB as int64 or float64; {args.epochs} epoch(s), "
              f"{args.threads} thread(s)")
        results = {}
        for mode in modes:
            source = trials if mode == "list of memmaps" else path
            results[mode] = _run(mode, source, args.epochs, args.threads)
        _print_table(results, 8 * entries / 2**20, "× data (int64)")


def _diffusion(args):
    shape = (args.n_trials, args.n_bins, args.n_neurons)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "latents.npy"
        np.save(path, np.random.default_rng(0).normal(size=shape))
        size = 8 * np.prod(shape) / 2**20
        print(f"latents {shape}: {size:.0f} MiB as float64 (the ragged list holds about 3/4 "
              f"of that); {args.epochs} epoch(s), {args.threads} thread(s)")
        results = {mode: _run(mode, path, args.epochs, args.threads, "diffusion")
                   for mode in ("floor", "in memory", "ragged list")}
    _print_table(results, size, "× latents")


def _print_table(results, size_mib, ratio_name):
    """Each way of giving the data: its peak, the peak above the floor row, and that over
    the data's own size."""
    print(f"ldns_sklearn from {Path(results['floor']['package']).parent}")
    floor = results["floor"]["peak_mib"]
    print(f"{'data given as':<18}{'peak MiB':>10}{'above floor':>13}{ratio_name:>16}"
          f"{'fit s':>8}")
    for mode, result in results.items():
        above = result["peak_mib"] - floor
        print(f"{mode:<18}{result['peak_mib']:>10.0f}{above:>13.0f}"
              f"{above / size_mib:>16.2f}{result['seconds']:>8.1f}")


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - started:.0f} s")
