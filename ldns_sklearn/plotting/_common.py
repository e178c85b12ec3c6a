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
    def _per_second(self) -> float:
        """Display units per second: milliseconds for bins under a second, as rasters show
        spike times (an ISI panel in seconds beside a raster in ms misleads)."""
        return 1000.0 if self.seconds_per_bin < 1.0 else 1.0

    @property
    def time(self):
        if not self.seconds_per_bin:
            return "bins"
        return "ms" if self._per_second == 1000.0 else "s"

    def times(self, n_bins):
        """Bins 0..n_bins-1 (as lags or from the trial start) in the time unit."""
        if not self.seconds_per_bin:
            return np.arange(n_bins, dtype=float)
        return np.arange(n_bins) * self.seconds_per_bin * self._per_second

    def shown(self, values, unit):
        """Statistic ``values`` (times in seconds) in the unit their axis is labelled with."""
        if unit == "time" and self.seconds_per_bin:
            return np.asarray(values) * self._per_second
        return values


def as_labelled(generated, default="generated"):
    """``{label: data}`` from one data set or a dict of them (e.g. Poisson, spike history)."""
    if isinstance(generated, dict):
        if not generated:
            raise ValueError("generated is an empty dict; give at least one data set.")
        return dict(generated)
    return {default: generated}
