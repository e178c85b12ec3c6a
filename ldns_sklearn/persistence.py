"""Save fitted estimators to a file that loads without unpickling anything.

Pickle (and ``joblib``) files run code while they load, so a model file from someone else
is a program. :func:`save_model` writes the library's safe archive format instead
(:mod:`ldns_sklearn._safe_format`: ``.npy`` members read without pickle, one JSON
document): the estimator's arrays (network weights, fitted statistics) are members, and
the document holds everything else — parameters, the nesting of estimators (recorded by
class name), and which member holds which array. :func:`load_model` rebuilds only the
classes of a fixed registry (the public estimators, plus the scikit-learn scaler they
keep), so loading a file can at worst fail, never run code from it.

What is saved of an estimator is explicit: its parameters and the fitted attributes its
class declares (``_saved_attributes``, beside the class's docstring; declaring them is
what registers the class, see :class:`~ldns_sklearn._estimator.SavableMixin`). An
estimator carrying anything else is refused when saving (nothing would silently go
missing), and a file holding anything else is refused when loading. The values may be
None, bool, int, float, str, lists, tuples, dicts with str keys, NumPy arrays and scalars
of numbers, bools or strings, ``quantities.Quantity`` and nested estimators; anything
else is refused *when saving*, with the path of the offending attribute, so a file that
was written can always be read back.

``tests/data/`` keeps model files of earlier releases that the test suite loads.
"""

from __future__ import annotations

import importlib
import inspect
import warnings

import sklearn
from sklearn.base import BaseEstimator
from sklearn.preprocessing import StandardScaler

from ._safe_format import (
    Decoder,
    Encoder,
    field,
    open_archive,
    read_document,
    where,
    write_archive,
)
from ._version import __version__

__all__ = ["FORMAT_VERSION", "load_model", "save_model"]

#: Version of the file layout written by :func:`save_model`; :func:`load_model` refuses
#: files of any other version rather than guessing what they mean.
FORMAT_VERSION = 1

_FORMAT_NAME = "ldns_sklearn.model"
_DOCUMENT_KEYS = (
    "format", "format_version", "ldns_sklearn_version", "sklearn_version", "estimator",
)


class _Saved:
    """What a file may hold for one class: its parameters and these fitted attributes."""

    def __init__(self, cls, fitted, legacy=()):
        self.cls = cls
        self.fitted = frozenset(fitted)
        # Attributes that earlier releases saved and the class renames when loading them.
        self.legacy = frozenset(legacy)

    @property
    def parameters(self) -> frozenset:
        signature = inspect.signature(self.cls.__init__)
        return frozenset(
            name
            for name, p in signature.parameters.items()
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        )


# The only classes a model file may name, under the names files record: for ours their module
# path when they registered, for scikit-learn's scaler its public path (so files survive
# scikit-learn moving it between private modules).
_REGISTRY: dict[str, _Saved] = {}
_NAMES: dict[type, str] = {}

# The modules whose classes register themselves (each class declaring ``_saved_attributes``).
# load_model imports them before reading a file, so a file loads in a fresh interpreter that
# has imported nothing else. A fixed list, not names read from the file: what a file says
# never decides what is imported. (tests/test_layers.py checks that it holds every module
# with a registered class.)
_SAVABLE_MODULES = (
    "ldns_sklearn.preprocessing",
    "ldns_sklearn.autoencoder",
    "ldns_sklearn.diffusion",
    "ldns_sklearn.observation",
    "ldns_sklearn.pipeline",
)


def _register(cls, fitted, *, legacy=(), name=None) -> None:
    """Let model files hold ``cls``: its parameters and the ``fitted`` attributes.

    ``legacy`` names attributes that earlier releases saved and the class renames when
    loading them; ``name`` is what files call the class (by default its module path).
    """
    name = name or f"{cls.__module__}.{cls.__qualname__}"
    _REGISTRY[name] = _Saved(cls, fitted, legacy)
    _NAMES[cls] = name


_register(
    StandardScaler,
    ("mean_", "var_", "scale_", "n_features_in_", "n_samples_seen_", "feature_names_in_",
     "_sklearn_version"),
    name="sklearn.preprocessing.StandardScaler",
)


def _registered(name) -> _Saved:
    """The registry entry of the class called ``name``, or ValueError.

    Nothing is ever imported by a name the file gives: a class is loadable only if the
    registry holds it.
    """
    if not isinstance(name, str):
        raise ValueError(f"refusing to load a class named by {type(name).__name__}, not a str.")
    if name not in _REGISTRY:
        raise ValueError(
            f"refusing to load class {name!r}: a model file may only name the classes "
            f"{sorted(_REGISTRY)}."
        )
    return _REGISTRY[name]


# ------------------------------------------------------------------- estimators in files


class _Encoder(Encoder):
    """Stores estimators of the registry as their class name and saved attributes."""

    def is_estimator(self, obj) -> bool:
        return isinstance(obj, BaseEstimator)

    def encode_estimator(self, estimator, path):
        name = _NAMES.get(type(estimator))
        if name is None:
            raise TypeError(
                f"{where(path)}: {type(estimator).__module__}.{type(estimator).__qualname__} "
                f"instance cannot be saved safely; only {sorted(_REGISTRY)} can be saved."
            )
        saved = _REGISTRY[name]
        state = estimator.__getstate__()
        if not isinstance(state, dict):
            raise TypeError(
                f"{where(path)}: the state of {name} is a {type(state).__name__}, not a "
                "dict, and cannot be saved."
            )
        unknown = sorted(set(state) - saved.parameters - saved.fitted)
        if unknown:
            prefix = f"{path}: " if path else ""
            raise TypeError(
                f"{prefix}{name} has attribute(s) {unknown} that are neither its parameters "
                f"nor its fitted attributes {sorted(saved.fitted)}, so they would be lost "
                "on saving; delete them first."
            )
        # Attributes of an estimator read as ``steps[1][1].random_state``.
        pattern = "{}.{}" if path else "{}{}"
        state_node = {"__type__": "dict", "items": self._encode_items(state, path, pattern)}
        return {"__type__": "estimator", "class": name, "state": state_node}


class _Decoder(Decoder):
    """Rebuilds estimators of the registry, setting only their saved attributes."""

    def decode_estimator(self, node):
        # Check the class and the attribute names first: a refused class is never
        # instantiated, and nothing else than its parameters and fitted attributes is set.
        name = node.get("class")
        saved = _registered(name)
        state_node = field(node, "state", dict)
        names = set(field(state_node, "items", dict))
        unknown = sorted(names - saved.parameters - saved.fitted - saved.legacy)
        if unknown:
            raise ValueError(f"{name} has no parameter or fitted attribute {unknown}.")
        state = self.decode(state_node)
        # Parameters added after the file was written take their defaults.
        signature = inspect.signature(saved.cls.__init__)
        for parameter in sorted(saved.parameters - names):
            default = signature.parameters[parameter].default
            if default is inspect.Parameter.empty:
                raise ValueError(f"{name} lacks its parameter {parameter!r}.")
            state[parameter] = default
        estimator = saved.cls.__new__(saved.cls)
        estimator.__setstate__(state)
        # Sizes the file declares are checked against the arrays that have them.
        check = getattr(estimator, "_check_loaded_state", None)
        if check is not None:
            check()
        return estimator


# --------------------------------------------------------------------------- public API


def save_model(estimator, path) -> None:
    """Save an estimator (fitted or not) to a file that loads without pickle.

    The file is a ``numpy.savez_compressed`` archive: each array of the estimator's state
    is a ``.npy`` member, and a JSON document (member ``ldns_sklearn_model``, a 0-d string
    array) records the parameters, the nesting of estimators by class name, the file
    format version and the ldns_sklearn version. Load it with :func:`load_model`.

    Parameters
    ----------
    estimator : estimator
        An ldns_sklearn estimator (e.g. ``S4Autoencoder``, ``LatentDiffusion``,
        ``LDNSPipeline``), fitted or not. Its state may hold None, bool, int, float, str,
        lists, tuples, dicts with str keys, NumPy arrays and scalars of numbers, bools or
        strings, ``quantities.Quantity`` and nested ldns_sklearn estimators.
    path : str, os.PathLike or binary file object
        Where to write. The name is used exactly as given (no ``.npz`` is appended). The
        file is written beside ``path`` and renamed when complete, so a save that fails
        (a full disk, Ctrl-C) leaves an existing file at ``path`` as it was. The new file
        keeps the mode of the one it replaces (a new one gets the umask's); through a
        symbolic link, the file it points to is replaced.

    Raises
    ------
    TypeError
        If the estimator, or anything in its state, cannot be saved safely, or it carries
        attributes that are neither parameters nor fitted attributes of its class; the message
        names the attribute, e.g. ``steps[1][1].random_state: RandomState instance cannot
        be saved safely; use an int``. Nothing is written then.

    See Also
    --------
    load_model : Read the file back.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import quantities as pq
    >>> from ldns_sklearn import SpikeTrainBinner
    >>> from ldns_sklearn.persistence import save_model
    >>> binner = SpikeTrainBinner(bin_size=5 * pq.ms).fit(np.zeros((2, 4, 3), dtype=int))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "binner.npz")
    ...     save_model(binner, path)
    ...     with np.load(path, allow_pickle=False) as archive:   # no pickle inside
    ...         print("ldns_sklearn_model" in archive.files)
    True
    """
    if not isinstance(estimator, BaseEstimator):
        raise TypeError(
            f"save_model expects a scikit-learn estimator, got {type(estimator).__name__}."
        )
    # Encode everything before touching the file: a refused state writes nothing.
    encoder = _Encoder()
    root = encoder.encode_estimator(estimator, "")
    document = {
        "format": _FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "ldns_sklearn_version": __version__,
        "sklearn_version": sklearn.__version__,
        "estimator": root,
    }
    write_archive(path, document, encoder.arrays)


def load_model(path):
    """Load an estimator saved by :func:`save_model`, without unpickling anything.

    The archive is read with ``np.load(path, allow_pickle=False)`` and its JSON document
    with :mod:`json`. Only the public ldns_sklearn estimators (and the scikit-learn
    ``StandardScaler`` they keep in their state) are rebuilt, with nothing but their
    parameters and fitted attributes; a file naming any other class or attribute is
    refused. Parameters added to a class after the file was written take their defaults.
    Networks are rebuilt on the CPU; the estimator's ``device`` applies when it is used.

    Parameters
    ----------
    path : str, os.PathLike or binary file object
        A file written by :func:`save_model`.

    Returns
    -------
    estimator : estimator
        The estimator, with the parameters and fitted state it was saved with.

    Raises
    ------
    ValueError
        ``"<path> is not a valid ldns_sklearn model file: <why>"`` for anything wrong with
        the file: not a model file, an unknown format version, a class, attribute or key
        that is not allowed, data that would need pickle, units that are not plain units,
        arrays whose declared size does not match the file, a document larger than 64 MiB,
        weights whose names or shapes do not fit the network the file describes (checked
        on torch's ``meta`` device, before the network is built), declared sizes (such as
        ``n_neurons_``) that disagree with the arrays, NaN or infinite values, corrupt or
        truncated members. Checks run before anything large is allocated or evaluated.

    Warns
    -----
    UserWarning
        If the file was written by a different version of ldns_sklearn.

    See Also
    --------
    save_model : Write the file.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from ldns_sklearn import S4Autoencoder
    >>> from ldns_sklearn.persistence import load_model, save_model
    >>> X = np.random.default_rng(0).poisson(0.5, size=(4, 10, 3))
    >>> ae = S4Autoencoder(n_latents=2, hidden_channels=4, n_blocks=1, max_epochs=1,
    ...                    device="cpu", random_state=0).fit(X)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "autoencoder.npz")
    ...     save_model(ae, path)
    ...     loaded = load_model(path)
    >>> bool(np.array_equal(loaded.transform(X), ae.transform(X)))
    True
    """
    try:
        return _load(path)
    except FileNotFoundError:
        raise
    except Exception as error:
        # Whatever a tampered file makes fail (our checks, NumPy, zipfile, quantities), the
        # user gets one kind of error that names the file and the reason.
        why = str(error) if isinstance(error, ValueError) else f"{type(error).__name__}: {error}"
        raise ValueError(f"{path!r} is not a valid ldns_sklearn model file: {why}") from error


def _load(path):
    for module in _SAVABLE_MODULES:
        importlib.import_module(module)
    with open_archive(path) as archive:
        document = read_document(archive, _FORMAT_NAME, FORMAT_VERSION, _DOCUMENT_KEYS)
        version = document.get("ldns_sklearn_version")
        if version != __version__:
            warnings.warn(
                f"{path!r} was saved with ldns_sklearn {version}; this is "
                f"{__version__}. Check the loaded model before relying on it.",
                UserWarning,
                stacklevel=3,
            )
        root = document.get("estimator")
        if not isinstance(root, dict) or root.get("__type__") != "estimator":
            raise ValueError("the document holds no estimator.")
        try:
            return _Decoder(archive).decode(root)
        except RecursionError as error:
            raise ValueError("the document is nested too deeply.") from error
