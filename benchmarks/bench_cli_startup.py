"""How long the command line takes to answer ``--help`` and ``--version``.

Usage::

    python benchmarks/bench_cli_startup.py            # 7 runs of each
    python benchmarks/bench_cli_startup.py --runs 15

Runs each command in a fresh process ``--runs`` times and prints the median wall time next
to two references measured in the same run: ``python -c pass`` (the interpreter alone,
the least any command can take) and ``python -c "import ldns_sklearn.autoencoder"`` (what
loading torch and scikit-learn costs, which ``--help`` once paid before reading its
arguments). The ratio column is to ``python -c pass``. To compare with an older release,
run it from a checkout of that release (``python -m ldns_sklearn.cli`` is measured, so
the checkout's code runs); the line "ldns_sklearn from" says which was measured.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "import ldns_sklearn.autoencoder": [
        sys.executable, "-c", "import ldns_sklearn.autoencoder"
    ],
    "ldns-sklearn --help": [sys.executable, "-m", "ldns_sklearn.cli", "--help"],
    "ldns-sklearn --version": [sys.executable, "-m", "ldns_sklearn.cli", "--version"],
    "ldns-sklearn fit --help": [sys.executable, "-m", "ldns_sklearn.cli", "fit", "--help"],
}


def median_seconds(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    where = subprocess.run(
        [sys.executable, "-c", "import ldns_sklearn; print(ldns_sklearn.__path__[0])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    print(f"ldns_sklearn from {where}; median of {args.runs} fresh processes")
    median_seconds(COMMANDS["import ldns_sklearn.autoencoder"], 1)  # warm the file cache
    floor = None
    for name, command in COMMANDS.items():
        seconds = median_seconds(command, args.runs)
        floor = floor or seconds
        print(f"{name:<34} {seconds:7.3f} s  {seconds / floor:6.1f}× python -c pass")


if __name__ == "__main__":
    main()
