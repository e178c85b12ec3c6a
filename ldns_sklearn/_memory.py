"""Refusing, before any work, a request whose output cannot fit in memory.

A request whose size is known in advance (``sample(n_samples, n_bins=...)``, statistics
quadratic in the neurons) is estimated in bytes and compared with the memory the machine
has free; one that cannot fit gets a message with the size in GB and what to do, instead of
NumPy's ``MemoryError`` (or the operating system's OOM killer) after minutes of work.
"""

from __future__ import annotations

import os


class RequestTooLargeError(MemoryError, ValueError):
    """A request that cannot fit in memory, refused before any work.

    A ``MemoryError`` (what NumPy raises for the same cause) and a ``ValueError`` (what
    bad arguments raise, and what scikit-learn's searches and the command line report).

    Examples
    --------
    >>> from ldns_sklearn._memory import RequestTooLargeError
    >>> issubclass(RequestTooLargeError, MemoryError), issubclass(RequestTooLargeError, ValueError)
    (True, True)
    """


def available_memory() -> int | None:
    """Bytes of memory this process could still allocate, or None if unknown.

    Linux's ``MemAvailable`` (free memory plus caches it would drop); elsewhere the
    physical memory, an upper bound.
    """
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_fits_in_memory(n_bytes: float, what: str, advice: str) -> None:
    """Raise :class:`RequestTooLargeError` if ``n_bytes`` exceed the memory available.

    ``what`` describes the request ("sample(1000000000) of 140 bins × 64 neurons"),
    ``advice`` what to do instead.
    """
    available = available_memory()
    if available is None or n_bytes <= available:
        return
    raise RequestTooLargeError(
        f"{what} needs about {n_bytes / 1e9:.3g} GB of memory; this machine has "
        f"{available / 1e9:.3g} GB available. {advice}"
    )


def check_generated_size(n_trials: int, n_bins: int, n_neurons: int, function: str) -> None:
    """Refuse a synthetic data set whose arrays cannot fit in memory (before simulating).

    Its rates, counts and working arrays hold about four float64 values per entry.
    """
    check_fits_in_memory(
        4 * 8 * float(n_trials) * n_bins * n_neurons,
        f"{function}(n_trials={n_trials}, n_bins={n_bins}, n_neurons={n_neurons})",
        "Generate fewer trials at a time (several calls with different random_state).",
    )
