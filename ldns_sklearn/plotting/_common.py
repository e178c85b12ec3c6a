"""What every figure shares: matplotlib on demand, statistics with their units."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..metrics._checks import bin_size_in_seconds


def pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "ldns_sklearn.plotting needs matplotlib: pip install ldns-sklearn[plot]"
        ) from exc
    return plt


def new_axes(n_columns=1, n_rows=1, *, width=4.0, height=3.2):
    """A figure whose layout keeps every label inside it (no clipped x-labels)."""
    _, axes = pyplot().subplots(
        n_rows, n_columns, figsize=(width * n_columns, height * n_rows), layout="constrained"
    )
    return axes


@dataclass(frozen=True)
class Units:
    """Unit labels of the statistics: per second with a bin size, per bin without."""

    seconds_per_bin: float | None

    @classmethod
    def of(cls, bin_size) -> Units:
        return cls(None if bin_size is None else bin_size_in_seconds(bin_size))

    @property
    def rate(self):
        return "spikes/s" if self.seconds_per_bin else "spikes/bin"

    @property
    def time(self):
        return "s" if self.seconds_per_bin else "bins"

    def times(self, n_bins):
        """Bins 0..n_bins-1 (as lags or from the trial start) in the time unit."""
        return np.arange(n_bins) * (self.seconds_per_bin or 1.0)


def as_labelled(generated, default="generated"):
    """``{label: data}`` from one data set or a dict of them (e.g. Poisson, spike history)."""
    if isinstance(generated, dict):
        if not generated:
            raise ValueError("generated is an empty dict; give at least one data set.")
        return dict(generated)
    return {default: generated}
