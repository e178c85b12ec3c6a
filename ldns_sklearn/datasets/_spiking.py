"""Spiking that is not Poisson: simulated neurons to test generative models against.

Three generators whose spikes come from spiking dynamics rather than from Poisson counts
of a rate (the kind of data LDNS's own Lorenz and reach benchmarks are):

* :func:`make_lif_spikes`: leaky integrate-and-fire neurons with a refractory period,
  driven by slow shared inputs and a stimulus repeated on every trial;
* :func:`make_balanced_network_spikes`: a sparse balanced network of excitatory and
  inhibitory integrate-and-fire neurons (Brunel 2000), synchronous and irregular;
* :func:`make_gamma_spikes`: gamma renewal processes (regular firing) driven by shared
  latents, with synchrony injected into groups of neurons.

Spike times are exact (the simulation's time step), so the Neo trains carry what binning
loses; counts are those times binned.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import quantities as pq
from scipy.sparse import csr_matrix
from sklearn.utils import Bunch, check_random_state

from .._memory import check_generated_size
from .._neo.reading import check_time_quantity
from .._neo.trains import trains_of_trial
from .._sklearn_compat import Interval, validate_params

__all__ = ["make_balanced_network_spikes", "make_gamma_spikes", "make_lif_spikes"]

_COMMON = {
    "n_trials": [Interval(Integral, 1, None, closed="left")],
    "n_neurons": [Interval(Integral, 1, None, closed="left")],
    "n_bins": [Interval(Integral, 1, None, closed="left")],
    "bin_size": "no_validation",  # check_time_quantity, with clearer messages
    "return_spiketrains": ["boolean"],
    "random_state": ["random_state"],
}


def _seconds(value, name):
    return float(check_time_quantity(value, name, positive=True).rescale(pq.s))


def _millivolts(value):
    if not isinstance(value, pq.Quantity):
        raise TypeError(
            f"synaptic_weight must be a voltage quantity such as 0.5 * pq.mV, got "
            f"{type(value).__name__}."
        )
    try:
        millivolts = float(value.rescale(pq.mV).magnitude)
    except ValueError as exc:
        raise ValueError(f"synaptic_weight must be a voltage, got {value}.") from exc
    if not millivolts > 0:
        raise ValueError(f"synaptic_weight must be positive, got {value}.")
    return millivolts


def _generator(random_state):
    return np.random.default_rng(check_random_state(random_state).randint(2**31))


def _ornstein_uhlenbeck(rng, shape, n_steps, timescale_steps):
    """Stationary unit-variance Ornstein-Uhlenbeck paths, ``shape + (n_steps,)``."""
    decay = np.exp(-1.0 / timescale_steps)
    paths = np.empty((*shape, n_steps))
    paths[..., 0] = rng.standard_normal(shape)
    noise = rng.standard_normal((*shape, n_steps)) * np.sqrt(1.0 - decay**2)
    for t in range(1, n_steps):
        paths[..., t] = decay * paths[..., t - 1] + noise[..., t]
    return paths


class _Spikes:
    """Spike times of many trials, gathered as (trial, neuron, time in s) triples."""

    def __init__(self, n_trials, n_neurons, duration):
        self.shape, self.duration = (n_trials, n_neurons), duration
        self.parts = []

    def add(self, trial, neuron, time):
        self.parts.append((np.asarray(trial), np.asarray(neuron), np.asarray(time, float)))

    def _all(self):
        if not self.parts:
            return np.zeros(0, int), np.zeros(0, int), np.zeros(0)
        return tuple(np.concatenate(column) for column in zip(*self.parts, strict=True))

    def counts(self, n_bins, bin_seconds):
        trial, neuron, time = self._all()
        counts = np.zeros((*self.shape[:1], n_bins, self.shape[1]), dtype=np.int64)
        bins = np.minimum((time / bin_seconds).astype(np.int64), n_bins - 1)
        np.add.at(counts, (trial, bins, neuron), 1)
        return counts

    def trains(self, units, **annotations):
        """Trials of ``neo.SpikeTrain`` from t = 0 s, in ``units``."""
        trial, neuron, time = self._all()
        order = np.lexsort((time, neuron, trial))
        trial, neuron, time = trial[order], neuron[order], time[order]
        key = trial * self.shape[1] + neuron
        edges = np.searchsorted(key, np.arange(self.shape[0] * self.shape[1] + 1))
        scale = float((1 * pq.s).rescale(units))
        t_start, t_stop = pq.Quantity(0.0, units), pq.Quantity(self.duration * scale, units)
        n_neurons = self.shape[1]
        names = [None] * n_neurons
        own = [{"neuron": n, **annotations} for n in range(n_neurons)]
        trials = []
        for i in range(self.shape[0]):
            first, last = edges[i * n_neurons], edges[(i + 1) * n_neurons]
            n_spikes = np.diff(edges[i * n_neurons : (i + 1) * n_neurons + 1])
            trials.append(trains_of_trial(time[first:last] * scale, n_spikes, t_start, t_stop,
                                          names, own))
        return trials


def _result(spikes, n_bins, bin_size, return_spiketrains, descr, simulator, **fields):
    bin_seconds = float(bin_size.rescale(pq.s))
    trains = None
    if return_spiketrains:
        trains = spikes.trains(bin_size.units, simulated=True, simulator=simulator)
    return Bunch(spiketrains=trains, counts=spikes.counts(n_bins, bin_seconds),
                 bin_size=bin_size, DESCR=descr, **fields)


def _substeps(bin_seconds, time_step):
    """Simulation steps per bin: the bin divided into steps of at most ``time_step``."""
    return max(1, int(np.ceil(bin_seconds / time_step - 1e-9)))


# --------------------------------------------------------------- integrate-and-fire


_LIF_DESCR = """\
Integrate-and-fire population
=============================

Leaky integrate-and-fire neurons (membrane time constant 20 ms, threshold 1, reset 0,
absolutely refractory for ``refractory_period``) integrate, each in every trial:
a constant bias (mean 0.9, sd 0.1 across neurons, just below threshold), slow shared
inputs (``n_shared`` Ornstein-Uhlenbeck processes, time constant 150 ms, drawn anew each
trial, each neuron loading on them with its own Gaussian weights of sd
``shared_strength``), a stimulus repeated on every trial (two bumps, at 30 % and 70 % of
the trial, each neuron responding with its own weight in [-0.5, 1] x ``stimulus_strength``)
and private white noise (``noise``). Euler steps of at most 0.1 ms. Spiking is
fluctuation-driven, irregular and refractory: intervals shorter than the refractory
period never occur, so a bin of a few milliseconds rarely holds two spikes.
"""


@validate_params(
    {
        **_COMMON,
        "n_shared": [Interval(Integral, 0, None, closed="left")],
        "shared_strength": [Interval(Real, 0, None, closed="left")],
        "stimulus_strength": [Interval(Real, None, None, closed="neither")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "refractory_period": "no_validation",
    },
    prefer_skip_nested_validation=True,
)
def make_lif_spikes(
    n_trials=400,
    n_neurons=64,
    n_bins=100,
    bin_size=5 * pq.ms,
    *,
    n_shared=2,
    shared_strength=0.4,
    stimulus_strength=0.3,
    noise=0.35,
    refractory_period=3 * pq.ms,
    return_spiketrains=True,
    random_state=None,
):
    """Simulate a population of leaky integrate-and-fire neurons over repeated trials.

    Refractory, fluctuation-driven spiking with shared slow inputs and a repeated
    stimulus: counts are sub-Poisson in each bin, single neurons' autocorrelations dip
    right after a spike, and trial-to-trial variability is shared. Read more in ``DESCR``
    of the result.

    Parameters
    ----------
    n_trials : int, default=400
    n_neurons : int, default=64
    n_bins : int, default=100
        Bins per trial (100 bins of 5 ms: half a second).
    bin_size : quantities.Quantity, default=5 * pq.ms
    n_shared : int, default=2
        Number of slow shared inputs.
    shared_strength : float, default=0.4
        Standard deviation of the neurons' weights on the shared inputs (threshold: 1).
    stimulus_strength : float, default=0.3
        Scale of the response to the repeated stimulus.
    noise : float, default=0.35
        Standard deviation of the private input, in units of the threshold.
    refractory_period : quantities.Quantity, default=3 * pq.ms
    return_spiketrains : bool, default=True
        Whether to build ``spiketrains`` (Neo objects with the exact spike times).
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    data : sklearn.utils.Bunch
        ``spiketrains`` (``n_trials`` lists of ``n_neurons`` ``neo.SpikeTrain`` from
        0 s, annotated ``simulated=True``; None unless asked for), ``counts`` ``(n_trials,
        n_bins, n_neurons)``, ``latents`` ``(n_trials, n_bins, n_shared)`` (the shared
        inputs at each bin's start), ``stimulus`` ``(n_bins,)``, ``bin_size``, ``DESCR``.

    See Also
    --------
    make_balanced_network_spikes, make_gamma_spikes

    Examples
    --------
    >>> from ldns_sklearn.datasets import make_lif_spikes
    >>> data = make_lif_spikes(n_trials=20, n_neurons=8, n_bins=40, random_state=0)
    >>> data.counts.shape, int(data.counts.max())    # refractory: one spike per 5 ms bin
    ((20, 40, 8), 1)
    >>> rate = data.counts.mean() / 0.005            # spikes per second
    >>> bool(10 < rate < 40)
    True
    """
    check_generated_size(n_trials, n_bins, n_neurons, "make_lif_spikes")
    bin_seconds = _seconds(bin_size, "bin_size")
    refractory = _seconds(refractory_period, "refractory_period")
    rng = _generator(random_state)
    steps = _substeps(bin_seconds, 1e-4)
    dt = bin_seconds / steps
    tau = 0.02
    shared = _ornstein_uhlenbeck(rng, (n_trials, n_shared), n_bins, 0.15 / bin_seconds)
    loadings = rng.standard_normal((n_shared, n_neurons)) * shared_strength
    centres = (np.arange(n_bins) + 0.5) * bin_seconds
    duration = n_bins * bin_seconds
    stimulus = (np.exp(-0.5 * ((centres - 0.3 * duration) / 0.015) ** 2)
                + 0.7 * np.exp(-0.5 * ((centres - 0.7 * duration) / 0.025) ** 2))
    response = rng.uniform(-0.5, 1.0, n_neurons) * stimulus_strength
    bias = 0.9 + 0.1 * rng.standard_normal(n_neurons)
    drive = (bias + np.einsum("ikb,kn->ibn", shared, loadings)
             + stimulus[None, :, None] * response)
    potential = rng.uniform(0.0, 1.0, (n_trials, n_neurons))
    silent_until = np.zeros((n_trials, n_neurons))
    spikes = _Spikes(n_trials, n_neurons, duration)
    leak, kick = dt / tau, noise * np.sqrt(2.0 * dt / tau)
    for b in range(n_bins):
        current = drive[:, b]
        for s in range(steps):
            # A spike is stamped at the middle of the step it happened in.
            now = (b * steps + s + 0.5) * dt
            free = silent_until <= now
            potential += free * (leak * (current - potential)
                                 + kick * rng.standard_normal(potential.shape))
            fired = potential >= 1.0
            if fired.any():
                trial, neuron = np.nonzero(fired)
                spikes.add(trial, neuron, np.full(trial.size, now))
                potential[fired] = 0.0
                silent_until[fired] = now + refractory
    return _result(spikes, n_bins, bin_size.rescale(bin_size.units), return_spiketrains,
                   _LIF_DESCR, "make_lif_spikes", latents=shared.transpose(0, 2, 1),
                   stimulus=stimulus)


# ------------------------------------------------------------------ balanced network


_BALANCED_DESCR = """\
Balanced excitatory-inhibitory network
======================================

Model A of Brunel (2000): ``n_excitatory`` excitatory and a quarter as many inhibitory
leaky integrate-and-fire neurons (membrane time constant 20 ms, threshold 20 mV, reset
10 mV, refractory 2 ms), each receiving ``connectivity`` of the excitatory and of the
inhibitory neurons as inputs (delta synapses of ``synaptic_weight``, ``-g`` times that
for inhibitory ones, delay 1.5 ms) and external Poisson input (as many synapses as
excitatory inputs, at ``eta`` times the rate that alone would reach threshold; simulated
as its Gaussian diffusion limit). ``n_neurons`` of the excitatory neurons are recorded.
Trials are consecutive windows of several independent runs of the same network, each run
started from random potentials and let settle for 200 ms. With the defaults the network
is in a synchronous irregular state: irregular single neurons, and population activity
that oscillates from one bin to the next.
"""


@validate_params(
    {
        **_COMMON,
        "n_excitatory": [Interval(Integral, 4, None, closed="left")],
        "connectivity": [Interval(Real, 0, 1, closed="right")],
        "g": [Interval(Real, 0, None, closed="left")],
        "eta": [Interval(Real, 0, None, closed="left")],
        "synaptic_weight": "no_validation",
        "n_runs": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def make_balanced_network_spikes(
    n_trials=400,
    n_neurons=64,
    n_bins=100,
    bin_size=5 * pq.ms,
    *,
    n_excitatory=1000,
    connectivity=0.1,
    g=6.0,
    eta=1.2,
    synaptic_weight=0.5 * pq.mV,
    n_runs=50,
    return_spiketrains=True,
    random_state=None,
):
    """Simulate a sparse balanced network of integrate-and-fire neurons (Brunel 2000).

    Irregular spiking with population rhythms that come from the network itself: what
    neurons share is fast and not locked to the trial. Read more in ``DESCR`` of the
    result.

    Parameters
    ----------
    n_trials : int, default=400
    n_neurons : int, default=64
        Recorded excitatory neurons (at most ``n_excitatory``).
    n_bins : int, default=100
    bin_size : quantities.Quantity, default=5 * pq.ms
    n_excitatory : int, default=1000
        Excitatory neurons of the network; it has a quarter as many inhibitory ones.
    connectivity : float, default=0.1
        Fraction of each population a neuron receives input from.
    g : float, default=6.0
        Strength of inhibitory synapses relative to excitatory ones.
    eta : float, default=1.2
        External input rate relative to the rate that alone brings the mean potential to
        threshold.
    synaptic_weight : quantities.Quantity, default=0.5 * pq.mV
        Jump of the membrane potential per excitatory input spike.
    n_runs : int, default=50
        Independent runs of the network simulated together; the trials are split evenly
        among them.
    return_spiketrains : bool, default=True
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    data : sklearn.utils.Bunch
        ``spiketrains`` (None unless asked for), ``counts``, ``neurons`` (indices of the
        recorded excitatory neurons in the network), ``bin_size``, ``DESCR``.

    See Also
    --------
    make_lif_spikes, make_gamma_spikes

    Examples
    --------
    >>> from ldns_sklearn.datasets import make_balanced_network_spikes
    >>> data = make_balanced_network_spikes(n_trials=8, n_neurons=16, n_bins=40,
    ...                                     n_excitatory=400, n_runs=4, random_state=0)
    >>> data.counts.shape
    (8, 40, 16)
    >>> population = data.counts.sum(axis=2)    # neurons fire together: above Poisson
    >>> bool(population.var() > 1.1 * population.mean())
    True
    """
    check_generated_size(n_trials, n_bins, n_neurons, "make_balanced_network_spikes")
    if n_neurons > n_excitatory:
        raise ValueError(
            f"n_neurons={n_neurons} recorded neurons, but the network has only "
            f"n_excitatory={n_excitatory} excitatory ones."
        )
    bin_seconds = _seconds(bin_size, "bin_size")
    weight = _millivolts(synaptic_weight)
    rng = _generator(random_state)
    n_inhibitory = max(1, n_excitatory // 4)
    n_total = n_excitatory + n_inhibitory
    c_exc = max(1, round(connectivity * n_excitatory))
    c_inh = max(1, round(connectivity * n_inhibitory))
    tau, threshold, reset, refractory, delay = 20.0, 20.0, 10.0, 2.0, 1.5  # ms, mV
    dt = bin_seconds * 1e3 / _substeps(bin_seconds, 1e-4)
    steps = round(bin_seconds * 1e3 / dt)
    # Presynaptic partners of every neuron: a fixed in-degree from each population.
    pre = np.concatenate([
        np.stack([rng.choice(n_excitatory, c_exc, replace=False) for _ in range(n_total)]),
        n_excitatory + np.stack([rng.choice(n_inhibitory, c_inh, replace=False)
                                 for _ in range(n_total)]),
    ], axis=1)
    post = np.repeat(np.arange(n_total), c_exc + c_inh)
    values = np.tile(np.r_[np.full(c_exc, weight), np.full(c_inh, -g * weight)], n_total)
    synapses = csr_matrix((values, (pre.reshape(-1), post)), shape=(n_total, n_total))
    # External input per step: Poisson spikes of c_exc synapses at eta * nu_threshold,
    # as their Gaussian diffusion limit.
    external_rate = eta * threshold / (weight * c_exc * tau) * c_exc * dt
    external_mean, external_sd = weight * external_rate, weight * np.sqrt(external_rate)
    per_run = -(-n_trials // n_runs)
    warm_up = round(200.0 / dt)
    n_steps = warm_up + per_run * n_bins * steps
    lag = max(1, round(delay / dt))
    recorded = np.sort(rng.choice(n_excitatory, n_neurons, replace=False))
    column = np.full(n_total, -1)
    column[recorded] = np.arange(n_neurons)
    potential = rng.uniform(reset, threshold, (n_runs, n_total))
    silent_until = np.zeros((n_runs, n_total))
    arriving = np.zeros((lag, n_runs, n_total))
    decay = np.exp(-dt / tau)
    duration = n_bins * bin_seconds
    spikes = _Spikes(n_trials, n_neurons, duration)
    for step in range(n_steps):
        slot = step % lag
        free = silent_until <= step * dt
        kick = external_mean + external_sd * rng.standard_normal((n_runs, n_total))
        potential = np.where(free, potential * decay + arriving[slot] + kick, potential)
        fired = potential >= threshold
        arriving[slot] = 0.0
        if not fired.any():
            continue
        run, neuron = np.nonzero(fired)
        potential[fired] = reset
        silent_until[fired] = (step + 1) * dt + refractory
        sent = synapses[neuron]
        arriving[slot] = np.bincount(
            np.repeat(run, np.diff(sent.indptr)) * n_total + sent.indices, sent.data,
            minlength=n_runs * n_total,
        ).reshape(n_runs, n_total)
        if step < warm_up:
            continue
        keep = column[neuron] >= 0
        elapsed = (step - warm_up + 0.5) * dt / 1e3  # s since recording started
        window = min(int(elapsed / duration), per_run - 1)
        trial = run[keep] * per_run + window
        in_range = trial < n_trials
        spikes.add(trial[in_range], column[neuron[keep]][in_range],
                   np.full(int(in_range.sum()), elapsed - window * duration))
    return _result(spikes, n_bins, bin_size.rescale(bin_size.units), return_spiketrains,
                   _BALANCED_DESCR, "make_balanced_network_spikes", neurons=recorded)


# ------------------------------------------------------------------- gamma renewal


_GAMMA_DESCR = """\
Gamma renewal processes with injected synchrony
===============================================

Each neuron fires as a gamma renewal process of ``shape`` (regular for shape > 1)
whose rate follows shared latents: ``rate = softplus(1 + latents @ readout + offset)``
scaled to a mean of ``firing_rate``, with ``n_latents`` Ornstein-Uhlenbeck latents
(time constant 100 ms, drawn anew each trial), Gaussian readout weights of sd
``latent_strength`` and offsets of sd 0.3; time-rescaled on a 0.5 ms grid. Then
``n_groups`` disjoint groups of ``group_size`` neurons receive synchronous events: each
group's events arrive as a Poisson process of ``synchrony_rate``, and each member fires
at an event with probability ``copy_probability`` (a single interaction process); the
renewal rate of members is lowered by what the events add.
"""


@validate_params(
    {
        **_COMMON,
        "shape": [Interval(Real, 0, None, closed="neither")],
        "firing_rate": "no_validation",
        "n_latents": [Interval(Integral, 0, None, closed="left")],
        "latent_strength": [Interval(Real, 0, None, closed="left")],
        "n_groups": [Interval(Integral, 0, None, closed="left")],
        "group_size": [Interval(Integral, 1, None, closed="left")],
        "synchrony_rate": "no_validation",
        "copy_probability": [Interval(Real, 0, 1, closed="both")],
    },
    prefer_skip_nested_validation=True,
)
def make_gamma_spikes(
    n_trials=400,
    n_neurons=64,
    n_bins=100,
    bin_size=5 * pq.ms,
    *,
    shape=4.0,
    firing_rate=15 * pq.Hz,
    n_latents=2,
    latent_strength=0.6,
    n_groups=4,
    group_size=8,
    synchrony_rate=3 * pq.Hz,
    copy_probability=0.8,
    return_spiketrains=True,
    random_state=None,
):
    """Simulate regular (gamma renewal) firing on shared latents, with injected synchrony.

    Regular single neurons (intervals less variable than Poisson ones), slow shared
    modulation and groups of neurons that fire together in the same millisecond. Read
    more in ``DESCR`` of the result.

    Parameters
    ----------
    n_trials : int, default=400
    n_neurons : int, default=64
    n_bins : int, default=100
    bin_size : quantities.Quantity, default=5 * pq.ms
    shape : float, default=4.0
        Shape of the gamma interval distribution in rescaled time (1: Poisson; larger:
        more regular; smaller: bursty).
    firing_rate : quantities.Quantity, default=15 * pq.Hz
        Mean firing rate over neurons, trials and time.
    n_latents : int, default=2
    latent_strength : float, default=0.6
        Standard deviation of the readout weights of the latents.
    n_groups : int, default=4
        Groups of neurons receiving synchronous events (``n_groups * group_size`` must
        not exceed ``n_neurons``).
    group_size : int, default=8
    synchrony_rate : quantities.Quantity, default=3 * pq.Hz
        Rate of each group's synchronous events.
    copy_probability : float, default=0.8
        Probability that a member fires at an event of its group.
    return_spiketrains : bool, default=True
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    data : sklearn.utils.Bunch
        ``spiketrains`` (None unless asked for), ``counts``, ``rates`` ``(n_trials,
        n_bins, n_neurons)`` (spikes per second at each bin's start, synchronous events
        included), ``latents`` ``(n_trials, n_bins, n_latents)``, ``groups`` ``(n_groups,
        group_size)`` (neuron indices), ``bin_size``, ``DESCR``.

    See Also
    --------
    make_lif_spikes, make_balanced_network_spikes

    Examples
    --------
    >>> import numpy as np
    >>> from ldns_sklearn.datasets import make_gamma_spikes
    >>> data = make_gamma_spikes(n_trials=100, n_neurons=16, n_bins=100, n_groups=1,
    ...                          random_state=0)
    >>> data.counts.shape, data.groups.shape
    ((100, 100, 16), (1, 8))
    >>> corr = np.corrcoef(data.counts.reshape(-1, 16).T)
    >>> inside, outside = data.groups[0][:2], np.setdiff1d(np.arange(16), data.groups[0])[:2]
    >>> bool(corr[inside[0], inside[1]] > 3 * abs(corr[outside[0], outside[1]]))
    True
    """
    check_generated_size(n_trials, n_bins, n_neurons, "make_gamma_spikes")
    if n_groups * group_size > n_neurons:
        raise ValueError(
            f"n_groups * group_size = {n_groups * group_size} neurons in groups, but there "
            f"are n_neurons={n_neurons}."
        )
    bin_seconds = _seconds(bin_size, "bin_size")
    mean_hz = float(pq.Quantity(firing_rate).rescale(pq.Hz).magnitude)
    sync_hz = float(pq.Quantity(synchrony_rate).rescale(pq.Hz).magnitude)
    if mean_hz <= 0 or sync_hz < 0:
        raise ValueError("firing_rate must be positive and synchrony_rate non-negative.")
    rng = _generator(random_state)
    steps = _substeps(bin_seconds, 5e-4)
    dt = bin_seconds / steps
    warm_up = int(np.ceil(0.3 / dt))
    n_steps = warm_up + n_bins * steps
    latents = _ornstein_uhlenbeck(rng, (n_trials, n_latents), n_steps, 0.1 / dt)
    readout = rng.standard_normal((n_latents, n_neurons)) * latent_strength
    drive = np.einsum("iks,kn->isn", latents, readout) + 0.3 * rng.standard_normal(n_neurons)
    rates = np.logaddexp(0.0, 1.0 + drive)
    rates *= mean_hz / rates[:, warm_up:].mean()
    groups = rng.permutation(n_neurons)[: n_groups * group_size].reshape(n_groups, group_size)
    renewal = rates.copy()
    if n_groups:
        members = groups.reshape(-1)
        renewal[:, :, members] = np.maximum(renewal[:, :, members] - sync_hz * copy_probability,
                                            0.05 * mean_hz)
    rescaled = np.cumsum(renewal * dt, axis=1)  # (n_trials, n_steps, n_neurons)
    duration = n_bins * bin_seconds
    spikes = _Spikes(n_trials, n_neurons, duration)
    n_draws = int(rescaled[:, -1].max() * 1.5 + 10 * np.sqrt(rescaled[:, -1].max()) + 20)
    for trial in range(n_trials):
        thresholds = np.cumsum(rng.gamma(shape, 1.0 / shape, (n_neurons, n_draws)), axis=1)
        for neuron in range(n_neurons):
            step = np.searchsorted(rescaled[trial, :, neuron], thresholds[neuron])
            step = step[(step >= warm_up) & (step < n_steps)]
            spikes.add(np.full(step.size, trial), np.full(step.size, neuron),
                       (step - warm_up + rng.random(step.size)) * dt)
        for group in groups:
            times = rng.random(rng.poisson(sync_hz * duration)) * duration
            for time in times:
                fire = group[rng.random(group_size) < copy_probability]
                spikes.add(np.full(fire.size, trial), fire, np.full(fire.size, time))
    at_bins = warm_up + np.arange(n_bins) * steps
    if n_groups:
        rates[:, :, groups.reshape(-1)] = renewal[:, :, groups.reshape(-1)] + (
            sync_hz * copy_probability
        )
    return _result(spikes, n_bins, bin_size.rescale(bin_size.units), return_spiketrains,
                   _GAMMA_DESCR, "make_gamma_spikes", rates=rates[:, at_bins],
                   latents=latents[:, :, at_bins].transpose(0, 2, 1), groups=groups)
