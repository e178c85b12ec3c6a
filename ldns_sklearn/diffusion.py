"""Latent diffusion over the autoencoder's latents: ``LatentDiffusion``."""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._backend.device import torch_seed
from ._backend.latent_diffusion import DenoiserSpec, LatentDiffusionModel
from ._backend.samplers import SAMPLERS
from ._backend.schedule import LOSS_WEIGHTINGS, PREDICTIONS, SCHEDULES
from ._checkpoint import checkpointing
from ._estimator import (
    TRAINING_CONSTRAINTS,
    TRAINING_RECORD,
    SavableMixin,
    TorchTrainedMixin,
    check_declared,
    restore_on_failure,
    shows_progress,
    uses_threads,
)
from ._masks import fill_missing
from ._memory import check_fits_in_memory
from ._sklearn_compat import Interval, StrOptions, fit_context
from ._standardisation import (
    LatentStandardisation,
    check_fitted_condition,
    scaled_conditions,
    stacked_bins,
    standardised_latents,
)
from ._trials import Trials
from ._validation import (
    check_condition,
    check_count,
    check_trials,
    n_conditions,
    trial_lengths,
)

__all__ = ["LatentDiffusion"]

# The denoising targets (noise or velocity) of standardised latents have unit variance, so
# predicting zero scores a loss of about 1; an epoch averaging 100 times that has diverged
# (a loss can blow up by 1e25 and stay finite).
DIVERGED_LOSS = 100.0
# Fewest steps of the linear schedule: its largest beta, 20 / T, stays at most 0.2.
MIN_LINEAR_STEPS = 100


class LatentDiffusion(SavableMixin, TorchTrainedMixin, BaseEstimator):
    """Denoising diffusion model of latent trajectories, the second stage of LDNS.

    Learns the distribution of latent time series ``(n_bins, n_latents)`` (e.g. from
    :class:`~ldns_sklearn.S4Autoencoder`) with a DDPM (Ho et al. 2020): latents are
    standardised per channel (then clipped at ±5 standard deviations, as in the paper), a
    denoiser of bidirectional S4 blocks with adaptive-norm time-step conditioning
    (Kapoor, Schulz et al. 2024) is trained to predict the noise added at ``T =
    n_diffusion_steps`` noise levels, and :meth:`sample` turns Gaussian noise into new
    latents, undoing the standardisation.

    Conditions ``y`` (optional) are of two kinds: a per-trial vector ``(n_trials,
    n_features)`` (e.g. reach direction) enters through an embedding added to the time-step
    embedding; a time series aligned to the bins ``(n_trials, n_bins, n_features)`` (or a
    ragged list; e.g. hand velocity) enters as extra input channels. Both are standardised.

    Parameters
    ----------
    hidden_channels : int, default=64
        Width of the denoiser. The defaults (64 wide, 2 blocks, 200 epochs, batches of 32)
        train on a CPU in minutes; the paper's size is ``hidden_channels=64, n_blocks=4``
        trained for 1000 epochs (a GPU; see :func:`~ldns_sklearn.make_ldns_pipeline`
        ``preset="paper"``).
    n_blocks : int, default=2
        Number of denoiser blocks.
    state_size : int, default=64
        State size of each S4 kernel.
    n_diffusion_steps : int, default=1000
        Number of noise levels ``T`` of the training schedule.
    noise_schedule : {"cosine", "linear"}, default="cosine"
        ``"cosine"`` (Nichol & Dhariwal 2021): defined through ``t / T``, so any ``T`` runs
        from nearly clean latents to pure noise. ``"linear"``: the DDPM betas of the paper
        (1e-4 to 0.02 for ``T = 1000``, scaled by ``1000 / T`` otherwise; needs ``T >= 100``).
    prediction : {"v", "epsilon"}, default="v"
        What the denoiser predicts: the velocity ``v = alpha_t eps - sigma_t z_0``
        (Salimans & Ho 2022), or the noise ``eps`` as in DDPM and the paper.
    loss_weighting : {"uniform", "high-noise"}, default="uniform"
        How the training loss weighs the noise levels. ``"uniform"``: the squared error of
        the prediction counts the same at every level (DDPM's "simple" loss).
        ``"high-noise"``: each error is weighted by the noise variance ``sigma_t^2``
        (normalised to average 1); with ``prediction="v"`` that is the squared error of
        the clean latents the network implies. It favours the high noise levels, where
        the overall spread of a sample is decided. Data-dependent: on the benchmark's
        rotation data, whose samples are too narrow with the uniform loss, it brought the
        population spike-count KL of samples from 2.5x to 1.6x the real-vs-real floor; on
        its Lorenz data, whose spread the uniform loss already matches, the KL rose from
        2.4x to 3.5x (``docs/benchmarks.md``). Choose it with a grid search on
        :func:`~ldns_sklearn.metrics.make_generation_scorer`.
        :meth:`score` always uses the uniform weighting, so it compares models trained
        either way on one scale.
    sampler : {"dpm-solver++-sde", "dpm-solver++", "ddim", "ddpm"}, default="dpm-solver++-sde"
        ``"ddpm"``: ancestral sampling through all ``T`` steps (what the paper does; slow).
        ``"dpm-solver++-sde"``: a second-order solver of the same stochastic process DDPM
        simulates, in ``n_sampling_steps`` steps; at 50 steps its samples differ from
        DDPM's by 0.8-1.4x what two real data sets differ by
        (``benchmarks/bench_fidelity.py``). ``"dpm-solver++"``: the deterministic
        (probability-flow ODE) version; ``"ddim"``: DDIM on evenly spaced
        steps with noise ``eta``. The deterministic samplers carry the denoiser's errors
        along and can differ from DDPM for a model that is not trained to convergence.
        Every sampler bounds its clean-latent estimate to the per-channel range of the
        training latents, so samples never leave the range the model was trained on.
    n_sampling_steps : int, default=50
        Number of denoiser evaluations per sample for the fast samplers (at most
        ``n_diffusion_steps``); ignored by ``"ddpm"``.
    eta : float, default=0.0
        DDIM noise scale: 0 is deterministic DDIM, 1 with all steps equals DDPM. Used only
        by ``"ddim"``.
    condition_dropout : float, default=0.0
        Fraction of trials of each training batch trained without their condition
        (classifier-free guidance, Ho & Salimans 2022; needs a condition ``y``). The one
        network then also learns the unconditional distribution: :meth:`sample` without
        ``y`` draws unconditional samples, and ``guidance_scale`` can sharpen the
        conditional ones. 0.1-0.2 is typical.
    guidance_scale : float, default=1.0
        Strength of the condition when sampling a model fitted with ``condition_dropout >
        0``: each step uses ``uncond + guidance_scale * (cond - uncond)`` of the two
        predictions (two denoiser evaluations per step). 1 is the plain conditional model;
        larger values follow the condition more closely at the cost of diversity; 0 is
        unconditional. Only conditional sampling uses it.
    inpaint_fraction : float, default=0.0
        Fraction of trials of each training batch shown the clean latents of part of
        their bins (a prefix, a suffix, all but one stretch, or scattered bins), so the
        network learns to fill in missing bins given recorded ones: :meth:`inpaint`
        needs a model fitted with ``inpaint_fraction > 0``. The other trials train the
        model as before, so the one network does both; the benchmarks and the reach
        example use 0.5 (``docs/model.md`` says why this method and not RePaint or reconstruction
        guidance; on the reach example it left the velocity-conditioned model's decoding
        R² unchanged, ``docs/benchmarks.md``).
    ema_decay : float or None, default=0.995
        Decay of the exponential moving average of the weights, which is what sampling and
        scoring use. None: use the final weights. Short runs need a smaller decay (the
        average remembers about ``1 / (1 - ema_decay)`` optimiser steps).
    max_epochs : int, default=200
        Number of passes over the training trials.
    batch_size : int, default=32
        Trials per optimisation step (also per step of :meth:`score`).
    learning_rate : float, default=8e-3
        Peak learning rate of AdamW (linear warm-up over 5% of the steps, then cosine decay).
        The default is high for a diffusion model on purpose: at the CPU budget (a few
        thousand steps) the denoiser is far from converged, and 8e-3 instead of 1e-3 cut the
        population spike-count KL of samples from 5.8x to 3.1x the real-vs-real floor on
        the benchmark's rotation data (though it rose from 1.6x to 2.7x on its Lorenz data;
        ``docs/benchmarks.md``). The paper trains 1000 epochs at 1e-3
        (``make_ldns_pipeline(preset="paper")`` does too).
    weight_decay : float, default=0.0
        AdamW weight decay (not applied to biases, norms and state-space parameters).
    early_stopping : bool or "auto", default=False
        Hold out ``validation_fraction`` of the trials, stop when their denoising loss has
        not improved for ``n_iter_no_change`` epochs and keep the best epoch's weights.
        ``"auto"`` does so when at least 20 trials are held out, as the autoencoder's
        default does (not measured for the denoiser, whose defaults train all epochs).
    validation_fraction : float, default=0.1
        Fraction of trials held out when early stopping is on.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.
    warm_start : bool, default=False
        If True and the estimator is fitted, ``fit`` continues training the fitted
        network for ``max_epochs`` more epochs (with a fresh optimizer and learning-rate
        schedule) instead of starting anew; ``history_`` grows. The data must have the
        fitted shape. The standardisation of the latents learnt by the first fit is kept.
    checkpoint_dir : str, path or None, default=None
        Directory for training checkpoints. Every ``checkpoint_every`` epochs and at the
        end, the whole training state is saved there (atomically, in the safe format of
        :func:`~ldns_sklearn.save_model`). A ``fit`` with the same data and parameters
        resumes from the checkpoint (after a crash or a kill) and ends, on the CPU, in the
        same model as an uninterrupted fit; a checkpoint of another run is refused.
        Resuming needs an int ``random_state`` (with None every fit is a new run).
    checkpoint_every : int, default=10
        Epochs between checkpoints.
    sample_batch_size : int, default=256
        Trials denoised at once by :meth:`sample`; bounds the memory of sampling.
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
        Seeds weight initialisation, noise levels, noise and batch order. With an int,
        fitting twice on the CPU gives identical weights.
    verbose : bool, default=False
        Show progress bars while training (per batch, with the epoch, the loss and an ETA)
        and sampling (an ``LDNSPipeline(verbose=True)`` shows them too).

    Attributes
    ----------
    n_latents_ : int
        Number of latent channels seen in ``fit``.
    n_features_in_ : int
        The same, under scikit-learn's name for the input width.
    latent_mean_, latent_scale_ : ndarray of shape (``n_latents_``,)
        Per-channel mean and standard deviation used to standardise the latents.
    clipped_fraction_ : float
        Fraction of standardised training values that were clipped at ±5.
    latent_range_ : ndarray of shape (2, ``n_latents_``)
        Per-channel minimum and maximum of the (clipped) training latents: the range the
        samplers keep samples in.
    train_lengths_ : ndarray of shape (n_trials,)
        Number of bins of each training trial (lengths for ``sample(n_bins=None)``).
    condition_kind_ : {"trial", "series"} or None
        Kind of the condition ``y`` given to ``fit`` (None: unconditional).
    n_condition_features_ : int
        Number of condition features (0 when unconditional).
    history_ : list of dict
        Per-epoch training record (``train_loss``, ``val_loss`` with early stopping,
        ``learning_rate``, ``seconds``).
    n_iter_ : int
        Number of epochs run (over all fits, with ``warm_start``).
    best_epoch_ : int or None
        Epoch whose weights were kept (early stopping), else None.
    model_ : object
        The trained denoiser and its noise schedule (internal; what ``save_model``
        stores).

    See Also
    --------
    ldns_sklearn.S4Autoencoder : Produces the latents this model learns.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> Z = np.cumsum(rng.normal(size=(16, 12, 2)), axis=1)    # 16 trials, 12 bins
    >>> model = LatentDiffusion(hidden_channels=8, n_blocks=1, max_epochs=2,
    ...                         n_sampling_steps=5, random_state=0).fit(Z)
    >>> model.sample(3, random_state=0).shape
    (3, 12, 2)
    >>> model.sample(2, n_bins=30, random_state=0).shape       # longer than in training
    (2, 30, 2)
    """

    _saved_attributes = (
        "n_latents_", "latent_mean_", "latent_scale_", "latent_range_", "clipped_fraction_",
        "train_lengths_", "condition_kind_", "n_condition_features_", "condition_scaler_",
        "model_", *TRAINING_RECORD,
    )

    _model_class = LatentDiffusionModel

    # What ``history_`` records, for the y-axis of plot_training_history.
    _loss_label = "denoising loss (MSE)"
    _parameter_constraints: ClassVar[dict] = {
        "hidden_channels": [Interval(Integral, 1, None, closed="left")],
        "n_blocks": [Interval(Integral, 0, None, closed="left")],
        "state_size": [Interval(Integral, 2, None, closed="left")],
        "n_diffusion_steps": [Interval(Integral, 1, None, closed="left")],
        "noise_schedule": [StrOptions(set(SCHEDULES))],
        "prediction": [StrOptions(set(PREDICTIONS))],
        "loss_weighting": [StrOptions(set(LOSS_WEIGHTINGS))],
        "sampler": [StrOptions(set(SAMPLERS))],
        "n_sampling_steps": [Interval(Integral, 1, None, closed="left")],
        "eta": [Interval(Real, 0, None, closed="left")],
        "condition_dropout": [Interval(Real, 0, 1, closed="left")],
        "guidance_scale": [Interval(Real, 0, None, closed="left")],
        "inpaint_fraction": [Interval(Real, 0, 1, closed="left")],
        "ema_decay": [Interval(Real, 0, 1, closed="left"), None],
        "sample_batch_size": [Interval(Integral, 1, None, closed="left")],
        **TRAINING_CONSTRAINTS,
    }

    @property
    def n_features_in_(self) -> int:
        # scikit-learn's name for the input width: the latent channels seen in fit.
        return self.n_latents_

    def __init__(
        self,
        *,
        hidden_channels=64,
        n_blocks=2,
        state_size=64,
        n_diffusion_steps=1000,
        noise_schedule="cosine",
        prediction="v",
        loss_weighting="uniform",
        sampler="dpm-solver++-sde",
        n_sampling_steps=50,
        eta=0.0,
        condition_dropout=0.0,
        guidance_scale=1.0,
        inpaint_fraction=0.0,
        ema_decay=0.995,
        max_epochs=200,
        batch_size=32,
        learning_rate=8e-3,
        weight_decay=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        warm_start=False,
        checkpoint_dir=None,
        checkpoint_every=10,
        sample_batch_size=256,
        device="auto",
        n_threads=1,
        torch_compile=False,
        random_state=None,
        verbose=False,
    ):
        self.hidden_channels = hidden_channels
        self.n_blocks = n_blocks
        self.state_size = state_size
        self.n_diffusion_steps = n_diffusion_steps
        self.noise_schedule = noise_schedule
        self.prediction = prediction
        self.loss_weighting = loss_weighting
        self.sampler = sampler
        self.n_sampling_steps = n_sampling_steps
        self.eta = eta
        self.condition_dropout = condition_dropout
        self.guidance_scale = guidance_scale
        self.inpaint_fraction = inpaint_fraction
        self.ema_decay = ema_decay
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
        self.sample_batch_size = sample_batch_size
        self.device = device
        self.n_threads = n_threads
        self.torch_compile = torch_compile
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ data helpers

    def _standardised_latents(self, latents: Trials) -> np.ndarray:
        """Checked latents standardised, clipped and padded (see ``standardised_latents``)."""
        return standardised_latents(latents, self.latent_mean_, self.latent_scale_)[0]

    def _check_y(self, y, n_trials, lengths, what, *, unconditional_ok=False):
        """``(kind, values)`` of a condition, checked against the fitted one (see
        :func:`~ldns_sklearn._standardisation.check_fitted_condition`)."""
        return check_fitted_condition(
            y, n_trials, lengths, what, kind=self.condition_kind_,
            n_features=self.n_condition_features_,
            unconditional_ok=unconditional_ok and self.model_.spec.null_condition,
            asked_unconditional=unconditional_ok,
        )

    def _scaled_conditions(self, kind, values):
        """Standardised ``(trial, series)`` conditions (series padded) of checked values."""
        return scaled_conditions(kind, values, getattr(self, "condition_scaler_", None))

    def _check_loaded_state(self):
        """Refuse declared sizes that disagree with the network (see ``load_model``)."""
        if not hasattr(self, "model_"):
            return
        spec = self.model_.spec
        n = spec.n_latents
        check_declared(
            self, "its network", n_latents_=n, latent_mean_=(n,), latent_scale_=(n,),
            latent_range_=(2, n),
        )
        trial, series = spec.n_trial_features, spec.n_series_features
        check_declared(
            self, "its network", n_condition_features_={"trial": trial, "series": series}.get(
                self.condition_kind_, 0
            ),
        )
        if self.condition_kind_ not in ("trial", "series", None) or (
            (self.condition_kind_ is None) != (trial == series == 0)
        ):
            raise ValueError(
                f"LatentDiffusion.condition_kind_ = {self.condition_kind_!r} disagrees with "
                "its network's conditions."
            )
        scaler = getattr(self, "condition_scaler_", None)
        if scaler is not None:
            k = self.n_condition_features_
            check_declared(scaler, "LatentDiffusion's network", mean_=(k,), scale_=(k,))
        lengths = np.asarray(self.train_lengths_)
        if lengths.ndim != 1 or lengths.size == 0 or lengths.dtype.kind not in "iu" or (
            lengths.min() < 1
        ):
            raise ValueError("LatentDiffusion.train_lengths_ must be positive trial lengths.")
        if not np.all(self.latent_scale_ > 0):
            raise ValueError("LatentDiffusion.latent_scale_ must be positive.")

    # ----------------------------------------------------------------------- fitting

    @fit_context(prefer_skip_nested_validation=True)
    @restore_on_failure
    @uses_threads
    def fit(self, Z, y=None):
        """Train the denoiser on latent trajectories.

        Parameters
        ----------
        Z : array-like of shape (n_trials, n_bins, n_latents) or list of 2-D arrays
            Latents of each trial; trials may differ in length (a list of
            ``(n_bins_i, n_latents)`` arrays): shorter trials are padded and masked, so
            the loss and the S4 layers only see each trial's own bins.
        y : array-like, optional
            Condition: ``(n_trials, n_features)`` (or ``(n_trials,)``) per trial, or
            ``(n_trials, n_bins, n_features)`` / a list of ``(n_bins_i, n_features)``
            aligned to the bins of ``Z``.

        Returns
        -------
        self : LatentDiffusion
        """
        self._check_schedule()
        if self.condition_dropout > 0 and y is None:
            raise ValueError(
                f"condition_dropout={self.condition_dropout} trains some trials without their "
                "condition y, but fit got no y; pass y, or set condition_dropout=0 for an "
                "unconditional model."
            )
        warm = self._is_warm()
        latents = Trials(check_trials(Z, name="Z", n_channels=self.n_latents_ if warm else None))
        lengths = latents.lengths
        if warm:
            # Continue the fitted network in the units it was trained in.
            kind, values = self._check_y(y, len(lengths), lengths, "Z")
            z = self._standardised_latents(latents)
        else:
            kind, values, z = self._learn_standardisation(latents, y)
        trial, series = self._scaled_conditions(kind, values)
        rng = check_random_state(self.random_state)
        init_seed, train_seed = torch_seed(rng), torch_seed(rng)
        spec = DenoiserSpec(
            n_latents=self.n_latents_,
            hidden_channels=self.hidden_channels,
            n_blocks=self.n_blocks,
            state_size=self.state_size,
            n_diffusion_steps=self.n_diffusion_steps,
            noise_schedule=self.noise_schedule,
            prediction=self.prediction,
            n_trial_features=self.n_condition_features_ if self.condition_kind_ == "trial" else 0,
            n_series_features=(
                self.n_condition_features_ if self.condition_kind_ == "series" else 0
            ),
            null_condition=self.condition_dropout > 0,
            inpainting=self.inpaint_fraction > 0,
        )
        model = self._initial_model(spec, init_seed)
        result = model.fit(
            z,
            lengths,
            trial,
            series,
            self._training_config(len(z), ema_decay=self.ema_decay, max_loss=DIVERGED_LOSS),
            device=self.device,
            seed=train_seed,
            condition_dropout=self.condition_dropout,
            loss_weighting=self.loss_weighting,
            inpaint_fraction=self.inpaint_fraction,
            checkpointing=checkpointing(
                self, (z, lengths, trial, series), model.export()["weights"], train_seed
            ),
        )
        self.model_ = model
        self.train_lengths_ = lengths
        self._keep_training_record(result, warm)
        return self

    def _learn_standardisation(self, latents: Trials, y):
        """Fit the latent and condition scalers; ``(kind, values)`` of the checked ``y``, and
        the latents standardised."""
        lengths = latents.lengths
        standardisation, z = LatentStandardisation.learn(latents)
        self.n_latents_ = len(standardisation.mean)
        self.latent_mean_, self.latent_scale_ = standardisation.mean, standardisation.scale
        self.latent_range_ = standardisation.range
        self.clipped_fraction_ = standardisation.clipped_fraction

        self.condition_kind_, self.n_condition_features_ = None, 0
        kind = values = None
        if y is not None:
            kind, values = check_condition(y, len(lengths), lengths)
            self.condition_kind_ = kind
            self.condition_scaler_ = StandardScaler().fit(
                values if kind == "trial" else stacked_bins(values)
            )
            self.n_condition_features_ = int(self.condition_scaler_.n_features_in_)
        return kind, values, z

    def _check_schedule(self):
        """Cross-parameter checks of the schedule, run before any training."""
        self._check_sampling_steps()
        if self.noise_schedule == "linear" and self.n_diffusion_steps < MIN_LINEAR_STEPS:
            raise ValueError(
                f"noise_schedule='linear' needs n_diffusion_steps >= {MIN_LINEAR_STEPS}, got "
                f"{self.n_diffusion_steps}: its betas (the paper's, for T = 1000) scale as "
                "1000 / T, and with fewer steps each step destroys too much of the signal for "
                "Gaussian reverse steps. Use noise_schedule='cosine', sound for any T."
            )

    def _check_sampling_steps(self):
        # Also checked when sampling: set_params may change the sampler after fitting.
        if self.sampler != "ddpm" and self.n_sampling_steps > self.n_diffusion_steps:
            raise ValueError(
                f"n_sampling_steps={self.n_sampling_steps} exceeds n_diffusion_steps="
                f"{self.n_diffusion_steps}: a sampler cannot take more steps than the "
                "schedule has noise levels."
            )

    # ---------------------------------------------------------------------- sampling

    def _sample_lengths(self, n_samples, n_bins, rng):
        if n_bins is not None:
            return np.full(n_samples, check_count(n_bins, "n_bins"), dtype=np.int64)
        if np.all(self.train_lengths_ == self.train_lengths_[0]):
            return np.full(n_samples, self.train_lengths_[0], dtype=np.int64)
        return rng.choice(self.train_lengths_, size=n_samples, replace=True)

    def _check_sample_memory(self, n_samples, n_bins, per_bin_values=0):
        """Refuse, before any work, a draw whose output cannot fit in memory.

        ``per_bin_values`` counts the float64 values per bin that callers add to the
        latents (a pipeline's rates and counts).
        """
        n_samples = check_count(n_samples, "n_samples")
        length = int(np.max(self.train_lengths_)) if n_bins is None else check_count(
            n_bins, "n_bins"
        )
        values = float(n_samples) * length * (self.n_latents_ + per_bin_values)
        check_fits_in_memory(
            8 * values,
            f"sampling {n_samples} trials of {length} bins",
            "Draw fewer trials at a time (several calls of sample with different "
            "random_state), or shorter ones (n_bins).",
        )

    def sample(self, n_samples=None, y=None, n_bins=None, random_state=None):
        """Generate new latent trajectories.

        Parameters
        ----------
        n_samples : int, optional
            Number of trials to draw. May be omitted when ``y`` gives one condition per
            trial; if both are given they must agree.
        y : array-like, optional
            Condition of each trial to draw, of the kind given to ``fit``: ``(n_samples,
            n_features)`` per trial, or a time series ``(n_samples, n_bins, n_features)`` /
            list of ``(n_bins_i, n_features)`` that also sets the length of each trial.
            Required for a conditional model, unless it was fitted with
            ``condition_dropout > 0``: then ``y=None`` draws unconditional samples. An
            error for an unconditional model.
        n_bins : int, optional
            Length of the trials in bins. Default: the training length if all training
            trials share one, otherwise lengths drawn (with replacement) from the training
            trials' lengths, and the result is a ragged list. Any length works, including
            longer ones than in training: the S4 kernels are defined for every length
            (how realistic the extra bins are depends on how stationary the data is).
        random_state : int, RandomState instance or None, default=None
            Seeds the noise (and drawn lengths). With an int, sampling is reproducible on
            the CPU for the same ``sample_batch_size``.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_bins, ``n_latents_``) or list of ndarray
            Latents in the units of the training latents; a list of ``(n_bins_i,
            n_latents_)`` arrays when trial lengths differ.

        Raises
        ------
        MemoryError
            Before any work, if the samples cannot fit in the memory the machine has
            free (the message gives the size in GB; the error is also a ValueError).

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> Z = rng.normal(size=(12, 10, 2))
        >>> reach = rng.normal(size=(12, 2))                  # a per-trial condition
        >>> model = LatentDiffusion(hidden_channels=8, n_blocks=1, max_epochs=1,
        ...                         n_sampling_steps=3, random_state=0).fit(Z, reach)
        >>> model.sample(y=reach[:4], random_state=1).shape
        (4, 10, 2)
        >>> # trained with condition dropout, the same model also samples without y, and
        >>> # guidance_scale > 1 follows the condition more closely
        >>> guided = LatentDiffusion(hidden_channels=8, n_blocks=1, max_epochs=1,
        ...                          n_sampling_steps=3, condition_dropout=0.1,
        ...                          guidance_scale=2.0, random_state=0).fit(Z, reach)
        >>> guided.sample(3, random_state=1).shape, guided.sample(y=reach[:2]).shape
        ((3, 10, 2), (2, 10, 2))
        """
        return self._sample_trials(
            n_samples, y, n_bins, check_random_state(random_state)
        ).unpad()

    @uses_threads
    def _sample_trials(self, n_samples, y, n_bins, rng) -> Trials:
        """What :meth:`sample` draws, as one padded value (for the pipeline's chain)."""
        check_is_fitted(self)
        self._validate_params()
        self._check_sampling_steps()
        if y is None:
            if n_samples is None:
                raise ValueError("n_samples is required when no condition y is given.")
            n_samples = check_count(n_samples, "n_samples")
        else:
            n_rows = n_conditions(y)
            if n_samples is None:
                n_samples = n_rows
            elif check_count(n_samples, "n_samples") != n_rows:
                raise ValueError(
                    f"n_samples={n_samples} but y holds conditions for {n_rows} trials; "
                    "give one condition per sample (or omit n_samples)."
                )
            n_samples = check_count(n_samples, "the number of conditions in y")
        self._check_sample_memory(n_samples, n_bins)
        kind, values = self._check_y(y, n_samples, None, "the samples", unconditional_ok=True)
        if kind == "series":
            # A time-series condition sets the length of each trial.
            series_lengths = trial_lengths(values)
            if n_bins is not None and np.any(series_lengths != n_bins):
                raise ValueError(
                    f"n_bins={n_bins} disagrees with the length of the time-series "
                    "condition y, which sets the trial lengths; omit n_bins."
                )
            lengths = series_lengths
        else:
            lengths = self._sample_lengths(n_samples, n_bins, rng)
        return Trials.from_padded(self._draw(lengths, kind, values, rng), lengths)

    @uses_threads
    def inpaint(self, Z, observed_bins, y=None, random_state=None):
        """Fill in the missing bins of latent trajectories, given the recorded ones.

        Draws the latents of the bins ``observed_bins`` marks missing from the model's
        distribution of trials *given* the observed bins (and ``y``, for a conditional
        model): forecasting a trial's continuation from its beginning, filling a dropped
        stretch, or reconstructing what led up to a recorded end. Needs a model fitted
        with ``inpaint_fraction > 0``, which learned exactly that (``docs/model.md``).

        Parameters
        ----------
        Z : array-like of shape (n_trials, n_bins, ``n_latents_``) or list of 2-D arrays
            Latents, e.g. from :meth:`S4Autoencoder.transform
            <ldns_sklearn.S4Autoencoder.transform>`. Values in missing bins are ignored
            and may be NaN.
        observed_bins : array-like of bool
            True where ``Z`` was recorded: ``(n_bins,)`` for every trial, ``(n_trials,
            n_bins)``, or a list of 1-D masks for trials of different lengths. Each trial
            needs at least one observed bin.
        y : array-like, optional
            Conditions of the trials, as for :meth:`sample`; required for a conditional
            model unless it was fitted with ``condition_dropout > 0``.
        random_state : int, RandomState instance or None, default=None
            Seeds the noise; with an int, in-painting is reproducible on the CPU.

        Returns
        -------
        Z : ndarray of shape (n_trials, n_bins, ``n_latents_``) or list of ndarray
            ``Z`` with its missing bins drawn; the observed bins are exactly those of
            ``Z``. In the form of ``Z``.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> Z = np.cumsum(rng.normal(size=(16, 12, 2)), axis=1)
        >>> model = LatentDiffusion(hidden_channels=8, n_blocks=1, max_epochs=2,
        ...                         n_sampling_steps=5, inpaint_fraction=0.5,
        ...                         random_state=0).fit(Z)
        >>> first_half = np.arange(12) < 6                  # forecast the second half
        >>> filled = model.inpaint(Z[:3], first_half, random_state=0)
        >>> filled.shape, bool(np.array_equal(filled[:, :6], Z[:3, :6]))
        ((3, 12, 2), True)
        """
        check_is_fitted(self)
        filled, observed = fill_missing(Z, observed_bins, name="Z")
        given = Trials(check_trials(filled, name="Z", n_channels=self.n_latents_))
        return self._inpaint_trials(given, observed, y, check_random_state(random_state)).unpad()

    @uses_threads
    def _inpaint_trials(self, latents: Trials, observed_bins, y, rng) -> Trials:
        """:meth:`inpaint` of checked latents in one value; ``observed_bins`` is a checked
        boolean ``(n_trials, max_bins)`` mask (the pipeline's chain)."""
        check_is_fitted(self)
        self._validate_params()
        self._check_sampling_steps()
        if not self.model_.spec.inpainting:
            raise ValueError(
                "This LatentDiffusion was fitted with inpaint_fraction=0, so it never "
                "learned to fill in missing bins; refit with inpaint_fraction > 0 (e.g. "
                "0.5) to in-paint."
            )
        lengths = latents.lengths
        kind, values = self._check_y(y, len(lengths), lengths, "Z", unconditional_ok=True)
        # What the missing bins hold never reaches the model.
        recorded = np.where(observed_bins[..., None], latents.padded, 0.0)
        z_observed = self._standardised_latents(Trials.from_padded(recorded, lengths))
        z = self._draw(lengths, kind, values, rng, observed=observed_bins.astype(np.float64),
                       observed_latents=z_observed)
        # The recorded bins exactly as given (not through standardising and clipping).
        return latents.with_values(np.where(observed_bins[..., None], recorded, z))

    def _draw(self, lengths, kind, values, rng, **observations):
        """Latents ``(n, max(lengths), n_latents_)`` from the sampler, in data units."""
        if kind is not None and self.guidance_scale != 1 and not self.model_.spec.null_condition:
            raise ValueError(
                f"guidance_scale={self.guidance_scale} needs the unconditional model as well, "
                "but this LatentDiffusion was fitted with condition_dropout=0; refit with "
                "condition_dropout > 0 (e.g. 0.1) or set guidance_scale=1."
            )
        trial, series = self._scaled_conditions(kind, values)
        z = self.model_.sample(
            lengths,
            trial,
            series,
            sampler=self.sampler,
            n_steps=self.n_sampling_steps,
            eta=self.eta,
            clip_range=(self.latent_range_ - self.latent_mean_) / self.latent_scale_,
            batch_size=self.sample_batch_size,
            device=self.device,
            seed=torch_seed(rng),
            guidance_scale=self.guidance_scale,
            progress=shows_progress(self),
            **observations,
        )
        if not np.all(np.isfinite(z)):
            raise FloatingPointError(
                "The sampled latents are not finite: the denoiser is broken (e.g. a model "
                "file with tampered weights). Refit it."
            )
        return z * self.latent_scale_ + self.latent_mean_

    # ----------------------------------------------------------------------- scoring

    @uses_threads
    def score(self, Z, y=None):
        """Negative denoising loss on held-out latents (higher is better).

        The mean squared error of the predicted noise, over the valid bins of ``Z``
        (standardised and clipped as in ``fit``), at 10 noise levels evenly spread over the
        schedule with fixed, seeded noise: the same ``Z`` always gets the same score.

        Parameters
        ----------
        Z : array-like of shape (n_trials, n_bins, ``n_latents_``) or list of 2-D arrays
            Held-out latents.
        y : array-like, optional
            Their conditions, required for (and only for) a conditional model.

        Returns
        -------
        score : float
            Minus the mean denoising MSE; 0 would be a perfect denoiser, about -1 a model
            that predicts no noise at all.

        Examples
        --------
        >>> import numpy as np
        >>> Z = np.random.default_rng(0).normal(size=(8, 10, 2))
        >>> model = LatentDiffusion(hidden_channels=8, n_blocks=1, max_epochs=1,
        ...                         random_state=0).fit(Z)
        >>> model.score(Z) == model.score(Z)                   # deterministic
        True
        """
        check_is_fitted(self)
        latents = Trials(check_trials(Z, name="Z", n_channels=self.n_latents_))
        z, lengths = self._standardised_latents(latents), latents.lengths
        trial, series = self._scaled_conditions(*self._check_y(y, len(z), lengths, "Z"))
        loss = self.model_.score(
            z, lengths, trial, series, batch_size=self.batch_size, device=self.device
        )
        return -loss
