"""Synthetic centre-out reaches: spikes tuned to hand velocity plus rotational dynamics."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import quantities as pq
from sklearn.utils import Bunch, check_random_state

from .._memory import check_generated_size
from .._neo.reading import check_time_quantity
from .._sklearn_compat import Interval, validate_params
from ._rates import poisson_spikes, rates_with_mean

__all__ = ["make_reach_spikes"]

# Reach kinematics, in seconds and centimetres: a monkey's centre-out reach of about 10 cm
# lasting 0.3-0.45 s, starting about 0.25 s into the trial (as MC_Maze trials aligned to
# movement onset, which begin 250 ms before it).
_ONSET, _ONSET_JITTER = 0.25, 0.03
_DURATION_RANGE = (0.30, 0.45)
_DISTANCE, _DISTANCE_JITTER = 10.0, 0.15
# A typical peak speed (1.875 * distance / duration, the minimum-jerk peak at the mean
# duration): velocity latents are scaled by it so that they have about unit amplitude.
_SPEED_SCALE = 1.875 * _DISTANCE / np.mean(_DURATION_RANGE)
# Rotational dynamics (Churchland et al. 2012): the preparatory state, set by the reach
# direction, starts rotating this long before movement onset at this frequency, and decays
# with this time constant after the reach ends.
_ROTATION_LEAD, _ROTATION_HZ, _ROTATION_DECAY = 0.1, 1.5, 0.15
# A slow shared fluctuation unrelated to behaviour (Ornstein-Uhlenbeck): trial-to-trial
# variability that no condition explains, as in recordings.
_FLUCTUATION_TAU, _FLUCTUATION_STD = 0.2, 0.5
# Readout: per-neuron weights on the six latents and per-neuron offsets of the drive.
_READOUT_GAIN, _OFFSET_STD = 0.6, 0.5
_SOFTPLUS_BETA = 1.0

_DESCR = """\
Synthetic centre-out reaches
============================

Each trial is a straight reach from the centre towards a target in direction ``direction``
(one of ``n_directions`` evenly spaced targets, or any angle when ``n_directions=None``).
The hand follows a minimum-jerk path (bell-shaped speed profile) of about 10 cm (±15 %),
lasting 0.30-0.45 s and starting about 0.25 s (±30 ms) into the trial.

Six latents drive the neurons: hand velocity (x, y) and speed, each divided by a typical
peak speed; a two-dimensional rotational state (Churchland et al. 2012) whose preparatory
angle is the reach direction, which starts rotating at 1.5 Hz 100 ms before movement onset
and decays (time constant 150 ms) after the reach ends; and a slow shared fluctuation
(Ornstein-Uhlenbeck, time constant 200 ms, standard deviation 0.5) unrelated to behaviour.
Each neuron reads them out with its own random weights and offset:
``rates = softplus(latents @ readout.T + offsets + bias)`` in spikes per bin, the shared
``bias`` solved so that the mean rate equals ``mean_rate``. Spike counts are Poisson.
Spike trains place the k spikes of a bin evenly inside it.
"""


def _minimum_jerk(progress):
    """Position and speed profile of a minimum-jerk reach at ``progress`` in [0, 1]."""
    s = np.clip(progress, 0.0, 1.0)
    position = s**3 * (10.0 - 15.0 * s + 6.0 * s**2)
    inside = (progress > 0.0) & (progress < 1.0)
    speed = np.where(inside, 30.0 * s**2 * (1.0 - s) ** 2, 0.0)
    return position, speed


def _fluctuation(rng, n_trials, n_bins, dt):
    """Stationary Ornstein-Uhlenbeck paths, (n_trials, n_bins)."""
    decay = np.exp(-dt / _FLUCTUATION_TAU)
    innovations = rng.standard_normal((n_trials, n_bins)) * _FLUCTUATION_STD
    innovations[:, 1:] *= np.sqrt(1.0 - decay**2)
    path = np.empty_like(innovations)
    path[:, 0] = innovations[:, 0]
    for t in range(1, n_bins):
        path[:, t] = decay * path[:, t - 1] + innovations[:, t]
    return path


@validate_params(
    {
        "n_trials": [Interval(Integral, 1, None, closed="left")],
        "n_neurons": [Interval(Integral, 1, None, closed="left")],
        "n_bins": [Interval(Integral, 2, None, closed="left")],
        "n_directions": [Interval(Integral, 1, None, closed="left"), None],
        "mean_rate": [Interval(Real, 0, None, closed="neither")],
        "bin_size": "no_validation",  # checked by check_time_quantity, with clearer messages
        "return_spiketrains": ["boolean"],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_reach_spikes(
    n_trials=400,
    n_neurons=64,
    n_bins=140,
    n_directions=8,
    mean_rate=0.1,
    bin_size=5 * pq.ms,
    *,
    return_spiketrains=True,
    random_state=None,
):
    """Generate synthetic centre-out reaches with spikes tuned to the hand's movement.

    A stand-in for motor-cortex recordings such as MC_Maze that runs offline: each trial
    is a reach with a bell-shaped speed profile towards a target; neurons are tuned to hand
    velocity and speed and share condition-dependent rotational dynamics and a slow
    fluctuation unrelated to behaviour. Use it to fit and check conditional models: on the
    reach direction (``target`` or ``direction``, one value per trial) or on the hand
    velocity (``velocity``, one value per bin). Read more in ``DESCR`` of the result.

    One call draws one population of neurons; draw all trials you need in one call (and
    split them) so that training and held-out trials come from the same neurons.

    Parameters
    ----------
    n_trials : int, default=400
        Number of trials (reaches).
    n_neurons : int, default=64
        Number of neurons.
    n_bins : int, default=140
        Number of time bins per trial (140 bins of 5 ms: 0.25 s before movement onset to
        0.45 s after it, as MC_Maze trials).
    n_directions : int or None, default=8
        Number of evenly spaced targets, the first at angle 0; each trial goes to one of
        them at random. None draws each trial's direction uniformly from the circle, so
        that held-out trials have directions not seen in training.
    mean_rate : float, default=0.1
        Mean firing rate in spikes per bin, over trials, bins and neurons (0.1 per 5 ms bin
        is 20 Hz). The shared bias is solved to give exactly this mean.
    bin_size : quantities.Quantity, default=5 * pq.ms
        Duration of one bin: sets the time axis of the reach and of the spike trains.
    return_spiketrains : bool, default=True
        Whether to build ``spiketrains`` (Neo objects, slow for many trials). If False,
        ``spiketrains`` is None and only the arrays are returned.
    random_state : int, RandomState instance or None, default=None
        Seed for the reaches, the neurons and the spike counts.

    Returns
    -------
    data : sklearn.utils.Bunch
        Dictionary-like object with attributes:

        spiketrains : list of list of neo.SpikeTrain or None
            ``n_trials`` trials of ``n_neurons`` spike trains from ``t_start = 0 s``.
        counts : ndarray of shape (n_trials, n_bins, n_neurons), dtype int64
            Poisson spike counts.
        rates : ndarray of shape (n_trials, n_bins, n_neurons)
            Firing rates in spikes per bin.
        direction : ndarray of shape (n_trials,)
            Reach direction in radians, in [0, 2 pi).
        target : ndarray of shape (n_trials,), dtype int64, or None
            Index of the trial's target (``direction = 2 pi target / n_directions``);
            None when ``n_directions`` is None.
        velocity : ndarray of shape (n_trials, n_bins, 2)
            Hand velocity (x, y) in cm/s at the centre of each bin.
        position : ndarray of shape (n_trials, n_bins, 2)
            Hand position (x, y) in cm, the centre at the origin.
        movement_onset : ndarray of shape (n_trials,)
            Time of movement onset in seconds from the start of the trial.
        latents : ndarray of shape (n_trials, n_bins, 6)
            The neurons' drive before the readout: velocity x, velocity y and speed
            (divided by a typical peak speed), the rotational state (2) and the
            fluctuation.
        readout : ndarray of shape (n_neurons, 6)
            Each neuron's weights on the latents.
        offsets : ndarray of shape (n_neurons,)
            Each neuron's offset of the drive.
        bias : float
            Shared bias added before the softplus.
        bin_size : quantities.Quantity
            The bin duration.
        DESCR : str
            Description of the data set.

    Examples
    --------
    >>> import numpy as np
    >>> from ldns_sklearn.datasets import make_reach_spikes
    >>> data = make_reach_spikes(n_trials=16, n_neurons=10, n_bins=140,
    ...                          return_spiketrains=False, random_state=0)
    >>> data.counts.shape, data.velocity.shape, data.target.shape
    ((16, 140, 10), (16, 140, 2), (16,))
    >>> round(float(data.rates.mean()), 6)
    0.1
    >>> # every reach ends about 10 cm from the centre, in its direction
    >>> end = data.position[:, -1]
    >>> bool(np.all(np.abs(np.linalg.norm(end, axis=1) - 10) < 2))
    True
    """
    check_generated_size(n_trials, n_bins, n_neurons, "make_reach_spikes")
    bin_size = check_time_quantity(bin_size, "bin_size", positive=True)
    dt = float(bin_size.rescale(pq.s))
    rng = check_random_state(random_state)

    if n_directions is None:
        target = None
        direction = rng.uniform(0.0, 2.0 * np.pi, n_trials)
    else:
        target = rng.randint(n_directions, size=n_trials).astype(np.int64)
        direction = 2.0 * np.pi * target / n_directions
    onset = _ONSET + _ONSET_JITTER * rng.standard_normal(n_trials)
    duration = rng.uniform(*_DURATION_RANGE, n_trials)
    distance = _DISTANCE * (1.0 + _DISTANCE_JITTER * rng.uniform(-1.0, 1.0, n_trials))

    times = (np.arange(n_bins) + 0.5) * dt  # bin centres
    since_onset = times[None, :] - onset[:, None]
    path, speed_profile = _minimum_jerk(since_onset / duration[:, None])
    heading = np.stack([np.cos(direction), np.sin(direction)], axis=-1)[:, None, :]
    position = (distance[:, None] * path)[..., None] * heading
    speed = distance[:, None] / duration[:, None] * speed_profile
    velocity = speed[..., None] * heading

    # The rotational state: at the preparatory angle (the reach direction) until shortly
    # before movement onset, then rotating; it fades once the reach is over.
    phase = 2.0 * np.pi * _ROTATION_HZ * np.clip(since_onset + _ROTATION_LEAD, 0.0, None)
    after_reach = np.clip(since_onset - duration[:, None], 0.0, None)
    envelope = np.exp(-after_reach / _ROTATION_DECAY)
    angle = direction[:, None] + phase
    rotation = envelope[..., None] * np.stack([np.cos(angle), np.sin(angle)], axis=-1)

    latents = np.concatenate(
        [
            velocity / _SPEED_SCALE,
            (speed / _SPEED_SCALE)[..., None],
            rotation,
            _fluctuation(rng, n_trials, n_bins, dt)[..., None],
        ],
        axis=-1,
    )
    readout = _READOUT_GAIN * rng.standard_normal((n_neurons, latents.shape[-1]))
    offsets = _OFFSET_STD * rng.standard_normal(n_neurons)
    rates, bias = rates_with_mean(latents @ readout.T + offsets, mean_rate, _SOFTPLUS_BETA)
    counts, spiketrains = poisson_spikes(rates, rng, bin_size, return_spiketrains)

    return Bunch(
        spiketrains=spiketrains,
        counts=counts,
        rates=rates,
        direction=direction,
        target=target,
        velocity=velocity,
        position=position,
        movement_onset=onset,
        latents=latents,
        readout=readout,
        offsets=offsets,
        bias=bias,
        bin_size=bin_size,
        DESCR=_DESCR,
    )
