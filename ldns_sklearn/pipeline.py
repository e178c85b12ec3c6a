"""LDNSPipeline: a scikit-learn Pipeline whose last step can sample."""

from __future__ import annotations

import inspect

import numpy as np
import quantities as pq
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ._checkpoint import check_checkpoint_dir
from ._estimator import (
    SavableMixin,
    check_declared,
    pipeline_verbosity,
    private_route,
    restored_on_failure,
)
from ._masks import check_observed_bins, check_observed_neurons, observed_entries
from ._neo.reading import is_neo_trials, n_trials
from ._trials import Trials
from ._validation import (
    check_count,
    check_trials,
    n_conditions,
    take_trials,
    trial_lengths,
)
from .autoencoder import S4Autoencoder
from .diffusion import LatentDiffusion
from .metrics import generation_report, generation_score
from .metrics._checks import check_pairwise_memory
from .observation import training_sample
from .preprocessing import SpikeTrainBinner

__all__ = ["LDNSPipeline", "make_ldns_pipeline"]

# Model sizes of make_ldns_pipeline(preset=...). "cpu" is the estimators' own defaults;
# "paper" the sizes of the paper's Lorenz experiments (for a GPU: hours on 2 CPU cores).
PRESETS = {
    "cpu": ({}, {}),
    "paper": (
        {"hidden_channels": 256, "n_blocks": 4, "max_epochs": 200, "batch_size": 512},
        {"hidden_channels": 64, "n_blocks": 4, "max_epochs": 1000, "batch_size": 64,
         "learning_rate": 1e-3},
    ),
}


# Generated trials per training trial for the observation model's calibration.
_CALIBRATION_SETS = 4


def _seed(rng) -> int:
    """A seed for the next step drawn from the pipeline's random state."""
    return rng.randint(np.iinfo(np.int32).max)


def _accepts(method, keyword: str) -> bool:
    parameters = inspect.signature(method).parameters
    return keyword in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


class LDNSPipeline(SavableMixin, Pipeline):
    """A :class:`~sklearn.pipeline.Pipeline` of LDNS steps that can generate new data.

    Fitting, ``transform``, cloning, ``get_params``/``set_params`` and grid search work as
    for any scikit-learn pipeline: ``pipe.fit(X)`` bins spike trains, fits the
    autoencoder, encodes the training trials and fits the diffusion model on their latents.
    On top of that:

    * :meth:`sample` draws from the last step (the diffusion model) and maps the samples
      back through every earlier step's ``inverse_transform``, so the output has the form
      of the input: Neo trials in → Neo trials out, counts in → counts out.
    * :meth:`score` measures *generation quality*: it samples as many trials as ``X``
      holds and compares their spike statistics with ``X`` through
      :func:`ldns_sklearn.metrics.generation_score` (higher is better, about -1 as close
      as real data), so ``GridSearchCV`` selects models on how realistic their samples
      are; ``scoring=make_generation_scorer("all")`` adds each statistic to its results.

    Parameters
    ----------
    steps : list of (str, estimator) tuples
        As for :class:`~sklearn.pipeline.Pipeline`. The last step must have a ``sample``
        method; the step before it maps spike counts to latents (its input is the space in
        which :meth:`score` compares real and generated data).
    random_state : int, RandomState instance or None, default=None
        Seeds the sampling done by :meth:`score`, so that grid-search scores are
        reproducible. :meth:`sample` takes its own ``random_state``.
    verbose : bool, default=False
        Print the time each step took (as :class:`~sklearn.pipeline.Pipeline` does) and
        show every step's progress bar — per batch, with the epoch, the loss and an ETA —
        while fitting and sampling, whatever the steps' own ``verbose``.
    memory, transform_input
        As for :class:`~sklearn.pipeline.Pipeline`.

    See Also
    --------
    make_ldns_pipeline : Build the usual binner → autoencoder → diffusion pipeline.

    Examples
    --------
    >>> import quantities as pq
    >>> from ldns_sklearn import (LDNSPipeline, LatentDiffusion, S4Autoencoder,
    ...                           SpikeTrainBinner)
    >>> from ldns_sklearn.datasets import make_lorenz_spikes
    >>> data = make_lorenz_spikes(n_trials=16, n_neurons=6, n_bins=24, random_state=0)
    >>> pipe = LDNSPipeline([
    ...     ("bin", SpikeTrainBinner(bin_size=5 * pq.ms)),
    ...     ("ae", S4Autoencoder(n_latents=2, hidden_channels=8, n_blocks=1, max_epochs=2,
    ...                          random_state=0)),
    ...     ("diffusion", LatentDiffusion(hidden_channels=8, n_blocks=1, max_epochs=2,
    ...                                   n_sampling_steps=5, random_state=0)),
    ... ])
    >>> samples = pipe.fit(data.spiketrains).sample(3, random_state=0)
    >>> len(samples), len(samples[0]), samples[0][0].annotations["generated"]
    (3, 6, True)
    """

    _saved_attributes = ()  # its steps are parameters

    def __init__(self, steps, *, random_state=None, transform_input=None, memory=None,
                 verbose=False):
        super().__init__(steps, transform_input=transform_input, memory=memory, verbose=verbose)
        self.random_state = random_state

    def _check_loaded_state(self):
        """Refuse steps whose declared sizes disagree with each other (see ``load_model``):
        every step that knows its neurons the same number, the sampler as many latents as
        the autoencoder makes."""
        steps = [step for _, step in self.steps if step not in (None, "passthrough")]
        neurons = [step for step in steps if hasattr(step, "n_neurons_")]
        for step in neurons[1:]:
            check_declared(step, f"the pipeline's {type(neurons[0]).__name__}",
                           n_neurons_=neurons[0].n_neurons_)
        latents = [step for step in steps if hasattr(step, "n_latents_")]
        for step in latents[1:]:
            check_declared(step, f"the pipeline's {type(latents[0]).__name__}",
                           n_latents_=latents[0].n_latents_)

    def fit(self, X, y=None, **params):
        """Fit every step in turn, as :meth:`sklearn.pipeline.Pipeline.fit` does.

        If any step fails (or the fit is interrupted), every step is left as it was before
        the call: a new autoencoder next to a diffusion model trained on the old one's
        latents would sample without error, and wrongly.

        Then, if the autoencoder's observation model can ``calibrate`` (the default
        :class:`~ldns_sklearn.RenewalObservation`), the pipeline draws four times as many
        latents as there are training trials, decodes them and lets it refit its mean-rate
        gains and shared fluctuations on those rates: what the pipeline samples are
        generated latents, which can carry less synchrony, or other mean rates, than the
        training trials' own. It costs one sampling run of that size, seeded by the
        pipeline's ``random_state`` or, when that is None, by the observation model's.

        Parameters
        ----------
        X : trials
            Training data in a form the first step accepts.
        y : array-like, optional
            Conditions, passed to the steps (see :class:`LatentDiffusion`).
        **params
            As for :meth:`sklearn.pipeline.Pipeline.fit`.

        Returns
        -------
        self : LDNSPipeline
        """
        steps = [step for _, step in self.steps if step is not None and step != "passthrough"]
        # Before the first step trains: a later step's folder must not fail hours in.
        for step in steps:
            if getattr(step, "checkpoint_dir", None) is not None:
                check_checkpoint_dir(step.checkpoint_dir)
        with restored_on_failure(self, *steps), pipeline_verbosity(self.verbose):
            super().fit(X, y, **params)
            self._calibrate_observation(X, y)
            return self

    def _calibrate_observation(self, X, y):
        """Let the encoder's observation model fit its shared parts to generated rates.

        An observation model with a ``calibrate(counts, rates)`` method (the default
        :class:`~ldns_sklearn.RenewalObservation`) was fitted on the rates of the training
        trials themselves; what the pipeline samples are rates of latents the diffusion
        model generates. Its mean-rate gains and shared fluctuations compare only draws
        with recorded counts, so they are refitted on the rates of ``_CALIBRATION_SETS``
        generated trials per training trial (per trial of a sample of them for a large
        data set; each training trial's condition for a conditional model). That makes up
        for what generation loses on the way, e.g. synchrony that the encoder put in the
        training latents and generated latents carry less of.
        """
        final = self._final_estimator
        transformers = list(self._iter(with_final=False, filter_passthrough=True))
        if not transformers or not hasattr(final, "sample"):
            return
        encoder = transformers[-1][2]
        calibrate = getattr(getattr(encoder, "observation_", None), "calibrate", None)
        if calibrate is None or not hasattr(encoder, "predict_rates"):
            return
        counts = X
        for _, _, step in transformers[:-1]:
            counts = step.transform(counts)
        # Seeded by the pipeline's random_state, else by the observation model's own
        # (drawn from the autoencoder's): a pipeline whose steps are seeded fits the same.
        seed = self.random_state
        if seed is None:
            seed = getattr(encoder.observation_, "random_state", None)
        rng = check_random_state(seed)
        lengths = trial_lengths(counts)
        width = counts.shape[2] if isinstance(counts, np.ndarray) else counts[0].shape[1]
        rows = training_sample(len(lengths), int(lengths.max()) * width, rng)
        counts = take_trials(counts, rows)
        # Every sample inherits the calibration's gains, and these match the recorded mean
        # counts on the generated trials' mean rates: on as many trials as were recorded,
        # that mean misses each neuron's by about what another recording's does (1-2 % on
        # the benchmark data; a 0.4 % shift of the population's mean count moved the
        # population-count KL by half its floor), so several times as many are generated
        # (8-10 s per 400 trials of 100 bins at the CPU budget).
        generated = np.tile(rows, _CALIBRATION_SETS)
        if y is None:
            Z = final.sample(len(generated), random_state=_seed(rng))
        else:
            Z = final.sample(y=y[generated] if isinstance(y, np.ndarray)
                             else [y[i] for i in generated], random_state=_seed(rng))
        calibrate(counts, encoder.predict_rates(Z))

    def _sampler(self):
        final = self._final_estimator
        if final == "passthrough" or not hasattr(final, "sample"):
            raise TypeError(
                f"The last step of the pipeline ({type(final).__name__}) has no 'sample' "
                "method; LDNSPipeline.sample needs a generative last step such as "
                "LatentDiffusion."
            )
        return final

    def _sample_latents(self, n_samples, y, n_bins, rng):
        kwargs = {"random_state": _seed(rng)}
        if y is not None:
            kwargs["y"] = y
        if n_bins is not None:
            kwargs["n_bins"] = n_bins
        return self._sampler().sample(n_samples, **kwargs)

    def _check_sample_memory(self, n_samples, y, n_bins):
        """Refuse a draw whose decoded trials cannot fit in memory, before any work."""
        final = self._sampler()
        if not hasattr(final, "_check_sample_memory") or (n_samples is None and y is None):
            return  # another kind of last step, or a call the step itself will refuse
        if n_samples is None:
            n_samples = n_conditions(y)
        neurons = max(
            (getattr(step, "n_neurons_", 0) for _, _, step in self._iter(with_final=False)),
            default=0,
        )
        # Per bin and neuron: the decoded rates, the drawn counts and the observation
        # model's working arrays of that size.
        final._check_sample_memory(n_samples, n_bins, per_bin_values=4 * neurons)

    def _inverse(self, Z, steps, rng):
        for _, _, step in reversed(list(steps)):
            if _accepts(step.inverse_transform, "random_state"):
                Z = step.inverse_transform(Z, random_state=_seed(rng))
            else:
                Z = step.inverse_transform(Z)
        return Z

    def sample(self, n_samples=None, y=None, *, n_bins=None, random_state=None):
        """Generate new trials in the form the pipeline was fitted on.

        Parameters
        ----------
        n_samples : int, optional
            Number of trials. May be omitted when ``y`` gives one condition per trial.
        y : array-like, optional
            Condition for a conditional model (see :class:`LatentDiffusion`); omit it for
            unconditional samples of one fitted with ``condition_dropout > 0``.
        n_bins : int, optional
            Trial length in bins (default: as in training). Longer trials than those seen
            in training are possible: the S4 kernels are defined for any length.
        random_state : int, RandomState instance or None, default=None
            Makes the samples reproducible (on CPU).

        Returns
        -------
        samples
            Trials as the first step's ``inverse_transform`` returns them: a list of
            trials of ``neo.SpikeTrain`` for a pipeline fitted on Neo data, counts
            ``(n_samples, n_bins, n_neurons)`` for one fitted on counts.

        Raises
        ------
        MemoryError
            Before any work, if the decoded samples cannot fit in the memory the machine
            has free (the message gives the size in GB and what to do; the error is also
            a ValueError).
        """
        check_is_fitted(self)
        rng = check_random_state(random_state)
        self._check_sample_memory(n_samples, y, n_bins)
        steps = list(self._iter(with_final=False, filter_passthrough=True))
        final = self._sampler()
        if private_route(final, "sample", "_sample_trials") and all(
            private_route(step, "inverse_transform", "_inverse_trials") for _, _, step in steps
        ):
            # The library's own steps pass one padded value down the chain: the trials are
            # checked, padded and given back in their form once, not at every step.
            with pipeline_verbosity(self.verbose):
                trials = final._sample_trials(
                    n_samples, y, n_bins, check_random_state(_seed(rng))
                )
            for _, _, step in reversed(steps):
                trials = step._inverse_trials(trials, random_state=_seed(rng))
            return trials.unpad() if isinstance(trials, Trials) else trials
        with pipeline_verbosity(self.verbose):
            Z = self._sample_latents(n_samples, y, n_bins, rng)
        return self._inverse(Z, steps, rng)

    def inpaint(self, X, observed_bins=None, observed_neurons=None, y=None, *,
                n_passes=3, random_state=None):
        """Fill in what a recording is missing, consistent with what it holds.

        Generates the missing part of each trial of ``X`` from the fitted model *given*
        the recorded part, and returns ``X`` completed, in its own form, with every
        recorded entry unchanged (for Neo input: the very spike times):

        * **bins** (``observed_bins``): forecast a trial's continuation from its
          beginning, fill a dropped stretch, or reconstruct what led up to a recorded
          end. The encoder reads the recorded entries (missing ones hidden as
          coordinated dropout hides them), the diffusion model draws the latents of the
          missing bins given those of the recorded ones (:meth:`LatentDiffusion.inpaint`;
          needs ``inpaint_fraction > 0``), and spikes are drawn from their decoded
          rates. Then the completed trial is encoded again and its missing part drawn
          anew, ``n_passes`` times in all: the encoder was trained on whole trials, and
          its latents of the recorded bins are those of a whole trial only once the
          trial is complete (``docs/model.md``).
        * **neurons** (``observed_neurons``): the encoder infers the latents from the
          recorded neurons only (as coordinated dropout trained it to; needs
          ``mask_prob > 0``), and the missing neurons' spikes are drawn from their
          decoded rates.

        Both can be given together. Spikes are drawn by the autoencoder's observation
        model; an autoregressive one hears the recorded spikes in its history.

        Parameters
        ----------
        X : trials
            The recordings, Neo trials or counts (a pipeline fitted on Neo also takes
            counts binned as its binner bins, and returns counts), with the neurons seen
            in ``fit``. What missing entries hold is ignored (for counts
            they must still be valid counts, e.g. zeros).
        observed_bins : array-like of bool, optional
            True where bins were recorded, on the grid of the pipeline's bins:
            ``(n_bins,)`` for every trial, ``(n_trials, n_bins)``, or a list of 1-D masks
            for trials of different lengths. Default: every bin.
        observed_neurons : array-like of bool, optional
            True for recorded neurons: ``(n_neurons,)`` or ``(n_trials, n_neurons)``.
            Default: every neuron.
        y : array-like, optional
            Conditions of the trials for a conditional diffusion model (as for
            :meth:`sample`); used for the missing bins.
        n_passes : int, default=3
            Rounds of encoding and drawing the missing bins (1: encode the partial
            recording once). On held-out reaches the spike statistics of filled bins were
            1.9-2.2x the real-vs-real floor after 1 pass, 1.1-1.2x after 2 and 1.0x after
            3, as for unconditional samples (1.05-1.09x), with no gain from a fourth
            (``docs/benchmarks.md``). Each pass costs one sampling run.
        random_state : int, RandomState instance or None, default=None
            Makes the result reproducible (on the CPU).

        Returns
        -------
        trials
            ``X`` completed, in the form of ``X``: Neo trials (new objects; each train
            annotated ``inpainted=True``) or counts.

        Examples
        --------
        >>> import numpy as np
        >>> from ldns_sklearn import make_ldns_pipeline
        >>> X = np.random.default_rng(0).poisson(1.0, size=(16, 12, 4))
        >>> pipe = make_ldns_pipeline(bin_size=None, n_latents=2, random_state=0,
        ...     autoencoder_params=dict(hidden_channels=8, n_blocks=1, max_epochs=1),
        ...     diffusion_params=dict(hidden_channels=8, n_blocks=1, max_epochs=1,
        ...                           n_sampling_steps=3, inpaint_fraction=0.5)).fit(X)
        >>> first_8 = np.arange(12) < 8                      # forecast the last 4 bins
        >>> filled = pipe.inpaint(X[:2], observed_bins=first_8, random_state=0)
        >>> filled.shape, bool(np.array_equal(filled[:, :8], X[:2, :8]))
        ((2, 12, 4), True)
        >>> without_3 = pipe.inpaint(X[:2], observed_neurons=[True, True, True, False])
        >>> bool(np.array_equal(without_3[..., :3], X[:2, :, :3]))
        True
        """
        check_is_fitted(self)
        if observed_bins is None and observed_neurons is None:
            raise ValueError(
                "inpaint needs observed_bins and/or observed_neurons (True where the data "
                "was recorded); with neither, nothing is missing."
            )
        to_counts, (_, _, encoder) = self._comparison_split()
        final = self._final_estimator
        # In-painting passes the kept entries through the steps' private methods, which
        # serve only the library's own public ones (not a subclass's overrides of them).
        routes = [
            private_route(encoder, "transform", "_transform_trials"),
            private_route(encoder, "inverse_transform", "_inverse_trials"),
            private_route(final, "inpaint", "_inpaint_trials"),
            *(private_route(step, "inverse_transform", "_inverse_trials")
              for _, _, step in to_counts),
        ]
        if len(to_counts) > 1 or not all(routes) or (
            to_counts and not isinstance(to_counts[0][2], SpikeTrainBinner)
        ):
            raise TypeError(
                "LDNSPipeline.inpaint supports pipelines of an optional SpikeTrainBinner, "
                "an S4Autoencoder and a LatentDiffusion, as make_ldns_pipeline builds (or "
                "subclasses of them that keep their transform, inverse_transform and "
                "inpaint)."
            )
        if to_counts:
            counts = to_counts[0][2].transform(X)
        else:
            counts = check_trials(X, name="X", counts=True, n_channels=encoder.n_neurons_,
                                  dtype=np.int64)
        counts = Trials(counts, np.int64)
        n_recorded = len(counts)
        bins = neurons = None
        if observed_bins is not None:
            bins = check_observed_bins(observed_bins, counts.lengths)
        if observed_neurons is not None:
            neurons = check_observed_neurons(observed_neurons, n_recorded, encoder.n_neurons_)
        n_passes = check_count(n_passes, "n_passes")
        rng = check_random_state(random_state)
        # What the encoder reads: the recorded entries (`seen`), then, once a trial is
        # complete, every bin of the recorded neurons. What the draws keep: the recorded
        # entries inside each trial.
        seen = observed_entries(counts.shape, bins, neurons)
        seen_completed = None if neurons is None else observed_entries(counts.shape, None, neurons)
        bins = counts.valid if bins is None else bins
        observed = observed_entries(counts.shape, bins, neurons)
        kept = counts.padded
        with pipeline_verbosity(self.verbose):
            Z = encoder._transform_trials(counts, seen)
            if not np.array_equal(bins, counts.valid):
                for remaining in range(n_passes - 1, -1, -1):
                    Z = final._inpaint_trials(
                        Z, bins, y, check_random_state(_seed(rng))
                    )
                    if remaining:
                        # Encode the completed trial: the encoder reads whole trials.
                        completed = encoder._inverse_trials(Z, _seed(rng), kept, observed)
                        Z = encoder._transform_trials(completed, seen_completed)
        filled = encoder._inverse_trials(Z, _seed(rng), kept, observed)
        if not to_counts or not is_neo_trials(X):
            # Counts given to a pipeline fitted on Neo come back as counts: the form of X.
            return filled.unpad()
        return to_counts[0][2]._inverse_trials(filled, _seed(rng), X, observed)

    def _comparison_split(self):
        """Steps that map X to the space where samples are compared (spike counts)."""
        transformers = list(self._iter(with_final=False, filter_passthrough=True))
        if not transformers:
            raise TypeError(
                "LDNSPipeline.score needs at least one step (e.g. S4Autoencoder) between the "
                "data and the sampling step: it compares generated and real spike counts."
            )
        return transformers[:-1], transformers[-1]

    def real_and_generated_counts(self, X, y=None, *, n_samples=None, random_state=None):
        """Spike counts of ``X`` and of as many newly generated trials: what scores compare.

        ``X`` goes through every step before the encoder (e.g. the binner) to spike counts;
        the sampler draws one trial per trial of ``X`` (or per condition of ``y``, or
        ``n_samples``), as long as the trials of ``X`` when they share one length, and the
        encoder's ``inverse_transform`` turns them into counts. :meth:`score` and the
        scorers of :func:`ldns_sklearn.metrics.make_generation_scorer` both call this, so
        they agree.

        Parameters
        ----------
        X : trials
            Held-out data in the form the pipeline accepts.
        y : array-like, optional
            Conditions of the trials of ``X`` for a conditional model.
        n_samples : int, optional
            Number of trials to generate (default: one per trial of ``X`` or row of ``y``).
        random_state : int, RandomState instance or None, default=None
            Seed of the sampling; None uses the pipeline's ``random_state``.

        Returns
        -------
        real : ndarray of shape (n_trials, n_bins, n_neurons) or list of 2-D arrays
        generated : ndarray of shape (n_samples, n_bins, n_neurons) or list of 2-D arrays

        Examples
        --------
        >>> import numpy as np
        >>> from ldns_sklearn import make_ldns_pipeline
        >>> X = np.random.default_rng(0).poisson(0.5, size=(8, 12, 4))
        >>> pipe = make_ldns_pipeline(bin_size=None, n_latents=2, random_state=0,
        ...     autoencoder_params=dict(hidden_channels=8, n_blocks=1, max_epochs=1),
        ...     diffusion_params=dict(hidden_channels=8, n_blocks=1, max_epochs=1,
        ...                           n_sampling_steps=3)).fit(X)
        >>> real, generated = pipe.real_and_generated_counts(X)
        >>> real.shape, generated.shape
        ((8, 12, 4), (8, 12, 4))
        """
        check_is_fitted(self)
        to_counts, encoder = self._comparison_split()
        real = X
        for _, _, step in to_counts:
            real = step.transform(real)
        rng = check_random_state(self.random_state if random_state is None else random_state)
        lengths = {np.shape(trial)[0] for trial in real}
        n_bins = lengths.pop() if len(lengths) == 1 else None
        if n_samples is None and y is None:
            n_samples = n_trials(X)
        Z = self._sample_latents(n_samples, y, n_bins, rng)
        return real, self._inverse(Z, [encoder], rng)

    def _check_score_memory(self):
        """Refuse, before sampling, a score whose pairwise statistics cannot fit in memory."""
        _, _, encoder = self._comparison_split()[1]
        check_pairwise_memory(getattr(encoder, "n_neurons_", 0))

    def score(self, X, y=None, sample_weight=None, **params):
        """Generation quality: about -1 is as close as real data, higher is better.

        Draws as many trials as ``X`` holds (with the conditions ``y``, if given), maps both
        the samples and ``X`` to spike counts (:meth:`real_and_generated_counts`) and
        returns :func:`ldns_sklearn.metrics.generation_score` of the two: minus the mean,
        over nine spike statistics (the paper's five and four temporal and across-trial
        ones), of how far the samples are from ``X`` in units of how
        far a second real data set of that size would be: about -1 for a model as good
        as real data, about -5 for a barely trained one, -13 for an untrained one
        (``benchmarks/bench_score_scale.py``). Sampling is seeded by the pipeline's
        ``random_state``; ``make_generation_scorer()(pipe, X)`` gives the same number.

        Parameters
        ----------
        X : trials
            Held-out data in the form the pipeline accepts.
        y : array-like, optional
            Conditions of the trials of ``X`` for a conditional model.
        sample_weight : None
            Not supported (an error if given); present for the scikit-learn signature.
        **params
            Not supported (an error if given).

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        if sample_weight is not None or params:
            unsupported = ["sample_weight"] * (sample_weight is not None) + sorted(params)
            raise ValueError(f"LDNSPipeline.score does not support {', '.join(unsupported)}.")
        self._check_score_memory()
        return generation_score(*self.real_and_generated_counts(X, y))

    def score_report(self, X, y=None, *, training=None, two_sample=True, random_state=None):
        """What :meth:`score` measures, and what a reviewer asks about single trials.

        Draws as many trials as ``X`` holds (as :meth:`score` does, with the same seed)
        and returns :func:`ldns_sklearn.metrics.generation_report` of ``X`` against them:
        the nine spike statistics as ratios to their real-vs-real floor and the
        score they combine into, the classifier two-sample test (can a classifier tell
        single generated trials from those of ``X``?) and, given the training trials,
        the memorisation check (are generated trials closer to training trials than
        ``X``'s trials are?).

        Parameters
        ----------
        X : trials
            Held-out data in the form the pipeline accepts.
        y : array-like, optional
            Conditions of the trials of ``X`` for a conditional model.
        training : trials, optional
            The trials the pipeline was fitted on, in the same form: for the
            memorisation check.
        two_sample : bool, default=True
            Whether to run the classifier two-sample test.
        random_state : int, RandomState instance or None, default=None
            Seed of the sampling and of the two-sample test; None uses the pipeline's
            ``random_state``.

        Returns
        -------
        report : GenerationReport
            See :func:`ldns_sklearn.metrics.generation_report`; with the default seed,
            ``report.score`` equals ``self.score(X, y)``.

        Examples
        --------
        >>> import numpy as np
        >>> from ldns_sklearn import make_ldns_pipeline
        >>> X = np.random.default_rng(0).poisson(0.5, size=(40, 12, 4))
        >>> pipe = make_ldns_pipeline(bin_size=None, n_latents=2, random_state=0,
        ...     autoencoder_params=dict(hidden_channels=8, n_blocks=1, max_epochs=1),
        ...     diffusion_params=dict(hidden_channels=8, n_blocks=1, max_epochs=1,
        ...                           n_sampling_steps=3)).fit(X[:30])
        >>> report = pipe.score_report(X[30:], training=X[:30])
        >>> report.score == pipe.score(X[30:])
        True
        >>> sorted(report.ratios)[:2], report.two_sample.chance
        (['auto_correlation_rmse', 'cross_correlation_rmse'], 0.5)
        """
        check_is_fitted(self)
        self._check_score_memory()
        seed = self.random_state if random_state is None else random_state
        real, generated = self.real_and_generated_counts(X, y, random_state=seed)
        if training is not None:
            for _, _, step in self._comparison_split()[0]:
                training = step.transform(training)
        return generation_report(real, generated, training=training, two_sample=two_sample,
                                 random_state=seed)


def make_ldns_pipeline(
    bin_size=5 * pq.ms,
    n_latents: int = 8,
    *,
    observation=None,
    preset: str = "cpu",
    autoencoder_params: dict | None = None,
    diffusion_params: dict | None = None,
    random_state=None,
    verbose: bool = False,
) -> LDNSPipeline:
    """Build the standard LDNS pipeline: binner → S4 autoencoder → latent diffusion.

    Parameters
    ----------
    bin_size : quantities.Quantity or None, default=5 ms
        Bin width for Neo input. ``None`` builds a pipeline without a binner, for data
        that is already binned counts.
    n_latents : int, default=8
        Latent dimensionality of the autoencoder.
    observation : estimator or "poisson", optional
        Observation model of the autoencoder; when omitted, a
        :class:`~ldns_sklearn.RenewalObservation` (see :class:`S4Autoencoder`). The
        pipeline calibrates its shared parts on generated rates after fitting (see
        :meth:`LDNSPipeline.fit`).
    preset : {"cpu", "paper"}, default="cpu"
        Model sizes. ``"cpu"``: the estimators' defaults, which train in minutes on a
        CPU; their samples come within 0.7-1.6x of the real-vs-real floor on all nine
        sample statistics on the benchmark's Lorenz, rotation and reach data, within 1.5x on
        refractory and balanced-network spiking, within 1.3-1.9x on gamma firing with
        injected synchrony (four data sets of the library's own simulator and one of
        Elephant's; ``docs/benchmarks.md``).
        ``"paper"``: the paper's Lorenz sizes (autoencoder 256 wide × 4 blocks, 200 epochs,
        batches of 512; denoiser 64 wide × 4 blocks, 1000 epochs at learning rate 1e-3) —
        for a GPU.
        See ``docs/benchmarks.md`` for what each reaches and costs.
    autoencoder_params, diffusion_params : dict, optional
        Further parameters of :class:`S4Autoencoder` and :class:`LatentDiffusion`; they
        override the preset's.
    random_state : int or None
        Seeds both models and the pipeline's scoring.
    verbose : bool, default=False
        The pipeline's ``verbose``: a line per fitted step and every step's progress bar.

    Returns
    -------
    LDNSPipeline
        With steps named ``"bin"`` (if ``bin_size`` is given), ``"ae"`` and
        ``"diffusion"``, so grid searches address e.g. ``"ae__n_latents"``.

    Examples
    --------
    >>> from ldns_sklearn import make_ldns_pipeline
    >>> pipe = make_ldns_pipeline(n_latents=4, random_state=0)
    >>> [name for name, _ in pipe.steps]
    ['bin', 'ae', 'diffusion']
    >>> pipe.get_params()["ae__n_latents"]
    4
    >>> make_ldns_pipeline(preset="paper").get_params()["ae__hidden_channels"]
    256
    """
    n_latents = check_count(n_latents, "n_latents")
    if preset not in PRESETS:
        raise ValueError(f"preset={preset!r} is not one of {sorted(PRESETS)}.")
    for name, params in (("autoencoder_params", autoencoder_params),
                         ("diffusion_params", diffusion_params)):
        if params is not None and not isinstance(params, dict):
            raise TypeError(
                f"{name} must be a dict of parameters, got {type(params).__name__}."
            )
    ae_preset, dm_preset = PRESETS[preset]
    ae_params = {"n_latents": n_latents, "random_state": random_state, **ae_preset}
    if observation is not None:
        ae_params["observation"] = observation
    ae_params.update(autoencoder_params or {})
    dm_params = {"random_state": random_state, **dm_preset, **(diffusion_params or {})}
    steps = [("ae", S4Autoencoder(**ae_params)), ("diffusion", LatentDiffusion(**dm_params))]
    if bin_size is not None:
        steps.insert(0, ("bin", SpikeTrainBinner(bin_size=bin_size)))
    return LDNSPipeline(steps, random_state=random_state, verbose=verbose)
