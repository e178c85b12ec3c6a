"""What the estimators share: 3-D trial input tags, training parameters, model pickling."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
from numbers import Integral, Real
from typing import ClassVar

from ._backend.device import torch_threads
from ._backend.training import TrainingConfig, validation_size
from ._sklearn_compat import Interval, StrOptions
from .persistence import _register, load_model, save_model

# Constraints of the optimisation parameters every torch-trained estimator exposes.
TRAINING_CONSTRAINTS = {
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "learning_rate": [Interval(Real, 0, None, closed="neither")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "early_stopping": [StrOptions({"auto"}), "boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
    "warm_start": ["boolean"],
    "checkpoint_dir": [str, os.PathLike, None],
    "checkpoint_every": [Interval(Integral, 1, None, closed="left")],
    # Checked by resolve_device, which also knows whether CUDA is present.
    "device": "no_validation",
    # Checked by torch_threads (a positive int, -1 or None), which every method enters.
    "n_threads": [Interval(Integral, -1, None, closed="left"), None],
    "torch_compile": ["boolean"],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}

# The fitted attributes TorchTrainedMixin._keep_training_record sets: every torch-trained
# estimator saves them with its model.
TRAINING_RECORD = ("history_", "n_iter_", "best_epoch_")


# early_stopping="auto" turns early stopping on where it would hold out at least this many
# trials: on fewer, their noisy loss stopped the autoencoder too early (held-out score of
# 60 sparse reach trials 0.086 bits/spike against 0.125 without stopping, 120 trials 0.171
# against 0.176); on 200 it beat training to the end (0.224 against 0.206;
# docs/benchmarks.md, "Training length").
MIN_VALIDATION_TRIALS = 20


# True while an LDNSPipeline(verbose=True) fits or samples: its steps then show progress too,
# without their own ``verbose`` parameter being changed.
_PIPELINE_VERBOSE = contextvars.ContextVar("ldns_pipeline_verbose", default=False)


@contextlib.contextmanager
def pipeline_verbosity(verbose):
    """Within the block, every step reports progress if ``verbose`` (see ``shows_progress``)."""
    token = _PIPELINE_VERBOSE.set(bool(verbose) or _PIPELINE_VERBOSE.get())
    try:
        yield
    finally:
        _PIPELINE_VERBOSE.reset(token)


def shows_progress(estimator) -> bool:
    """Whether ``estimator`` shows progress bars: its own ``verbose``, or its pipeline's."""
    return bool(estimator.verbose) or _PIPELINE_VERBOSE.get()


@contextlib.contextmanager
def restored_on_failure(*objects):
    """Within the block, an exception (or Ctrl-C) puts the objects' attributes back.

    Fitted attributes are set along the way (a scaler before training, the network after);
    a fit that fails half-way (a diverged loss, Ctrl-C, bad data found late) would otherwise
    leave the new scaler next to the old network: a model that runs but is wrong. The
    attributes are restored to what they were before the block: unfitted stays unfitted, a
    previous model stays whole. (A shallow copy suffices: fits replace their fitted objects
    rather than change them in place.)
    """
    saved = [(obj, dict(obj.__dict__)) for obj in objects]
    try:
        yield
    except BaseException:
        for obj, state in saved:
            obj.__dict__.clear()
            obj.__dict__.update(state)
        raise


def uses_threads(method):
    """Decorate a method that runs torch: it computes on the estimator's ``n_threads``."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with torch_threads(self.n_threads):
            return method(self, *args, **kwargs)

    return wrapper


def restore_on_failure(fit):
    """Decorate a ``fit``: if it fails, the estimator is left as it was (see above)."""

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        with restored_on_failure(self):
            return fit(self, *args, **kwargs)

    return wrapper


def private_route(estimator, public: str, private: str):
    """``estimator``'s method ``private``, which serves the library's own ``public``
    method on values the library made; None where it has none, or where ``public`` is
    overridden (a subclass of the user's), so that the override is what gets called.

    Examples
    --------
    >>> from ldns_sklearn import PoissonObservation
    >>> class Mine(PoissonObservation):
    ...     def sample(self, rates, random_state=None):
    ...         return super().sample(rates, random_state)
    >>> private_route(PoissonObservation(), "sample", "_sample_trials") is not None
    True
    >>> private_route(Mine(), "sample", "_sample_trials") is None
    True
    """
    method = getattr(estimator, private, None)
    if method is None:
        return None
    owner = next(cls for cls in type(estimator).__mro__ if private in vars(cls))
    return method if getattr(type(estimator), public) is getattr(owner, public) else None


def check_declared(estimator, source: str, **expected) -> None:
    """Refuse a loaded estimator whose size attributes disagree with ``source``.

    A model file declares sizes (``n_neurons_``) beside the arrays that have them; a file
    whose declarations were edited must not load with a false size, which would then flow
    into ``n_features_in_`` and every check of new data. ``expected`` maps attribute names
    to the int the arrays show, or to a shape tuple for array attributes.
    """
    name = type(estimator).__name__
    for attribute, value in expected.items():
        declared = getattr(estimator, attribute, None)
        if isinstance(value, tuple):
            shape = getattr(declared, "shape", None)
            if shape != value:
                raise ValueError(
                    f"{name}.{attribute} has shape {shape} but {source} needs {value}."
                )
        elif not (
            isinstance(declared, Integral) and not isinstance(declared, bool)
            and declared == value
        ):
            raise ValueError(f"{name}.{attribute} = {declared!r} but {source} holds {value}.")


class SavableMixin:
    """``save(path)`` and ``cls.load(path)``: :func:`~ldns_sklearn.save_model` and
    :func:`~ldns_sklearn.load_model` as methods, where CEBRA and torch users reach for them.

    A class that declares ``_saved_attributes`` in its own body (the fitted attributes a
    model file holds besides the parameters) registers itself with the model-file format
    when it is defined; a subclass that declares none is not registered, so it is refused
    when saving rather than loaded back as its parent. ``_legacy_attributes`` names what
    earlier releases saved and the class renames when loading.
    """

    _saved_attributes: ClassVar[tuple[str, ...]]
    _legacy_attributes: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "_saved_attributes" in vars(cls):
            _register(cls, cls._saved_attributes, legacy=cls._legacy_attributes)

    def save(self, path) -> None:
        """Save this estimator (fitted or not) to a file that loads without unpickling.

        The same as :func:`ldns_sklearn.save_model` ``(self, path)``; see there for the
        format and what it refuses.

        Parameters
        ----------
        path : str, os.PathLike or binary file object
            Where to write; the name is used exactly as given.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> import quantities as pq
        >>> from ldns_sklearn import SpikeTrainBinner
        >>> binner = SpikeTrainBinner(bin_size=5 * pq.ms).fit(np.zeros((2, 4, 3), dtype=int))
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = os.path.join(folder, "binner.npz")
        ...     binner.save(path)
        ...     SpikeTrainBinner.load(path).n_neurons_
        3
        """
        save_model(self, path)

    @classmethod
    def load(cls, path):
        """Load an estimator of this class saved by :meth:`save` or ``save_model``.

        Parameters
        ----------
        path : str, os.PathLike or binary file object

        Returns
        -------
        estimator : instance of this class

        Raises
        ------
        TypeError
            If the file holds an estimator of another class
            (:func:`ldns_sklearn.load_model` loads whatever a file holds).
        ValueError
            If the file is not a valid ldns_sklearn model file.
        """
        estimator = load_model(path)
        if not isinstance(estimator, cls):
            raise TypeError(
                f"{path} holds a {type(estimator).__name__}, not a {cls.__name__}; "
                "ldns_sklearn.load_model loads whatever a model file holds."
            )
        return estimator


class TrialInputMixin:
    """Tags for estimators whose X is trials ``(n_trials, n_bins, n_channels)``.

    ``_requires_y`` marks estimators whose second argument is required (the observation
    models take rates there).
    """

    _requires_y = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.two_d_array = False
        tags.target_tags.required = self._requires_y
        return tags


class TorchTrainedMixin(TrialInputMixin):
    """What every torch-trained estimator shares: training settings and a picklable model.

    The fitted network lives in ``model_``, an object of ``_model_class`` (a backend class
    with ``export()`` and ``from_export()``). Pickling, ``joblib.dump``, ``clone`` of a fitted
    estimator and :func:`~ldns_sklearn.save_model` see it as the plain numbers and NumPy
    arrays of its export, so the fitted state never holds torch objects and loads without
    running code.
    """

    _model_class: ClassVar[type]

    def __getstate__(self):
        # A copy: outside sklearn, BaseEstimator hands back the instance's own __dict__.
        state = dict(super().__getstate__())
        if "model_" in state:
            state["model_"] = state["model_"].export()
        return state

    def __setstate__(self, state):
        state = self._upgrade_state(dict(state))
        if "model_" in state:
            state["model_"] = self._model_class.from_export(state["model_"])
        super().__setstate__(state)

    def _is_warm(self) -> bool:
        """Whether this fit continues the fitted network (``warm_start`` on a fitted model)."""
        return bool(self.warm_start) and hasattr(self, "model_")

    def _initial_model(self, spec, seed: int):
        """The model training starts from: a copy of the fitted one when warm, else new."""
        if not self._is_warm():
            return self._model_class(spec, seed=seed)
        if self.model_.spec != spec:
            raise ValueError(
                f"warm_start=True continues the fitted network {self.model_.spec}, but this "
                f"data and these parameters need {spec}; set warm_start=False."
            )
        # A copy: the fitted model stays as it was if this fit fails.
        return self._model_class.from_export(self.model_.export())

    def _keep_training_record(self, result, warm: bool) -> None:
        self.history_ = (list(self.history_) if warm else []) + result.history
        self.n_iter_ = len(self.history_)
        self.best_epoch_ = result.best_epoch

    @classmethod
    def _upgrade_state(cls, state: dict) -> dict:
        """Rename what earlier releases stored under other names (none by default)."""
        return state

    def _stops_early(self, n_trials: int) -> bool:
        """Whether a fit on ``n_trials`` trials holds some out for early stopping."""
        if self.early_stopping == "auto":
            return validation_size(self.validation_fraction, n_trials) >= MIN_VALIDATION_TRIALS
        return self.early_stopping

    def _training_config(
        self, n_trials: int, ema_decay: float | None = None, max_loss: float | None = None
    ) -> TrainingConfig:
        stops_early = self._stops_early(n_trials)
        return TrainingConfig(
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            weight_decay=self.weight_decay,
            validation_fraction=self.validation_fraction if stops_early else 0.0,
            early_stopping_patience=self.n_iter_no_change if stops_early else None,
            ema_decay=ema_decay,
            max_loss=max_loss,
            torch_compile=self.torch_compile,
            verbose=shows_progress(self),
            description=type(self).__name__,
        )
