"""The spiking model of :class:`~ldns_sklearn.RenewalObservation` (NumPy only).

Each neuron is a discrete-time *inhomogeneous Markov interval* process (Kass & Ventura
2001): its expected count in bin ``t`` is ``lam_t = rho_t * q[d_t]``, where ``d_t`` is the
number of bins since its last spike (the state; ``q[d]`` its recovery, ``q = 1`` once
recovered, ``d > history``) and ``rho_t`` the drive. The count is
``min(Poisson(lam_t), 1 + G, cap)`` with ``P(G >= j) = beta**j``: ``beta = 1`` leaves
Poisson counts, ``beta = 0`` allows one spike per bin.

The recovery is read on each neuron's own clock: at rate ``r_t`` the ``d + 1`` bins since
the last spike count as ``(d + 1) * (r_t / r_mean) ** c - 1`` columns of ``q``
(interpolated in ``log q``), ``c`` given or chosen per neuron by likelihood
(``RenewalObservation(recovery_clock=)``). ``c = 0``, the default, is the
multiplicative model above, refractoriness fixed in time; ``c = 1`` approximates time
rescaling, where a neuron firing twice as fast also recovers twice as fast (a gamma
process in operational time). The state stays the bins since the last spike, so the
filter below is unchanged; only the ``q`` of each state depends on the bin's rate.

The drive is not a fitted function of the decoded rate ``r_t``. It is solved bin by bin
so that the count *expected given the rate path* is exactly ``r_t``: a filter carries the
distribution ``pi_t`` of the state forward (what the rates so far imply, not what was
drawn) and ``rho_t`` solves ``sum_d pi_t[d] E[count | rho_t q[d]] = r_t``. So the decoded
rates keep their meaning, spike history only rearranges spikes in time, and shared rate
fluctuations pass to the counts unamplified (a fitted gain on the rate, as in the paper's
spike-history GLM, amplifies them; its summed history filter also damps slow ones).

Each trial's rates of a neuron can be multiplied by a log-normal factor of mean 1 (the
trial spread): variability from trial to trial that posterior-mean rates lose. It acts on
the rate, so the filter solves the drive for it.

Optionally, shared fluctuations that the rates miss act on the counts: zero-lag synchrony
and fast population rhythms that smooth latents cannot carry. Each is an AR(2) process
``eta``, Gaussian or two-state, and acts in one of two ways:

* *multiplicative*: every neuron's ``lam`` is multiplied by ``exp(L @ eta_t)`` scaled to
  mean 1 (shared excitability; a refractory neuron stays silent);
* *additive*: a two-state factor is a train of synchronous events, and in a bin where it
  is on each neuron adds a spike with probability ``L[n, k]`` (its participation), outside
  its own renewal process: the spike neither needs the neuron recovered nor resets it
  (coincidences injected into ongoing firing, as in the single-interaction and compound
  Poisson models of synchrony). The renewal part is then driven at the rate less the
  events' mean count.

The filter runs in float32 over blocks of trials, all neurons and states at once.

The package by job, each module importing only those above it in this list: ``settings``
(the tuning, each constant with what set it), ``counts`` (the count model), ``model`` (the
fit's fields and the state filter that runs it), ``factors`` (the shared fluctuations as
processes, and the draw), ``shapes`` (what fitting them measures), ``fluctuations`` (their
fit and the trial spread's) and ``fitting`` (the recovery, dispersion and clock).
"""

from __future__ import annotations

from .factors import draw, synchrony_left_to_events
from .fitting import automatic_history, fit_renewal
from .fluctuations import fit_fluctuations
from .model import RenewalFit, log_likelihood
from .settings import RECOVERY_CLOCKS

__all__ = [
    "RECOVERY_CLOCKS",
    "RenewalFit",
    "automatic_history",
    "draw",
    "fit_fluctuations",
    "fit_renewal",
    "log_likelihood",
    "synchrony_left_to_events",
]
