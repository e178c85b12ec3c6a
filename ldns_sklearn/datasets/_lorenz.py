"""Synthetic Lorenz benchmark of the LDNS paper: Poisson spikes driven by a Lorenz attractor."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import quantities as pq
from scipy.integrate import solve_ivp
from sklearn.utils import Bunch, check_random_state

from .._memory import check_generated_size
from .._neo.reading import check_time_quantity
from .._sklearn_compat import Interval, validate_params
from ._rates import poisson_spikes, rates_with_mean

__all__ = ["make_lorenz_spikes"]

# Classic chaotic parameters (sigma, rho, beta) and the reference initial condition and
# dominant period of the Lorenz system as catalogued by the `dysts` package, which the paper's
# code uses to simulate it (`dysts.flows.Lorenz().make_trajectory`, 100 points per period).
_SIGMA, _RHO, _BETA = 10.0, 28.0, 8.0 / 3.0
_REFERENCE_IC = np.array([-9.7869288, -15.03852, 20.533978])
_LORENZ_PERIOD = 1.5008
_IC_SPREAD = 2.0

_DESCR = """\
Synthetic Lorenz spiking data (LDNS benchmark)
==============================================

A three-dimensional Lorenz system (sigma=10, rho=28, beta=8/3) is integrated with
``scipy.integrate.solve_ivp`` (DOP853) from random initial conditions, the paper's reference
point plus Gaussian noise of standard deviation 2. The first ``burn_in`` samples are dropped,
and each trajectory is z-scored per dimension. ``n_neurons`` neurons read the latent out
through a random unit-norm matrix ``readout`` (rows sorted by their first column) and a shared
``bias``: ``rates = softplus(latents @ readout.T + bias, beta=softplus_beta)`` in spikes per
bin, with ``softplus(x, beta) = log(1 + exp(beta * x)) / beta``. Spike counts are Poisson.

The latent sampling follows the paper's code (Kapoor, Schulz et al., NeurIPS 2024,
``mackelab/LDNS``, which simulates the system with ``dysts``): 100 samples per dominant period
(1.5008 time units), 100 samples of burn-in. Differences: the bias is solved numerically so
that the mean of ``rates`` over all trials, bins and neurons equals ``mean_rate`` (to 1e-9
relative; the paper sets it to ``log(mean_rate)``, which through the softplus gives another
realised rate); all trials are integrated together as one vectorised ODE system instead of one
process per trial. Spike trains place the k spikes of a bin evenly inside it, at
``bin_start + bin_size * (j + 1) / (k + 1)``.
"""


def _lorenz_rhs(t, state):
    # The state is component-major, (x_1..x_n, y_1..y_n, z_1..z_n), so one call advances every
    # trial at once and solve_ivp controls the error of all trajectories together.
    x, y, z = state.reshape(3, -1)
    return np.concatenate([_SIGMA * (y - x), x * (_RHO - z) - y, x * y - _BETA * z])


def _integrate(initial, n_steps, time_step):
    """Lorenz trajectories sampled every ``time_step``: array (n_trials, n_steps, 3)."""
    times = np.arange(n_steps) * time_step
    solution = solve_ivp(
        _lorenz_rhs,
        (0.0, times[-1]),
        initial.T.ravel(),
        method="DOP853",
        t_eval=times,
        rtol=1e-9,
        atol=1e-9,
    )
    if not solution.success:  # pragma: no cover - DOP853 does not fail on this smooth system
        raise RuntimeError(f"Integrating the Lorenz system failed: {solution.message}")
    return solution.y.reshape(3, len(initial), n_steps).transpose(1, 2, 0)


@validate_params(
    {
        "n_trials": [Interval(Integral, 1, None, closed="left")],
        "n_neurons": [Interval(Integral, 1, None, closed="left")],
        "n_bins": [Interval(Integral, 2, None, closed="left")],
        "mean_rate": [Interval(Real, 0, None, closed="neither")],
        "bin_size": "no_validation",  # checked by check_time_quantity, with clearer messages
        "time_step": [Interval(Real, 0, None, closed="neither")],
        "burn_in": [Interval(Integral, 0, None, closed="left")],
        "softplus_beta": [Interval(Real, 0, None, closed="neither")],
        "return_spiketrains": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_lorenz_spikes(
    n_trials=1000,
    n_neurons=128,
    n_bins=256,
    mean_rate=0.3,
    bin_size=5 * pq.ms,
    *,
    time_step=_LORENZ_PERIOD / 100,
    burn_in=100,
    softplus_beta=2.0,
    return_spiketrains=True,
    random_state=None,
):
    """Generate the paper's synthetic Lorenz spiking data set.

    Each trial is a Lorenz trajectory from its own random initial condition, z-scored per
    dimension, read out by ``n_neurons`` neurons through a random unit-norm matrix and a
    softplus, and turned into Poisson spike counts. Read more in ``DESCR`` of the result.

    Parameters
    ----------
    n_trials : int, default=1000
        Number of trials (independent trajectories).
    n_neurons : int, default=128
        Number of neurons.
    n_bins : int, default=256
        Number of time bins per trial.
    mean_rate : float, default=0.3
        Mean firing rate in spikes per bin, averaged over trials, bins and neurons. The shared
        bias is solved so that the returned ``rates`` have this mean (to 1e-9 relative).
    bin_size : quantities.Quantity, default=5 * pq.ms
        Duration of one bin; sets the time axis of the spike trains.
    time_step : float, default=0.015008
        Lorenz time units per bin: the attractor's dominant period (1.5008) over 100, the
        sampling the paper's code uses.
    burn_in : int, default=100
        Number of initial samples integrated and discarded before the first bin.
    softplus_beta : float, default=2.0
        Sharpness ``beta`` of ``softplus(x) = log(1 + exp(beta * x)) / beta``.
    return_spiketrains : bool, default=True
        Whether to build ``spiketrains`` (Neo objects, slow for many trials). If False,
        ``spiketrains`` is None and only the arrays are returned.
    random_state : int, RandomState instance or None, default=None
        Seed for the initial conditions, the readout and the spike counts.

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with attributes:

        spiketrains : list of list of neo.SpikeTrain or None
            ``n_trials`` trials of ``n_neurons`` spike trains from ``t_start = 0 s``; the k
            spikes of a bin are spread evenly inside it.
        counts : ndarray of shape (n_trials, n_bins, n_neurons), dtype int64
            Poisson spike counts.
        rates : ndarray of shape (n_trials, n_bins, n_neurons)
            Firing rates in spikes per bin.
        latents : ndarray of shape (n_trials, n_bins, 3)
            Lorenz trajectories, z-scored per trial and dimension.
        readout : ndarray of shape (n_neurons, 3)
            Unit-norm readout rows, sorted by their first column.
        bias : float
            Shared bias added before the softplus.
        bin_size : quantities.Quantity
            The bin duration.
        DESCR : str
            Description of the data set.

    Examples
    --------
    >>> import quantities as pq
    >>> from ldns_sklearn.datasets import make_lorenz_spikes
    >>> data = make_lorenz_spikes(n_trials=4, n_neurons=8, n_bins=32, mean_rate=0.5,
    ...                           return_spiketrains=False, random_state=0)
    >>> data.counts.shape, data.latents.shape, data.readout.shape
    ((4, 32, 8), (4, 32, 3), (8, 3))
    >>> round(float(data.rates.mean()), 6)
    0.5
    """
    check_generated_size(n_trials, n_bins, n_neurons, "make_lorenz_spikes")
    bin_size = check_time_quantity(bin_size, "bin_size", positive=True)
    rng = check_random_state(random_state)

    initial = _REFERENCE_IC + _IC_SPREAD * rng.standard_normal((n_trials, 3))
    trajectories = _integrate(initial, burn_in + n_bins, time_step)[:, burn_in:]
    latents = trajectories - trajectories.mean(axis=1, keepdims=True)
    latents /= latents.std(axis=1, keepdims=True)

    readout = rng.standard_normal((n_neurons, 3))
    readout /= np.linalg.norm(readout, axis=1, keepdims=True)
    readout = readout[np.argsort(readout[:, 0], kind="stable")]

    rates, bias = rates_with_mean(latents @ readout.T, mean_rate, softplus_beta)
    counts, spiketrains = poisson_spikes(rates, rng, bin_size, return_spiketrains)

    return Bunch(
        spiketrains=spiketrains,
        counts=counts,
        rates=rates,
        latents=latents,
        readout=readout,
        bias=bias,
        bin_size=bin_size,
        DESCR=_DESCR,
    )
