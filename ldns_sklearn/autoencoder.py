"""The S4 autoencoder of LDNS as a scikit-learn transformer: counts ↔ smooth latents."""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import quantities as pq
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._backend.autoencoder import AutoencoderModel, AutoencoderSpec
from ._backend.device import torch_seed
from ._checkpoint import checkpointing
from ._estimator import (
    TRAINING_CONSTRAINTS,
    TRAINING_RECORD,
    SavableMixin,
    TorchTrainedMixin,
    check_declared,
    private_route,
    restore_on_failure,
    uses_threads,
)
from ._masks import check_observed_bins, check_observed_neurons, deprecated_kept, observed_entries
from ._neo.reading import is_neo_trials
from ._observation_rates import (
    cross_fitted_rates,
    event_synchrony,
    fit_observation,
    fresh_observation_model,
    warn_extreme_gains,
)
from ._sklearn_compat import HasMethods, Interval, StrOptions, fit_context
from ._synchrony import Synchrony, TrialsWithoutSynchrony, check_synchrony
from ._trials import Trials
from ._validation import check_trials, unpad_trials, valid_bins
from ._warnings import warn_user
from .observation import (
    PoissonObservation,
    poisson_log_likelihood,
    training_sample,
)
from .preprocessing import SpikeTrainBinner

__all__ = ["S4Autoencoder"]


def _finite(values: np.ndarray, what: str) -> np.ndarray:
    """``values``, or an error if the network made any NaN or infinity of them: finite
    inputs give finite outputs unless the weights are broken, and NaN must not pass on
    silently (as ``LatentDiffusion.sample`` refuses non-finite latents)."""
    if not np.all(np.isfinite(values)):
        raise FloatingPointError(
            f"The autoencoder produced {what} that are not finite: its network is broken "
            "(e.g. weights set to NaN or infinity, or a diverged fit). Refit it."
        )
    return values


class S4Autoencoder(SavableMixin, TorchTrainedMixin, TransformerMixin, BaseEstimator):
    """S4 autoencoder: spike counts → time-aligned low-dimensional latents → firing rates.

    The first stage of LDNS (Kapoor, Schulz et al., NeurIPS 2024). An encoder of S4 blocks
    maps binned counts ``(n_bins, n_neurons)`` of each trial to a latent trajectory
    ``(n_bins, n_latents)``; a decoder maps each latent bin back to firing rates through a
    softplus. Training minimises the Poisson negative log-likelihood under *coordinated
    dropout* (input entries are dropped with probability ``mask_prob``, the rest rescaled by
    ``1/(1 - mask_prob)``, and the loss is taken on the dropped entries only) plus an L2
    penalty on the latents and a penalty on ``z_t - z_{t+k}`` (``k = 1..5``, weight
    ``1/(1+k)``) that makes them smooth in time.

    Parameters
    ----------
    n_latents : int, default=8
        Number of latent channels.
    hidden_channels : int, default=64
        Width of the S4 blocks. The defaults (64 wide, 2 blocks, at most 300 epochs with
        early stopping, batches of 32) train on a CPU in minutes; their samples come within
        0.99-1.76x of the real-vs-real floor on all nine sample statistics on the
        benchmark's Lorenz, rotation and reach data, within 1.5x (the population-count KL
        within 1.61x) on refractory and balanced-network spiking, within 1.44-1.87x on
        gamma firing with injected synchrony (four data sets of the library's own
        simulator and one of Elephant's; ``docs/benchmarks.md``, "Training length");
        the paper's size is ``hidden_channels=256, n_blocks=4`` (a GPU; see
        :func:`~ldns_sklearn.make_ldns_pipeline` ``preset="paper"``).
    n_blocks : int, default=2
        Number of S4 blocks in the encoder.
    n_decoder_blocks : int, default=0
        Number of S4 blocks in the decoder. With 0 (the paper's choice for Lorenz data) the
        rates of a bin depend on the latent of that bin only.
    bidirectional : bool, default=True
        Whether the S4 layers see future bins as well as past ones.
    state_size : int, default=64
        State size of each S4 kernel.
    mask_prob : float, default=0.2
        Coordinated-dropout probability (per bin and neuron). 0 trains a plain autoencoder.
    l2_penalty : float, default=0.001
        Weight of the L2 penalty on the latents.
    smoothness_penalty : float, default=0.0
        Weight of the temporal-smoothness penalty on the latents. The paper uses 0.01 and
        0.01 on Lorenz data (0.001 and 0.2 on monkey reaches); with those, the held-out
        score of :meth:`score` was lower on six of the seven kinds of data measured (equal
        on the seventh, 0.515 on the benchmark's rotation data), and on weakly modulated
        spiking (gamma renewal neurons on shared latents) the latents all but
        collapsed: 0.087 bits/spike against 0.222 with these penalties at 100 epochs
        (Elephant's gamma neurons 0.389 against 0.540, integrate-and-fire 0.246 against
        0.251, balanced network 0.140 against 0.143, reaches 0.253 against 0.258, Lorenz
        0.942 against 0.943; the gamma scores with the latents carrying the synchronous
        events, as ``synchrony="latents"`` does; ``benchmarks/bench_fidelity.py``,
        ``docs/benchmarks.md``). The penalties
        compete with the Poisson likelihood, which is small per entry where rates are
        low, so what they do depends on the data; compare candidates by :meth:`score`.
        With ``synchrony="latents"`` and no penalty the latents also carry synchrony
        that is precise to the bin (a masked neuron is predicted from what the others
        fired in that bin); 0.01 left most of it to the observation model, which brought
        one gamma data set's population count from 3.0 to 1.7 times the real-vs-real
        floor but made the pairwise correlations of two others and the population count
        of a third worse (``docs/benchmarks.md``, "Synchrony in the rates"): the default
        ``synchrony="observation"`` takes the synchronous groups' events out of what
        the latents learn instead.
    max_epochs : int, default=300
        Most passes over the training trials: with early stopping (on by default from 200
        trials, ``early_stopping``) training ends sooner, on fewer trials every epoch is
        run. On small data the earlier default of 100 epochs left the autoencoder far from
        converged (held-out score of :meth:`score` on 120 gamma-renewal trials 0.032
        bits/spike after 100 epochs, 0.194 after 300; 60 sparse reach trials -0.004 and
        0.125), while 300 epochs without stopping overfit 400 sparse reach trials (0.216
        against 0.243 with early stopping; ``docs/benchmarks.md``, "Training length").
    batch_size : int, default=32
        Trials per optimisation step.
    learning_rate : float, default=1e-3
        Peak learning rate of AdamW (linear warm-up over 5% of the steps, then cosine decay).
        With 100 epochs, 3e-3 raised the held-out score of :meth:`score` by 0.01-0.08
        bits/spike on seven data sets of weakly modulated spiking, yet brought none of the
        benchmark's data sets within its fidelity goal that was not, took two out of it,
        and overfit sparse reaches (``docs/benchmarks.md``, "Autoencoder learning rate");
        training longer at 1e-3, with early stopping, is the default's answer. Compare
        values by :meth:`score` on held-out trials of your data.
    weight_decay : float, default=0.01
        AdamW weight decay (not applied to biases, norms and state-space parameters).
    early_stopping : "auto" or bool, default="auto"
        Hold out ``validation_fraction`` of the trials, stop when their loss has not
        improved for ``n_iter_no_change`` epochs and keep the best epoch's weights.
        ``"auto"`` does so when at least 20 trials are held out (200 trials at the default
        ``validation_fraction``) and trains all ``max_epochs`` on fewer. Held-out scores
        of sparse reaches with early stopping against all 300 epochs: 0.086 against 0.125
        bits/spike on 60 trials, 0.171 against 0.176 on 120, 0.224 against 0.206 on 200,
        0.243 against 0.216 on 400 (all 300 overfit). On 400 trials of denser spiking
        all 300 epochs scored higher (integrate-and-fire 0.262 against 0.243, balanced
        network 0.154 against 0.141): the validation loss stalls while the learning rate
        is still high (``docs/benchmarks.md``, "Training length"). ``history_`` holds the
        validation loss of every epoch and ``best_epoch_`` the epoch kept.
    validation_fraction : float, default=0.1
        Fraction of trials held out when early stopping is on.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.
    warm_start : bool, default=False
        If True and the estimator is fitted, ``fit`` continues training the fitted
        network for ``max_epochs`` more epochs (with a fresh optimizer and learning-rate
        schedule) instead of starting anew; ``history_`` grows. The data must have the
        fitted shape.
    checkpoint_dir : str, path or None, default=None
        Directory for training checkpoints. Every ``checkpoint_every`` epochs and at the
        end, the whole training state is saved there (atomically, in the safe format of
        :func:`~ldns_sklearn.save_model`). A ``fit`` with the same data and parameters
        resumes from the checkpoint (after a crash or a kill) and ends, on the CPU, in the
        same model as an uninterrupted fit; a checkpoint of another run is refused.
        Resuming needs an int ``random_state`` (with None every fit is a new run).
    checkpoint_every : int, default=10
        Epochs between checkpoints.
    score_mask_prob : float, default=0.2
        Fraction of (bin, neuron) entries that :meth:`score` hides from the encoder and
        scores alone (the co-smoothing idea of the Neural Latents Benchmark), so the score
        measures prediction of unseen spikes rather than copying. 0 scores the plain
        reconstruction, where the encoder sees every entry it is scored on.
    calibrate_rates : bool, default=True
        After training, scale each neuron's decoded rates by the factor that makes their
        sum over the training trials equal its spike count (the Poisson maximum-likelihood
        gain per neuron, with the training trials encoded as generation decodes latents:
        nothing hidden). Training predicts entries hidden by coordinated dropout, so the
        rates of fully seen trials come out a little off (on the benchmark data ~1% high
        on average), which generated data would inherit as biased mean rates. On the
        benchmark's Lorenz data it brought the samples' mean-rate discrepancy from 1.3x to
        1.0x the real-vs-real floor; on its sparse reach data the mean ISI went from 1.2x
        to 1.4x, which weaker latent penalties undo (``docs/benchmarks.md``). False keeps
        the rates as the network decodes them (the paper's model).
    observation : None, "poisson" or estimator, default=None
        Observation model used by :meth:`inverse_transform`. ``None``: a
        :class:`RenewalObservation` (each neuron's refractoriness, regularity or
        bursting, and synchrony the rates miss; Poisson counts where the data are
        Poisson). ``"poisson"``: independent Poisson counts (the paper's default). An
        estimator with ``fit(counts, rates)`` and ``sample(rates, random_state)`` (e.g.
        :class:`AutoregressiveObservation`, the paper's spike-history GLM) is cloned and
        fitted on training counts and their decoded rates (``observation_rates``): of all
        training trials, or of a random sample of them for a large data set (at most
        4,194,304 bin-neuron entries, and at least 100 trials), as its parameters are per
        neuron.
    observation_rates : {"cross-fitted", "encoded"}, default="cross-fitted"
        The rates the observation model is fitted on, for the training trials.
        ``"cross-fitted"``: each neuron's rates decoded from latents its own spikes did not
        inform (neuron ``n`` in fold ``n mod 5``, each neuron its own fold with fewer than
        five; each fold hidden from the encoder in turn, as :meth:`transform` hides missing
        neurons), as the rates of generated latents know nothing of the spikes that will be
        drawn from them. ``"encoded"``: the rates of the training trials encoded whole.
        Rates that saw a neuron's spikes rise where it fired and stay up a while, so a
        spike-history model fitted on them learns a deeper recovery than the neuron has,
        and draws from generated rates come out too regular: on a Brian2 integrate-and-fire
        population (``docs/benchmarks.md``, "Recovery fitted on cross-fitted rates") the
        intervals' coefficient of variation came to 0.812-0.821 against the training
        trials' 0.831, and the mean inter-spike interval to 1.60 times the real-vs-real
        floor; cross-fitted, 0.830-0.836 and 1.31 times. Needs ``mask_prob > 0`` (an
        encoder trained never to see hidden input cannot hide a neuron) and at least two
        neurons; otherwise the encoded rates are used. A :class:`PoissonObservation` learns
        nothing from rates, so neither is decoded for it.
    synchrony : {"observation", "latents"}, default="observation"
        Who carries synchronous events: groups of neurons that fire together within a
        bin far more often than one bin apart (coincidences injected into ongoing
        firing). ``"observation"``: where the observation model draws such events itself
        (a :class:`RenewalObservation` with ``n_factors > 0``, the default, on at least 8
        neurons that each spike in its sample of training trials), the groups
        are found in the training counts (on the sample of trials the observation model
        is fitted on) and their synchronous spikes left to it: the latents learn the rest,
        and the decoded rates add each neuron's mean count of synchronous spikes
        (``synchronous_rate_``). Smooth latents cannot carry a one-bin event; rates that
        blur it count it twice once the observation model adds events. Where no group is
        found (or the observation model draws no events) nothing changes. On the
        benchmark's gamma data with four groups it brought the worst of the nine
        statistics from 2.8-3.0 to 1.3-1.9 times the real-vs-real floor on the three
        data sets that missed (``docs/benchmarks.md``, "Synchronous events left to the
        observation model"). ``"latents"``: the latents learn every spike (the
        paper's model). :meth:`score` scores every spike while the rates predict the
        synchronous ones by their mean count alone, so it is lower where groups are found
        (0.057 bits/spike on ``gamma --seed 1`` of ``benchmarks/bench_fidelity.py``;
        latents carrying the events, which predict a hidden member from the others'
        spikes in the same bin, scored 0.222 on its seed 0): compare the two settings by
        their samples, not by :meth:`score`; candidates that share the setting compare
        as before.
    bin_size : quantities.Quantity or None, default=None
        Bin width used only when ``X`` is given as Neo spike trains (``None``: 5 ms, the
        paper's, with a warning that says so); binned counts are used as they are.

        .. deprecated:: 0.1.0.dev1
            ``bin_size``, and Neo spike trains given straight to ``S4Autoencoder``, warn
            (``FutureWarning``) and will be removed: bin first with
            :class:`~ldns_sklearn.preprocessing.SpikeTrainBinner` (as
            :class:`~ldns_sklearn.LDNSPipeline` and
            :func:`~ldns_sklearn.make_ldns_pipeline` do), so that Neo enters the library
            in one place and generated counts can be turned back into spike trains.
    device : str, default="auto"
        ``"auto"`` (CUDA if available, else CPU), ``"cpu"`` or ``"cuda"``.
    n_threads : int or None, default=1
        CPU threads torch computes on in every method. One by default: on a busy
        laptop, one thread per core made an epoch 2-5 times slower than one thread
        (another process held a core; ``docs/benchmarks.md``), and one thread gives the
        same numbers from run to run. ``-1``: torch's default, one per core (faster on a
        machine with idle cores); ``None``: leave torch's setting (``torch.set_num_threads``)
        as it is. No effect on what a GPU computes.
    torch_compile : bool, default=False
        Train through :func:`torch.compile`: the same computation up to float rounding,
        and not part of a checkpoint's run identity. Off by default: on 2 CPU cores it
        did not pay, nor on a GPU (one H200, small sizes: epochs no faster, 18-36 s to
        compile; ``docs/benchmarks.md``).
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout masks and batch order. With an int, fitting
        twice on the CPU gives identical weights.
    verbose : bool, default=False
        Show a progress bar while training, ticking per batch with the epoch, the loss
        and an ETA (an ``LDNSPipeline(verbose=True)`` shows it too).

    Attributes
    ----------
    n_neurons_ : int
        Number of neurons seen in ``fit``.
    n_features_in_ : int
        The same, under scikit-learn's name for the input width.
    n_latents_ : int
        Number of latent channels.
    history_ : list of dict
        Per-epoch training record (``train_loss``, ``val_loss`` with early stopping,
        ``learning_rate``, ``seconds``).
    n_iter_ : int
        Number of epochs run (over all fits, with ``warm_start``).
    best_epoch_ : int or None
        Epoch whose weights were kept (early stopping), else None.
    rate_gain_ : ndarray of shape (n_neurons,)
        Factor of each neuron's decoded rates (``calibrate_rates``; all 1 without it).
    synchronous_groups_ : ndarray of int of shape (n_neurons,)
        The synchronous group of each neuron whose synchronous spikes are left to the
        observation model (``synchrony``), -1 for none.
    synchronous_min_spikes_ : ndarray of int of shape (n_groups,)
        Members of a group spiking in one bin that make the bin one of its events: each
        of them has one synchronous spike there.
    synchronous_rate_ : ndarray of shape (n_neurons,)
        Each neuron's mean count of synchronous spikes per bin, which the decoded rates
        add to what the latents carry (all 0 without groups).
    observation_ : estimator
        The fitted observation model.
    binner_ : SpikeTrainBinner
        Present only when ``fit`` was given Neo spike trains.
    model_ : object
        The trained network behind the estimator (internal; what ``save_model`` stores).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.poisson(0.5, size=(8, 20, 6))
    >>> ae = S4Autoencoder(n_latents=2, hidden_channels=8, n_blocks=1, max_epochs=2,
    ...                    batch_size=4, device="cpu", random_state=0).fit(X)
    >>> Z = ae.transform(X)
    >>> Z.shape, ae.predict_rates(Z).shape
    ((8, 20, 2), (8, 20, 6))
    >>> ae.inverse_transform(Z, random_state=0).dtype
    dtype('int64')
    """

    _saved_attributes = (
        "n_neurons_", "n_latents_", "model_", "observation_", "binner_",
        "synchronous_groups_", "synchronous_min_spikes_", "synchronous_rate_",
        *TRAINING_RECORD,
    )
    # ldns_sklearn 0.1.0.dev0 saved these; _upgrade_state renames them.
    _legacy_attributes = ("network_", "_network_config")

    _model_class = AutoencoderModel

    # What ``history_`` records, for the y-axis of plot_training_history.
    _loss_label = "masked Poisson NLL + latent penalties"
    _parameter_constraints: ClassVar[dict] = {
        "n_latents": [Interval(Integral, 1, None, closed="left")],
        "hidden_channels": [Interval(Integral, 1, None, closed="left")],
        "n_blocks": [Interval(Integral, 0, None, closed="left")],
        "n_decoder_blocks": [Interval(Integral, 0, None, closed="left")],
        "bidirectional": ["boolean"],
        "state_size": [Interval(Integral, 2, None, closed="left")],
        "mask_prob": [Interval(Real, 0, 1, closed="left")],
        "score_mask_prob": [Interval(Real, 0, 1, closed="left")],
        "calibrate_rates": ["boolean"],
        "l2_penalty": [Interval(Real, 0, None, closed="left")],
        "smoothness_penalty": [Interval(Real, 0, None, closed="left")],
        "observation": [None, StrOptions({"poisson"}), HasMethods(["fit", "sample"])],
        "observation_rates": [StrOptions({"cross-fitted", "encoded"})],
        "synchrony": [StrOptions({"observation", "latents"})],
        "bin_size": [pq.Quantity, None],
        **TRAINING_CONSTRAINTS,
    }

    @property
    def n_features_in_(self) -> int:
        # scikit-learn's name for the input width: the neurons (channels of X) seen in fit.
        return self.n_neurons_

    @property
    def rate_gain_(self) -> np.ndarray:
        # Read from the model, which applies it: one place holds the factors.
        return self.model_.rate_gain.copy()

    def __init__(
        self,
        n_latents=8,
        *,
        hidden_channels=64,
        n_blocks=2,
        n_decoder_blocks=0,
        bidirectional=True,
        state_size=64,
        mask_prob=0.2,
        l2_penalty=0.001,
        smoothness_penalty=0.0,
        score_mask_prob=0.2,
        calibrate_rates=True,
        max_epochs=300,
        batch_size=32,
        learning_rate=1e-3,
        weight_decay=0.01,
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change=10,
        warm_start=False,
        checkpoint_dir=None,
        checkpoint_every=10,
        observation=None,
        observation_rates="cross-fitted",
        synchrony="observation",
        bin_size=None,
        device="auto",
        n_threads=1,
        torch_compile=False,
        random_state=None,
        verbose=False,
    ):
        self.n_latents = n_latents
        self.hidden_channels = hidden_channels
        self.n_blocks = n_blocks
        self.n_decoder_blocks = n_decoder_blocks
        self.bidirectional = bidirectional
        self.state_size = state_size
        self.mask_prob = mask_prob
        self.l2_penalty = l2_penalty
        self.smoothness_penalty = smoothness_penalty
        self.score_mask_prob = score_mask_prob
        self.calibrate_rates = calibrate_rates
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.observation = observation
        self.observation_rates = observation_rates
        self.synchrony = synchrony
        self.bin_size = bin_size
        self.device = device
        self.n_threads = n_threads
        self.torch_compile = torch_compile
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ input handling

    def _counts(self, X, *, fitting: bool) -> Trials:
        """Validated counts from counts or Neo trials, padded where read (so counts given
        as a ``numpy.memmap`` are read in batches, never loaded whole)."""
        neo_input = is_neo_trials(X)
        if fitting and (neo_input or self.bin_size is not None):
            warn_user(
                "S4Autoencoder(bin_size=) and Neo spike trains given straight to "
                "S4Autoencoder are deprecated and will be removed in a future release: bin "
                "with SpikeTrainBinner first, as LDNSPipeline and make_ldns_pipeline do "
                "(LDNSPipeline([('bin', SpikeTrainBinner(bin_size=5 * pq.ms)), ('ae', "
                "S4Autoencoder()), ...])), which also turns generated counts back into "
                "spike trains.",
                FutureWarning,
            )
        if neo_input:
            if fitting:
                bin_size = self.bin_size
                if bin_size is None:
                    bin_size = 5 * pq.ms
                    warn_user(
                        "S4Autoencoder was given Neo spike trains and bin_size=None: they "
                        "are binned at 5 ms. Say the bin you want (S4Autoencoder(bin_size="
                        "5 * pq.ms)), or bin first with SpikeTrainBinner (as LDNSPipeline "
                        "and make_ldns_pipeline do)."
                    )
                self.binner_ = SpikeTrainBinner(bin_size=bin_size).fit(X)
            elif not hasattr(self, "binner_"):
                raise TypeError(
                    "This S4Autoencoder was fitted on binned counts; pass counts, not Neo "
                    "spike trains (or bin them with SpikeTrainBinner first)."
                )
            X = self.binner_.transform(X)
        n_channels = None if fitting else self.n_neurons_
        return Trials(
            check_trials(X, name="X", counts=True, n_channels=n_channels, dtype=None)
        )

    def _check_latents(self, Z):
        check_is_fitted(self)
        return check_trials(Z, name="Z", n_channels=self.n_latents_)

    def _encode(self, padded, lengths, observed=None):
        """Latents; with ``observed``, the other entries hidden as coordinated dropout does."""
        return _finite(self.model_.encode(
            padded, lengths, batch_size=self.batch_size, device=self.device,
            observed=observed, mask_prob=self.mask_prob,
        ), "latents")

    def _decode(self, padded, lengths):
        rates = self.model_.decode(padded, lengths, batch_size=self.batch_size,
                                   device=self.device)
        return _finite(rates + self._synchronous_rate(), "rates")

    def _synchrony(self) -> Synchrony:
        # Files saved before synchronous groups existed have none.
        if not hasattr(self, "synchronous_groups_"):
            return Synchrony.none(self.n_neurons_)
        return Synchrony(self.synchronous_groups_, self.synchronous_min_spikes_)

    def _synchronous_rate(self):
        return getattr(self, "synchronous_rate_", 0.0)

    def _without_synchrony(self, counts: Trials, observed=None) -> Trials:
        """What the encoder reads of ``counts``: less the synchronous spikes (counted on
        the ``observed`` entries only) where there are synchronous groups."""
        synchrony = self._synchrony()
        if synchrony.n_groups == 0:
            return counts
        return TrialsWithoutSynchrony(counts, synchrony, observed)

    def _find_synchrony(self, observation, counts: Trials, rows) -> None:
        """Keep the synchronous groups of the training ``rows`` that ``observation``
        draws events for (``synchrony="observation"``), and their spikes' mean count."""
        synchrony, self.synchronous_rate_ = event_synchrony(
            observation if self.synchrony == "observation" else None, counts, rows
        )
        self.synchronous_groups_, self.synchronous_min_spikes_ = synchrony

    # ----------------------------------------------------------------------- fitting

    @fit_context(prefer_skip_nested_validation=False)
    @restore_on_failure
    @uses_threads
    def fit(self, X, y=None):
        """Train the autoencoder on trials of spike counts.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_bins, n_neurons), list of 2-D arrays, or Neo
            Spike counts per bin (non-negative integers); trials may differ in length.
            Neo trials (a ``neo.Block``, a list of ``neo.Segment`` or of lists of
            ``neo.SpikeTrain``) are binned with ``bin_size`` first. Counts are never
            copied whole: a ``numpy.memmap`` (or a list of them) is read batch by batch,
            so data larger than memory can be trained on.
        y : None
            Ignored.

        Returns
        -------
        self : S4Autoencoder

        Examples
        --------
        >>> import numpy as np, tempfile, pathlib
        >>> ae = S4Autoencoder(n_latents=2, hidden_channels=8, n_blocks=1, max_epochs=1,
        ...                    random_state=0)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = pathlib.Path(folder) / "counts.npy"
        ...     np.save(path, np.random.default_rng(0).poisson(1.0, size=(6, 10, 4)))
        ...     X = np.load(path, mmap_mode="r")             # stays on disk
        ...     ae = ae.fit(X)
        >>> ae.n_features_in_
        4
        """
        self._fit(X)
        return self

    @fit_context(prefer_skip_nested_validation=False)
    @restore_on_failure
    @uses_threads
    def fit_transform(self, X, y=None):
        """Train on ``X`` and return its latents, encoding the training trials once.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_bins, n_neurons), list of 2-D arrays, or Neo
            As for :meth:`fit`.
        y : None
            Ignored.

        Returns
        -------
        Z : ndarray of shape (n_trials, n_bins, n_latents), or list of 2-D arrays
            The same as ``fit(X).transform(X)``.
        """
        return self._fit(X)

    def _fit(self, X):
        """Fit, and return the latents of the training trials (fit needs them anyway)."""
        counts = self._counts(X, fitting=True)
        lengths = counts.padding
        self.n_neurons_ = counts.shape[2]
        self.n_latents_ = self.n_latents
        spec = AutoencoderSpec(
            n_neurons=self.n_neurons_,
            n_latents=self.n_latents,
            hidden_channels=self.hidden_channels,
            n_blocks=self.n_blocks,
            n_decoder_blocks=self.n_decoder_blocks,
            bidirectional=self.bidirectional,
            state_size=self.state_size,
        )
        rng = check_random_state(self.random_state)
        init_seed, train_seed = torch_seed(rng), torch_seed(rng)
        observation = fresh_observation_model(self.observation, rng)
        # Its parameters are per neuron: a sample of trials determines them, and decoded
        # rates of every trial of a large data set would not fit in memory.
        rows = training_sample(len(counts), counts.shape[1] * counts.shape[2], rng)
        self._find_synchrony(observation, counts, rows)
        learned = self._without_synchrony(counts)
        warm = self._is_warm()
        model = self._initial_model(spec, init_seed)
        result = model.fit(
            learned,
            lengths,
            self._training_config(len(counts)),
            device=self.device,
            seed=train_seed,
            mask_prob=self.mask_prob,
            l2_penalty=self.l2_penalty,
            smoothness_penalty=self.smoothness_penalty,
            checkpointing=checkpointing(
                self, (counts, lengths), model.export()["weights"], train_seed
            ),
        )
        self.model_ = model
        self._keep_training_record(result, warm)
        latents = self._encode(learned, lengths)
        if self.calibrate_rates:
            spikes = model.calibrate(learned, latents, lengths, batch_size=self.batch_size,
                                     device=self.device)
            warn_extreme_gains(model.rate_gain, spikes)

        if type(observation).fit is PoissonObservation.fit:
            # It learns nothing from rates: skip decoding every training trial (as large
            # as the data itself, in float64).
            observation.fit(counts.trials)
        else:
            trained = counts.take(rows)
            if self._cross_fits():
                rates = self._cross_fitted_rates(trained)
            else:
                rates = self._decode(latents[rows], None if lengths is None else lengths[rows])
            rates = trained.with_values(rates[:, : trained.shape[1]])
            fit_observation(observation, trained, rates)
        self.observation_ = observation
        return unpad_trials(latents, lengths, counts.ragged)

    def _cross_fits(self) -> bool:
        return (self.observation_rates == "cross-fitted" and self.mask_prob > 0
                and self.n_neurons_ >= 2)

    def _cross_fitted_rates(self, subset: Trials) -> np.ndarray:
        """The padded rates of the training trials ``subset``, each neuron's decoded from
        latents encoded with its fold of neurons hidden (``observation_rates``)."""

        def rates_seeing(observed):
            latents = self._encode(self._without_synchrony(subset, observed), subset.padding,
                                   observed)
            return self._decode(latents, subset.padding)

        return cross_fitted_rates(subset.shape, rates_seeing)

    # ------------------------------------------------------------------ transforms

    @uses_threads
    def transform(self, X, *, observed_bins=None, observed_neurons=None):
        """Encode spike counts into latents (deterministic: no dropout).

        Parts of a recording that are missing can be left out (for in-painting, see
        :meth:`LDNSPipeline.inpaint <ldns_sklearn.LDNSPipeline.inpaint>`): the missing
        bins and neurons are hidden from the encoder as coordinated dropout hides entries
        in training (set to zero, the recorded ones scaled by ``1 / (1 - mask_prob)``),
        so the latents are inferred from the recorded entries alone. Needs a model
        trained with ``mask_prob > 0``. Latents of missing bins are the encoder's guess
        from their neighbours; :meth:`LatentDiffusion.inpaint
        <ldns_sklearn.LatentDiffusion.inpaint>` draws them properly.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_bins, n_neurons), list of 2-D arrays, or Neo
            Spike counts with the neurons seen in ``fit``.
        observed_bins : array-like of bool, optional
            True where bins were recorded: ``(n_bins,)`` for every trial, ``(n_trials,
            n_bins)``, or a list of 1-D masks for trials of different lengths.
        observed_neurons : array-like of bool, optional
            True for recorded neurons: ``(n_neurons,)`` or ``(n_trials, n_neurons)``.

        Returns
        -------
        Z : ndarray of shape (n_trials, n_bins, n_latents), or list of 2-D arrays
            Latents, in the form of ``X`` (a list for ragged input).

        Examples
        --------
        >>> import numpy as np
        >>> X = np.random.default_rng(0).poisson(1.0, size=(6, 10, 4))
        >>> ae = S4Autoencoder(n_latents=2, hidden_channels=8, n_blocks=1, max_epochs=1,
        ...                    random_state=0).fit(X)
        >>> ae.transform(X).shape
        (6, 10, 2)
        >>> Z = ae.transform(X, observed_bins=np.arange(10) < 7,
        ...                  observed_neurons=[True, True, True, False])
        >>> X[:, 7:] = X[..., 3] = 5                          # what is missing is ignored
        >>> bool(np.array_equal(Z, ae.transform(X, observed_bins=np.arange(10) < 7,
        ...                     observed_neurons=[True, True, True, False])))
        True
        """
        check_is_fitted(self)
        counts = self._counts(X, fitting=False)
        bins = neurons = observed = None
        if observed_bins is not None:
            bins = check_observed_bins(observed_bins, counts.lengths)
        if observed_neurons is not None:
            neurons = check_observed_neurons(observed_neurons, len(counts), self.n_neurons_)
        if bins is not None or neurons is not None:
            observed = observed_entries(counts.shape, bins, neurons)
        return self._transform_trials(counts, observed).unpad()

    @uses_threads
    def _transform_trials(self, counts: Trials, observed=None) -> Trials:
        """:meth:`transform` of checked counts in one value; ``observed`` (boolean, padded
        like them) marks the entries recorded, the others are hidden from the encoder."""
        if observed is not None and self.mask_prob == 0:
            raise ValueError(
                "This S4Autoencoder was trained with mask_prob=0, so its encoder never "
                "saw hidden input and cannot encode a recording with missing bins or "
                "neurons; refit with mask_prob > 0 (e.g. the default 0.2)."
            )
        return counts.with_values(
            self._encode(self._without_synchrony(counts, observed), counts.padding, observed)
        )

    @uses_threads
    def predict_rates(self, Z):
        """Decode latents into firing rates (expected spike counts per bin).

        Parameters
        ----------
        Z : array-like of shape (n_trials, n_bins, n_latents) or list of 2-D arrays
            Latents, e.g. from :meth:`transform` or from a diffusion model.

        Returns
        -------
        rates : ndarray of shape (n_trials, n_bins, n_neurons), or list of 2-D arrays
        """
        latents = Trials(self._check_latents(Z))
        return unpad_trials(
            self._decode(latents, latents.padding), latents.padding, latents.ragged
        )

    @uses_threads
    def inverse_transform(self, Z, random_state=None, *, counts=None, observed=None):
        """Draw spike counts for latents through the observation model.

        Parameters
        ----------
        Z : array-like of shape (n_trials, n_bins, n_latents) or list of 2-D arrays
            Latents.
        random_state : int, RandomState instance or None, default=None
            Seed of the spike draws.
        counts, observed : trials of shape (n_trials, n_bins, n_neurons), optional
            Recorded counts and a boolean mask of the entries to keep: the result holds
            ``counts`` there and draws elsewhere.

            .. deprecated:: 0.1.0.dev1
                ``counts`` and ``observed`` warn (``FutureWarning``) and will be removed:
                complete recordings with :meth:`LDNSPipeline.inpaint
                <ldns_sklearn.LDNSPipeline.inpaint>`, which keeps their recorded entries.

        Returns
        -------
        counts : ndarray of int64 of shape (n_trials, n_bins, n_neurons), or list

        Examples
        --------
        >>> import numpy as np
        >>> X = np.random.default_rng(0).poisson(1.0, size=(6, 10, 4))
        >>> ae = S4Autoencoder(n_latents=2, hidden_channels=8, n_blocks=1, max_epochs=1,
        ...                    random_state=0).fit(X)
        >>> drawn = ae.inverse_transform(ae.transform(X), random_state=0)
        >>> drawn.shape, drawn.dtype
        ((6, 10, 4), dtype('int64'))
        """
        latents = Trials(self._check_latents(Z))
        kept = None
        if counts is not None or observed is not None:
            kept, observed = deprecated_kept("S4Autoencoder.inverse_transform", counts,
                                             observed, latents.lengths, self.n_neurons_)
        return self._inverse_trials(latents, random_state, kept, observed).unpad()

    @uses_threads
    def _inverse_trials(self, latents: Trials, random_state, kept=None, observed=None) -> Trials:
        """:meth:`inverse_transform` of latents in one value; where ``observed`` (padded
        like them) is True, the draw holds the recorded counts ``kept`` instead."""
        rates = latents.with_values(self._decode(latents.padded, latents.padding))
        sample_trials = private_route(self.observation_, "sample", "_sample_trials")
        if sample_trials:
            return sample_trials(rates, random_state, kept, observed)
        # An observation model of the user's speaks only the public form; the recorded
        # entries are then kept over its draws (its history does not hear them).
        drawn = self.observation_.sample(rates.unpad(), random_state=random_state)
        drawn = Trials(check_trials(drawn, name="the observation model's sample", counts=True,
                                    n_channels=self.n_neurons_, dtype=np.int64), np.int64)
        return drawn if kept is None else drawn.with_values(np.where(observed, kept, drawn.padded))

    @uses_threads
    def score(self, X, y=None):
        """Held-out Poisson log-likelihood of ``X`` in bits per spike over constant rates.

        With ``score_mask_prob = p > 0`` (the default), each (bin, neuron) entry of ``X`` is
        hidden from the encoder with probability ``p`` (hidden entries set to 0, the rest
        scaled by ``1 / (1 - p)``, as in coordinated dropout), the rates are decoded from
        what remains, and only the hidden entries are scored. This is repeated for
        ``ceil(1 / p)`` independent masks, so every entry is scored about once. The masks
        are seeded: the same ``X`` always gets the same score. An autoencoder cannot raise
        this score by copying its input through, so it is comparable across ``n_latents``
        (the co-smoothing idea of the Neural Latents Benchmark).

        With ``score_mask_prob = 0`` the whole of ``X`` is encoded and scored (the paper's
        validation loss): usually higher than the masked score, and it rewards copying.

        In both cases the score is ``(LL(rates) - LL(baseline)) / (n_spikes · ln 2)`` over
        the scored entries, where the baseline gives every neuron its mean count per bin
        in ``X`` (the co-bps convention). Higher is better; 0 means no better than
        constant rates.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_bins, n_neurons), list of 2-D arrays, or Neo
            Held-out spike counts.
        y : None
            Ignored.

        Returns
        -------
        score : float

        Examples
        --------
        >>> import numpy as np
        >>> X = np.random.default_rng(0).poisson(1.0, size=(8, 20, 6))
        >>> ae = S4Autoencoder(n_latents=2, hidden_channels=8, n_blocks=1, max_epochs=2,
        ...                    random_state=0).fit(X)
        >>> bool(ae.score(X) == ae.score(X))            # seeded masks: deterministic
        True
        >>> full = ae.set_params(score_mask_prob=0).score(X)   # the encoder sees what it scores
        """
        check_is_fitted(self)
        counts = self._counts(X, fitting=False)
        padded, lengths = counts[:], counts.padding
        if padded.sum() == 0:
            raise ValueError("X contains no spikes; bits per spike are undefined.")
        valid = valid_bins(counts.lengths, padded.shape[1])[..., None]
        mean_rate = padded.sum(axis=(0, 1)) / valid.sum()
        ll_baseline = poisson_log_likelihood(padded, mean_rate)

        # The encoder reads the counts less their synchronous spikes; every spike is scored.
        read = padded if self._synchrony().n_groups == 0 else self._without_synchrony(counts)[:]
        if self.score_mask_prob > 0:
            masks = (
                (hidden, rates + self._synchronous_rate())
                for hidden, rates in self.model_.held_out_rates(
                    read,
                    lengths,
                    mask_prob=self.score_mask_prob,
                    batch_size=self.batch_size,
                    device=self.device,
                )
            )
        else:
            # The plain reconstruction: the encoder sees every entry it is scored on.
            rates = self._decode(self._encode(read, lengths), lengths)
            masks = [(np.ones(padded.shape, dtype=bool), rates)]
        gain, n_spikes = 0.0, 0.0
        for hidden, rates in masks:
            scored = hidden & valid
            # A rate that underflowed to 0 where a spike happened would give -inf.
            rates = np.maximum(rates, np.finfo(np.float32).tiny)
            ll_model = poisson_log_likelihood(padded, rates)
            gain += float(((ll_model - ll_baseline) * scored).sum())
            n_spikes += float((padded * scored).sum())
        if n_spikes == 0:
            raise ValueError(
                "No spike fell on a scored entry of X; bits per spike are undefined (pass "
                "more data, or a larger score_mask_prob)."
            )
        return gain / (n_spikes * math.log(2.0))

    # ------------------------------------------------------------------- pickling

    @classmethod
    def _upgrade_state(cls, state):
        # ldns_sklearn 0.1.0.dev0 (file format 1) kept the weights in ``network_`` and the
        # network's arguments in ``_network_config``: the export of today's model, split.
        if "network_" in state:
            state["model_"] = {
                "spec": state.pop("_network_config"),
                "weights": state.pop("network_"),
            }
        return state

    def _check_loaded_state(self):
        """Refuse declared sizes that disagree with the network (see ``load_model``)."""
        if not hasattr(self, "model_"):
            return
        spec = self.model_.spec
        check_declared(self, "its network", n_neurons_=spec.n_neurons, n_latents_=spec.n_latents)
        for step in (getattr(self, "observation_", None), getattr(self, "binner_", None)):
            if hasattr(step, "n_neurons_"):
                check_declared(step, "the autoencoder's network", n_neurons_=spec.n_neurons)
        synchrony = ("synchronous_groups_", "synchronous_min_spikes_", "synchronous_rate_")
        held = [name for name in synchrony if hasattr(self, name)]
        if held and len(held) < len(synchrony):
            raise ValueError(f"S4Autoencoder holds {', '.join(held)} without "
                             f"{', '.join(sorted(set(synchrony) - set(held)))}.")
        if held:
            check_declared(self, "its network", synchronous_groups_=(spec.n_neurons,),
                           synchronous_rate_=(spec.n_neurons,))
            check_synchrony(Synchrony(self.synchronous_groups_, self.synchronous_min_spikes_),
                            self.synchronous_rate_, "S4Autoencoder.")
